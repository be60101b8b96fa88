"""The Nagios plugin protocol: config, verdicts and messages, performance data as metrics.

Plugins are run for real: scripts of our own for every exit code, and the Debian package
monitoring-plugins-basic's plugins (tools/install-test-deps installs it) for real output.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from npd.config.errors import ConfigError
from npd.config.loader import MonitorKind, load_monitor_config
from npd.config.plugin import PluginMonitorConfig, PluginProtocol
from npd.metrics.exposition import render
from npd.metrics.model import MetricFamily, merged
from npd.monitors.pluginmonitor import PluginMonitor
from npd.problem import ConditionStatus, Event, Severity
from npd.sources.plugin import PluginResult, PluginStatus, run_plugin
from tests.monitors.test_pluginmonitor import Sink, running
from tests.support.plugins import script

T0 = 1_700_000_000.0
NAGIOS_PLUGINS = Path("/usr/lib/nagios/plugins")
needs_plugins = pytest.mark.skipif(
    not (NAGIOS_PLUGINS / "check_disk").exists(),
    reason="monitoring-plugins-basic is not installed (tools/install-test-deps installs it)",
)


def load(tmp_path: Path, rules: list[dict[str, Any]], **plugin_config: Any) -> PluginMonitorConfig:
    document = {
        "plugin": "custom",
        "pluginConfig": {"invoke_interval": "10s", "timeout": "5s", "protocol": "nagios", **plugin_config},
        "source": "nagios-test",
        "conditions": [{"type": "Check", "reason": "CheckIsFine", "message": "check is fine"}],
        "rules": rules,
    }
    path = tmp_path / "monitor.json"
    path.write_text(json.dumps(document))
    config = load_monitor_config(str(path), MonitorKind.CUSTOM_PLUGIN, lambda _: None)
    assert isinstance(config, PluginMonitorConfig)
    return config


def permanent(path: str, *args: str, reason: str = "CheckFailed", **extra: Any) -> dict[str, Any]:
    return {
        "type": "permanent",
        "condition": "Check",
        "reason": reason,
        "path": path,
        "args": list(args),
        **extra,
    }


class Checks:
    """A monitor whose rules are run for real, one at a time, with the results applied at T0."""

    def __init__(self, config: PluginMonitorConfig) -> None:
        self.config = config
        self.monitor = PluginMonitor(config, name="nagios", clock=lambda: T0)

    def run(self, rule: int = 0) -> tuple[PluginResult, tuple[Event, ...]]:
        """Run rule ``rule``; the judged result and the events it caused."""
        spec = self.config.rules[rule]
        raw = asyncio.run(
            run_plugin(spec.path, spec.args, timeout=spec.timeout, max_output=self.config.max_output_length)
        )
        judged = self.monitor.judge(spec, raw)
        return judged, self.monitor.apply(spec, judged, T0)

    def condition(self) -> tuple[ConditionStatus, str, str]:
        (check,) = self.monitor.conditions
        return check.status, check.reason, check.message

    def perfdata(self) -> dict[str, tuple[float, str]]:
        """``label: (value, uom)`` of the exported ``npd_plugin_perfdata``."""
        return {
            labels["label"]: (sample.value, labels["uom"])
            for sample in family(self.monitor.collect(), "npd_plugin_perfdata").samples
            for labels in [dict(sample.labels)]
        }

    def thresholds(self) -> dict[tuple[str, str], float]:
        """``(label, kind): value`` of the exported ``npd_plugin_perfdata_threshold``."""
        found = family(self.monitor.collect(), "npd_plugin_perfdata_threshold")
        return {(dict(s.labels)["label"], dict(s.labels)["kind"]): s.value for s in found.samples}


def family(families: list[MetricFamily], name: str) -> MetricFamily:
    matches = [f for f in families if f.name == name]
    return matches[0] if matches else MetricFamily(name, "", "gauge")


def nagios(tmp_path: Path, code: int, output: str, name: str = "check") -> str:
    """A Nagios plugin script printing ``output`` and exiting ``code``."""
    text = tmp_path / f"{name}.out"
    text.write_text(output)
    return script(tmp_path / name, f'cat "{text}"\nexit {code}\n')


# -- config ---------------------------------------------------------------------------------------


def test_protocol_defaults_to_upstream_and_a_rule_overrides_the_monitor(tmp_path: Path) -> None:
    rules = [permanent("/bin/true"), permanent("/bin/true", protocol="upstream"), permanent("/bin/true")]
    config = load(tmp_path, rules)
    assert config.protocol is PluginProtocol.NAGIOS
    assert [rule.protocol for rule in config.rules] == [
        PluginProtocol.NAGIOS,
        PluginProtocol.UPSTREAM,
        PluginProtocol.NAGIOS,
    ]
    default = load(
        tmp_path, [permanent("/bin/true"), permanent("/bin/true", protocol="nagios")], protocol=None
    )
    assert default.protocol is PluginProtocol.UPSTREAM
    assert [rule.protocol for rule in default.rules] == [PluginProtocol.UPSTREAM, PluginProtocol.NAGIOS]


@pytest.mark.parametrize(
    ("plugin_config", "rule_extra", "where"),
    [
        ({"protocol": "icinga"}, {}, "pluginConfig.protocol"),
        ({}, {"protocol": "Nagios"}, "rules[0].protocol"),
    ],
)
def test_an_unknown_protocol_is_a_config_error_naming_the_field(
    tmp_path: Path, plugin_config: dict[str, Any], rule_extra: dict[str, Any], where: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, [permanent("/bin/true", **rule_extra)], **plugin_config)
    assert caught.value.path == where
    assert "unknown protocol" in caught.value.problem and '"nagios"' in caught.value.problem


# -- verdicts and messages, with scripts of our own ---------------------------------------------


def test_exit_0_is_ok_with_its_perfdata(tmp_path: Path) -> None:
    checks = Checks(
        load(tmp_path, [permanent(nagios(tmp_path, 0, "OK - fine | time=0.5s;1;2;0;10 'a b'=3%"))])
    )
    judged, events = checks.run()
    assert (judged.status, judged.output) == (PluginStatus.OK, "OK - fine")
    assert events == () and checks.condition() == (ConditionStatus.FALSE, "CheckIsFine", "check is fine")
    assert checks.perfdata() == {"time": (0.5, "s"), "a b": (3.0, "%")}
    assert checks.thresholds() == {
        ("time", "warn"): 1,
        ("time", "crit"): 2,
        ("time", "min"): 0,
        ("time", "max"): 10,
    }


@pytest.mark.parametrize(
    ("code", "output", "message"),
    [
        (1, "disk is filling | used=90%", "WARNING: disk is filling"),
        (2, "disk is full", "CRITICAL: disk is full"),
        # The state already named in the first two words: no prefix (the usual Nagios form).
        (1, "WARNING: meh", "WARNING: meh"),
        (2, "DISK CRITICAL - free space: / 10 MB", "DISK CRITICAL - free space: / 10 MB"),
        # Another state named is not this one: the exit code decides.
        (2, "DISK OK - but exit 2", "CRITICAL: DISK OK - but exit 2"),
        (1, "", "WARNING"),
    ],
)
def test_warning_and_critical_are_nonok_with_the_severity_in_the_message(
    tmp_path: Path, code: int, output: str, message: str
) -> None:
    checks = Checks(load(tmp_path, [permanent(nagios(tmp_path, code, output))]))
    judged, events = checks.run()
    assert (judged.status, judged.output) == (PluginStatus.NON_OK, message)
    assert checks.condition() == (ConditionStatus.TRUE, "CheckFailed", message)
    assert [event.severity for event in events] == [Severity.WARN]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("echo 'cannot read /dev/sda'; exit 3", "UNKNOWN: cannot read /dev/sda"),
        ("echo 'UNKNOWN - no such device'; exit 3", "UNKNOWN - no such device"),
        ("echo 'odd'; exit 4", "UNKNOWN (exit status 4): odd"),
        ("exit 255", "UNKNOWN (exit status 255)"),
        ("echo 'dying'; kill -KILL $$", "UNKNOWN (killed by SIGKILL): dying"),
    ],
)
def test_unknown_and_other_codes_and_signals_are_unknown(tmp_path: Path, body: str, message: str) -> None:
    checks = Checks(load(tmp_path, [permanent(script(tmp_path / "check", body + "\n"))]))
    judged, _ = checks.run()
    assert (judged.status, judged.output) == (PluginStatus.UNKNOWN, message)
    assert checks.condition() == (ConditionStatus.UNKNOWN, "CheckIsFine", message)


def test_a_timeout_is_unknown_with_the_runners_message(tmp_path: Path) -> None:
    plugin = script(tmp_path / "check", "echo 'OK | a=1'\nexec sleep 30\n")
    checks = Checks(load(tmp_path, [permanent(plugin, timeout="0.3s")], max_output_length=200))
    judged, _ = checks.run()
    assert judged.status is PluginStatus.UNKNOWN and judged.timed_out
    assert judged.output.startswith(f'Timeout when running plugin "{plugin}"')
    assert checks.perfdata() == {}


def test_the_message_is_the_first_line_cut_to_max_output_but_all_perfdata_is_read(tmp_path: Path) -> None:
    long_text = "CRITICAL - " + "x" * 100
    items = " ".join(f"item{n}={n}B" for n in range(200))  # ~2 KB, past max_output_length
    body = f"echo '{long_text} | {items}'\necho 'second line | more=7c'\nexit 2\n"
    checks = Checks(load(tmp_path, [permanent(script(tmp_path / "check", body))], max_output_length=30))
    judged, _ = checks.run()
    assert judged.output == long_text[:30]
    perfdata = checks.perfdata()
    assert len(perfdata) == 201
    assert perfdata["item199"] == (199.0, "B") and perfdata["more"] == (7.0, "c")


def test_a_severity_change_updates_a_true_condition_but_another_message_does_not(tmp_path: Path) -> None:
    state = tmp_path / "code"
    plugin = script(tmp_path / "check", f'. "{state}"\necho "$message"\nexit "$code"\n')
    checks = Checks(load(tmp_path, [permanent(plugin)]))

    def verdict(code: int, message: str) -> tuple[Event, ...]:
        state.write_text(f"code={code}\nmessage='{message}'\n")
        return checks.run()[1]

    assert len(verdict(1, "80% full")) == 1
    assert checks.condition() == (ConditionStatus.TRUE, "CheckFailed", "WARNING: 80% full")
    assert verdict(1, "85% full") == ()  # enable_message_change_based_condition_update is off
    assert len(verdict(2, "95% full")) == 1
    assert checks.condition() == (ConditionStatus.TRUE, "CheckFailed", "CRITICAL: 95% full")
    assert verdict(2, "96% full") == ()
    assert len(verdict(0, "fine")) == 1
    assert checks.condition()[0] is ConditionStatus.FALSE


def test_a_temporary_rule_reports_the_severity(tmp_path: Path) -> None:
    rule = {"type": "temporary", "reason": "Spike", "path": nagios(tmp_path, 2, "load is high | load1=40")}
    checks = Checks(load(tmp_path, [rule]))
    _, events = checks.run()
    assert [(event.reason, event.message) for event in events] == [("Spike", "CRITICAL: load is high")]


def test_perfdata_is_replaced_by_each_run(tmp_path: Path) -> None:
    state = tmp_path / "out"
    plugin = script(tmp_path / "check", f'cat "{state}"\n')
    checks = Checks(load(tmp_path, [permanent(plugin)]))
    state.write_text("OK | a=1 b=2")
    checks.run()
    assert checks.perfdata() == {"a": (1.0, ""), "b": (2.0, "")}
    state.write_text("OK | b=3")
    checks.run()
    assert checks.perfdata() == {"b": (3.0, "")}
    state.write_text("OK")
    checks.run()
    assert not [f for f in checks.monitor.collect() if f.name.startswith("npd_plugin_perfdata")]


def test_an_upstream_rule_in_the_same_monitor_is_read_as_upstream(tmp_path: Path) -> None:
    plugin = nagios(tmp_path, 2, "CRITICAL: down | a=1")
    checks = Checks(load(tmp_path, [permanent(plugin, protocol="upstream")]))
    judged, _ = checks.run()
    assert (judged.status, judged.output) == (PluginStatus.UNKNOWN, "CRITICAL: down | a=1")
    assert not [f for f in checks.monitor.collect() if f.name.startswith("npd_plugin_perfdata")]


# -- real Nagios plugins (monitoring-plugins-basic) ----------------------------------------------


@needs_plugins
@pytest.mark.parametrize(
    ("code", "status", "condition", "message"),
    [
        ("0", PluginStatus.OK, ConditionStatus.FALSE, "check is fine"),
        ("1", PluginStatus.NON_OK, ConditionStatus.TRUE, "WARNING: meh"),
        ("2", PluginStatus.NON_OK, ConditionStatus.TRUE, "CRITICAL: x"),
        ("3", PluginStatus.UNKNOWN, ConditionStatus.UNKNOWN, "UNKNOWN: x"),
    ],
)
def test_check_dummy(
    tmp_path: Path, code: str, status: PluginStatus, condition: ConditionStatus, message: str
) -> None:
    text = {"0": "all good", "1": "meh"}.get(code, "x")
    checks = Checks(load(tmp_path, [permanent(str(NAGIOS_PLUGINS / "check_dummy"), code, text)]))
    judged, _ = checks.run()
    assert judged.status is status
    assert checks.condition()[0] is condition and checks.condition()[2] == message
    if code == "0":
        assert judged.output == "OK: all good"


def printed(stdout: str, label: str) -> list[str]:
    """The fields of ``label``'s perfdata item as the plugin printed them (read independently)."""
    match = re.search(rf"(?:^|\s|\|){re.escape(label)}=(\S*)", stdout)
    assert match, f"{label} not in {stdout!r}"
    return match.group(1).split(";")


