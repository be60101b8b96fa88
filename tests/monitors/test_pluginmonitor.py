"""The custom plugin monitor: upstream's transitions, the event rule, scheduling and options.

The transition table is driven through :meth:`PluginMonitor.apply` with explicit results and
times; scheduling, concurrency and the upstream config run real plugin scripts, awaiting the
statuses the monitor publishes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from npd.config.loader import MonitorKind, load_monitor_config
from npd.config.plugin import PluginMonitorConfig
from npd.monitors.base import rules_declaration
from npd.monitors.pluginmonitor import PluginMonitor
from npd.problem import Condition, ConditionStatus, Severity, Status, utc_from_timestamp
from npd.sources.plugin import PluginResult, PluginStatus
from tests.support.plugins import cancel_once_started, script, set_verdict, verdict_script

T0 = 1_700_000_000.0
UPSTREAM = Path("/work/shared/compat/upstream-config/custom-plugin-monitor.json")
OK, NON_OK, UNKNOWN = PluginStatus.OK, PluginStatus.NON_OK, PluginStatus.UNKNOWN


def load(tmp_path: Path, rules: list[dict[str, Any]], **plugin_config: Any) -> PluginMonitorConfig:
    document = {
        "plugin": "custom",
        "pluginConfig": {"invoke_interval": "10s", "timeout": "5s", **plugin_config},
        "source": "test-plugin-monitor",
        "conditions": [
            {"type": "NTPProblem", "reason": "NTPIsUp", "message": "ntp service is up"},
            {"type": "Other", "reason": "OtherIsFine", "message": "fine"},
        ],
        "rules": rules,
    }
    path = tmp_path / "monitor.json"
    path.write_text(json.dumps(document))
    warnings: list[str] = []
    config = load_monitor_config(str(path), MonitorKind.CUSTOM_PLUGIN, warnings.append)
    assert isinstance(config, PluginMonitorConfig)
    return config


def permanent(reason: str = "NTPIsDown", path: str = "/bin/true", **extra: Any) -> dict[str, Any]:
    return {"type": "permanent", "condition": "NTPProblem", "reason": reason, "path": path, **extra}


def temporary(reason: str = "NTPIsDown", path: str = "/bin/true", **extra: Any) -> dict[str, Any]:
    return {"type": "temporary", "reason": reason, "path": path, **extra}


def result(status: PluginStatus, output: str = "") -> PluginResult:
    code = {OK: 0, NON_OK: 1, UNKNOWN: 2}[status]
    return PluginResult(status, code, output)


class Driver:
    """A monitor whose rules are applied explicit results at chosen times."""

    def __init__(self, config: PluginMonitorConfig, **kw: Any) -> None:
        self.monitor = PluginMonitor(config, name="test", clock=lambda: T0, **kw)
        self.rules = config.rules

    def apply(
        self, rule: int, status: PluginStatus, output: str = "", at: float = 0.0
    ) -> list[tuple[Any, ...]]:
        events = self.monitor.apply(self.rules[rule], result(status, output), T0 + at)
        return [(e.severity, e.reason, e.message) for e in events]

    def condition(self) -> tuple[ConditionStatus, str, str]:
        ntp = next(c for c in self.monitor.conditions if c.type == "NTPProblem")
        return ntp.status, ntp.reason, ntp.message


def change(status: str, reason: str, message: str) -> str:
    return f'Node condition NTPProblem is now: {status}, reason: {reason}, message: "{message}"'


# -- permanent rules: upstream's five cases -----------------------------------------------------


def test_initial_conditions_are_the_defaults_false(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent()]))
    assert driver.condition() == (ConditionStatus.FALSE, "NTPIsUp", "ntp service is up")
    assert all(c.transition == utc_from_timestamp(T0) for c in driver.monitor.conditions)


def test_case2_nonok_sets_true_with_the_rules_reason_and_output(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent()]))
    assert driver.apply(0, NON_OK, "ntp down") == [
        (Severity.WARN, "NTPIsDown", change("True", "NTPIsDown", "ntp down"))
    ]
    assert driver.condition() == (ConditionStatus.TRUE, "NTPIsDown", "ntp down")


def test_case1_true_to_false_restores_the_default_reason_and_message(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent()]))
    driver.apply(0, NON_OK, "ntp down")
    assert driver.apply(0, OK, "all good", at=1) == [
        (Severity.INFO, "NTPIsUp", change("False", "NTPIsUp", "ntp service is up"))
    ]
    ntp = next(c for c in driver.monitor.conditions if c.type == "NTPProblem")
    assert (ntp.status, ntp.reason, ntp.message) == (ConditionStatus.FALSE, "NTPIsUp", "ntp service is up")
    assert ntp.transition == utc_from_timestamp(T0 + 1)


def test_case1_true_to_unknown_keeps_the_output(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent()]))
    driver.apply(0, NON_OK, "ntp down")
    assert driver.apply(0, UNKNOWN, "timed out") == [
        (Severity.INFO, "NTPIsUp", change("Unknown", "NTPIsUp", "timed out"))
    ]
    assert driver.condition() == (ConditionStatus.UNKNOWN, "NTPIsUp", "timed out")


def test_case3_false_and_unknown_both_ways(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent()]))
    assert driver.apply(0, UNKNOWN, "cannot tell") == [
        (Severity.INFO, "NTPIsUp", change("Unknown", "NTPIsUp", "cannot tell"))
    ]
    assert driver.apply(0, OK, "ok") == [
        (Severity.INFO, "NTPIsUp", change("False", "NTPIsUp", "ntp service is up"))
    ]
    assert driver.condition() == (ConditionStatus.FALSE, "NTPIsUp", "ntp service is up")


def test_case2_unknown_to_true(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent()]))
    driver.apply(0, UNKNOWN, "cannot tell")
    assert driver.apply(0, NON_OK, "down")[0][0] is Severity.WARN
    assert driver.condition() == (ConditionStatus.TRUE, "NTPIsDown", "down")


def test_case4_true_with_another_reason_is_an_update(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent("NTPIsDown"), permanent("NTPIsSlow")]))
    driver.apply(0, NON_OK, "down")
    assert driver.apply(1, NON_OK, "slow") == [
        (Severity.WARN, "NTPIsSlow", change("True", "NTPIsSlow", "slow"))
    ]
    assert driver.condition() == (ConditionStatus.TRUE, "NTPIsSlow", "slow")


@pytest.mark.parametrize("enabled", [True, False])
def test_case4_a_changed_message_is_an_update_only_when_enabled(tmp_path: Path, enabled: bool) -> None:
    config = load(tmp_path, [permanent()], enable_message_change_based_condition_update=enabled)
    driver = Driver(config)
    driver.apply(0, NON_OK, "offset 5s")
    events = driver.apply(0, NON_OK, "offset 9s", at=1)
    if enabled:
        assert events == [(Severity.WARN, "NTPIsDown", change("True", "NTPIsDown", "offset 9s"))]
        assert driver.condition() == (ConditionStatus.TRUE, "NTPIsDown", "offset 9s")
    else:
        assert events == []
        assert driver.condition() == (ConditionStatus.TRUE, "NTPIsDown", "offset 5s")


def test_case5_no_change_no_event(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent()], enable_message_change_based_condition_update=True))
    assert driver.apply(0, OK, "fine") == []  # False stays False (the default message stays)
    driver.apply(0, UNKNOWN, "x")
    assert driver.apply(0, UNKNOWN, "y") == []  # Unknown stays Unknown, whatever the message
    driver.apply(0, NON_OK, "down")
    assert driver.apply(0, NON_OK, "down") == []
    assert driver.condition() == (ConditionStatus.TRUE, "NTPIsDown", "down")


def test_a_rule_cannot_clear_a_problem_another_rule_found(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [permanent("NTPIsDown"), permanent("NTPIsSlow")]))
    driver.apply(0, NON_OK, "down")
    assert driver.apply(1, OK, "not slow") == []
    assert driver.apply(1, UNKNOWN, "slow check failed") == []
    assert driver.condition() == (ConditionStatus.TRUE, "NTPIsDown", "down")
    assert driver.apply(0, OK, "up")[0][1] == "NTPIsUp"  # its own rule clears it
    assert driver.condition()[0] is ConditionStatus.FALSE


# -- temporary rules ------------------------------------------------------------------------------


def test_temporary_event_on_a_new_problem_not_on_every_run(tmp_path: Path) -> None:
    driver = Driver(load(tmp_path, [temporary()]), event_repeat=3600)
    assert driver.apply(0, OK, "fine") == []
    assert driver.apply(0, NON_OK, "down") == [(Severity.WARN, "NTPIsDown", "down")]
    assert driver.apply(0, NON_OK, "down", at=30) == []  # unchanged: not repeated
    assert driver.apply(0, NON_OK, "down again", at=60) == [(Severity.WARN, "NTPIsDown", "down again")]
    assert driver.apply(0, UNKNOWN, "down again", at=90) == [(Severity.WARN, "NTPIsDown", "down again")]
    assert driver.apply(0, UNKNOWN, "down again", at=3600 + 89) == []
    assert driver.apply(0, UNKNOWN, "down again", at=3600 + 90) == [
        (Severity.WARN, "NTPIsDown", "down again")
    ]
    assert driver.apply(0, OK, "up", at=3700) == []
    assert driver.apply(0, NON_OK, "down again", at=3710) == [(Severity.WARN, "NTPIsDown", "down again")]
    assert driver.condition()[0] is ConditionStatus.FALSE  # temporary rules never touch conditions


# -- state: the state directory and the Node -------------------------------------------------


def test_adopted_true_stays_until_its_rule_says_otherwise(tmp_path: Path) -> None:
    config = load(tmp_path, [permanent("NTPIsDown"), permanent("NTPIsSlow")])
    driver = Driver(config)
    node = [
        Condition("NTPProblem", ConditionStatus.TRUE, utc_from_timestamp(T0 - 99), "NTPIsDown", "was down"),
        Condition("NotOurs", ConditionStatus.TRUE, utc_from_timestamp(T0), "X", "y"),
    ]
    driver.monitor.adopt(node)
    assert driver.condition() == (ConditionStatus.TRUE, "NTPIsDown", "was down")
    assert {c.type for c in driver.monitor.conditions} == {"NTPProblem", "Other"}
    assert driver.apply(1, OK, "") == []  # not its problem
    assert driver.apply(0, OK, "")[0][1] == "NTPIsUp"


def test_a_restored_reason_no_rule_owns_can_be_cleared_by_any_rule(tmp_path: Path) -> None:
    saved = [{"type": "NTPProblem", "status": "True", "transition": T0, "reason": "Removed", "message": "m"}]
    driver = Driver(load(tmp_path, [permanent()]), saved_conditions=saved)
    assert driver.condition() == (ConditionStatus.TRUE, "Removed", "m")
    assert driver.apply(0, OK, "")[0][1] == "NTPIsUp"


def test_the_state_directory_wins_over_the_node_and_unknown_is_not_restored(tmp_path: Path) -> None:
    saved = [
        {"type": "NTPProblem", "status": "False", "transition": T0, "reason": "NTPIsUp", "message": "saved"},
        {"type": "Other", "status": "Unknown", "transition": T0, "reason": "r", "message": "m"},
        {"type": "Other"},  # unreadable: ignored
    ]
    driver = Driver(load(tmp_path, [permanent()]), saved_conditions=saved)
    driver.monitor.adopt(
        [Condition("NTPProblem", ConditionStatus.TRUE, utc_from_timestamp(T0), "NTPIsDown", "n")]
    )
    assert driver.condition() == (ConditionStatus.FALSE, "NTPIsUp", "saved")
    other = next(c for c in driver.monitor.conditions if c.type == "Other")
    assert other.status is ConditionStatus.FALSE and other.reason == "OtherIsFine"


def test_declaration_like_upstreams_metrics(tmp_path: Path) -> None:
    config = load(tmp_path, [temporary("Flaky"), permanent("NTPIsDown"), permanent("NTPIsDown")])
    decl = rules_declaration(config)
    assert decl.source == "test-plugin-monitor"
    assert decl.reasons == ("Flaky", "NTPIsDown")
    assert decl.gauges == (("NTPProblem", "NTPIsDown"),)
    assert decl.condition_types == ("NTPProblem", "Other")
    document = json.loads((tmp_path / "monitor.json").read_text())
    document["metricsReporting"] = False
    (tmp_path / "monitor.json").write_text(json.dumps(document))
    quiet = load_monitor_config(str(tmp_path / "monitor.json"), MonitorKind.CUSTOM_PLUGIN, lambda _: None)
    assert isinstance(quiet, PluginMonitorConfig)
    quiet_declaration = rules_declaration(quiet)
    assert quiet_declaration.reasons == () and quiet_declaration.condition_types == ("NTPProblem", "Other")


# -- running for real -----------------------------------------------------------------------------


class Sink:
    """Records published statuses and checkpoints; wakes waiters on every publication."""

    def __init__(self) -> None:
        self.statuses: list[Status] = []
        self.checkpoints: list[tuple[str, int, dict[str, Any]]] = []
        self._changed = asyncio.Event()

    def publish(self, status: Status) -> int:
        self.statuses.append(status)
        self._changed.set()
        return len(self.statuses) - 1

    def checkpoint(self, monitor: str, after: int, state: dict[str, Any]) -> None:
        self.checkpoints.append((monitor, after, state))

    async def until(self, done: Callable[[], bool], seconds: float = 10.0) -> None:
        async with asyncio.timeout(seconds):
            while not done():
                self._changed.clear()
                await self._changed.wait()


async def running(monitor: PluginMonitor, sink: Sink, done: Callable[[], bool]) -> None:
    """Run ``monitor`` until ``done`` holds, then cancel it (it must stop cleanly)."""
    task = asyncio.create_task(monitor.run(sink))
    try:
        await sink.until(done)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def ntp(status: Status) -> Condition:
    return next(c for c in status.conditions if c.type == "NTPProblem")


def test_runs_publish_transitions_and_an_initial_status(tmp_path: Path) -> None:
    state = tmp_path / "state"
    set_verdict(state, 1, "ntp is down")
    plugin = verdict_script(tmp_path / "check", state)
    config = load(tmp_path, [permanent(path=plugin, invoke_interval="0.05s")])
    monitor = PluginMonitor(config, name="ntp")
    sink = Sink()

    def went_back() -> bool:
        if (
            any(ntp(s).status is ConditionStatus.TRUE for s in sink.statuses)
            and not (state / "flipped").exists()
        ):
            set_verdict(state, 0, "")
            (state / "flipped").touch()
        return (
            bool(sink.statuses)
            and (state / "flipped").exists()
            and ntp(sink.statuses[-1]).status is ConditionStatus.FALSE
        )

    asyncio.run(running(monitor, sink, went_back))
    first = sink.statuses[0]
    assert first.events == () and ntp(first).status is ConditionStatus.FALSE  # the initial status
    events = [e for s in sink.statuses for e in s.events]
    assert [(e.severity, e.reason) for e in events] == [
        (Severity.WARN, "NTPIsDown"),
        (Severity.INFO, "NTPIsUp"),
    ]
    assert events[0].message == change("True", "NTPIsDown", "ntp is down")
    assert len(sink.checkpoints) == 2  # one per change, not per run
    assert sink.checkpoints[-1][2]["conditions"][0]["status"] == "False"


def test_skip_initial_status(tmp_path: Path) -> None:
    state = tmp_path / "state"
    set_verdict(state, 1, "down")
    config = load(
        tmp_path, [permanent(path=verdict_script(tmp_path / "check", state))], skip_initial_status=True
    )
    sink = Sink()
    asyncio.run(running(PluginMonitor(config, name="ntp"), sink, lambda: bool(sink.statuses)))
    assert ntp(sink.statuses[0]).status is ConditionStatus.TRUE  # the first status is the first run's
    assert len(sink.statuses[0].events) == 1


def test_each_rule_keeps_its_own_interval(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fast = script(tmp_path / "fast", f"echo fast >> {runs}\n")
    slow = script(tmp_path / "slow", f"echo slow >> {runs}\n")
    rules = [temporary("Fast", fast, invoke_interval="0.05s"), temporary("Slow", slow, invoke_interval="1h")]
    config = load(tmp_path, rules, invoke_interval="1h")
    sink = Sink()

    def counted() -> bool:
        return runs.exists() and runs.read_text().split().count("fast") >= 5

    asyncio.run(running(PluginMonitor(config, name="t"), sink, counted))
    assert runs.read_text().split().count("slow") == 1  # the boot batch only
    assert len(sink.statuses) >= 1 + 5 + 1  # initial + a status after every run


def test_concurrency_limit_is_shared(tmp_path: Path) -> None:
    times = tmp_path / "times"
    body = f'echo "start $(date +%s%N)" >> {times}\nsleep 0.2\necho "end $(date +%s%N)" >> {times}\n'
    rules = [temporary(f"R{i}", script(tmp_path / f"p{i}", body)) for i in range(6)]
    config = load(tmp_path, rules, concurrency=2)
    sink = Sink()
    asyncio.run(running(PluginMonitor(config, name="t"), sink, lambda: len(sink.statuses) >= 7))
    marks = sorted((int(t), kind) for kind, t in (line.split() for line in times.read_text().splitlines()))
    assert [kind for _, kind in marks].count("start") == 6
    running_now = peak = 0
    for _, kind in marks:  # at equal times an end sorts before a start
        running_now += 1 if kind == "start" else -1
        peak = max(peak, running_now)
    assert peak == 2


def test_output_cut_to_max_output_length_on_a_character_boundary(tmp_path: Path) -> None:
    plugin = script(tmp_path / "p", "printf 'ab\\303\\251c'\nexit 1\n")
    config = load(tmp_path, [permanent(path=plugin)], max_output_length=3)
    sink = Sink()
    asyncio.run(running(PluginMonitor(config, name="t"), sink, lambda: len(sink.statuses) >= 2))
    assert ntp(sink.statuses[1]).message == "ab"


def test_cancelling_the_monitor_kills_running_plugins(tmp_path: Path) -> None:
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    plugin = script(tmp_path / "p", f"echo $$ > {fifo}\nsleep 3600\n")
    config = load(tmp_path, [permanent(path=plugin)], timeout="60s")

    async def main() -> int:
        task = asyncio.create_task(PluginMonitor(config, name="t").run(Sink()))
        return await cancel_once_started(task, fifo)

    asyncio.run(main())


def test_upstream_config_runs_unchanged_from_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Upstream's check_ntp.sh needs systemctl and an ntp unit; an equivalent stands in for it at
    # the path the config names (relative, resolved against the daemon's working directory).
    shutil.copy(UPSTREAM, tmp_path / "custom-plugin-monitor.json")
    state = tmp_path / "state"
    set_verdict(state, 1, "NTP service is not running")
    verdict_script(tmp_path / "config" / "plugin" / "check_ntp.sh", state)
    monkeypatch.chdir(tmp_path)
    warnings: list[str] = []
    config = load_monitor_config("custom-plugin-monitor.json", MonitorKind.CUSTOM_PLUGIN, warnings.append)
    assert isinstance(config, PluginMonitorConfig) and warnings == []
    sink = Sink()
    asyncio.run(running(PluginMonitor(config, name="ntp"), sink, lambda: len(sink.statuses) >= 3))
    assert all(s.source == "ntp-custom-plugin-monitor" for s in sink.statuses)
    events = sorted((e.reason, e.message) for s in sink.statuses for e in s.events)
    assert events == [
        ("NTPIsDown", "NTP service is not running"),
        ("NTPIsDown", change("True", "NTPIsDown", "NTP service is not running")),
    ]
    assert ntp(sink.statuses[-1]).status is ConditionStatus.TRUE


def test_stderr_npd_event_lines_become_warning_events(tmp_path: Path) -> None:
    plugin = script(
        tmp_path / "repairing",
        "echo 'starting up' >&2\n"
        "echo 'npd-event: KubeletRepaired: restarted kubelet (systemctl restart kubelet)' >&2\n"
        "echo 'npd-event: lowercase: not a reason' >&2\n"
        "echo '  npd-event: Indented: not at the start of the line' >&2\n"
        "echo 'npd-event: NoMessage:' >&2\n"
        "echo 'kubelet was found unhealthy'\n"
        "exit 1\n",
    )
    config = load(tmp_path, [permanent(reason="KubeletUnhealthy", path=plugin)])
    monitor = PluginMonitor(config, name="health", clock=lambda: T0)
    sink = Sink()
    asyncio.run(running(monitor, sink, lambda: any(s.events for s in sink.statuses)))
    [run] = [s for s in sink.statuses if s.events]
    assert [(e.severity, e.reason) for e in run.events] == [
        (Severity.WARN, "KubeletUnhealthy"),  # the condition change comes first
        (Severity.WARN, "KubeletRepaired"),
    ]
    assert run.events[1].message == "restarted kubelet (systemctl restart kubelet)"
    assert run.events[1].timestamp == utc_from_timestamp(T0)


def test_stderr_events_are_capped_per_run_and_cut_to_the_event_limit(tmp_path: Path) -> None:
    config = load(tmp_path, [temporary()])
    monitor = PluginMonitor(config, name="t", clock=lambda: T0)
    stderr = "".join(f"npd-event: Flood{i}: {'x' * 2000}\n" for i in range(50))
    events = monitor.apply(config.rules[0], PluginResult(OK, 0, "", stderr=stderr), T0)
    assert [e.reason for e in events] == [f"Flood{i}" for i in range(10)]
    assert all(len(e.message.encode()) <= 1024 and e.message.startswith("xxx") for e in events)


def test_stderr_events_repeat_on_every_run_unlike_the_rules_own(tmp_path: Path) -> None:
    # A record is an action the plugin took; two repairs are two events.
    config = load(tmp_path, [temporary(reason="Flaky")])
    monitor = PluginMonitor(config, name="t", clock=lambda: T0)
    failing = PluginResult(NON_OK, 1, "broken", stderr="npd-event: Repaired: restarted it\n")
    first = monitor.apply(config.rules[0], failing, T0)
    second = monitor.apply(config.rules[0], failing, T0 + 1)
    assert [e.reason for e in first] == ["Flaky", "Repaired"]
    assert [e.reason for e in second] == ["Repaired"]


def samples(monitor: PluginMonitor, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    [family] = [f for f in monitor.collect() if f.name == name]
    return {sample.labels: sample.value for sample in family.samples}


def test_run_metrics_count_verdicts_timeouts_and_seconds(tmp_path: Path) -> None:
    state = tmp_path / "state"
    set_verdict(state, 1, "down")
    check = verdict_script(tmp_path / "check", state)
    hang = script(tmp_path / "hang", "exec sleep 60\n")
    config = load(
        tmp_path,
        [
            permanent(path=check, invoke_interval="0.05s"),
            temporary(reason="Hangs", path=hang, timeout="0.1s", invoke_interval="0.05s"),
        ],
    )
    monitor = PluginMonitor(config, name="m")
    sink = Sink()

    def ran() -> bool:
        runs = samples(monitor, "npd_plugin_runs_total")
        return runs[(("monitor", "m"), ("rule", "Hangs"), ("status", "Unknown"))] >= 2 and (
            runs[(("monitor", "m"), ("rule", "NTPIsDown"), ("status", "NonOK"))] >= 2
        )

    asyncio.run(running(monitor, sink, ran))
    runs = samples(monitor, "npd_plugin_runs_total")
    assert runs[(("monitor", "m"), ("rule", "NTPIsDown"), ("status", "OK"))] == 0
    assert runs[(("monitor", "m"), ("rule", "Hangs"), ("status", "OK"))] == 0
    timeouts = samples(monitor, "npd_plugin_timeouts_total")
    assert timeouts[(("monitor", "m"), ("rule", "Hangs"))] >= 2
    assert timeouts[(("monitor", "m"), ("rule", "NTPIsDown"))] == 0
    seconds = samples(monitor, "npd_plugin_run_seconds_total")
    # Each timed-out run lasted at least its 0.1 s timeout.
    assert seconds[(("monitor", "m"), ("rule", "Hangs"))] >= 0.2
    assert (
        0
        < seconds[(("monitor", "m"), ("rule", "NTPIsDown"))]
        < seconds[(("monitor", "m"), ("rule", "Hangs"))]
    )


def test_run_metrics_of_rules_sharing_a_reason_add_up(tmp_path: Path) -> None:
    config = load(tmp_path, [temporary(reason="Same"), temporary(reason="Same", args=["x"])])
    monitor = PluginMonitor(config, name="m")
    sink = Sink()
    for rule in config.rules:
        monitor.publish(sink, rule, PluginResult(NON_OK, 1, "", duration=0.5))
    runs = samples(monitor, "npd_plugin_runs_total")
    assert len(runs) == 3  # one series per status, not per rule
    assert runs[(("monitor", "m"), ("rule", "Same"), ("status", "NonOK"))] == 2
    assert samples(monitor, "npd_plugin_run_seconds_total") == {(("monitor", "m"), ("rule", "Same")): 1.0}
