"""A monitor's rule matching over replay batches: the daemon's matcher, lazy for context rules too.

The daemon's :class:`~npd.monitors.matcher.RuleMatcher` parses only prefilter hits when every
rule looks at the newest line alone, and every line otherwise: one multi-line rule (the bundled
kernel monitor has several) makes it push every record through its buffer. Over a recorded log
the lines around a hit can be read back on demand, so replay splits the rules in two, each
matched by a ``RuleMatcher`` of its own:

* the rules that look at the newest line alone, over the prefilter's hits, as the daemon does;
* the context rules, only at the lines their own prefilters hit: the records before such a line
  are parsed back (as many as the buffer holds, or up to the last one this matcher was fed) and
  fed first, so the matcher's buffer holds exactly what it holds in the daemon when that line
  arrives. A context rule fires only where its prefilter matches the newest line
  (:func:`npd.goregex.analyze`), so no match is missed.

The two streams are merged in log order, then config order, which is the order the daemon's
single matcher yields them in. ``tests/replay/test_matching.py`` checks the result against the
daemon's matcher on random logs.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from npd.config.logmonitor import LogMonitorConfig
from npd.goregex import analyze, compile_go
from npd.monitors.logmonitor import rule_matcher
from npd.monitors.matcher import Match, RuleMatcher
from npd.replay.batch import InputBatch, InputRecord
from npd.sources.base import LogBatch, LogRecord, RecordBatch

# Big enough that RE2's DFA for the combined context prefilter never falls back to the NFA.
_PREFILTER_MAX_MEM = 64 << 20


class MonitorMatcher:
    """Matches one config's rules (and the resolvers derived from them) over replay batches."""

    def __init__(self, config: LogMonitorConfig) -> None:
        #: The daemon's matcher, for batches that are parsed anyway.
        self.daemon = rule_matcher(config)
        rules = config.rules + config.resolvers
        infos = [analyze(rule.pattern) for rule in rules]
        context = [index for index, info in enumerate(infos) if not info.last_line_exact]
        self._size = config.buffer_size
        self._split = bool(context) and all(info.prefilter is not None for info in infos)
        self._rules = len(rules)
        self._order = {id(rule): index for index, rule in enumerate(rules)}
        self._line: RuleMatcher | None = None
        self._context: RuleMatcher | None = None
        self._context_prefilter: Any = None
        if self._split:
            line_rules = [rule for index, rule in enumerate(rules) if index not in context]
            self._line = RuleMatcher(line_rules, self._size) if line_rules else None
            self._context = RuleMatcher([rules[index] for index in context], self._size)
            combined = "|".join(f"(?:{infos[index].prefilter})" for index in context)
            self._context_prefilter = compile_go(combined, never_capture=True, max_mem=_PREFILTER_MAX_MEM)
        #: The newest records of earlier batches that reached this monitor (the buffer's worth).
        self._tail: deque[InputRecord] = deque(maxlen=self._size)
        #: ``first_line`` of the newest record fed to the context matcher (0: none yet).
        self._fed = 0

    @property
    def prefilters(self) -> list[Any]:
        """The prefilters this matcher asks lazily parsed batches for candidates with."""
        if self._split:
            line = [self._line.chunk_prefilter] if self._line is not None else []
            return [self._context_prefilter, *line]
        prefilter = self.daemon.chunk_prefilter
        return [prefilter] if prefilter is not None else []

    @property
    def lazy(self) -> bool:
        """Whether lazily parsed batches are matched without parsing every line."""
        return self._split or self.daemon.chunk_prefilter is not None or not self._rules

    def feed(
        self, batch: InputBatch, view: LogBatch, accepts: Callable[[InputRecord], bool]
    ) -> Iterator[Match]:
        """The matches in ``view`` (this monitor's records of ``batch``), in log then config order."""
        if not (self._split and batch.parses_lazily):
            yield from self.daemon.feed(view)
            return
        streams = [self._context_matches(batch, accepts)]
        if self._line is not None:
            streams.append(self._line.feed(view))
        yield from heapq.merge(*streams, key=self._key)
        self._tail.extend(batch.routed_tail(self._size, accepts))

    def _key(self, match: Match) -> tuple[int, int]:
        newest = match.records[-1]
        assert isinstance(newest, InputRecord)
        return newest.first_line, self._order[id(match.rule)]

    def _context_matches(self, batch: InputBatch, accepts: Callable[[InputRecord], bool]) -> Iterator[Match]:
        assert self._context is not None
        for record in batch.candidates(self._context_prefilter):
            if not accepts(record):
                continue
            window = self._window(batch, record, accepts)
            self._fed = record.first_line
            for match in self._context.feed(RecordBatch(window, None)):
                # Matches at earlier records of the window were found at those records.
                if match.records[-1] is record:
                    yield match

    def _window(
        self, batch: InputBatch, record: InputRecord, accepts: Callable[[InputRecord], bool]
    ) -> list[LogRecord]:
        """What to feed the context matcher so that its buffer is the daemon's at ``record``:
        the records since the last one fed, at most a buffer's worth, then ``record``."""
        wanted = self._size - 1
        before = batch.routed_before(record, wanted, accepts, self._fed)
        missing = wanted - len(before)
        if missing > 0:
            # The window reaches back into earlier batches.
            older = [item for item in self._tail if item.first_line > self._fed]
            before = older[-missing:] + before
        return [*before, record]
