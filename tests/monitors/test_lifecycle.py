"""Conditions that clear, windowed counting, flap damping and Unknown for an unreadable source.

Everything runs on an injected clock: match times are the records' timestamps and the tracker
is ticked with explicit times, so nothing here sleeps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from npd.config.errors import ConfigError
from npd.config.loader import load_log_monitor_file
from npd.config.logmonitor import LogMonitorConfig
from npd.monitors.logmonitor import rule_matcher
from npd.monitors.tracker import UNREADABLE_REASON, ProblemTracker, Report
from npd.problem import Condition, ConditionStatus, Severity, utc_from_timestamp
from npd.sources.base import LogRecord, RecordBatch

T0 = 1_700_000_000.0
HUNG = "task docker:7 blocked for more than 120 seconds."
MINUTE = 60.0


def config(tmp_path: Path, rules: list[dict[str, Any]], **extra: Any) -> LogMonitorConfig:
    condition = {
        "type": "KernelDeadlock",
        "reason": "KernelHasNoDeadlock",
        "message": "kernel has no deadlock",
    }
    condition.update(extra.pop("condition", {}))
    document = {
        "plugin": "kmsg",
        "source": "kernel-monitor",
        "conditions": [condition],
        "rules": rules,
        **extra,
    }
    path = tmp_path / "monitor.json"
    path.write_text(json.dumps(document))
    warnings: list[str] = []
    loaded = load_log_monitor_file(str(path), warnings.append)
    assert warnings == []
    return loaded


def docker_hung(**extra: Any) -> dict[str, Any]:
    return {
        "type": "permanent",
        "condition": "KernelDeadlock",
        "reason": "DockerHung",
        "pattern": r"task docker:\w+ blocked for more than \d+ seconds\.",
        **extra,
    }


class Driver:
    """A tracker and matcher fed lines at chosen times."""

    def __init__(self, loaded: LogMonitorConfig) -> None:
        self.tracker = ProblemTracker(loaded, None, T0)
        self.matcher = rule_matcher(loaded)

    def line(self, at: float, message: str) -> list[Report]:
        reports = []
        for match in self.matcher.feed(RecordBatch([LogRecord(T0 + at, message)], None)):
            reports += self.tracker.match(match)
        return reports

    def tick(self, at: float) -> list[Report]:
        return self.tracker.tick(T0 + at)

    def status(self) -> tuple[ConditionStatus, str]:
        [condition] = self.tracker.conditions
        return condition.status, condition.reason


def changes(reports: list[Report]) -> list[tuple[ConditionStatus, str]]:
    return [(r.condition.status, r.condition.reason) for r in reports if r.condition is not None]


# -- resolve.pattern ---------------------------------------------------------------------------


def test_a_resolving_line_clears_the_condition_with_a_change_event(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung(resolve={"pattern": r"docker recovered.*"})]))
    assert changes(driver.line(0, HUNG)) == [(ConditionStatus.TRUE, "DockerHung")]
    [report] = driver.line(30, "docker recovered after restart")
    assert report.condition is not None
    assert (report.condition.status, report.condition.reason, report.condition.message) == (
        ConditionStatus.FALSE,
        "KernelHasNoDeadlock",
        "kernel has no deadlock",
    )
    assert report.condition.transition.timestamp() == T0 + 30
    assert report.event.severity is Severity.INFO
    assert report.event.message.startswith("Node condition KernelDeadlock is now: False")
    assert driver.status() == (ConditionStatus.FALSE, "KernelHasNoDeadlock")
    # Raised again by the next hang: the lifecycle repeats.
    assert changes(driver.line(60, HUNG)) == [(ConditionStatus.TRUE, "DockerHung")]


def test_a_resolving_line_does_nothing_while_the_condition_is_false(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung(resolve={"pattern": r"docker recovered.*"})]))
    assert driver.line(0, "docker recovered") == []


def test_a_resolving_line_only_clears_what_its_own_rule_raised(tmp_path: Path) -> None:
    aufs = {
        "type": "permanent",
        "condition": "KernelDeadlock",
        "reason": "AUFSUmountHung",
        "pattern": r"task umount\.aufs:\w+ blocked.*",
    }
    driver = Driver(config(tmp_path, [docker_hung(resolve={"pattern": "docker recovered"}), aufs]))
    driver.line(0, "task umount.aufs:9 blocked for more than 120 seconds.")
    assert driver.line(1, "docker recovered") == []
    assert driver.status() == (ConditionStatus.TRUE, "AUFSUmountHung")


def test_upstream_rules_never_clear(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung()]))
    driver.line(0, HUNG)
    assert driver.tick(10 * 365 * 86400) == []
    assert driver.tracker.next_deadline() is None
    assert driver.status() == (ConditionStatus.TRUE, "DockerHung")


# -- resolve.after -----------------------------------------------------------------------------


def test_the_condition_clears_after_a_quiet_period_without_new_matches(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung(resolve={"after": "30m"})]))
    driver.line(0, HUNG)
    driver.line(20 * MINUTE, HUNG)  # a new match restarts the quiet period
    assert driver.tracker.next_deadline() == T0 + 50 * MINUTE
    assert driver.tick(49 * MINUTE) == []
    [report] = driver.tick(50 * MINUTE)
    assert report.condition is not None
    assert report.condition.status is ConditionStatus.FALSE
    assert report.condition.transition.timestamp() == T0 + 50 * MINUTE, "cleared when it became due"
    assert driver.tracker.next_deadline() is None


def test_a_pattern_or_a_quiet_period_whichever_comes_first(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung(resolve={"pattern": "docker recovered", "after": "1h"})]))
    driver.line(0, HUNG)
    assert changes(driver.line(10 * MINUTE, "docker recovered")) == [
        (ConditionStatus.FALSE, "KernelHasNoDeadlock")
    ]
    assert driver.tick(2 * 3600) == []


def test_a_match_applies_what_fell_due_before_it(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung(resolve={"after": "10m"})]))
    driver.line(0, HUNG)
    # No tick in between (as in replay): the next line's time settles the clear first.
    assert changes(driver.line(30 * MINUTE, HUNG)) == [
        (ConditionStatus.FALSE, "KernelHasNoDeadlock"),
        (ConditionStatus.TRUE, "DockerHung"),
    ]


# -- count and window --------------------------------------------------------------------------


def test_a_counting_rule_fires_on_the_count_th_match_within_the_window(tmp_path: Path) -> None:
    rule = {"type": "temporary", "reason": "LinkFlap", "pattern": "eth0: NIC Link is Down", "count": 3}
    driver = Driver(config(tmp_path, [{**rule, "window": "10m"}]))
    assert driver.line(0, "eth0: NIC Link is Down") == []
    assert driver.line(4 * MINUTE, "eth0: NIC Link is Down") == []
    # The first match has left the window when the third arrives: only two within 10m.
    assert driver.line(11 * MINUTE, "eth0: NIC Link is Down") == []
    [report] = driver.line(12 * MINUTE, "eth0: NIC Link is Down")
    assert (report.event.reason, report.event.severity) == ("LinkFlap", Severity.WARN)
    assert report.event.timestamp.timestamp() == T0 + 12 * MINUTE
    # Firing starts a fresh count.
    assert driver.line(13 * MINUTE, "eth0: NIC Link is Down") == []


def test_a_counting_permanent_rule_raises_its_condition(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung(count=2, window="5m")]))
    assert driver.line(0, HUNG) == []
    assert changes(driver.line(MINUTE, HUNG)) == [(ConditionStatus.TRUE, "DockerHung")]


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"count": 0}, "rules[0].count", "at least 1"),
        ({"count": 3}, "rules[0].window", "required"),
        ({"count": 1, "window": "5m"}, "rules[0].count", "above 1"),
        ({"count": 2, "window": "-5m"}, "rules[0].window", "positive"),
        ({"count": 2, "window": "5 minutes"}, "rules[0].window", "unknown unit"),
        ({"resolve": {}}, "rules[0].resolve", "needs a pattern"),
        ({"resolve": {"pattern": "(?=x)"}}, "rules[0].resolve.pattern", ""),
        ({"resolve": {"after": "0s"}}, "rules[0].resolve.after", "positive"),
    ],
)
def test_bad_lifecycle_fields_are_one_line_errors(
    tmp_path: Path, fields: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        config(tmp_path, [docker_hung(**fields)])
    assert raised.value.path == path
    assert words in raised.value.problem
    assert "\n" not in raised.value.line()


def test_resolve_on_a_temporary_rule_is_an_error(tmp_path: Path) -> None:
    rule = {"type": "temporary", "reason": "X", "pattern": "x", "resolve": {"after": "1m"}}
    with pytest.raises(ConfigError, match="only a permanent rule"):
        config(tmp_path, [rule])


# -- flap damping ------------------------------------------------------------------------------


def flapping(tmp_path: Path) -> Driver:
    return Driver(
        config(
            tmp_path,
            [docker_hung(resolve={"pattern": "docker recovered"})],
            condition={"flapDamping": {"changes": 3, "window": "30m"}},
        )
    )


def test_a_flapping_condition_holds_true_until_stable(tmp_path: Path) -> None:
    driver = flapping(tmp_path)
    driver.line(0, HUNG)  # change 1
    driver.line(MINUTE, "docker recovered")  # change 2
    driver.line(2 * MINUTE, HUNG)  # change 3
    # A fourth change within 30 minutes is more than 3: the clear is held.
    assert driver.line(3 * MINUTE, "docker recovered") == []
    assert driver.status() == (ConditionStatus.TRUE, "DockerHung")
    assert driver.tracker.next_deadline() == T0 + 33 * MINUTE
    assert driver.tick(32 * MINUTE) == []
    assert changes(driver.tick(33 * MINUTE)) == [(ConditionStatus.FALSE, "KernelHasNoDeadlock")]


def test_a_raise_during_the_hold_cancels_the_pending_clear(tmp_path: Path) -> None:
    driver = flapping(tmp_path)
    for at, line in [(0, HUNG), (1, "docker recovered"), (2, HUNG), (3, "docker recovered")]:
        driver.line(at * MINUTE, line)
    assert driver.line(10 * MINUTE, HUNG) == []  # still True: nothing changes
    assert driver.tick(60 * MINUTE) == []
    assert driver.status() == (ConditionStatus.TRUE, "DockerHung")
    # Once stable, a resolving line is honoured again.
    assert changes(driver.line(70 * MINUTE, "docker recovered")) == [
        (ConditionStatus.FALSE, "KernelHasNoDeadlock")
    ]


def test_changes_spread_wider_than_the_window_are_not_flapping(tmp_path: Path) -> None:
    driver = flapping(tmp_path)
    for at, line in [(0, HUNG), (20, "docker recovered"), (40, HUNG)]:
        driver.line(at * MINUTE, line)
    assert changes(driver.line(60 * MINUTE, "docker recovered")) == [
        (ConditionStatus.FALSE, "KernelHasNoDeadlock")
    ]


def test_bad_flap_damping_fields(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        config(tmp_path, [docker_hung()], condition={"flapDamping": {"changes": 2}})
    assert raised.value.path == "conditions[0].flapDamping.window"


# -- an unreadable source ----------------------------------------------------------------------


def test_an_unreadable_source_turns_conditions_unknown_after_the_grace_period(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung()], unreadableAfter="1m"))
    driver.line(0, HUNG)
    assert driver.tracker.source_failing(T0 + 10, "/dev/kmsg: Permission denied") == []
    assert driver.tracker.next_deadline() == T0 + 70
    assert driver.tick(69) == []
    [report] = driver.tick(70)
    assert report.condition is not None
    assert (report.condition.status, report.condition.reason) == (ConditionStatus.UNKNOWN, UNREADABLE_REASON)
    assert "/dev/kmsg: Permission denied" in report.condition.message
    assert report.condition.transition.timestamp() == T0 + 70
    # The detail changing is reported; the same detail again is not.
    assert driver.tracker.source_failing(T0 + 10, "/dev/kmsg: Permission denied") == []
    [report] = driver.tracker.source_failing(T0 + 10, "/dev/kmsg: No such file or directory")
    assert report.condition is not None and "No such file" in report.condition.message
    # Reading again restores what the monitor knew: the hang it saw before.
    [report] = driver.tracker.source_readable(T0 + 200)
    assert report.condition is not None
    assert (report.condition.status, report.condition.reason) == (ConditionStatus.TRUE, "DockerHung")
    assert report.condition.transition.timestamp() == T0 + 200


def test_a_short_failure_is_ridden_out(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung()]))  # default grace: 10s
    driver.tracker.source_failing(T0, "read error")
    assert driver.tick(5) == []
    assert driver.tracker.source_readable(T0 + 6) == []
    assert driver.tick(100) == []
    assert driver.status() == (ConditionStatus.FALSE, "KernelHasNoDeadlock")


def test_report_unreadable_false_keeps_upstream_behaviour(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung()], reportUnreadable=False))
    driver.tracker.source_failing(T0, "gone")
    assert driver.tick(3600) == []
    assert driver.tracker.next_deadline() is None


def test_a_quiet_source_stays_healthy(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung()]))
    assert driver.tick(30 * 86400) == []
    assert driver.status() == (ConditionStatus.FALSE, "KernelHasNoDeadlock")


def test_state_survives_a_restart_with_the_quiet_period_running(tmp_path: Path) -> None:
    loaded = config(tmp_path, [docker_hung(resolve={"after": "30m"})])
    driver = Driver(loaded)
    driver.line(0, HUNG)
    restarted = ProblemTracker(loaded, driver.tracker.snapshot(), T0 + 5 * MINUTE)
    assert restarted.next_deadline() == T0 + 30 * MINUTE
    assert changes(restarted.tick(T0 + 30 * MINUTE)) == [(ConditionStatus.FALSE, "KernelHasNoDeadlock")]


# -- conditions adopted from the Node -----------------------------------------------------------


def node_condition(status: ConditionStatus, reason: str, at: float) -> Condition:
    return Condition("KernelDeadlock", status, utc_from_timestamp(at), reason, "from the node")


def test_an_adopted_true_condition_stays_true_until_its_rule_resolves_it(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung(resolve={"pattern": r"docker recovered.*"})]))
    driver.tracker.adopt([node_condition(ConditionStatus.TRUE, "DockerHung", T0 - 3600)], T0)
    assert driver.status() == (ConditionStatus.TRUE, "DockerHung")
    [condition] = driver.tracker.conditions
    assert condition.transition.timestamp() == T0 - 3600  # the Node's transition is kept
    assert driver.tick(86400) == []
    assert changes(driver.line(10, "docker recovered")) == [(ConditionStatus.FALSE, "KernelHasNoDeadlock")]


def test_the_state_directory_wins_over_the_node(tmp_path: Path) -> None:
    loaded = config(tmp_path, [docker_hung()])
    saved = [
        {"type": "KernelDeadlock", "status": "False", "transition": T0 - 60, "reason": "KernelHasNoDeadlock"}
        | {"message": "kernel has no deadlock"}
    ]
    tracker = ProblemTracker(loaded, saved, T0)
    tracker.adopt([node_condition(ConditionStatus.TRUE, "DockerHung", T0 - 3600)], T0)
    assert [(c.status, c.reason) for c in tracker.conditions] == [
        (ConditionStatus.FALSE, "KernelHasNoDeadlock")
    ]


def test_unknown_and_foreign_conditions_are_not_adopted(tmp_path: Path) -> None:
    driver = Driver(config(tmp_path, [docker_hung()]))
    driver.tracker.adopt(
        [
            node_condition(ConditionStatus.UNKNOWN, UNREADABLE_REASON, T0 - 60),
            Condition("Ready", ConditionStatus.TRUE, utc_from_timestamp(T0), "KubeletReady", "ok"),
        ],
        T0,
    )
    assert [c.type for c in driver.tracker.conditions] == ["KernelDeadlock"]
    assert driver.status() == (ConditionStatus.FALSE, "KernelHasNoDeadlock")
