"""A config problem is reported as one line: ``file: json.path: problem``.

The operator sees exactly this line (prefixed by the program name) and nothing else, so it must
name the file, locate the problem, and never span several lines, whatever the config contains.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from npd.config.errors import ConfigError
from npd.config.loader import MonitorKind
from tests.config.configfiles import load, write_config


def test_line_with_a_json_path() -> None:
    assert (
        ConfigError("/etc/npd/k.json", "rules[3].pattern", "bad").line()
        == "/etc/npd/k.json: rules[3].pattern: bad"
    )


def test_line_without_a_json_path() -> None:
    error = ConfigError("/etc/npd/k.json", "", "invalid JSON at line 1 column 2: Expecting value")
    assert error.line() == "/etc/npd/k.json: invalid JSON at line 1 column 2: Expecting value"
    assert str(error) == error.line()


# Documents whose problem text quotes something taken from the config.
QUOTING = [
    (MonitorKind.SYSTEM_LOG, '{"plugin": "a\\nb"}', "plugin"),
    (MonitorKind.SYSTEM_LOG, '{"plugin": "kmsg", "lookback": "5\\nm"}', "lookback"),
    (
        MonitorKind.SYSTEM_LOG,
        '{"plugin": "kmsg", "rules": [{"type": "temporary", "pattern": "x\\n("}]}',
        "rules[0].pattern",
    ),
    (MonitorKind.SYSTEM_LOG, '{"plugin": "journald", "pluginConfig": {"x\\ny": 1}}', "pluginConfig.x\ny"),
    (MonitorKind.SYSTEM_STATS, '{"cpu": {"metricsConfigs": {"a\\rb": 5}}}', "cpu.metricsConfigs.a\rb"),
    (
        MonitorKind.CUSTOM_PLUGIN,
        '{"plugin": "custom", "rules": [{"type": "temporary", "path": "/bin/true", "timeout": "1\\nm"}]}',
        "rules[0].timeout",
    ),
    (MonitorKind.CUSTOM_PLUGIN, '{"plugin": "custom\\u2028"}', "plugin"),
]


def _problem(tmp_path: Path, kind: MonitorKind, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, text), kind)
    return caught.value


@pytest.mark.parametrize(("kind", "text", "where"), QUOTING, ids=[row[2] for row in QUOTING])
def test_problems_quoting_the_config_are_located(
    tmp_path: Path, kind: MonitorKind, text: str, where: str
) -> None:
    assert _problem(tmp_path, kind, text).path == where


@pytest.mark.parametrize(("kind", "text", "where"), QUOTING, ids=[row[2] for row in QUOTING])
def test_problems_quoting_the_config_stay_on_one_line(
    tmp_path: Path, kind: MonitorKind, text: str, where: str
) -> None:
    line = _problem(tmp_path, kind, text).line()
    assert line.splitlines() == [line]
