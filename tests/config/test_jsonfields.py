"""Configs are read the way Go's ``encoding/json`` fills upstream's structs.

Upstream decodes every config with ``encoding/json``: keys match struct fields without regard to
case, the last of duplicate keys wins, ``null`` leaves a field as it was, unknown keys are ignored
(npd warns, once per key, naming its JSON path), and a value of the wrong JSON type is an error.
``pluginConfig`` is a ``map[string]string``, so its keys are data and match exactly. Go's JSON has
no ``NaN`` or ``Infinity``. Each behaviour is checked through :func:`load_monitor_config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from npd.config.errors import ConfigError
from npd.config.jsonfields import Fields, parse_json, read_json_file
from npd.config.loader import MonitorKind
from npd.config.logmonitor import LogMonitorConfig
from npd.config.plugin import PluginMonitorConfig
from npd.config.stats import SystemStatsConfig
from tests.config.configfiles import load, load_text, write_config

LOG = MonitorKind.SYSTEM_LOG
CUSTOM = MonitorKind.CUSTOM_PLUGIN
STATS = MonitorKind.SYSTEM_STATS


def log_config(tmp_path: Path, text: str) -> tuple[LogMonitorConfig, list[str]]:
    config, warnings = load_text(tmp_path, text, LOG)
    assert isinstance(config, LogMonitorConfig)
    return config, warnings


def rejected(tmp_path: Path, content: Any, kind: MonitorKind = LOG) -> ConfigError:
    path = write_config(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        load(path, kind)
    assert caught.value.file == str(path)
    return caught.value


# -- keys match fields without regard to case ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "attribute", "value"),
    [
        ('{"plugin": "kmsg", "BufferSize": 3}', "buffer_size", 3),
        ('{"plugin": "kmsg", "LOOKBACK": "5m"}', "lookback", 300.0),
        ('{"PLUGIN": "kmsg", "Source": "kernel-monitor"}', "source", "kernel-monitor"),
        ('{"plugin": "kmsg", "metricsreporting": false}', "metrics_reporting", False),
        ('{"plugin": "kmsg", "LogPath": "/dev/kmsg"}', "log_path", "/dev/kmsg"),
        ('{"plugin": "kmsg", "\u017fource": "long-s"}', "source", "long-s"),  # ſ folds to s in Go too
    ],
)
def test_keys_are_case_insensitive(tmp_path: Path, text: str, attribute: str, value: Any) -> None:
    config, warnings = log_config(tmp_path, text)
    assert getattr(config, attribute) == value
    assert warnings == []


def test_case_insensitive_keys_in_nested_objects(tmp_path: Path) -> None:
    config, warnings = log_config(
        tmp_path,
        '{"plugin": "kmsg", "Conditions": [{"TYPE": "A", "Reason": "r", "MESSAGE": "m"}],'
        ' "RULES": [{"Type": "permanent", "Condition": "A", "REASON": "x", "Pattern": "p"}]}',
    )
    assert warnings == []
    assert (config.conditions[0].type, config.conditions[0].reason, config.conditions[0].message) == (
        "A",
        "r",
        "m",
    )
    assert (config.rules[0].condition, config.rules[0].reason, config.rules[0].pattern) == ("A", "x", "p")


def test_stats_keys_are_case_insensitive(tmp_path: Path) -> None:
    # Upstream's own system-stats-monitor.json writes "KnownModulesConfigPath".
    config, warnings = load_text(
        tmp_path,
        {"osFeature": {"KnownModulesConfigPath": "/etc/known.json"}, "InvokeInterval": "2m", "DISK": {}},
        STATS,
    )
    assert isinstance(config, SystemStatsConfig)
    assert (config.known_modules_path, config.invoke_interval) == ("/etc/known.json", 120.0)
    assert "disk" in config.sections
    assert warnings == []


# -- duplicates and null --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attribute", "value"),
    [
        ('{"plugin": "kmsg", "bufferSize": 5, "bufferSize": 7}', "buffer_size", 7),
        ('{"plugin": "kmsg", "bufferSize": 5, "BUFFERSIZE": 7}', "buffer_size", 7),
        ('{"plugin": "kmsg", "BUFFERSIZE": 7, "bufferSize": 5}', "buffer_size", 5),
        ('{"plugin": "journald", "plugin": "kmsg"}', "plugin", "kmsg"),
        ('{"plugin": "kmsg", "skipList": ["a"], "skipList": []}', "skip_list", ()),
        ('{"plugin": "kmsg", "source": "a", "source": "b", "Source": "c"}', "source", "c"),
    ],
)
def test_last_duplicate_key_wins(tmp_path: Path, text: str, attribute: str, value: Any) -> None:
    config, _ = log_config(tmp_path, text)
    assert getattr(config, attribute) == value


def test_last_duplicate_array_wins(tmp_path: Path) -> None:
    config, _ = log_config(
        tmp_path,
        '{"plugin": "kmsg", "rules": [{"type": "temporary", "reason": "A", "pattern": "a"}],'
        ' "rules": [{"type": "temporary", "reason": "B", "pattern": "b"}]}',
    )
    assert [rule.reason for rule in config.rules] == ["B"]


@pytest.mark.parametrize(
    ("text", "attribute", "value"),
    [
        ('{"plugin": "kmsg", "bufferSize": null}', "buffer_size", 10),
        ('{"plugin": "kmsg", "bufferSize": 5, "bufferSize": null}', "buffer_size", 5),
        ('{"plugin": "kmsg", "source": null}', "source", ""),
        ('{"plugin": "kmsg", "metricsReporting": null}', "metrics_reporting", True),
        ('{"plugin": "kmsg", "lookback": null}', "lookback", 0.0),
        ('{"plugin": "kmsg", "rules": null, "conditions": null, "skipList": null}', "rules", ()),
    ],
)
def test_null_leaves_the_default(tmp_path: Path, text: str, attribute: str, value: Any) -> None:
    config, warnings = log_config(tmp_path, text)
    assert getattr(config, attribute) == value
    assert warnings == []


def test_null_in_custom_plugin_config_leaves_the_defaults(tmp_path: Path) -> None:
    config, _ = load_text(
        tmp_path,
        {"plugin": "custom", "pluginConfig": {"timeout": None, "invoke_interval": None, "concurrency": None}},
        CUSTOM,
    )
    assert isinstance(config, PluginMonitorConfig)
    assert (config.timeout, config.invoke_interval, config.concurrency) == (5.0, 30.0, 3)


def test_duplicate_object_keys_merge_as_in_go(tmp_path: Path) -> None:
    config, _ = log_config(
        tmp_path,
        '{"plugin": "filelog", "logPath": "/var/log/kern.log",'
        ' "pluginConfig": {"timestamp": "^.{15}", "timestampFormat": "Jan _2 15:04:05"},'
        ' "pluginConfig": {"message": "kernel: (.*)"}}',
    )
    assert config.filelog is not None  # Go's map holds all three keys
    assert config.filelog.timestamp == "^.{15}"


def test_null_after_a_duplicate_array_clears_it(tmp_path: Path) -> None:
    config, _ = log_config(
        tmp_path,
        '{"plugin": "kmsg", "rules": [{"type": "temporary", "reason": "A", "pattern": "a"}], "rules": null}',
    )
    assert config.rules == ()


# -- unknown keys ---------------------------------------------------------------------------


def test_unknown_keys_warn_once_each_with_their_json_path(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '{"plugin": "kmsg", "junk": 1, "junk": 2, "taint": {"key": "x"},'
        ' "conditions": [{"type": "A", "reason": "r", "message": "m", "taintEnabled": true}],'
        ' "rules": [{"type": "temporary", "reason": "x", "pattern": "p"},'
        '           {"type": "temporary", "reason": "y", "pattern": "q", "valuePatterns": {"a": "b"}}]}',
    )
    _, warnings = load(path, LOG)
    assert sorted(warnings) == sorted(
        f"{path}: {where}: unknown key ignored"
        for where in ("junk", "taint", "conditions[0].taintEnabled", "rules[1].valuePatterns")
    )


def test_unknown_keys_of_a_custom_plugin_config(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "plugin": "custom",
            "pluginConfig": {"invokeIntervalMs": 5000, "timeout": "5s"},
            "rules": [{"type": "temporary", "reason": "R", "path": "/bin/true", "message": "unused"}],
        },
    )
    _, warnings = load(path, CUSTOM)
    unknown = [warning for warning in warnings if warning.endswith("unknown key ignored")]
    assert unknown == [
        f"{path}: pluginConfig.invokeIntervalMs: unknown key ignored",
        f"{path}: rules[0].message: unknown key ignored",
    ]


def test_unknown_metric_ids_warn(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"memory": {"metricsConfigs": {"memory/available": {"displayName": "x"}}}})
    config, warnings = load(path, STATS)
    assert isinstance(config, SystemStatsConfig)
    assert config.sections["memory"].metrics == {}
    assert warnings == [f"{path}: memory.metricsConfigs.memory/available: unknown metric, ignored"]


# -- values Go's JSON does not have, and values of the wrong type ---------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_rejected(tmp_path: Path, constant: str) -> None:
    error = rejected(tmp_path, f'{{"plugin": "kmsg", "bufferSize": {constant}}}')
    assert "invalid JSON" in error.problem


WRONG_TYPES = [
    (LOG, '{"plugin": "kmsg", "bufferSize": "10"}', "bufferSize", "expected an integer, got string"),
    (LOG, '{"plugin": "kmsg", "bufferSize": 1.5}', "bufferSize", "expected an integer, got number"),
    (LOG, '{"plugin": "kmsg", "bufferSize": 1e2}', "bufferSize", "expected an integer, got number"),
    (LOG, '{"plugin": "kmsg", "bufferSize": true}', "bufferSize", "expected an integer, got boolean"),
    (LOG, '{"plugin": 5}', "plugin", "expected a string, got number"),
    (LOG, '{"plugin": "kmsg", "lookback": 300}', "lookback", "expected a string, got number"),
    (LOG, '{"plugin": "kmsg", "metricsReporting": "true"}', "metricsReporting", "expected true or false"),
    (LOG, '{"plugin": "kmsg", "skipList": "a"}', "skipList", "expected an array, got string"),
    (LOG, '{"plugin": "filelog", "skipList": ["a", 1]}', "skipList[1]", "expected a string, got number"),
    (LOG, '{"plugin": "kmsg", "rules": {}}', "rules", "expected an array, got object"),
    (LOG, '{"plugin": "kmsg", "rules": ["x"]}', "rules[0]", "expected an object, got string"),
    (
        LOG,
        '{"plugin": "kmsg", "rules": [{}, {"pattern": 5}]}',
        "rules[1].pattern",
        "expected a string, got number",
    ),
    (
        LOG,
        '{"plugin": "kmsg", "conditions": [{"type": []}]}',
        "conditions[0].type",
        "expected a string, got array",
    ),
    (LOG, '{"plugin": "kmsg", "pluginConfig": []}', "pluginConfig", "expected an object, got array"),
    (
        LOG,
        '{"plugin": "journald", "pluginConfig": {"source": 5}}',
        "pluginConfig.source",
        "expected a string",
    ),
    (
        LOG,
        '{"plugin": "filelog", "pluginConfig": {"timestamp": true}}',
        "pluginConfig.timestamp",
        "expected a string",
    ),
    (
        CUSTOM,
        '{"plugin": "custom", "pluginConfig": {"timeout": 5}}',
        "pluginConfig.timeout",
        "expected a string",
    ),
    (
        CUSTOM,
        '{"plugin": "custom", "pluginConfig": {"concurrency": "3"}}',
        "pluginConfig.concurrency",
        "integer",
    ),
    (CUSTOM, '{"plugin": "custom", "pluginConfig": "x"}', "pluginConfig", "expected an object, got string"),
    (
        CUSTOM,
        '{"plugin": "custom", "rules": [{"type": "temporary", "path": "/bin/true", "args": ["-a", 1]}]}',
        "rules[0].args[1]",
        "expected a string, got number",
    ),
    (STATS, '{"cpu": {"metricsConfigs": []}}', "cpu.metricsConfigs", "expected an object, got array"),
    (
        STATS,
        '{"cpu": {"metricsConfigs": {"cpu/load_1m": "x"}}}',
        "cpu.metricsConfigs.cpu/load_1m",
        "an object",
    ),
    (STATS, '{"disk": {"includeRootBlk": "yes"}}', "disk.includeRootBlk", "expected true or false"),
    (STATS, '{"invokeInterval": 60}', "invokeInterval", "expected a string, got number"),
    (STATS, '{"net": 1}', "net", "expected an object, got number"),
]


@pytest.mark.parametrize(
    ("kind", "text", "where", "problem"), WRONG_TYPES, ids=[row[2] for row in WRONG_TYPES]
)
def test_wrong_types_are_rejected_at_their_json_path(
    tmp_path: Path, kind: MonitorKind, text: str, where: str, problem: str
) -> None:
    error = rejected(tmp_path, text, kind)
    assert error.path == where
    assert problem in error.problem
    assert error.line() == f"{error.file}: {where}: {error.problem}"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (LOG, '{"plugin": "kmsg", "bufferSize": 9223372036854775808}'),
        (CUSTOM, '{"plugin": "custom", "pluginConfig": {"concurrency": 100000000000000000000}}'),
    ],
)
def test_integers_beyond_int64_are_rejected(tmp_path: Path, kind: MonitorKind, text: str) -> None:
    rejected(tmp_path, text, kind)


def test_lone_surrogate_escapes_become_replacement_characters(tmp_path: Path) -> None:
    config, _ = log_config(
        tmp_path,
        '{"plugin": "kmsg", "source": "\\ud800x",'
        ' "rules": [{"type": "temporary", "reason": "R", "pattern": "a\\udc00b"}]}',
    )
    assert config.source == "\ufffdx"
    assert config.rules[0].pattern == "a\ufffdb"


def test_keys_fold_like_go_not_like_python(tmp_path: Path) -> None:
    config, warnings = log_config(
        tmp_path, '{"plugin": "kmsg", "conditions": [{"type": "A", "reason": "r", "me\u00dfage": "x"}]}'
    )
    assert config.conditions[0].message == ""
    assert len(warnings) == 1


# -- pluginConfig is a map: its keys are exact ----------------------------------------------


def test_plugin_config_keys_are_exact_for_filelog(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "plugin": "filelog",
            "logPath": "/var/log/kern.log",
            "pluginConfig": {"Timestamp": "^.{15}", "message": "(.*)", "timestampFormat": "Jan _2 15:04:05"},
        },
    )
    config, warnings = load(path, LOG)
    assert isinstance(config, LogMonitorConfig)
    assert config.filelog is None
    assert "pluginConfig.timestamp" in config.unusable
    assert f"{path}: pluginConfig.Timestamp: not used by filelog monitors; ignored" in warnings


def test_plugin_config_keys_are_exact_for_journald(tmp_path: Path) -> None:
    config, warnings = log_config(tmp_path, '{"plugin": "journald", "pluginConfig": {"Source": "kubelet"}}')
    assert config.journald_identifiers == ()
    assert config.unusable
    assert any("pluginConfig.Source: not used by journald monitors" in warning for warning in warnings)


def test_plugin_config_of_a_custom_plugin_is_a_struct_so_case_insensitive(tmp_path: Path) -> None:
    config, warnings = load_text(tmp_path, {"plugin": "custom", "pluginConfig": {"TIMEOUT": "7s"}}, CUSTOM)
    assert isinstance(config, PluginMonitorConfig)
    assert config.timeout == 7.0
    assert warnings == []


def test_metric_ids_are_map_keys_so_exact(tmp_path: Path) -> None:
    config, warnings = load_text(
        tmp_path, {"cpu": {"metricsConfigs": {"CPU/LOAD_1M": {"displayName": "x"}}}}, STATS
    )
    assert isinstance(config, SystemStatsConfig)
    assert config.sections["cpu"].metrics == {}
    assert len(warnings) == 1


def test_a_metric_id_differing_only_in_case_does_not_override(tmp_path: Path) -> None:
    config, _ = load_text(
        tmp_path,
        '{"cpu": {"metricsConfigs": {"cpu/load_1m": {"displayName": "one"},'
        ' "CPU/LOAD_1M": {"displayName": "two"}}}}',
        STATS,
    )
    assert isinstance(config, SystemStatsConfig)
    assert config.sections["cpu"].metrics == {"cpu/load_1m": "one"}


# -- the JSON document itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "invalid JSON at line 1 column 2"),
        ('{"plugin": "kmsg",}', "invalid JSON at line 1 column 19"),
        ('{\n  "plugin": "kmsg"\n  "source": "x"\n}', "invalid JSON at line 3 column 3"),
        ("", "invalid JSON at line 1 column 1"),
        ('{"plugin": "kmsg"} {}', "invalid JSON at line 1 column 20"),
        ("\ufeff{}", "invalid JSON"),  # Go rejects a byte order mark too
    ],
)
def test_invalid_json_names_line_and_column(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_json(text, "f.json")
    assert caught.value.problem.startswith(problem)
    assert caught.value.line().startswith(f"f.json: {problem}")


@pytest.mark.parametrize(
    ("text", "got"), [("[]", "array"), ("null", "null"), ('"x"', "string"), ("1", "number")]
)
def test_top_level_must_be_an_object(text: str, got: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Fields(parse_json(text, "f.json"), "f.json", "", lambda _: None)
    assert caught.value.line() == f"f.json: (top level): expected an object, got {got}"


def test_a_wrongly_typed_earlier_duplicate_is_an_error(tmp_path: Path) -> None:
    assert rejected(tmp_path, '{"plugin": "kmsg", "bufferSize": "x", "bufferSize": 1}').path == "bufferSize"


@pytest.mark.parametrize("field", ["rules", "skipList"])
def test_null_array_elements_are_zero_values(tmp_path: Path, field: str) -> None:
    config, _ = log_config(tmp_path, f'{{"plugin": "filelog", "{field}": [null]}}')
    assert len(getattr(config, "rules" if field == "rules" else "skip_list")) == 1


@pytest.mark.parametrize("depth", [800, 100_000])
def test_absurdly_nested_json_is_a_config_error(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"rules": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(ConfigError, match="nested too deeply"):
        read_json_file(str(path))
