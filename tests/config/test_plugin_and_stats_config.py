"""Custom plugin and system stats configs: upstream's defaults and validation.

Custom plugin (``pkg/custompluginmonitor/types/config.go``): ``plugin`` must be ``custom``; defaults
invoke_interval 30s, timeout 5s, max_output_length 80, concurrency 3; a rule's timeout may not exceed
the global one; every permanent rule's condition needs a default condition. System stats
(``pkg/systemstatsmonitor/types/config.go``): defaults invokeInterval 60s, lsblkTimeout 5s, procPath
/proc; an empty string means the default; lsblkTimeout must be positive and at most invokeInterval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from npd.config.errors import ConfigError
from npd.config.loader import MonitorKind
from npd.config.plugin import PluginMonitorConfig
from npd.config.stats import SystemStatsConfig
from npd.problem import RuleType
from tests.config.configfiles import load, write_config

TRUE = "/bin/true"


def load_custom(tmp_path: Path, document: Any) -> tuple[PluginMonitorConfig, list[str]]:
    config, warnings = load(write_config(tmp_path, document), MonitorKind.CUSTOM_PLUGIN)
    assert isinstance(config, PluginMonitorConfig)
    return config, warnings


def load_stats(tmp_path: Path, document: Any) -> SystemStatsConfig:
    config, _ = load(write_config(tmp_path, document), MonitorKind.SYSTEM_STATS)
    assert isinstance(config, SystemStatsConfig)
    return config


def rejected(tmp_path: Path, document: Any, kind: MonitorKind) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, document), kind)
    return caught.value


def custom(*rules: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"plugin": "custom", "rules": list(rules), **top}


# -- custom plugin ------------------------------------------------------------------------


def test_custom_plugin_defaults(tmp_path: Path) -> None:
    config, warnings = load_custom(tmp_path, custom({"type": "temporary", "reason": "R", "path": TRUE}))
    assert (config.invoke_interval, config.timeout, config.max_output_length, config.concurrency) == (
        30.0,
        5.0,
        80,
        3,
    )
    assert (config.message_change_updates, config.skip_initial_status, config.metrics_reporting) == (
        False,
        False,
        True,
    )
    assert (config.rules[0].timeout, config.rules[0].invoke_interval, config.rules[0].args) == (5.0, 30.0, ())
    assert warnings == []


def test_custom_plugin_settings(tmp_path: Path) -> None:
    config, _ = load_custom(
        tmp_path,
        custom(
            {
                "type": "permanent",
                "condition": "C",
                "reason": "R",
                "path": TRUE,
                "args": ["-x"],
                "timeout": "3s",
                "invoke_interval": "1m",
            },
            pluginConfig={
                "invoke_interval": "10s",
                "timeout": "1m",
                "max_output_length": 200,
                "concurrency": 1,
                "enable_message_change_based_condition_update": True,
                "skip_initial_status": True,
            },
            conditions=[{"type": "C", "reason": "Fine", "message": "fine"}],
        ),
    )
    assert (config.invoke_interval, config.timeout, config.max_output_length, config.concurrency) == (
        10.0,
        60.0,
        200,
        1,
    )
    assert (config.message_change_updates, config.skip_initial_status) == (True, True)
    only = config.rules[0]
    assert (only.type, only.condition, only.args, only.timeout, only.invoke_interval) == (
        RuleType.PERMANENT,
        "C",
        ("-x",),
        3.0,
        60.0,
    )


@pytest.mark.parametrize(("rule_timeout", "global_timeout"), [("30s", None), ("6s", "5s"), ("3m1s", "3m")])
def test_rule_timeout_above_the_global_timeout_is_rejected(
    tmp_path: Path, rule_timeout: str, global_timeout: str | None
) -> None:
    top = {"pluginConfig": {"timeout": global_timeout}} if global_timeout else {}
    error = rejected(
        tmp_path,
        custom({"type": "temporary", "path": TRUE, "timeout": rule_timeout}, **top),
        MonitorKind.CUSTOM_PLUGIN,
    )
    assert (error.path, error.problem) == ("rules[0].timeout", "exceeds the global pluginConfig.timeout")


def test_rule_timeout_equal_to_the_global_timeout_loads(tmp_path: Path) -> None:
    config, _ = load_custom(
        tmp_path, custom({"type": "temporary", "path": TRUE, "timeout": "3m"}, pluginConfig={"timeout": "3m"})
    )
    assert config.rules[0].timeout == 180.0


@pytest.mark.parametrize("condition", ["Undeclared", ""])
def test_permanent_rule_without_a_declared_condition_is_rejected(tmp_path: Path, condition: str) -> None:
    error = rejected(
        tmp_path,
        custom(
            {"type": "permanent", "condition": condition, "reason": "R", "path": TRUE},
            conditions=[{"type": "Other", "reason": "Fine"}],
        ),
        MonitorKind.CUSTOM_PLUGIN,
    )
    assert error.path == "rules[0].condition"
    assert "does not have a preset default condition" in error.problem


def test_missing_plugin_executable_only_warns(tmp_path: Path) -> None:
    path = write_config(tmp_path, custom({"type": "temporary", "path": "/no/such/check.sh"}))
    config, warnings = load(path, MonitorKind.CUSTOM_PLUGIN)
    assert isinstance(config, PluginMonitorConfig)
    assert warnings == [f"{path}: rules[0].path: /no/such/check.sh does not exist here"]


@pytest.mark.parametrize("plugin", ["", "Custom", "healthchecker", "kmsg"])
def test_custom_plugin_must_say_custom(tmp_path: Path, plugin: str) -> None:
    assert rejected(tmp_path, {"plugin": plugin}, MonitorKind.CUSTOM_PLUGIN).path == "plugin"


@pytest.mark.parametrize("text", ["", "5", "soon"])
def test_bad_global_timeout_is_rejected(tmp_path: Path, text: str) -> None:
    # A timeout given as "" is parsed (and fails) upstream: the field is a *string, not defaulted.
    error = rejected(tmp_path, custom(pluginConfig={"timeout": text}), MonitorKind.CUSTOM_PLUGIN)
    assert error.path == "pluginConfig.timeout"


def test_empty_rule_timeout_is_rejected(tmp_path: Path) -> None:
    error = rejected(
        tmp_path, custom({"type": "temporary", "path": TRUE, "timeout": ""}), MonitorKind.CUSTOM_PLUGIN
    )
    assert error.path == "rules[0].timeout"


@pytest.mark.parametrize("type_name", ["", "Temporary", "bogus"])
def test_other_custom_rule_types_load(tmp_path: Path, type_name: str) -> None:
    config, _ = load_custom(tmp_path, custom({"type": type_name, "reason": "R", "path": TRUE}))
    assert len(config.rules) == 1


# -- system stats -------------------------------------------------------------------------


def test_stats_defaults(tmp_path: Path) -> None:
    config = load_stats(tmp_path, {})
    assert (config.invoke_interval, config.lsblk_timeout, config.proc_path, config.sections) == (
        60.0,
        5.0,
        "/proc",
        {},
    )


def test_stats_sections(tmp_path: Path) -> None:
    config = load_stats(
        tmp_path,
        {
            "cpu": {"metricsConfigs": {"cpu/load_1m": {"displayName": "cpu/load_1m"}, "cpu/load_5m": {}}},
            "disk": {"includeRootBlk": True, "lsblkTimeout": "10s", "metricsConfigs": {}},
            "net": {"excludeInterfaceRegexp": "^(cali|veth)", "metricsConfigs": {"net/rx_bytes": None}},
            "osFeature": {"knownModulesConfigPath": "guestosconfig/known-modules.json"},
            "invokeInterval": "120s",
        },
    )
    assert config.sections["cpu"].metrics == {"cpu/load_1m": "cpu/load_1m", "cpu/load_5m": ""}
    assert config.sections["net"].metrics == {"net/rx_bytes": ""}
    assert (config.include_root_blk, config.lsblk_timeout, config.invoke_interval) == (True, 10.0, 120.0)
    assert config.exclude_interface_regexp == "^(cali|veth)"
    assert config.known_modules_path == str(tmp_path / "guestosconfig" / "known-modules.json")


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"invokeInterval": "0s"}, "invokeInterval"),
        ({"invokeInterval": "-1m"}, "invokeInterval"),
        ({"invokeInterval": "1 minute"}, "invokeInterval"),
        ({"disk": {"lsblkTimeout": "0s"}}, "disk.lsblkTimeout"),
        ({"disk": {"lsblkTimeout": "2m"}}, "disk.lsblkTimeout"),
        ({"net": {"excludeInterfaceRegexp": "(?!cali)"}}, "net.excludeInterfaceRegexp"),
    ],
)
def test_stats_validation(tmp_path: Path, document: dict[str, Any], where: str) -> None:
    assert rejected(tmp_path, document, MonitorKind.SYSTEM_STATS).path == where


@pytest.mark.parametrize("document", [{"invokeInterval": ""}, {"disk": {"lsblkTimeout": ""}}])
def test_empty_stats_durations_mean_the_default(tmp_path: Path, document: dict[str, Any]) -> None:
    config = load_stats(tmp_path, document)
    assert (config.invoke_interval, config.lsblk_timeout) == (60.0, 5.0)


def test_short_invoke_interval_without_disk_section_is_rejected(tmp_path: Path) -> None:
    rejected(tmp_path, {"cpu": {"metricsConfigs": {}}, "invokeInterval": "1s"}, MonitorKind.SYSTEM_STATS)


def test_missing_proc_path_is_rejected(tmp_path: Path) -> None:
    error = rejected(tmp_path, {"procPath": str(tmp_path / "no-proc")}, MonitorKind.SYSTEM_STATS)
    assert error.path == "procPath"
