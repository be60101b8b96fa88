"""System log monitor configs (kmsg, journald, filelog): upstream's defaults and rules, npd's warnings.

Upstream (``pkg/systemlogmonitor/config.go`` and the watchers) fills ``bufferSize`` 0 with 10 and an
empty ``lookback`` with ``"0"``, treats every rule type other than ``"temporary"`` as permanent,
silently ignores a permanent rule whose condition is not declared, refuses rule patterns Go cannot
compile and unknown plugins, and panics on a filelog regex that does not compile; a journald
monitor without a source and a filelog monitor without its formats load but cannot work. npd
loads the same files, says so in warnings, and marks the unworkable ones ``unusable``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from npd.config.errors import ConfigError
from npd.config.loader import MonitorKind
from npd.config.logmonitor import FilelogFormat, LogMonitorConfig, LogPlugin
from npd.problem import RuleType
from tests.config.configfiles import load, write_config

FILELOG_FORMAT = {
    "timestamp": "^.{15}",
    "message": r"kernel: \[.*\] (.*)",
    "timestampFormat": "Jan _2 15:04:05",
}


def load_log(tmp_path: Path, document: Any) -> tuple[LogMonitorConfig, list[str]]:
    config, warnings = load(write_config(tmp_path, document), MonitorKind.SYSTEM_LOG)
    assert isinstance(config, LogMonitorConfig)
    return config, warnings


def rejected(tmp_path: Path, document: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, document), MonitorKind.SYSTEM_LOG)
    return caught.value


def rule(pattern: str = "x", **fields: str) -> dict[str, str]:
    return {"type": "temporary", "reason": "R", "pattern": pattern, **fields}


# -- defaults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "size"),
    [({}, 10), ({"bufferSize": 0}, 10), ({"bufferSize": 1}, 1), ({"bufferSize": 64}, 64)],
)
def test_buffer_size_zero_or_absent_is_ten(tmp_path: Path, document: dict[str, Any], size: int) -> None:
    config, _ = load_log(tmp_path, {"plugin": "kmsg", **document})
    assert config.buffer_size == size


def test_negative_buffer_size_is_rejected(tmp_path: Path) -> None:
    # Upstream panics in make([]*Log, -1); npd refuses the config.
    error = rejected(tmp_path, {"plugin": "kmsg", "bufferSize": -1})
    assert (error.path, error.problem) == ("bufferSize", "must not be negative, got -1")


@pytest.mark.parametrize(
    ("document", "lookback", "delay"),
    [
        ({}, 0.0, 0.0),
        ({"lookback": "", "delay": ""}, 0.0, 0.0),
        ({"lookback": "0"}, 0.0, 0.0),
        ({"lookback": "5m", "delay": "30s"}, 300.0, 30.0),
        ({"lookback": "240h"}, 864000.0, 0.0),
    ],
)
def test_lookback_and_delay(tmp_path: Path, document: dict[str, str], lookback: float, delay: float) -> None:
    config, warnings = load_log(tmp_path, {"plugin": "kmsg", **document})
    assert (config.lookback, config.delay) == (lookback, delay)
    assert warnings == []


def test_negative_lookback_loads_with_a_warning(tmp_path: Path) -> None:
    config, warnings = load_log(tmp_path, {"plugin": "kmsg", "lookback": "-5m"})
    assert config.lookback == -300.0
    assert len(warnings) == 1
    assert "lookback: negative duration" in warnings[0]


@pytest.mark.parametrize("text", ["5 minutes", "5", "1d", "five"])
def test_bad_lookback_is_rejected_at_its_path(tmp_path: Path, text: str) -> None:
    error = rejected(tmp_path, {"plugin": "kmsg", "lookback": text})
    assert error.path == "lookback"
    assert error.problem.startswith("time: ")


def test_other_fields(tmp_path: Path) -> None:
    config, warnings = load_log(
        tmp_path,
        {
            "plugin": "kmsg",
            "logPath": "/dev/kmsg",
            "source": "kernel-monitor",
            "metricsReporting": False,
            "rules": [rule("Killed process", patternGeneratedMessageSuffix="see runbook")],
        },
    )
    assert warnings == []
    assert (config.plugin, config.log_path, config.source, config.metrics_reporting) == (
        LogPlugin.KMSG,
        "/dev/kmsg",
        "kernel-monitor",
        False,
    )
    assert config.rules[0].message_suffix == "see runbook"
    assert config.unusable == ""


# -- plugins --------------------------------------------------------------------------------


@pytest.mark.parametrize("plugin", ["sensulog", "eventlog", "KMSG", "", "custom", "systemstatsmonitor"])
def test_unknown_plugins_are_rejected(tmp_path: Path, plugin: str) -> None:
    error = rejected(tmp_path, {"plugin": plugin})
    assert error.path == "plugin"
    assert f'unknown plugin "{plugin}"' in error.problem


def test_missing_plugin_is_rejected(tmp_path: Path) -> None:
    assert rejected(tmp_path, {"source": "x"}).path == "plugin"


# -- rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["", "Temporary", "PERMANENT", "transient", "warning"])
def test_other_rule_types_are_permanent_with_a_warning(tmp_path: Path, type_name: str) -> None:
    path = write_config(
        tmp_path,
        {
            "plugin": "kmsg",
            "conditions": [{"type": "A", "reason": "Fine", "message": "fine"}],
            "rules": [{"type": type_name, "condition": "A", "reason": "R", "pattern": "x"}],
        },
    )
    config, warnings = load(path, MonitorKind.SYSTEM_LOG)
    assert isinstance(config, LogMonitorConfig)
    assert config.rules[0].type is RuleType.PERMANENT
    assert warnings == [
        f'{path}: rules[0].type: "{type_name}" is neither temporary nor permanent; '
        "treated as permanent, as upstream does"
    ]


@pytest.mark.parametrize("condition", ["Undeclared", ""])
def test_permanent_rule_with_an_undeclared_condition_warns(tmp_path: Path, condition: str) -> None:
    path = write_config(
        tmp_path,
        {
            "plugin": "kmsg",
            "conditions": [{"type": "KernelDeadlock", "reason": "KernelHasNoDeadlock", "message": "ok"}],
            "rules": [{"type": "permanent", "condition": condition, "reason": "DockerHung", "pattern": "x"}],
        },
    )
    config, warnings = load(path, MonitorKind.SYSTEM_LOG)
    assert isinstance(config, LogMonitorConfig)
    assert config.rules[0].condition == condition
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"{path}: rules[0].condition: {condition!r} is not among the declared conditions"
    )


def test_temporary_rule_with_a_condition_does_not_warn(tmp_path: Path) -> None:
    _, warnings = load_log(tmp_path, {"plugin": "kmsg", "rules": [rule(condition="Undeclared")]})
    assert warnings == []


def test_condition_declared_twice_keeps_the_first_with_a_warning(tmp_path: Path) -> None:
    config, warnings = load_log(
        tmp_path,
        {
            "plugin": "kmsg",
            "conditions": [
                {"type": "A", "reason": "First", "message": "1"},
                {"type": "A", "reason": "Second", "message": "2"},
            ],
        },
    )
    assert [(c.type, c.reason) for c in config.conditions] == [("A", "First")]
    assert len(warnings) == 1
    assert "conditions[1].type" in warnings[0]


GO_REJECTED_PATTERNS = [
    r"a\Cb",  # RE2 accepts \C (any byte); Go does not
    r"(?<!x)y",  # lookbehind
    r"(?=x)",  # lookahead
    r"(a)\1",  # backreference
    r"\X*",  # PCRE extended grapheme cluster (bcdonadio's fork)
    r"a++",  # possessive quantifier
    r"x\Z",
    "(",
    "a{1001}",
    r"\p{NotAClass}",
    "[z-a]",
]


@pytest.mark.parametrize("pattern", GO_REJECTED_PATTERNS)
def test_patterns_go_rejects_are_rejected_at_their_path(tmp_path: Path, pattern: str) -> None:
    error = rejected(tmp_path, {"plugin": "kmsg", "rules": [rule(), rule(pattern)]})
    assert error.path == "rules[1].pattern"
    assert error.problem.startswith("invalid regular expression")


@pytest.mark.parametrize(
    "pattern", [r"\pN", r"(?s)Out of memory.*\n.*", "[[:word:]]+", r"\Qa.b", r"(?P<n>x)", r"\x{263a}", ""]
)
def test_patterns_go_accepts_load(tmp_path: Path, pattern: str) -> None:
    config, _ = load_log(tmp_path, {"plugin": "kmsg", "rules": [rule(pattern)]})
    assert config.rules[0].pattern == pattern


# -- journald -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"pluginConfig": {}},
        {"pluginConfig": {"source": ""}},
        {"pluginConfig": {"source": None}},
        {"pluginConfig": {"since": ""}},
    ],
)
def test_journald_without_a_source_loads_unusable(tmp_path: Path, document: dict[str, Any]) -> None:
    config, warnings = load_log(tmp_path, {"plugin": "journald", **document})
    assert config.journald_identifiers == ()
    assert "pluginConfig.source" in config.unusable
    assert any("pluginConfig.source: empty" in warning for warning in warnings)


def test_journald_source(tmp_path: Path) -> None:
    config, warnings = load_log(
        tmp_path, {"plugin": "journald", "pluginConfig": {"source": "kubelet"}, "logPath": "/var/log/journal"}
    )
    assert (config.journald_identifiers, config.log_path, config.unusable) == (
        ("kubelet",),
        "/var/log/journal",
        "",
    )
    assert warnings == []


@pytest.mark.parametrize(
    ("source", "identifiers"),
    [
        (["kubelet", "containerd"], ("kubelet", "containerd")),
        (["kubelet", "kubelet", "", "dockerd"], ("kubelet", "dockerd")),
        (["kernel"], ("kernel",)),
    ],
)
def test_journald_identifiers_as_an_array(
    tmp_path: Path, source: list[str], identifiers: tuple[str, ...]
) -> None:
    config, warnings = load_log(tmp_path, {"plugin": "journald", "pluginConfig": {"source": source}})
    assert config.journald_identifiers == identifiers
    assert config.unusable == ""
    assert warnings == []


@pytest.mark.parametrize("source", [["kubelet", 5], [None], [["a"]], {"a": "b"}])
def test_journald_identifiers_must_be_strings(tmp_path: Path, source: Any) -> None:
    assert (
        rejected(tmp_path, {"plugin": "journald", "pluginConfig": {"source": source}}).path
        == "pluginConfig.source"
    )


def test_journald_source_empty_object_is_rejected(tmp_path: Path) -> None:
    assert (
        rejected(tmp_path, {"plugin": "journald", "pluginConfig": {"source": {}}}).path
        == "pluginConfig.source"
    )


# -- filelog --------------------------------------------------------------------------------


def test_filelog_format(tmp_path: Path) -> None:
    config, warnings = load_log(
        tmp_path, {"plugin": "filelog", "logPath": "/var/log/kern.log", "pluginConfig": FILELOG_FORMAT}
    )
    assert config.filelog == FilelogFormat("^.{15}", r"kernel: \[.*\] (.*)", "Jan _2 15:04:05")
    assert config.unusable == ""
    assert warnings == []


@pytest.mark.parametrize(
    ("plugin_config", "missing"),
    [
        (None, ["timestamp", "message", "timestampFormat"]),
        ({}, ["timestamp", "message", "timestampFormat"]),
        ({"timestamp": "^.{15}", "message": "(.*)"}, ["timestampFormat"]),
        ({"timestamp": "", "message": "(.*)", "timestampFormat": "Jan _2"}, ["timestamp"]),
        ({"logPath": "/var/log/syslog", "timestamp": "^x"}, ["message", "timestampFormat"]),
    ],
)
def test_filelog_without_its_format_loads_unusable(
    tmp_path: Path, plugin_config: dict[str, str] | None, missing: list[str]
) -> None:
    document: dict[str, Any] = {"plugin": "filelog", "logPath": "/var/log/kern.log"}
    if plugin_config is not None:
        document["pluginConfig"] = plugin_config
    config, warnings = load_log(tmp_path, document)
    assert config.filelog is None
    assert config.unusable == ", ".join(f"pluginConfig.{key}" for key in missing) + " missing"
    assert any("upstream logs an error" in warning for warning in warnings)


@pytest.mark.parametrize(
    ("key", "regex"), [("timestamp", "(unclosed"), ("message", r"(?<=kernel: )(.*)"), ("timestamp", r"\C")]
)
def test_filelog_regexes_that_do_not_compile_are_rejected(tmp_path: Path, key: str, regex: str) -> None:
    error = rejected(tmp_path, {"plugin": "filelog", "pluginConfig": {**FILELOG_FORMAT, key: regex}})
    assert error.path == f"pluginConfig.{key}"
    assert error.problem.startswith("invalid regular expression")


def test_filelog_regex_is_checked_even_when_another_key_is_missing(tmp_path: Path) -> None:
    # Upstream MustCompiles both regexes whether or not the format is complete.
    error = rejected(tmp_path, {"plugin": "filelog", "pluginConfig": {"message": "(", "timestamp": "x"}})
    assert error.path == "pluginConfig.message"


@pytest.mark.parametrize(
    ("plugin", "kept"), [("filelog", ("audit:", "audit[")), ("kmsg", ()), ("journald", ())]
)
def test_skip_list_is_kept_for_filelog_only(tmp_path: Path, plugin: str, kept: tuple[str, ...]) -> None:
    config, warnings = load_log(
        tmp_path,
        {
            "plugin": plugin,
            "pluginConfig": {"source": "x"} if plugin == "journald" else FILELOG_FORMAT,
            "skipList": ["audit:", "audit["],
        },
    )
    assert config.skip_list == kept
    skip_warnings = [warning for warning in warnings if "skipList" in warning]
    assert len(skip_warnings) == (0 if plugin == "filelog" else 1)


# -- where npd and upstream disagree --------------------------------------------------------


@pytest.mark.parametrize("condition", [{"reason": "r", "message": "m"}, {"type": "", "reason": "r"}, {}])
def test_condition_without_a_type_loads(tmp_path: Path, condition: dict[str, str]) -> None:
    config, _ = load_log(tmp_path, {"plugin": "kmsg", "conditions": [condition]})
    assert len(config.conditions) == 1


@pytest.mark.parametrize("transition", ["", "yesterday", "2024-01-01"])
def test_condition_transition_must_be_rfc3339(tmp_path: Path, transition: str) -> None:
    error = rejected(tmp_path, {"plugin": "kmsg", "conditions": [{"type": "A", "transition": transition}]})
    assert error.path == "conditions[0].transition"


def test_condition_transition_in_rfc3339_loads(tmp_path: Path) -> None:
    config, warnings = load_log(
        tmp_path,
        {
            "plugin": "kmsg",
            "conditions": [{"type": "A", "status": "True", "transition": "2024-01-01T00:00:00Z"}],
        },
    )
    assert [c.type for c in config.conditions] == ["A"]
    assert warnings == []
