"""Replay's matching gives exactly what the daemon's matcher gives, record by record.

Random syslog files, mixing the kernel's lines with another program's, with lines of unknown
origin and with junk, are replayed as lazily parsed blocks (small ones, so that rule windows
cross block boundaries) and as lists of parsed records fed in random pieces. Both scan for
prefilter hits and match context rules only around them (:mod:`npd.replay.matching`). The
reference is the daemon's :class:`~npd.monitors.matcher.RuleMatcher` and
:class:`~npd.monitors.tracker.ProblemTracker`, fed every record its source would deliver.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from npd.config.logmonitor import LogMonitorConfig
from npd.monitors.logmonitor import rule_matcher
from npd.monitors.tracker import ProblemTracker, match_message
from npd.problem import ConditionStatus, RuleType
from npd.replay import text
from npd.replay.engine import Finding, InputRecord, ReplayEngine, routes_to
from npd.replay.formats import Format, ReadOptions, read_batches
from npd.replay.matching import MonitorMatcher
from npd.sources.base import RecordBatch
from tests.replay.support import kernel_config

RULES = [
    {"type": "temporary", "reason": "Alpha", "pattern": r"alpha \d+"},
    {"type": "temporary", "reason": "BetaGamma", "pattern": r"beta.*\ngamma \d+"},
    {"type": "temporary", "reason": "Delta", "pattern": "(?m)^delta"},
    # "beta" anywhere in the buffer, then "delta x": sensitive to exactly what the buffer holds.
    {"type": "temporary", "reason": "Span", "pattern": r"beta[^\n]*(?:\n[^\n]*)*\ndelta x"},
    {
        "type": "permanent",
        "condition": "KernelDeadlock",
        "reason": "Omega",
        "pattern": r"(?:x|y)\n.*\nomega",
        "resolve": {"pattern": r"fine\nfine"},
    },
]
WORDS = ["alpha 1", "beta", "gamma 2", "delta", "x", "y", "omega", "fine", "noise", "beta gamma 3", "delta x"]


def random_syslog(rng: random.Random, lines: int) -> bytes:
    out = []
    for index in range(lines):
        roll = rng.random()
        if roll < 0.05:
            out.append("junk line")
            continue
        # Mostly the kernel's lines; some of another program and some of nobody in particular.
        tag = "kernel: [ 1.000000]" if roll < 0.7 else "dockerd[1]:" if roll < 0.85 else "--"
        stamp = f"Mar  1 10:{index // 60 % 60:02d}:{index % 60:02d}"
        out.append(f"{stamp} node {tag} {rng.choice(WORDS)}")
    return ("\n".join(out) + "\n").encode()


Outcome = tuple[int, int, str, str, str]


def outcomes(findings: list[Finding]) -> list[Outcome]:
    return [
        (item.first_line, item.last_line, item.reason, item.status or "", item.message) for item in findings
    ]


def parse(data: bytes) -> list[InputRecord]:
    return [item for batch in read_batches([data], Format.SYSLOG, ReadOptions(0.0)) for item in batch.all()]


def daemon(config: LogMonitorConfig, records: list[InputRecord]) -> list[Outcome]:
    """The daemon's matcher and tracker, record by record, on what its source would deliver."""
    matcher = rule_matcher(config)
    tracker = ProblemTracker(config, None, records[0].timestamp)
    out = []
    for item in records:
        if not routes_to(config, item):
            continue
        for match in matcher.feed(RecordBatch([item], None)):
            first = match.records[0]
            assert isinstance(first, InputRecord)
            reports = tracker.match(match)
            for report in reports:
                condition = report.condition
                status = condition.status if condition is not None else ""
                message = condition.message if condition is not None else report.event.message
                out.append((first.first_line, item.last_line, report.event.reason, status, message))
            rule = match.rule
            fired = any(report.rule is rule for report in reports)
            if not fired and rule.type is RuleType.PERMANENT and not rule.clears and tracker.holds(rule):
                # Replay lists a standing problem's every line, where the daemon reports nothing.
                out.append(
                    (
                        first.first_line,
                        item.last_line,
                        rule.reason,
                        ConditionStatus.TRUE,
                        match_message(match),
                    )
                )
    return out


def lazily(config: LogMonitorConfig, data: bytes) -> list[Outcome]:
    engine = ReplayEngine([config], "log")
    findings = []
    for batch in read_batches([data], Format.SYSLOG, ReadOptions(0.0)):
        assert isinstance(batch, text.LazyTextBatch)
        findings += engine.feed_batch(batch)
    return outcomes(findings + engine.finish())


def in_lists(config: LogMonitorConfig, records: list[InputRecord], rng: random.Random) -> list[Outcome]:
    engine = ReplayEngine([config], "log")
    findings = []
    start = 0
    while start < len(records):
        size = rng.randint(1, 60)
        findings += engine.feed(records[start : start + size])
        start += size
    return outcomes(findings + engine.finish())


SEEDS = range(40)


def case(tmp_path: Path, seed: int) -> tuple[LogMonitorConfig, bytes, int]:
    """A config (of a random buffer size), a random log, and a block size, from ``seed``."""
    rng = random.Random(seed)
    config = kernel_config(tmp_path, rules=RULES, bufferSize=rng.choice([2, 3, 5, 8]))
    return config, random_syslog(rng, rng.randint(50, 400)), rng.choice([60, 300, 2000])


@pytest.mark.parametrize("seed", SEEDS)
def test_lazy_context_matching_equals_the_daemons_matcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    config, data, block_size = case(tmp_path, seed)
    # Every rule has a prefilter, so the lines around the hits are all that is parsed: the
    # rules are split between a line matcher and a context matcher, each with a prefilter.
    assert len(MonitorMatcher(config).prefilters) == 2
    records = parse(data)
    expected = daemon(config, records)
    assert expected
    assert in_lists(config, records, random.Random(seed)) == expected
    monkeypatch.setattr(text, "BLOCK_SIZE", block_size)
    assert lazily(config, data) == expected


def test_the_random_logs_make_every_rule_fire(tmp_path: Path) -> None:
    reasons = set()
    for seed in SEEDS:
        config, data, _ = case(tmp_path, seed)
        reasons |= {outcome[2] for outcome in daemon(config, parse(data))}
    assert reasons == {"Alpha", "BetaGamma", "Delta", "Span", "Omega", "KernelHasNoDeadlock"}
