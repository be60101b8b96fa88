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
from npd.monitors.logmonitor import rule_matcher
from npd.monitors.tracker import ProblemTracker
from npd.sources.base import LogRecord, RecordBatch

_START = 1_700_000_000.0


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
    tracker = ProblemTracker(loaded, None, _START)
    matcher = rule_matcher(loaded)
    out: list[Found] = []
    for number, line in enumerate(lines):
        for match in matcher.feed(RecordBatch([LogRecord(_START + number, line)], None)):
            for report in tracker.match(match):
                if report.rule is None or report.rule.clears:
                    continue
                condition = report.condition.type if report.condition is not None else ""
                out.append(Found(report.rule.reason, condition, report.event.message))
    return out


def reasons(config: str | LogMonitorConfig, lines: list[str]) -> list[str]:
    """The reasons of :func:`findings`, in order."""
    return [found.reason for found in findings(config, lines)]
