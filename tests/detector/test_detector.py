"""The detector never lets an exporter block monitors, and checkpoints follow exports."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path

from npd.detector.detector import ProblemDetector
from npd.exporters.base import Exporter
from npd.problem import Status
from npd.state import StateStore


class Recording(Exporter):
    def __init__(self, name: str, gate: asyncio.Event | None = None) -> None:
        self.name = name
        self.gate = gate
        self.seen: list[str] = []
        self.started = asyncio.Event()

    async def export(self, statuses: Sequence[Status]) -> None:
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        self.seen.extend(status.source for status in statuses)


class Failing(Exporter):
    name = "failing"

    async def export(self, statuses: Sequence[Status]) -> None:
        raise RuntimeError("exporter bug")


def test_a_stalled_exporter_delays_only_itself_and_checkpoints_wait_for_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        fast, slow = Recording("fast"), Recording("slow", gate)
        state = StateStore(str(tmp_path))
        detector = ProblemDetector([fast, slow], state)
        runner = asyncio.create_task(detector.run())
        seq = detector.publish(Status("a"))
        detector.checkpoint("monitor", seq, {"position": {"offset": 1}})
        for _ in range(20):  # let the fast exporter run; the slow one is stuck in export()
            await asyncio.sleep(0)
        assert fast.seen == ["a"] and slow.seen == []
        assert state.load("monitor") is None, "nothing is saved before every exporter has the report"
        gate.set()
        await detector.drain()
        assert slow.seen == ["a"]
        assert state.load("monitor") == {"position": {"offset": 1}}
        runner.cancel()

    asyncio.run(scenario())


def test_overflow_drops_oldest_reports_and_counts_them(tmp_path: Path) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        stuck = Recording("stuck", gate)
        detector = ProblemDetector([stuck], StateStore(None), queue_limit=3)
        runner = asyncio.create_task(detector.run())
        detector.publish(Status("first"))
        await stuck.started.wait()  # the exporter holds "first" and waits
        for name in "abcde":
            detector.publish(Status(name))
        gate.set()
        await detector.drain()
        assert stuck.seen == ["first", "c", "d", "e"]
        families = {f.name: f for f in detector.collect()}
        assert families["npd_exporter_reports_dropped_total"].samples[0].value == 2
        runner.cancel()

    asyncio.run(scenario())


def test_a_failing_exporter_is_counted_and_delivery_goes_on(tmp_path: Path) -> None:
    async def scenario() -> None:
        good = Recording("good")
        detector = ProblemDetector([Failing(), good], StateStore(str(tmp_path)))
        runner = asyncio.create_task(detector.run())
        seq = detector.publish(Status("a"))
        detector.checkpoint("m", seq, {"n": 1})
        await detector.drain()
        errors = {f.name: f for f in detector.collect()}["npd_exporter_errors_total"]
        assert [s.value for s in errors.samples] == [1, 0]
        assert good.seen == ["a"]
        runner.cancel()

    asyncio.run(scenario())


def test_checkpoints_after_findings_are_written_at_once_position_only_ones_are_throttled(
    tmp_path: Path,
) -> None:
    now = [0.0]
    state = StateStore(str(tmp_path), min_interval=1.0, clock=lambda: now[0])
    state.delivered(5)
    state.offer("m", 5, {"v": 1})  # reports up to 5 exported: new findings, written now
    assert state.load("m") == {"v": 1}
    state.offer("m", 5, {"v": 2})  # only the position moved
    assert state.load("m") == {"v": 1}
    state.flush()
    assert state.load("m") == {"v": 1}, "throttled within min_interval"
    now[0] = 1.5
    state.flush()
    assert state.load("m") == {"v": 2}
    state.offer("m", 9, {"v": 3})  # reports 6..9 not exported yet
    state.flush(force=True)
    assert state.load("m") == {"v": 2}
    state.delivered(9)
    assert state.load("m") == {"v": 3}
    assert state.writes == 3


def test_unusable_state_directory_disables_persistence_with_a_warning(tmp_path: Path, caplog: object) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    state = StateStore(str(blocker / "state"))
    assert not state.enabled and state.write_errors == 1
    state.offer("m", -1, {"v": 1})
    assert state.load("m") is None


def test_state_files_are_replaced_atomically_and_versioned(tmp_path: Path) -> None:
    state = StateStore(str(tmp_path))
    state.delivered(0)
    state.offer("/etc/npd/kernel monitor.json", 0, {"v": 1})
    [name] = os.listdir(tmp_path / "monitors")
    assert name.startswith("kernel_monitor.json-") and name.endswith(".json")
    document = json.loads((tmp_path / "monitors" / name).read_text())
    assert document["version"] == 1 and document["state"] == {"v": 1}
    (tmp_path / "monitors" / name).write_text("{broken")
    assert state.load("/etc/npd/kernel monitor.json") is None
