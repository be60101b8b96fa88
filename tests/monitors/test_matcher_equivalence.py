"""The fast matcher must report exactly what upstream's plain algorithm reports.

The reference is :class:`npd.monitors.logbuffer.LogBuffer`: push each line, then for every rule
join the buffer and search it. The fast path skips the join (last-line rules tested with one
RE2 set), skips unparsed lines (chunk prefilter), and skips context rules whose last-line
prefilter misses. Random rules built from a grammar that covers anchors, classes that do and
do not match newlines, multi-line patterns, alternation and flags are run over random lines in
random batch sizes, through both batch kinds.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from npd.config.logmonitor import LogRule
from npd.goregex import GoRegexError, anchor_end, compile_go
from npd.monitors.logbuffer import LogBuffer
from npd.monitors.matcher import RuleMatcher
from npd.problem import RuleType
from npd.sources.base import LogBatch, LogRecord, RecordBatch

ATOMS = [
    "a", "b", "ab", "ba", " ", "x", r"\d", r"\d+", r"\w+", ".", ".*", ".+", "[ab]", "[^a]", "[^\\n]",
    r"\s", r"\S+", "[[:space:]]", r"\n", "\n", "(a|b)", "(?:ab|x)", "a?", "b*", r"\b", "^", "$", r"\z",
    r"\A", "(?s:.)", "(?m:^)", "(?m:$)", "(?i:A)", "[a-c]+", "[\\x00-\\x7f]", r"\x61", "1", "[0-9]",
]  # fmt: skip
ALPHABET = "aabbx1 \t-"


def random_pattern(rng: random.Random) -> str:
    parts = [rng.choice(ATOMS) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.15:
        parts.insert(rng.randint(0, len(parts)), "|")
    if rng.random() < 0.1:
        parts.insert(0, rng.choice(["(?s)", "(?m)", "(?i)"]))
    return "".join(parts)


def random_message(rng: random.Random, allow_newlines: bool) -> str:
    alphabet = ALPHABET + ("\n" if allow_newlines else "")
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))


def random_rules(rng: random.Random) -> list[LogRule]:
    rules: list[LogRule] = []
    while len(rules) < rng.randint(1, 6):
        pattern = random_pattern(rng)
        try:
            compile_go(anchor_end(pattern))
        except GoRegexError:
            continue
        rules.append(LogRule(type=RuleType.TEMPORARY, reason=f"R{len(rules)}", pattern=pattern))
    return rules


def reference(rules: list[LogRule], size: int, records: list[LogRecord]) -> list[tuple[str, tuple[int, ...]]]:
    buffer = LogBuffer(size)
    compiled = [compile_go(anchor_end(rule.pattern)) for rule in rules]
    index = {id(record): number for number, record in enumerate(records)}
    found = []
    for record in records:
        buffer.push(record)
        for rule, regex in zip(rules, compiled, strict=True):
            matched = buffer.match(regex)
            if matched is not None:
                found.append((rule.reason, tuple(index[id(r)] for r in matched)))
    return found


class RawLineBatch(LogBatch):
    """A lazily parsed batch shaped like the filelog one: raw lines, parsed only when asked."""

    parses_lazily = True

    def __init__(self, records: list[LogRecord]) -> None:
        self._records = records
        self.parsed = 0

    def records(self) -> Iterator[LogRecord]:
        self.parsed += len(self._records)
        return iter(self._records)

    def candidates(self, prefilter: object) -> Iterator[LogRecord]:
        data = "\n".join(record.message for record in self._records) + "\n"
        encoded = data.encode()
        starts = [0]
        for record in self._records:
            starts.append(starts[-1] + len(record.message.encode()) + 1)
        pos = 0
        line = 0
        while pos < len(encoded):
            found = prefilter.search(encoded, pos)  # type: ignore[attr-defined]
            if found is None:
                return
            while starts[line + 1] <= found.start():
                line += 1
            self.parsed += 1
            yield self._records[line]
            pos = starts[line + 1]
            line += 1


def fast(
    rules: list[LogRule], size: int, records: list[LogRecord], rng: random.Random, lazy: bool
) -> list[tuple[str, tuple[int, ...]]]:
    matcher = RuleMatcher(rules, size)
    index = {id(record): number for number, record in enumerate(records)}
    found = []
    start = 0
    while start < len(records):
        end = start + rng.randint(1, 7)
        chunk = records[start:end]
        batch: LogBatch = RawLineBatch(chunk) if lazy else RecordBatch(chunk, None)
        for match in matcher.feed(batch):
            found.append((match.rule.reason, tuple(index[id(r)] for r in match.records)))
        start = end
    return found


@pytest.mark.parametrize("seed", range(40))
def test_fast_matcher_equals_reference(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        rules = random_rules(rng)
        size = rng.choice([1, 2, 3, 5, 10])
        multiline_messages = rng.random() < 0.3
        records = [
            LogRecord(float(n), random_message(rng, multiline_messages)) for n in range(rng.randint(1, 40))
        ]
        expected = reference(rules, size, records)
        lazy = not multiline_messages  # file lines never contain a newline
        assert fast(rules, size, records, rng, lazy) == expected, (rules, size, [r.message for r in records])


def test_lazy_path_parses_only_candidates() -> None:
    rules = [LogRule(type=RuleType.TEMPORARY, reason="Hung", pattern=r"task \w+:\d+ blocked")]
    records = [LogRecord(float(n), f"noise line {n}") for n in range(1000)]
    records[500] = LogRecord(500.0, "INFO: task docker:7 blocked")
    batch = RawLineBatch(records)
    matches = list(RuleMatcher(rules, 10).feed(batch))
    assert [m.records[0].message for m in matches] == ["INFO: task docker:7 blocked"]
    assert batch.parsed == 1
