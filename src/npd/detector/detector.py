"""Fan-in of monitors' reports and fan-out to exporters, without letting one block another.

Upstream passes every report through one unbuffered channel and calls each exporter in turn,
so a slow API server stalls every log reader. Here :meth:`ProblemDetector.publish` never waits:
it appends the report to a bounded queue per exporter, and a task per exporter drains its own
queue. When a queue overflows (an exporter stuck for a long time under a flood), its oldest
reports are dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from npd.exporters.base import Exporter
from npd.metrics.model import MetricFamily
from npd.problem import Status
from npd.state import StateStore

log = logging.getLogger(__name__)

_BATCH = 1000


class _Outlet:
    """One exporter's queue and bookkeeping."""

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        self.queue: deque[tuple[int, Status]] = deque()
        self.wake = asyncio.Event()
        self.done = -1
        self.busy = False
        self.dropped = 0
        self.errors = 0
        self.exported = 0


class ProblemDetector:
    """Receives reports from monitors and delivers them to every exporter, in order."""

    def __init__(
        self, exporters: Sequence[Exporter], state: StateStore, *, queue_limit: int = 100_000
    ) -> None:
        self._outlets = [_Outlet(exporter) for exporter in exporters]
        self._state = state
        self._queue_limit = queue_limit
        self._seq = -1
        self._progress = asyncio.Event()

    def publish(self, status: Status) -> int:
        """Queue ``status`` for every exporter; returns its sequence number."""
        self._seq += 1
        for outlet in self._outlets:
            outlet.exporter.observe(status)
            outlet.queue.append((self._seq, status))
            if len(outlet.queue) > self._queue_limit:
                outlet.queue.popleft()
                outlet.dropped += 1
                if outlet.dropped == 1 or outlet.dropped % 10_000 == 0:
                    log.warning(
                        "exporter %s is falling behind: %d reports dropped so far",
                        outlet.exporter.name,
                        outlet.dropped,
                    )
            outlet.wake.set()
        if not self._outlets:
            self._state.delivered(self._seq)
        return self._seq

    def checkpoint(self, monitor: str, after: int, state: dict[str, Any]) -> None:
        """Save ``state`` once every report up to ``after`` has been exported."""
        self._state.offer(monitor, after, state)

    def delivered(self) -> int:
        """The highest sequence number every exporter has finished with."""
        marks = [self._seq if not (o.queue or o.busy) else o.done for o in self._outlets]
        return min(marks, default=self._seq)

    async def run(self) -> None:
        """Run one delivery task per exporter until cancelled."""
        async with asyncio.TaskGroup() as group:
            for outlet in self._outlets:
                group.create_task(self._pump(outlet), name=f"exporter-{outlet.exporter.name}")

    async def drain(self) -> None:
        """Wait until every queued report has been exported (used at shutdown, under a timeout)."""
        while any(o.queue or o.busy for o in self._outlets):
            self._progress.clear()
            await self._progress.wait()

    async def _pump(self, outlet: _Outlet) -> None:
        while True:
            await outlet.wake.wait()
            outlet.wake.clear()
            while outlet.queue:
                count = min(len(outlet.queue), _BATCH)
                batch = [outlet.queue.popleft() for _ in range(count)]
                outlet.busy = True
                try:
                    await outlet.exporter.export([status for _, status in batch])
                    outlet.exported += len(batch)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    outlet.errors += 1
                    log.exception("exporter %s failed to export %d reports", outlet.exporter.name, len(batch))
                finally:
                    outlet.busy = False
                outlet.done = batch[-1][0]
                self._state.delivered(self.delivered())
                self._progress.set()

    def collect(self) -> list[MetricFamily]:
        """npd's own exporter metrics."""
        queued = MetricFamily("npd_exporter_queue_length", "Reports waiting for an exporter.", "gauge")
        exported = MetricFamily("npd_exporter_reports_total", "Reports an exporter has handled.", "counter")
        dropped = MetricFamily(
            "npd_exporter_reports_dropped_total",
            "Reports dropped because an exporter fell too far behind.",
            "counter",
        )
        errors = MetricFamily("npd_exporter_errors_total", "Export calls that failed.", "counter")
        for outlet in self._outlets:
            name = outlet.exporter.name
            queued.add(len(outlet.queue), exporter=name)
            exported.add(outlet.exported, exporter=name)
            dropped.add(outlet.dropped, exporter=name)
            errors.add(outlet.errors, exporter=name)
        return [queued, exported, dropped, errors]
