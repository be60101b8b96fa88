"""Upstream's matching semantics (reference §3.1–3.2), table-driven, through the real monitor."""

from __future__ import annotations

import pytest

from npd.config.conditions import DefaultCondition
from npd.config.logmonitor import LogMonitorConfig, LogPlugin, LogRule
from npd.monitors.logmonitor import SystemLogMonitor, rule_matcher
from npd.monitors.matcher import RuleMatcher
from npd.monitors.tracker import ProblemTracker
from npd.problem import ConditionStatus, RuleType, Severity, Status
from npd.sources.base import LogRecord, RecordBatch

T = RuleType.TEMPORARY
P = RuleType.PERMANENT


def matches(rules: list[LogRule], lines: list[str], buffer_size: int = 10) -> list[tuple[str, list[str]]]:
    """(reason, matched messages) for every rule firing, line by line."""
    matcher = RuleMatcher(rules, buffer_size)
    out = []
    for number, line in enumerate(lines):
        for match in matcher.feed(RecordBatch([LogRecord(float(number), line)], None)):
            out.append((match.rule.reason, [record.message for record in match.records]))
    return out


def rule(pattern: str, reason: str = "R", rule_type: RuleType = T, **extra: str) -> LogRule:
    return LogRule(type=rule_type, reason=reason, pattern=pattern, **extra)


@pytest.mark.parametrize(
    ("name", "rules", "lines", "buffer_size", "expected"),
    [
        (
            "end anchored: a line fires only while newest",
            [rule("error")],
            ["error", "ok"],
            10,
            [("R", ["error"])],
        ),
        ("must match up to the end of the line", [rule("error")], ["error: disk"], 10, []),
        (
            "unanchored at the start",
            [rule("disk failed")],
            ["sda: disk failed"],
            10,
            [("R", ["sda: disk failed"])],
        ),
        ("trailing .* accepts the rest", [rule("error.*")], ["error: disk"], 10, [("R", ["error: disk"])]),
        (
            "several rules fire on one line, in config order",
            [rule("task .* blocked", "A"), rule(".*blocked", "B")],
            ["task x blocked"],
            10,
            [("A", ["task x blocked"]), ("B", ["task x blocked"])],
        ),
        (
            "multi-line pattern spans buffered lines",
            [rule(r"Kill process \d+\nKilled process \d+")],
            ["Kill process 1", "Killed process 1"],
            10,
            [("R", ["Kill process 1", "Killed process 1"])],
        ),
        (
            "multi-line pattern needs both lines in the buffer",
            [rule(r"first\nsecond")],
            ["first", "second"],
            1,
            [],
        ),
        (
            "multi-line pattern with an intervening line does not match",
            [rule(r"first\nsecond")],
            ["first", "noise", "second"],
            10,
            [],
        ),
        (
            "matched lines start where the match starts",
            [rule(r"b\nc")],
            ["a", "xb", "c"],
            10,
            [("R", ["xb", "c"])],
        ),
        (
            "(?s) lets . cross lines",
            [rule(r"(?s)start.*end")],
            ["start here", "middle", "the end"],
            10,
            [("R", ["start here", "middle", "the end"])],
        ),
        (
            "^ is the start of the joined buffer, not of the line",
            [rule("^foo")],
            ["foo"],
            3,
            [],
        ),
        ("^ with a one-line buffer is the line start", [rule("^foo")], ["foo"], 1, [("R", ["foo"])]),
        (
            "(?m)^ matches at the start of the newest line",
            [rule("(?m)^foo")],
            ["bar", "foo"],
            3,
            [("R", ["foo"])],
        ),
        (
            "top-level alternation is anchored as a whole (npd's documented fix)",
            [rule("oom-kill|Out of memory")],
            ["oom-kill happened", "unrelated", "Out of memory"],
            10,
            [("R", ["Out of memory"])],
        ),
        (
            "$ is the end of the newest line",
            [rule(r"severity: fatal$")],
            ["[Hardware Error]: event severity: fatal"],
            10,
            [("R", ["[Hardware Error]: event severity: fatal"])],
        ),
        ("Go syntax: \\z inside a pattern", [rule(r"done\z")], ["done"], 10, [("R", ["done"])]),
        (
            "Go syntax: mid-pattern (?i)",
            [rule(r"(?i)Currently unreadable.*sectors|(?i)Offline uncorrectable sectors")],
            ["sda: 8 currently UNREADABLE (pending) sectors"],
            10,
            [("R", ["sda: 8 currently UNREADABLE (pending) sectors"])],
        ),
        (
            "messages with newlines (journald) match on their last line",
            [rule(r"line two")],
            ["line one\nline two"],
            10,
            [("R", ["line one\nline two"])],
        ),
    ],
)
def test_matching(
    name: str, rules: list[LogRule], lines: list[str], buffer_size: int, expected: list[tuple[str, list[str]]]
) -> None:
    assert matches(rules, lines, buffer_size) == expected, name


