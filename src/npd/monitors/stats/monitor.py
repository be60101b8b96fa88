"""The system stats monitor: samples each configured section every ``invokeInterval``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from npd.config.stats import SystemStatsConfig
from npd.metrics.model import MetricFamily
from npd.monitors.base import Monitor, StatusSink
from npd.monitors.stats.base import Paths, StatsCollector
from npd.monitors.stats.cpu import CpuCollector
from npd.monitors.stats.disk import DiskCollector, Usage, statvfs_usage
from npd.monitors.stats.host import HostCollector
from npd.monitors.stats.memory import MemoryCollector
from npd.monitors.stats.net import NetCollector
from npd.monitors.stats.osfeature import OsFeatureCollector
from npd.problem import ProblemDeclaration, Status

log = logging.getLogger("npd.monitors.stats")

#: The source of the (empty) statuses the monitor publishes; upstream's configs name none.
SOURCE = "system-stats-monitor"


def build_collectors(
    config: SystemStatsConfig, *, disk_usage: Callable[[str], Usage] = statvfs_usage
) -> list[StatsCollector]:
    """One collector per section the config has, in upstream's order."""
    paths = Paths(config.proc_path)
    collectors: list[StatsCollector] = []
    sections = config.sections
    if "cpu" in sections:
        collectors.append(CpuCollector(sections["cpu"].metrics, paths))
    if "disk" in sections:
        collectors.append(
            DiskCollector(
                sections["disk"].metrics,
                paths,
                include_root_blk=config.include_root_blk,
                include_all_attached_blk=config.include_all_attached_blk,
                usage=disk_usage,
            )
        )
    if "host" in sections:
        collectors.append(HostCollector(sections["host"].metrics, paths))
    if "memory" in sections:
        collectors.append(MemoryCollector(sections["memory"].metrics, paths))
    if "net" in sections:
        collectors.append(NetCollector(sections["net"].metrics, paths, config.exclude_interface_regexp))
    if "osFeature" in sections:
        collectors.append(OsFeatureCollector(sections["osFeature"].metrics, paths, config.known_modules_path))
    return collectors


class SystemStatsMonitor(Monitor):
    """Metrics only: reports no problems, exposes node metrics through :meth:`collect`.

    Sampling happens on the event loop: every read is of /proc or /sys (memory-backed) plus one
    ``statvfs`` per mounted block file system, each microseconds.
    """

    def __init__(
        self,
        config: SystemStatsConfig,
        name: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        disk_usage: Callable[[str], Usage] = statvfs_usage,
    ) -> None:
        self.name = name or config.file
        self.config = config
        self.declaration = ProblemDeclaration(source=SOURCE, reasons=(), gauges=())
        self._clock = clock
        self._collectors = build_collectors(config, disk_usage=disk_usage)
        self._families: dict[str, list[MetricFamily]] = {}
        self._failing: set[str] = set()
        #: Set after each completed sample (tests await it rather than sleeping).
        self.sampled = asyncio.Event()

    def sample(self) -> None:
        """Read every section now; a section that fails unexpectedly is logged once and left out."""
        now = self._clock()
        for collector in self._collectors:
            try:
                # A family with no samples (say, no device had a previous sample) is left out.
                families = [family for family in collector.sample(now) if family.samples]
            except Exception:
                if collector.section not in self._failing:
                    self._failing.add(collector.section)
                    log.exception(
                        "system stats %s: sampling failed; its metrics are left out", collector.section
                    )
                families = []
            else:
                self._failing.discard(collector.section)
            # One assignment, so a scrape sees a section's whole old or whole new sample.
            self._families[collector.section] = families
        self.sampled.set()

    def collect(self) -> list[MetricFamily]:
        """The families of the latest sample, for the daemon's metrics registry."""
        families: list[MetricFamily] = []
        for collector in self._collectors:
            families.extend(self._families.get(collector.section, ()))
        return families

    async def run(self, sink: StatusSink) -> None:
        """Publish the empty initial status, then sample at start and every ``invokeInterval``."""
        sink.publish(Status(source=SOURCE))
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            self.sample()
            # Ticks on a fixed grid, so a slow sample does not shift the next ones.
            deadline += self.config.invoke_interval
            await asyncio.sleep(max(0.0, deadline - loop.time()))
