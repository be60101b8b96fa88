"""The system stats monitor: samples each configured section every ``invokeInterval``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from npd.config.stats import SystemStatsConfig
from npd.metrics.model import MetricFamily
from npd.monitors.base import Monitor, StatusSink
from npd.monitors.stats.base import Paths, StatsCollector
from npd.monitors.stats.cpu import CpuCollector
from npd.monitors.stats.disk import DiskCollector, Usage, statvfs_usage
from npd.monitors.stats.exhaustion import Change, ExhaustionWatcher
from npd.monitors.stats.host import HostCollector
from npd.monitors.stats.memory import MemoryCollector
from npd.monitors.stats.net import NetCollector
from npd.monitors.stats.osfeature import OsFeatureCollector
from npd.problem import Condition, ProblemDeclaration, Status

log = logging.getLogger("npd.monitors.stats")

#: The source of the statuses the monitor publishes (empty unless ``exhaustion`` is configured).
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
    """Node metrics through :meth:`collect`, and (with ``exhaustion``) resource exhaustion conditions.

    Without ``exhaustion`` it reports no problems, as upstream: one empty status. With it, the
    conditions of :mod:`npd.monitors.stats.exhaustion` are evaluated on every sample; a status
    with all of them is published at start and whenever one changes, and the conditions are
    checkpointed to the state directory then, so a restart restores them instead of flapping.

    Sampling happens on the event loop: every read is of /proc or /sys (memory-backed) plus one
    ``statvfs`` per mounted file system, each microseconds.
    """

    def __init__(
        self,
        config: SystemStatsConfig,
        name: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        disk_usage: Callable[[str], Usage] = statvfs_usage,
        saved_conditions: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        self.name = name or config.file
        self.config = config
        self._clock = clock
        self._collectors = build_collectors(config, disk_usage=disk_usage)
        self._exhaustion = (
            ExhaustionWatcher(
                config.exhaustion,
                Paths(config.proc_path),
                disk_usage,
                wall_clock=wall_clock,
                saved_conditions=saved_conditions or (),
            )
            if config.exhaustion is not None
            else None
        )
        watcher = self._exhaustion
        self.declaration = ProblemDeclaration(
            source=SOURCE,
            reasons=tuple(reason for _, reason in watcher.gauges) if watcher else (),
            gauges=watcher.gauges if watcher else (),
            condition_types=watcher.condition_types if watcher else (),
        )
        self._families: dict[str, list[MetricFamily]] = {}
        self._failing: set[str] = set()
        #: Set after each completed sample (tests await it rather than sleeping).
        self.sampled = asyncio.Event()

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The exhaustion conditions' current state (none without ``exhaustion``)."""
        return self._exhaustion.conditions if self._exhaustion else ()

    def adopt(self, conditions: Sequence[Condition]) -> None:
        """Take up the Node's exhaustion conditions that the state directory did not restore."""
        if self._exhaustion is not None:
            self._exhaustion.adopt(conditions)

    def sample(self) -> Change:
        """Read every section now, then the exhaustion resources; returns the conditions' changes.

        A section that fails unexpectedly is logged once and left out.
        """
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
        change = self._evaluate(now)
        self.sampled.set()
        return change

    def _evaluate(self, now: float) -> Change:
        if self._exhaustion is None:
            return Change()
        try:
            change = self._exhaustion.evaluate(now)
        except Exception:
            if "exhaustion" not in self._failing:
                self._failing.add("exhaustion")
                log.exception("system stats exhaustion: evaluation failed; conditions keep their state")
            return Change()
        self._failing.discard("exhaustion")
        return change

    def collect(self) -> list[MetricFamily]:
        """The families of the latest sample, for the daemon's metrics registry."""
        families: list[MetricFamily] = []
        for collector in self._collectors:
            families.extend(self._families.get(collector.section, ()))
        if self._exhaustion is not None:
            families.extend(self._exhaustion.collect())
        return families

    async def run(self, sink: StatusSink) -> None:
        """Sample at start and every ``invokeInterval``; publish the first status after the first
        sample (so conditions start with the node's numbers) and then on every condition change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        first = True
        while True:
            change = self.sample()
            if first or change.changed:
                self._publish(sink, change, checkpoint=change.changed)
                first = False
            # Ticks on a fixed grid, so a slow sample does not shift the next ones.
            deadline += self.config.invoke_interval
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    def _publish(self, sink: StatusSink, change: Change, *, checkpoint: bool) -> None:
        seq = sink.publish(Status(source=SOURCE, events=change.events, conditions=self.conditions))
        if checkpoint and self._exhaustion is not None:
            sink.checkpoint(self.name, seq, {"conditions": self._exhaustion.snapshot()})
