"""Running lines through a bundled monitor config with the real engine, for the catalog tests.

Each case gets a fresh monitor, so a permanent rule's condition starts False for every case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from npd.config.loader import load_log_monitor_file
from npd.config.logmonitor import LogMonitorConfig
from npd.daemon.build import BUNDLED_DIR, BUNDLED_LOG_MONITORS
from npd.monitors.logmonitor import SystemLogMonitor
from npd.monitors.matcher import RuleMatcher
from npd.problem import ConditionStatus
from npd.sources.base import LogRecord, RecordBatch


@dataclass(frozen=True)
class Found:
    """One report a config made: a temporary event or a condition turning True."""

    reason: str
    condition: str  # empty for a temporary rule
    message: str


@cache
def bundled(name: str) -> LogMonitorConfig:
    """A bundled config by file name (``kernel-monitor.json``), loaded and validated once."""
    return load_log_monitor_file(os.path.join(BUNDLED_DIR, name), lambda _: None)


def bundled_names() -> tuple[str, ...]:
    """The bundled system log monitor configs the daemon runs by default."""
    return BUNDLED_LOG_MONITORS


def findings(config: str | LogMonitorConfig, lines: list[str]) -> list[Found]:
    """What a fresh monitor for ``config`` reports for ``lines`` (messages, oldest first)."""
    loaded = bundled(config) if isinstance(config, str) else config
    monitor = SystemLogMonitor(loaded, _NoSource(), name="catalog")
    matcher = RuleMatcher(loaded.rules, loaded.buffer_size)
    out: list[Found] = []
    for number, line in enumerate(lines):
        for match in matcher.feed(RecordBatch([LogRecord(1_700_000_000.0 + number, line)], None)):
            status = monitor.apply(match)
            if status is None:
                continue
            rule = match.rule
            if rule.condition and any(
                c.type == rule.condition and c.status is ConditionStatus.TRUE for c in status.conditions
            ) and rule.type.value == "permanent":
                out.append(Found(rule.reason, rule.condition, status.events[0].message))
            else:
                out.append(Found(rule.reason, "", status.events[0].message))
    return out


def reasons(config: str | LogMonitorConfig, lines: list[str]) -> list[str]:
    """The reasons of :func:`findings`, in order."""
    return [found.reason for found in findings(config, lines)]


class _NoSource:
    """The monitor is driven through :meth:`SystemLogMonitor.apply`; it never reads a source."""

    health = None

    def batches(self):  # type: ignore[no-untyped-def]
        raise AssertionError("not used")
