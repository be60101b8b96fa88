"""System stats monitor configs (``--config.system-stats-monitor``), validated as upstream does."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

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


def load_system_stats(top: Fields, warn: Callable[[str], None]) -> SystemStatsConfig:
    """Validate a system stats monitor config read from JSON.

    As upstream: ``invokeInterval`` (default 60s) must be positive, ``lsblkTimeout`` positive
    and at most ``invokeInterval``; unknown metric IDs are ignored (warned here).
    """
    invoke_interval = top.duration("invokeInterval", "60s")
    if invoke_interval <= 0:
        raise top.error("invokeInterval", "must be greater than zero")
    sections: dict[str, StatsSection] = {}
    include_root = include_all = False
    lsblk_timeout = 5.0
    exclude = ""
    known_modules = ""
    for name, known in KNOWN_METRICS.items():
        section = top.obj(name)
        if section is None:
            continue
        metrics: dict[str, str] = {}
        configs = section.obj("metricsConfigs")
        if configs is not None:
            for metric_id in configs.names():
                item = configs.obj(metric_id)
                display = item.string("displayName") if item is not None else ""
                if item is not None:
                    item.done()
                if metric_id not in known:
                    warn(f"{top.file}: {name}.metricsConfigs.{metric_id}: unknown metric, ignored")
                    continue
                metrics[metric_id] = display
        if name == "disk":
            include_root = section.boolean("includeRootBlk", False)
            include_all = section.boolean("includeAllAttachedBlk", False)
            lsblk_timeout = section.duration("lsblkTimeout", "5s")
            if lsblk_timeout <= 0:
                raise section.error("lsblkTimeout", "must be greater than zero")
            if lsblk_timeout > invoke_interval:
                raise section.error("lsblkTimeout", "must not exceed invokeInterval")
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
    config = SystemStatsConfig(
        file=top.file,
        invoke_interval=invoke_interval,
        proc_path=top.string("procPath", "/proc") or "/proc",
        sections=sections,
        include_root_blk=include_root,
        include_all_attached_blk=include_all,
        lsblk_timeout=lsblk_timeout,
        exclude_interface_regexp=exclude,
        known_modules_path=known_modules,
    )
    top.done()
    return config