@needs_plugins
def test_check_load_ok_with_its_perfdata_exported(tmp_path: Path) -> None:
    plugin = str(NAGIOS_PLUGINS / "check_load")
    checks = Checks(load(tmp_path, [permanent(plugin, "-w", "1000,1000,1000", "-c", "2000,2000,2000")]))
    judged, _ = checks.run()
    assert judged.status is PluginStatus.OK and judged.output.startswith("LOAD OK")
    perfdata, thresholds = checks.perfdata(), checks.thresholds()
    assert set(perfdata) == {"load1", "load5", "load15"}
    for label in ("load1", "load5", "load15"):
        value, warn, crit, low, _ = printed(judged.stdout, label)
        assert perfdata[label] == (float(value), "")
        assert thresholds[(label, "warn")] == float(warn) == 1000
        assert thresholds[(label, "crit")] == float(crit) == 2000
        assert thresholds[(label, "min")] == float(low) == 0
        assert (label, "max") not in thresholds  # printed empty


@needs_plugins
@pytest.mark.parametrize(
    ("limits", "status", "state"),
    [
        (("-w", "0%", "-c", "0%"), PluginStatus.OK, "OK"),
        (("-w", "100%", "-c", "100%"), PluginStatus.NON_OK, "CRITICAL"),
    ],
)
def test_check_disk(tmp_path: Path, limits: tuple[str, ...], status: PluginStatus, state: str) -> None:
    # Free space is always <= 100% (CRITICAL) and never < 0% (OK).
    checks = Checks(load(tmp_path, [permanent(str(NAGIOS_PLUGINS / "check_disk"), *limits, "-p", "/")]))
    judged, _ = checks.run()
    assert judged.status is status and judged.output.startswith(f"DISK {state}")
    value, warn, crit, low, high = printed(judged.stdout, "/")
    split = re.fullmatch(r"([\d.]+)([A-Za-z]*)", value)
    assert split, value
    number, uom = split.groups()
    assert checks.perfdata() == {"/": (float(number), uom)}
    assert checks.thresholds() == {
        ("/", "warn"): float(warn),
        ("/", "crit"): float(crit),
        ("/", "min"): float(low),
        ("/", "max"): float(high),
    }