def kernel_config(rules: list[LogRule], *, metrics: bool = True) -> LogMonitorConfig:
    return LogMonitorConfig(
        file="test.json",
        plugin=LogPlugin.KMSG,
        source="kernel-monitor",
        log_path="",
        lookback=0.0,
        delay=0.0,
        buffer_size=10,
        metrics_reporting=metrics,
        conditions=(DefaultCondition("KernelDeadlock", "KernelHasNoDeadlock", "kernel has no deadlock"),),
        rules=tuple(rules),
    )


def run_lines(config: LogMonitorConfig, lines: list[str]) -> list[Status]:
    """The reports of a fresh tracker for ``config`` over ``lines`` (one a second), as statuses."""
    tracker = ProblemTracker(config, None, 999.0)
    matcher = rule_matcher(config)
    statuses = []
    for number, line in enumerate(lines):
        for match in matcher.feed(RecordBatch([LogRecord(1000.0 + number, line)], None)):
            reports = tracker.match(match)
            if reports:
                events = tuple(report.event for report in reports)
                statuses.append(Status(config.source, events, tracker.conditions))
    return statuses


def test_temporary_rule_emits_a_warning_event_with_the_first_line_timestamp_and_suffix() -> None:
    config = kernel_config([rule(r"a\nb", "Pair", message_suffix="see runbook")])
    [status] = run_lines(config, ["a", "b"])
    [event] = status.events
    assert event.severity is Severity.WARN
    assert event.reason == "Pair"
    assert event.message == "a\nb; see runbook"
    assert event.timestamp.timestamp() == 1000.0
    assert [c.status for c in status.conditions] == [ConditionStatus.FALSE]


def test_permanent_rule_sets_condition_once_and_emits_a_change_event() -> None:
    docker = rule(
        r"task docker:\w+ blocked for more than \w+ seconds\.", "DockerHung", P, condition="KernelDeadlock"
    )
    line = "task docker:7 blocked for more than 120 seconds."
    statuses = run_lines(kernel_config([docker]), [line, line])
    assert len(statuses) == 1, "a repeat with the same reason changes nothing"
    [event] = statuses[0].events
    assert event.reason == "DockerHung"
    assert (
        event.message == f'Node condition KernelDeadlock is now: True, reason: DockerHung, message: "{line}"'
    )
    [condition] = statuses[0].conditions
    assert (condition.type, condition.status, condition.reason, condition.message) == (
        "KernelDeadlock",
        ConditionStatus.TRUE,
        "DockerHung",
        line,
    )
    assert condition.transition.timestamp() == 1000.0


def test_permanent_rule_with_a_new_reason_changes_the_condition_again() -> None:
    rules = [
        rule("docker hung", "DockerHung", P, condition="KernelDeadlock"),
        rule("aufs hung", "AUFSUmountHung", P, condition="KernelDeadlock"),
    ]
    statuses = run_lines(kernel_config(rules), ["docker hung", "aufs hung"])
    assert [s.conditions[0].reason for s in statuses] == ["DockerHung", "AUFSUmountHung"]
    assert statuses[1].conditions[0].transition.timestamp() == 1001.0


def test_permanent_rule_without_declared_condition_is_ignored() -> None:
    assert run_lines(kernel_config([rule("boom", "Boom", P, condition="Undeclared")]), ["boom"]) == []


def test_go_quoting_of_condition_change_messages() -> None:
    config = kernel_config([rule('bad "disk".*', "Disk", P, condition="KernelDeadlock")])
    [status] = run_lines(config, ['bad "disk"\ttab\x01'])
    assert status.events[0].message.endswith('message: "bad \\"disk\\"\\ttab\\x01"')


def test_declaration_lists_counters_and_gauges_unless_metrics_reporting_is_off() -> None:
    rules = [rule("x", "Temp"), rule("y", "DockerHung", P, condition="KernelDeadlock"), rule("z", "Temp")]
    monitor = SystemLogMonitor(kernel_config(rules), source=None, name="m")  # type: ignore[arg-type]
    assert monitor.declaration.reasons == ("Temp", "DockerHung")
    assert monitor.declaration.gauges == (("KernelDeadlock", "DockerHung"),)
    quiet = SystemLogMonitor(kernel_config(rules, metrics=False), source=None, name="m")  # type: ignore[arg-type]
    assert quiet.declaration.reasons == () and quiet.declaration.gauges == ()


def test_saved_conditions_are_restored_for_configured_types_only() -> None:
    saved = [
        {
            "type": "KernelDeadlock",
            "status": "True",
            "transition": 5.0,
            "reason": "DockerHung",
            "message": "m",
        },
        {"type": "Gone", "status": "True", "transition": 5.0, "reason": "X", "message": "m"},
        {"type": "KernelDeadlock", "status": "bogus"},
    ]
    monitor = SystemLogMonitor(kernel_config([]), source=None, name="m", saved_conditions=saved)  # type: ignore[arg-type]
    [condition] = monitor.conditions
    assert (condition.status, condition.reason, condition.transition.timestamp()) == (
        ConditionStatus.TRUE,
        "DockerHung",
        5.0,
    )
