"""The standard ``process_*`` metrics, read from /proc/self at scrape time."""

from __future__ import annotations

import os
import resource

from npd.metrics.model import MetricFamily

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


def _boot_time() -> float:
    with open("/proc/stat", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def collect_process() -> list[MetricFamily]:
    """Resident and virtual memory, CPU time, start time and open file descriptors of this process."""
    families = []
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = MetricFamily(
        "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter"
    )
    cpu.add(usage.ru_utime + usage.ru_stime)
    families.append(cpu)
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        start = MetricFamily(
            "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge"
        )
        start.add(_boot_time() + int(fields[19]) / _TICKS)
        virtual = MetricFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge")
        virtual.add(float(fields[20]))
        resident = MetricFamily("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge")
        resident.add(float(int(fields[21]) * _PAGE_SIZE))
        families += [start, virtual, resident]
    except (OSError, IndexError, ValueError):
        pass
    try:
        fds = MetricFamily("process_open_fds", "Number of open file descriptors.", "gauge")
        fds.add(float(len(os.listdir("/proc/self/fd"))))
        families.append(fds)
    except OSError:
        pass
    return families