@needs_plugins
@pytest.mark.parametrize(
    ("limits", "status", "condition"),
    [
        (("-w", "1000000", "-c", "1000000"), PluginStatus.OK, ConditionStatus.FALSE),
        (("-w", "0", "-c", "0"), PluginStatus.NON_OK, ConditionStatus.TRUE),  # there is always a process
    ],
)
def test_check_procs(
    tmp_path: Path, limits: tuple[str, ...], status: PluginStatus, condition: ConditionStatus
) -> None:
    checks = Checks(load(tmp_path, [permanent(str(NAGIOS_PLUGINS / "check_procs"), *limits)]))
    judged, _ = checks.run()
    assert judged.status is status and checks.condition()[0] is condition
    if status is PluginStatus.NON_OK:
        assert checks.condition()[2].startswith("PROCS CRITICAL")
    value, warn, crit, *_ = printed(judged.stdout, "procs")
    assert checks.perfdata() == {"procs": (float(value), "")} and float(value) >= 1
    assert checks.thresholds()[("procs", "warn")] == float(warn)
    assert checks.thresholds()[("procs", "crit")] == float(crit)


@needs_plugins
def test_check_procs_range_threshold_keeps_the_value(tmp_path: Path) -> None:
    plugin = str(NAGIOS_PLUGINS / "check_procs")
    checks = Checks(load(tmp_path, [permanent(plugin, "-c", "1:1", "-C", "no-such-command-npd")]))
    judged, _ = checks.run()
    assert judged.status is PluginStatus.NON_OK
    assert checks.perfdata() == {"procs": (0.0, "")}
    assert ("procs", "crit") not in checks.thresholds()  # printed as the range 1:1


