"""The system log monitor: a log source's records in, problems out.

The rules are matched by :class:`~npd.monitors.matcher.RuleMatcher` and their consequences kept
by :class:`~npd.monitors.tracker.ProblemTracker`, the same pair ``npd replay`` drives over
recorded logs. This module adds what only a live monitor has: the source, the wall clock, and
the source's health.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from npd.aio import wait_event
from npd.config.logmonitor import LogMonitorConfig
from npd.monitors.base import Monitor, StatusSink, rules_declaration
from npd.monitors.matcher import RuleMatcher
from npd.monitors.tracker import ProblemTracker, Report
from npd.problem import Condition, Status
from npd.sources.base import LogSource


class SystemLogMonitor(Monitor):
    """Runs one system log monitor config over its source."""

    def __init__(
        self,
        config: LogMonitorConfig,
        source: LogSource,
        *,
        name: str,
        saved_conditions: list[dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._config = config
        self._source = source
        self._clock = clock
        self._matcher = rule_matcher(config)
        self._tracker = ProblemTracker(config, saved_conditions, clock())
        self._last_seq = -1
        self._wake = asyncio.Event()
        self._failing_since: float | None = None
        self._read_any = False
        self._position: dict[str, Any] | None = None
        self.declaration = rules_declaration(config)

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The current state of the conditions this monitor owns."""
        return self._tracker.conditions

    def adopt(self, conditions: Sequence[Condition]) -> None:
        self._tracker.adopt(conditions, self._clock())

    async def run(self, sink: StatusSink) -> None:
        self._last_seq = sink.publish(self._status(()))
        self._source.health.on_change = self._wake.set
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._read(sink), name=f"{self.name}: read")
                tasks.create_task(self._keep_time(sink), name=f"{self.name}: time")
        finally:
            self._source.health.on_change = None

    async def _read(self, sink: StatusSink) -> None:
        async for batch in self._source.batches():
            for match in self._matcher.feed(batch):
                self._publish(sink, self._tracker.match(match))
            self._read_any = True
            self._position = batch.position
            sink.checkpoint(self.name, self._last_seq, self.snapshot(batch.position))
            if self._tracker.next_deadline() is not None:
                self._wake.set()  # a match may have set a new deadline

    async def _keep_time(self, sink: StatusSink) -> None:
        """Apply what time and the source's health change: clears, holds, Unknown."""
        while True:
            self._wake.clear()
            reports = self.observe(self._clock())
            self._publish(sink, reports)
            if reports and self._read_any:
                # Saved like a batch's findings, so a restart does not raise a cleared condition again.
                sink.checkpoint(self.name, self._last_seq, self.snapshot(self._position))
            deadline = self._tracker.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            await wait_event(self._wake, timeout)

    def observe(self, now: float) -> list[Report]:
        """Take in the source's health and the time ``now``; the reports that causes.

        A failure is timed from when it is first observed here, so that it is measured on the
        monitor's clock (called at once on every change of the source's health).
        """
        health = self._source.health
        if health.failing:
            if self._failing_since is None:
                self._failing_since = now
            reports = self._tracker.source_failing(self._failing_since, health.detail)
        else:
            self._failing_since = None
            reports = self._tracker.source_readable(now) if health.alive else []
        return reports + self._tracker.tick(now)

    def _publish(self, sink: StatusSink, reports: list[Report]) -> None:
        if reports:
            self._last_seq = sink.publish(self._status(tuple(report.event for report in reports)))

    def snapshot(self, position: dict[str, Any] | None) -> dict[str, Any]:
        """The state saved with a source position, so a restart resumes consistently."""
        return {"position": position, "conditions": self._tracker.snapshot()}

    def _status(self, events: tuple[Any, ...]) -> Status:
        return Status(
            source=self._config.source,
            events=events,
            conditions=self.conditions,
            report_metrics=self._config.metrics_reporting,
        )


def rule_matcher(config: LogMonitorConfig) -> RuleMatcher:
    """The matcher for a config's rules and the resolving rules derived from them."""
    return RuleMatcher(config.rules + config.resolvers, config.buffer_size)
