"""A live monitor whose real log file is missing reports Unknown, and recovers when it appears."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from npd.config.loader import load_log_monitor_file
from npd.monitors.logmonitor import SystemLogMonitor
from npd.monitors.tracker import UNREADABLE_REASON
from npd.problem import ConditionStatus, Status
from npd.sources.base import SourceHealth
from npd.sources.filelog import FileLogSource


class Sink:
    """Collects statuses and lets the test await one that satisfies a predicate."""

    def __init__(self) -> None:
        self.statuses: list[Status] = []
        self._changed = asyncio.Event()

    def publish(self, status: Status) -> int:
        self.statuses.append(status)
        self._changed.set()
        return len(self.statuses)

    def checkpoint(self, monitor: str, after: int, state: dict[str, Any]) -> None:
        pass

    async def wait_for(self, predicate: Callable[[Status], bool]) -> Status:
        async with asyncio.timeout(10):
            while True:
                for status in self.statuses:
                    if predicate(status):
                        return status
                self._changed.clear()
                await self._changed.wait()


def statuses_of(status: Status) -> list[ConditionStatus]:
    return [condition.status for condition in status.conditions]


def test_missing_log_file_is_unknown_until_it_appears(tmp_path: Path) -> None:
    asyncio.run(missing_then_created(tmp_path))


async def missing_then_created(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    config_path = tmp_path / "monitor.json"
    config_path.write_text(
        json.dumps(
            {
                "plugin": "filelog",
                "pluginConfig": {
                    "timestamp": r"^\S+",
                    "message": r"\S+ (.*)",
                    "timestampFormat": "2006-01-02T15:04:05Z07:00",
                },
                "logPath": str(log),
                "source": "app-monitor",
                "unreadableAfter": "0s",
                "conditions": [{"type": "AppBroken", "reason": "AppIsFine", "message": "app is fine"}],
                "rules": [
                    {
                        "type": "permanent",
                        "condition": "AppBroken",
                        "reason": "AppFailed",
                        "pattern": "fatal.*",
                    }
                ],
            }
        )
    )
    config = load_log_monitor_file(str(config_path), lambda _: None)
    assert config.filelog is not None
    health = SourceHealth(kind="filelog", name="app")
    source = FileLogSource(
        path=str(log), fmt=config.filelog, skip_list=(), start=time.time() - 60, position=None, health=health
    )
    monitor = SystemLogMonitor(config, source, name="app")
    sink = Sink()
    task = asyncio.create_task(monitor.run(sink))
    try:
        unknown = await sink.wait_for(lambda s: statuses_of(s) == [ConditionStatus.UNKNOWN])
        [condition] = unknown.conditions
        assert condition.reason == UNREADABLE_REASON
        assert str(log) in condition.message and "does not exist" in condition.message
        assert [event.reason for event in unknown.events] == [UNREADABLE_REASON]

        log.write_text("")
        recovered = await sink.wait_for(
            lambda s: statuses_of(s) == [ConditionStatus.FALSE] and s is not sink.statuses[0]
        )
        assert recovered.conditions[0].reason == "AppIsFine"
        assert health.alive
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