@needs_plugins
def test_the_running_monitor_exports_perfdata(tmp_path: Path) -> None:
    """End to end: the monitor's own schedule runs the plugin, and collect() sees the result."""
    plugin = str(NAGIOS_PLUGINS / "check_dummy")
    rules = [permanent(plugin, "2", "broken | answer=42c;;;0;100", reason="Dummy")]
    monitor = PluginMonitor(load(tmp_path, rules), name="nagios-e2e")
    sink = Sink()

    def checked() -> bool:
        return any(c.status is ConditionStatus.TRUE for s in sink.statuses for c in s.conditions)

    asyncio.run(running(monitor, sink, checked))
    (condition,) = sink.statuses[-1].conditions
    assert (condition.reason, condition.message) == ("Dummy", "CRITICAL: broken")
    values = family(monitor.collect(), "npd_plugin_perfdata").samples
    assert [(dict(s.labels), s.value) for s in values] == [
        ({"monitor": "nagios-e2e", "rule": "Dummy", "label": "answer", "uom": "c"}, 42.0)
    ]
    # As /metrics shows it (build.py registers the monitors' collect through perfdata.merged).
    page = render(merged([monitor.collect])()).decode()
    assert 'npd_plugin_perfdata{monitor="nagios-e2e",rule="Dummy",label="answer",uom="c"} 42' in page
    assert (
        'npd_plugin_perfdata_threshold{monitor="nagios-e2e",rule="Dummy",label="answer",kind="max"} 100'
        in page
    )
