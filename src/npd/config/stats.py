"""System stats monitor configs (``--config.system-stats-monitor``), validated as upstream does."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from npd.config.duration import parse_go_duration
from npd.config.exhaustion import ExhaustionConfig, load_exhaustion
from npd.config.jsonfields import Fields
from npd.goregex import GoRegexError, compile_go

#: Metric IDs upstream knows, per collector (``pkg/systemstatsmonitor``).
KNOWN_METRICS = {
    "cpu": {
        "cpu/runnable_task_count", "cpu/usage_time", "cpu/load_1m", "cpu/load_5m", "cpu/load_15m",
        "system/cpu_stat", "system/interrupts_total", "system/processes_total", "system/procs_blocked",
        "system/procs_running",
    },
    "disk": {
        "disk/io_time", "disk/weighted_io", "disk/avg_queue_len", "disk/operation_count",
        "disk/merged_operation_count", "disk/operation_bytes_count", "disk/operation_time",
        "disk/bytes_used", "disk/percent_used",
    },
    "host": {"host/uptime"},
    "memory": {
        "memory/bytes_used", "memory/anonymous_used", "memory/page_cache_used", "memory/unevictable_used",
        "memory/dirty_used", "memory/percent_used",
    },
    "net": {
        f"net/{direction}_{name}"
        for direction, names in (
            ("rx", ("bytes", "packets", "errors", "dropped", "fifo", "frame", "compressed", "multicast")),
            ("tx", ("bytes", "packets", "errors", "dropped", "fifo", "collisions", "carrier", "compressed")),
        )
        for name in names
    },
    "osFeature": {"system/os_feature"},
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class StatsSection:
    """One collector's settings: the metric IDs it exports, each with its display name."""

    metrics: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SystemStatsConfig:
    """A validated system stats monitor config; durations are in seconds."""

    file: str
    invoke_interval: float
    proc_path: str
    sections: dict[str, StatsSection]
    include_root_blk: bool = False
    include_all_attached_blk: bool = False
    lsblk_timeout: float = 5.0
    exclude_interface_regexp: str = ""
    known_modules_path: str = ""
    #: npd's resource exhaustion conditions; ``None`` (no ``exhaustion`` key) reports none.
    exhaustion: ExhaustionConfig | None = None


_LSBLK_DEFAULT = "5s"


def _duration_or_default(fields: Fields, key: str, default: str) -> float:
    """Upstream's stats durations are plain strings where empty means the default."""
    return fields.duration(key, default) if fields.string(key) else parse_go_duration(default)


def load_system_stats(top: Fields, warn: Callable[[str], None]) -> SystemStatsConfig:
    """Validate a system stats monitor config read from JSON.

    As upstream: an empty duration means its default; ``invokeInterval`` (60s) must be
    positive; ``lsblkTimeout`` (5s, compared even without a ``disk`` section) must be positive
    and at most ``invokeInterval``; ``procPath`` must exist; unknown metric IDs are ignored
    (warned here). ``exhaustion`` (npd's extension) is validated by
    :func:`npd.config.exhaustion.load_exhaustion`.
    """
    invoke_interval = _duration_or_default(top, "invokeInterval", "60s")
    if invoke_interval <= 0:
        raise top.error("invokeInterval", "must be greater than zero")
    sections: dict[str, StatsSection] = {}
    include_root = include_all = False
    lsblk_timeout = parse_go_duration(_LSBLK_DEFAULT)
    exclude = ""
    known_modules = ""
    for name, known in KNOWN_METRICS.items():
        section = top.obj(name)
        if section is None:
            continue
        metrics: dict[str, str] = {}
        # A Go map: metric IDs are exact keys.
        for metric_id, value in section.mapping("metricsConfigs"):
            item = Fields(value, top.file, f"{name}.metricsConfigs.{metric_id}", warn)
            display = item.string("displayName")
            item.done()
            if metric_id not in known:
                warn(f"{top.file}: {name}.metricsConfigs.{metric_id}: unknown metric, ignored")
                continue
            metrics[metric_id] = display
        if name == "disk":
            include_root = section.boolean("includeRootBlk", False)
            include_all = section.boolean("includeAllAttachedBlk", False)
            lsblk_timeout = _duration_or_default(section, "lsblkTimeout", _LSBLK_DEFAULT)
        elif name == "net":
            exclude = section.string("excludeInterfaceRegexp")
            if exclude:
                try:
                    compile_go(exclude)
                except GoRegexError as exc:
                    raise section.error("excludeInterfaceRegexp", str(exc)) from None
        elif name == "osFeature":
            known_modules = section.string("knownModulesConfigPath")
            if known_modules and not os.path.isabs(known_modules):
                known_modules = os.path.join(os.path.dirname(os.path.abspath(top.file)), known_modules)
        section.done()
        sections[name] = StatsSection(metrics)
    if lsblk_timeout <= 0:
        raise top.error("disk.lsblkTimeout", "must be greater than zero")
    if lsblk_timeout > invoke_interval:
        raise top.error("disk.lsblkTimeout", f"the lsblk timeout ({lsblk_timeout:g}s) exceeds invokeInterval")
    proc_path = top.string("procPath") or "/proc"
    if not os.path.exists(proc_path):
        raise top.error("procPath", f"{proc_path} does not exist")
    exhaustion = load_exhaustion(top, warn)
    config = SystemStatsConfig(
        file=top.file,
        invoke_interval=invoke_interval,
        proc_path=proc_path,
        sections=sections,
        include_root_blk=include_root,
        include_all_attached_blk=include_all,
        lsblk_timeout=lsblk_timeout,
        exclude_interface_regexp=exclude,
        known_modules_path=known_modules,
        exhaustion=exhaustion,
    )
    top.done()
    return config
