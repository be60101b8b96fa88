"""The ``cpu`` section: /proc/loadavg and /proc/stat."""

from __future__ import annotations

import os

from npd.metrics.model import MetricFamily, MetricType
from npd.monitors.stats.base import USER_HZ, Families, StatsCollector, parse_int

#: /proc/stat cpu columns in order, with upstream's ``cpu_usage_time`` state and ``system_cpu_stat`` stage.
_COLUMNS = (
    ("user", "user"),
    ("nice", "nice"),
    ("system", "system"),
    ("idle", "idle"),
    ("iowait", "iowait"),
    ("irq", "iRQ"),
    ("softirq", "softIRQ"),
    ("steal", "steal"),
    ("guest", "guest"),
    ("guest_nice", "guestNice"),
)
#: Upstream's order of ``cpu_usage_time`` states.
_USAGE_ORDER = ("user", "system", "idle", "nice", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")


class CpuCollector(StatsCollector):
    """Load averages, cpu time in seconds (cumulative counters) and /proc/stat process counts."""

    section = "cpu"

    def sample(self, now: float) -> list[MetricFamily]:
        """See :meth:`StatsCollector.sample`."""
        out = Families(self.metrics)
        self._load(out)
        self._stat(out)
        return out.families

    def _load(self, out: Families) -> None:
        ids = ("cpu/runnable_task_count", "cpu/load_1m", "cpu/load_5m", "cpu/load_15m")
        if not any(out.wanted(i) for i in ids):
            return
        path = os.path.join(self.paths.proc, "loadavg")
        text = self.warner.read(path)
        if text is None:
            return
        try:
            load1, load5, load15 = (float(field) for field in text.split()[:3])
        except ValueError:
            self.warner.warn(path + ":parse", f"malformed {path}; load metrics left out")
            return
        self.warner.clear(path + ":parse")
        # Upstream reports the 1-minute load average as the runnable task count.
        for metric_id, value, help_text in (
            (
                "cpu/runnable_task_count",
                load1,
                "The average number of runnable tasks in the run-queue over 1m.",
            ),
            ("cpu/load_1m", load1, "CPU average load (1 minute)."),
            ("cpu/load_5m", load5, "CPU average load (5 minutes)."),
            ("cpu/load_15m", load15, "CPU average load (15 minutes)."),
        ):
            family = out.new(metric_id, help_text, "gauge")
            if family is not None:
                family.add(value)

    def _stat(self, out: Families) -> None:
        ids = (
            "cpu/usage_time", "system/cpu_stat", "system/interrupts_total", "system/processes_total",
            "system/procs_running", "system/procs_blocked",
        )  # fmt: skip
        if not any(out.wanted(i) for i in ids):
            return
        path = os.path.join(self.paths.proc, "stat")
        text = self.warner.read(path)
        if text is None:
            return
        total: list[int] | None = None
        per_cpu: list[tuple[str, list[int]]] = []
        scalars: dict[str, int] = {}
        bad: list[str] = []
        for line in text.splitlines():
            fields = line.split()
            if not fields:
                continue
            key = fields[0]
            try:
                if key == "cpu":
                    total = [parse_int(f) for f in fields[1:]]
                elif key.startswith("cpu") and key[3:].isdigit():
                    per_cpu.append((key, [parse_int(f) for f in fields[1:]]))
                elif key in ("intr", "processes", "procs_running", "procs_blocked"):
                    scalars[key] = parse_int(fields[1])
            except (ValueError, IndexError):
                bad.append(key)
        if bad:
            self.warner.warn(path + ":parse", f"malformed {path} lines {bad}; their metrics are left out")
        else:
            self.warner.clear(path + ":parse")

        if total is not None and (
            usage := out.new("cpu/usage_time", "Cumulative CPU time by state, in seconds.", "counter")
        ):
            by_state = dict(zip((state for state, _ in _COLUMNS), total, strict=False))
            for state in _USAGE_ORDER:
                if state in by_state:
                    usage.add(by_state[state] / USER_HZ, state=state)
        if per_cpu and (
            stat := out.new(
                "system/cpu_stat", "Cumulative time each CPU spent in each stage, in seconds.", "counter"
            )
        ):
            for cpu, values in per_cpu:
                for (_, stage), value in zip(_COLUMNS, values, strict=False):
                    stat.add(value / USER_HZ, cpu=cpu, stage=stage)
        scalar_ids: tuple[tuple[str, str, MetricType, str], ...] = (
            (
                "system/interrupts_total",
                "intr",
                "counter",
                "Total number of interrupts serviced (cumulative).",
            ),
            ("system/processes_total", "processes", "counter", "Number of forks since boot."),
            ("system/procs_running", "procs_running", "gauge", "Number of processes in runnable state."),
            (
                "system/procs_blocked",
                "procs_blocked",
                "gauge",
                "Number of processes blocked waiting for I/O.",
            ),
        )
        for metric_id, key, metric_type, help_text in scalar_ids:
            if key in scalars:
                family = out.new(metric_id, help_text, metric_type)
                if family is not None:
                    family.add(scalars[key])
