"""Loading a monitor config file of a given kind into its typed form."""

from __future__ import annotations

import enum
from collections.abc import Callable

from npd.config.jsonfields import Fields, read_json_file
from npd.config.logmonitor import LogMonitorConfig, load_log_monitor
from npd.config.plugin import PluginMonitorConfig, load_plugin_monitor
from npd.config.stats import SystemStatsConfig, load_system_stats

MonitorConfig = LogMonitorConfig | PluginMonitorConfig | SystemStatsConfig


class MonitorKind(enum.StrEnum):
    """The problem daemon a config is for: the suffix of its ``--config.<kind>`` flag."""

    SYSTEM_LOG = "system-log-monitor"
    CUSTOM_PLUGIN = "custom-plugin-monitor"
    SYSTEM_STATS = "system-stats-monitor"


#: The loader of each kind of config (Fields of the top-level object, warn → typed config).
LOADERS: dict[MonitorKind, Callable[[Fields, Callable[[str], None]], MonitorConfig]] = {
    MonitorKind.SYSTEM_LOG: load_log_monitor,
    MonitorKind.CUSTOM_PLUGIN: load_plugin_monitor,
    MonitorKind.SYSTEM_STATS: load_system_stats,
}


def load_monitor_config(file: str, kind: MonitorKind, warn: Callable[[str], None]) -> MonitorConfig:
    """Read and validate ``file`` as a ``kind`` config.

    Raises :class:`npd.config.errors.ConfigError` on anything upstream would refuse; reports
    what upstream silently ignores through ``warn``, one line each.
    """
    return LOADERS[kind](Fields(read_json_file(file), file, "", warn), warn)


def load_log_monitor_file(file: str, warn: Callable[[str], None]) -> LogMonitorConfig:
    """Read and validate ``file`` as a system log monitor config."""
    return load_log_monitor(Fields(read_json_file(file), file, "", warn), warn)


def load_plugin_monitor_file(file: str, warn: Callable[[str], None]) -> PluginMonitorConfig:
    """Read and validate ``file`` as a custom plugin monitor config."""
    return load_plugin_monitor(Fields(read_json_file(file), file, "", warn), warn)


def load_system_stats_file(file: str, warn: Callable[[str], None]) -> SystemStatsConfig:
    """Read and validate ``file`` as a system stats monitor config."""
    return load_system_stats(Fields(read_json_file(file), file, "", warn), warn)
