"""Matching log records against a monitor's rules, fast, with upstream's semantics exactly.

Upstream pushes each line into its buffer and, for every rule, joins the buffer and runs the
rule's regex over it. npd gets the same answers with far less work:

* A rule whose pattern cannot match a newline and has no start anchor (almost every real
  rule) can only match within the newest line, and matches there exactly when it matches the
  joined buffer (:func:`npd.goregex.analyze`). All such rules are tested at once with one
  ``re2.Set`` over the newest message.
* When every rule is like that, the buffer is never needed, and whole chunks of raw lines are
  scanned with one prefilter (all rules, assertions removed, as one alternation): only lines
  it hits are parsed and tested (:meth:`npd.sources.base.LogBatch.candidates`).
* Other rules (multi-line patterns, ``^``) are evaluated on the joined buffer as upstream
  does, skipped when the prefilter derived from their last line rules them out.

``tests/monitors/test_matcher_equivalence.py`` checks the result against
:class:`npd.monitors.logbuffer.LogBuffer` on random inputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from npd.config.logmonitor import LogRule
from npd.goregex import PatternInfo, analyze, compile_go, re2_options
from npd.monitors.logbuffer import LogBuffer
from npd.sources.base import LogBatch, LogRecord

# Big enough that RE2's DFA for a monitor's combined prefilter never falls back to the NFA.
_PREFILTER_MAX_MEM = 64 << 20


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that fired, with the records its pattern spans (oldest first)."""

    rule: LogRule
    records: tuple[LogRecord, ...]


@dataclass(frozen=True, slots=True)
class _ContextRule:
    index: int
    regex: Any
    prefilter: Any | None


class RuleMatcher:
    """All rules of one monitor, compiled for matching in config order."""

    def __init__(self, rules: Sequence[LogRule], buffer_size: int) -> None:
        self._rules = tuple(rules)
        infos = [analyze(rule.pattern) for rule in rules]
        self._last_line_set, self._last_line_ids = _build_set(
            [(index, info.anchored) for index, info in enumerate(infos) if info.last_line_exact]
        )
        self._context = tuple(
            _ContextRule(
                index=index,
                regex=compile_go(info.anchored),
                prefilter=compile_go(info.prefilter, never_capture=True)
                if info.prefilter is not None
                else None,
            )
            for index, info in enumerate(infos)
            if not info.last_line_exact
        )
        self._buffer = LogBuffer(buffer_size) if self._context else None
        lazy = not self._context and all(info.prefilter is not None for info in infos)
        self.chunk_prefilter = _chunk_prefilter(infos) if lazy and infos else None

    @property
    def needs_every_line(self) -> bool:
        """Whether some rule needs the buffer of preceding lines, so every line must be parsed."""
        return self._buffer is not None

    def feed(self, batch: LogBatch) -> Iterator[Match]:
        """The rules that fire on the records of ``batch``, in log order, then config order."""
        if self._buffer is None:
            if not self._rules:
                return
            lazy = self.chunk_prefilter is not None and batch.parses_lazily
            records = batch.candidates(self.chunk_prefilter) if lazy else batch.records()
            for record in records:
                yield from self._match_last_line(record, ())
            return
        for record in batch.records():
            self._buffer.push(record)
            yield from self._match_with_context(record)

    def _match_last_line(self, record: LogRecord, extra: Sequence[tuple[int, Match]]) -> Iterator[Match]:
        hits = self._last_line_set.Match(record.message) if self._last_line_set is not None else None
        if not hits and not extra:
            return
        found = [
            (self._last_line_ids[hit], Match(self._rules[self._last_line_ids[hit]], (record,)))
            for hit in hits or ()
        ]
        found.extend(extra)
        found.sort(key=lambda item: item[0])
        for _, match in found:
            yield match

    def _match_with_context(self, record: LogRecord) -> Iterator[Match]:
        assert self._buffer is not None
        extra: list[tuple[int, Match]] = []
        for rule in self._context:
            if rule.prefilter is not None and rule.prefilter.search(record.message) is None:
                continue
            matched = self._buffer.match(rule.regex)
            if matched is not None:
                extra.append((rule.index, Match(self._rules[rule.index], tuple(matched))))
        yield from self._match_last_line(record, extra)


def _build_set(patterns: list[tuple[int, str]]) -> tuple[Any | None, list[int]]:
    if not patterns:
        return None, []
    rule_set = re2.Set.SearchSet(re2_options(never_capture=True))
    for _, pattern in patterns:
        rule_set.Add(pattern)
    rule_set.Compile()
    return rule_set, [index for index, _ in patterns]


def _chunk_prefilter(infos: Sequence[PatternInfo]) -> Any | None:
    prefilters = [info.prefilter for info in infos if info.prefilter is not None]
    if not prefilters:
        return None
    combined = "|".join(f"(?:{prefilter})" for prefilter in prefilters)
    return compile_go(combined, never_capture=True, max_mem=_PREFILTER_MAX_MEM)
