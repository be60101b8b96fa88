"""npd's metrics about itself: sources, state directory, build."""

from __future__ import annotations

from collections.abc import Mapping

import npd
from npd.metrics.model import Collector, MetricFamily
from npd.sources.base import SourceHealth
from npd.state import StateStore


def source_collector(sources: Mapping[str, SourceHealth]) -> Collector:
    """Per-source counters and health, read from each source's :class:`SourceHealth` at scrape time."""

    def collect() -> list[MetricFamily]:
        up = MetricFamily("npd_source_up", "Whether a log source is reading (1) or failing (0).", "gauge")
        read = MetricFamily("npd_source_lines_read_total", "Log lines or records a source read.", "counter")
        failures = MetricFamily(
            "npd_source_parse_failures_total",
            "Lines a source could not parse (among those it parsed).",
            "counter",
        )
        dropped = MetricFamily(
            "npd_source_lines_dropped_total", "Lines a source dropped, by reason.", "counter"
        )
        errors = MetricFamily("npd_source_read_errors_total", "Errors a source hit while reading.", "counter")
        overruns = MetricFamily(
            "npd_source_overruns_total",
            "Times the kernel ring buffer overwrote records before npd read them.",
            "counter",
        )
        last = MetricFamily(
            "npd_source_last_read_timestamp_seconds",
            "When a source last read a line (seconds since the epoch).",
            "gauge",
        )
        for name, health in sources.items():
            labels = {"monitor": name, "kind": health.kind}
            up.add(1 if health.alive else 0, **labels)
            read.add(health.lines_read, **labels)
            failures.add(health.parse_failures, **labels)
            dropped.add(health.skipped, reason="skip_list", **labels)
            dropped.add(health.too_old, reason="before_start", **labels)
            errors.add(health.read_errors, **labels)
            overruns.add(health.overruns, **labels)
            if health.last_read is not None:
                last.add(health.last_read, **labels)
        return [up, read, failures, dropped, errors, overruns, last]

    return collect


def state_collector(state: StateStore) -> Collector:
    """Writes to and failures of the state directory."""

    def collect() -> list[MetricFamily]:
        enabled = MetricFamily(
            "npd_state_enabled", "Whether positions and conditions survive restarts.", "gauge"
        )
        enabled.add(1 if state.enabled else 0)
        writes = MetricFamily(
            "npd_state_writes_total", "Checkpoints written to the state directory.", "counter"
        )
        writes.add(state.writes)
        errors = MetricFamily("npd_state_write_errors_total", "Failed state directory writes.", "counter")
        errors.add(state.write_errors)
        return [enabled, writes, errors]

    return collect


def collect_build_info() -> list[MetricFamily]:
    """``npd_build_info{version}`` = 1."""
    info = MetricFamily("npd_build_info", "The running npd version.", "gauge")
    info.add(1, version=npd.__version__)
    return [info]
