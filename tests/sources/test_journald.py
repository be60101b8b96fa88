"""The journald source against real journals: files written by systemd-journal-remote, and a real journald."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from npd.sources.base import GO_SPACE, LogRecord, Position, RecordBatch, SourceHealth
from npd.sources.journald import JournaldSource, cursor_time, same_entry
from tests.support.journal import JournalFileWriter, PrivateJournald

TASK_HUNG = "task docker:7 blocked for more than 300 seconds."


def make_source(
    log_path: Path | str,
    identifiers: Sequence[str] = ("kernel",),
    *,
    start: float = 0.0,
    position: Position | None = None,
    **tuning: Any,
) -> JournaldSource:
    return JournaldSource(
        identifiers=identifiers,
        log_path=str(log_path),
        start=start,
        position=position,
        health=SourceHealth("journald", "test"),
        **tuning,
    )


class Collector:
    """Runs a source's batches() in a task and keeps what it yields."""

    def __init__(self, source: JournaldSource) -> None:
        self.source = source
        self.batches: list[RecordBatch] = []
        self.records: list[LogRecord] = []
        self.arrivals: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async for batch in self.source.batches():
            assert isinstance(batch, RecordBatch)
            self.batches.append(batch)
            for record in batch.records():
                self.records.append(record)
                self.arrivals.append(time.monotonic())

    @property
    def messages(self) -> list[str]:
        return [record.message for record in self.records]

    @property
    def position(self) -> Position | None:
        return self.batches[-1].position if self.batches else None

    async def until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Poll ``predicate`` (cheaply) until it holds; fail if the source task ended."""
        assert self._task is not None
        async with asyncio.timeout(within):
            while not predicate():
                if self._task.done():
                    self._task.result()
                    raise AssertionError("the source's batches() ended")
                await asyncio.sleep(0.002)

    async def records_at_least(self, count: int, within: float = 5.0) -> list[str]:
        await self.until(lambda: len(self.records) >= count, within)
        return self.messages

    async def settle(self, seconds: float = 0.2) -> None:
        """Give the source time to deliver anything it (wrongly) still would."""
        await asyncio.sleep(seconds)

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def run(coro: Coroutine[Any, Any, None], timeout: float = 20.0) -> None:
    async def guarded() -> None:
        async with asyncio.timeout(timeout):
            await coro

    asyncio.run(guarded())


# Identifier filtering and message handling.


def test_single_identifier_only(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    w = journal_writer
    w.write(
        [
            w.entry("k1", identifier="kernel"),
            w.entry("d1", identifier="dockerd"),
            w.entry("o1", identifier="other"),
            w.entry("no identifier", identifier=None),
            w.entry("k2", identifier="kernel"),
            w.entry("kernel lookalike", identifier="kernel2"),
        ]
    )

    async def main() -> None:
        source = make_source(journal_dir, ["kernel"])
        async with Collector(source) as c:
            assert await c.records_at_least(2) == ["k1", "k2"]
            await c.settle()
            assert c.messages == ["k1", "k2"]
            assert source.health.alive and source.health.detail == "reading"
            assert source.health.lines_read == 2
            position = c.position
            assert position is not None and set(position) == {"cursor"}
            assert isinstance(position["cursor"], str) and position["cursor"].startswith("s=")

    run(main())


def test_several_identifiers_are_ored(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    w = journal_writer
    w.write(
        [
            w.entry("k1", identifier="kernel"),
            w.entry("d1", identifier="dockerd"),
            w.entry("o1", identifier="other"),
            w.entry("c1", identifier="containerd"),
            w.entry("k2", identifier="kernel"),
        ]
    )

    async def main() -> None:
        async with Collector(make_source(journal_dir, ["kernel", "dockerd", "containerd", "kernel"])) as c:
            assert await c.records_at_least(4) == ["k1", "d1", "c1", "k2"]
            await c.settle()
            assert len(c.records) == 4

    run(main())


def test_timestamps_and_message_handling(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    w = journal_writer
    base = time.time() - 100
    w.write(
        [
            w.entry("  \t padded message \n ", realtime=base + 0.000001),
            w.entry("first line\nsecond line\n", realtime=base + 1),
            w.entry(b"bad \xff utf-8 \xc3", realtime=base + 2),
            w.entry("\x1c Go keeps ASCII separators \x1f", realtime=base + 3),
            w.entry("\u00a0\u2003unicode spaces\u3000", realtime=base + 4),
            w.entry(None, realtime=base + 5),  # no MESSAGE: counted, skipped
            w.entry("", realtime=base + 6),  # empty: kept, as upstream does
            w.entry("x" * 20000, realtime=base + 7),
        ]
    )

    async def main() -> None:
        source = make_source(journal_dir)
        async with Collector(source) as c:
            await c.records_at_least(7)
            await c.settle()
        assert c.messages == [
            "padded message",
            "first line\nsecond line",
            "bad \ufffd utf-8 \ufffd",
            "\x1c Go keeps ASCII separators \x1f",
            "unicode spaces",
            "",
            "x" * 20000,
        ]
        stamps = [record.timestamp for record in c.records]
        assert stamps[0] == pytest.approx(base + 0.000001, abs=1e-6)
        assert stamps[1:] == pytest.approx([base + i for i in (1, 2, 3, 4, 6, 7)], abs=1e-6)
        assert source.health.parse_failures == 1
        assert source.health.lines_read == 7

    run(main())


def test_go_space_matches_go_unicode_isspace() -> None:
    # unicode.IsSpace: '\t', '\n', '\v', '\f', '\r', ' ', U+0085, U+00A0 and the White_Space property.
    go = {chr(c) for c in range(0x110000) if chr(c).isspace()} - {"\x1c", "\x1d", "\x1e", "\x1f"}
    assert set(GO_SPACE) == go


# Where reading starts.


def test_start_time_drops_older_entries(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    w = journal_writer
    now = time.time()
    w.write(
        [
            w.entry("old 600", realtime=now - 600),
            w.entry("old 500", realtime=now - 500),
            w.entry("new 100", realtime=now - 100),
            w.entry("clock stepped back 400", realtime=now - 400),
            w.entry("new 50", realtime=now - 50),
        ]
    )

    async def main() -> None:
        source = make_source(journal_dir, start=now - 300)
        async with Collector(source) as c:
            assert await c.records_at_least(2) == ["new 100", "new 50"]
            await c.settle()
            assert c.messages == ["new 100", "new 50"]
            assert source.health.too_old >= 1
            # Once caught up, new entries count whatever their timestamps say: a clock stepped back
            # at runtime must not hide them.
            w.write([w.entry("appended with an old timestamp", realtime=now - 1000)])
            assert (await c.records_at_least(3))[-1] == "appended with an old timestamp"

    run(main())


def test_resume_from_cursor_misses_nothing_and_repeats_nothing(
    journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    w = journal_writer
    w.write([w.entry(f"before {i}") for i in range(5)] + [w.entry("noise", identifier="other")])

    async def first_run() -> Position:
        async with Collector(make_source(journal_dir)) as c:
            assert await c.records_at_least(5) == [f"before {i}" for i in range(5)]
            await c.settle(0.1)
            assert c.position is not None
            return c.position

    position: Position = {}

    async def main1() -> None:
        position.update(await first_run())

    run(main1())

    # Written while npd is down, some with timestamps older than the start time of the next run.
    w.write([w.entry(f"while down {i}", realtime=time.time() - 3600) for i in range(3)])

    async def main2() -> None:
        # A saved position wins over the start time.
        source = make_source(journal_dir, start=time.time() + 3600, position=dict(position))
        async with Collector(source) as c:
            assert await c.records_at_least(3) == [f"while down {i}" for i in range(3)]
            w.start()
            w.append([w.entry("live 0")])
            assert (await c.records_at_least(4))[3:] == ["live 0"]
            await c.settle()
            assert len(c.records) == 4
            assert source.health.too_old == 0

    run(main2())


def test_resume_from_last_entry_waits_for_new_ones(
    journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    w = journal_writer
    w.write([w.entry("only")])

    async def main() -> None:
        async with Collector(make_source(journal_dir)) as c:
            await c.records_at_least(1)
            position = c.position
        async with Collector(make_source(journal_dir, position=position)) as c:
            await c.settle(0.3)
            assert c.records == []
            w.write([w.entry("next")])
            assert await c.records_at_least(1) == ["next"]

    run(main())


def test_invalid_cursor_falls_back_to_start(
    journal_writer: JournalFileWriter, journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = journal_writer
    now = time.time()
    w.write([w.entry("old", realtime=now - 600), w.entry("recent", realtime=now - 10)])

    async def main() -> None:
        for position in ({"cursor": "not a cursor"}, {"offset": 3}):
            source = make_source(journal_dir, start=now - 300, position=position)
            async with Collector(source) as c:
                assert await c.records_at_least(1) == ["recent"]
                await c.settle(0.1)
                assert c.messages == ["recent"]

    with caplog.at_level(logging.WARNING, logger="npd.sources.journald"):
        run(main())
    assert "invalid" in caplog.text and "ignoring saved journald position" in caplog.text


def test_vacuumed_cursor_resumes_after_its_time(
    journal_writer: JournalFileWriter, journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = journal_writer
    now = time.time()
    w.write([w.entry("seen", realtime=now - 100)])

    async def main() -> None:
        async with Collector(make_source(journal_dir)) as c:
            await c.records_at_least(1)
            position = c.position
        assert position is not None
        assert cursor_time(position["cursor"]) == pytest.approx(now - 100, abs=1e-6)
        # The journal is replaced (vacuumed, or a new file): the cursor's entry is gone.
        (journal_dir / "test.journal").unlink()
        replacement = JournalFileWriter(journal_dir / "other.journal")
        replacement.write(
            [
                replacement.entry("before the cursor", realtime=now - 200),
                replacement.entry("after the cursor", realtime=now - 50),
            ]
        )
        source = make_source(journal_dir, start=now - 300, position=position)
        async with Collector(source) as c:
            assert await c.records_at_least(1) == ["after the cursor"]
            await c.settle(0.1)
            assert c.messages == ["after the cursor"]

    with caplog.at_level(logging.WARNING, logger="npd.sources.journald"):
        run(main())
    assert "is gone" in caplog.text


def test_same_entry() -> None:
    a = "s=aa;i=5;b=bb;m=10;t=20;x=30"
    assert same_entry(a, a)
    assert not same_entry(a, "s=aa;i=6;b=bb;m=10;t=20;x=30")
    # A copy in another file (flushed from /run to /var) keeps boot, timestamps and hash.
    assert same_entry(a, "s=cc;i=1;b=bb;m=10;t=20;x=30")
    assert not same_entry(a, "s=cc;i=5;b=bb;m=11;t=20;x=30")
    assert not same_entry("garbage", "s=cc;i=1")


# Following.


def test_follows_live_appends_quickly(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    w = journal_writer
    w.start()
    w.append([w.entry("already there")])
    w.wait_visible()

    async def main() -> None:
        async with Collector(make_source(journal_dir)) as c:
            await c.records_at_least(1)
            for i in range(5):
                await asyncio.sleep(0.05)
                sent = time.monotonic()
                w.append([w.entry(f"live {i}"), w.entry("noise", identifier="other")])
                await c.records_at_least(2 + i, within=1.0)
                assert c.arrivals[-1] - sent < 1.0
            assert c.messages == ["already there"] + [f"live {i}" for i in range(5)]

    run(main())


def test_a_burst_arrives_in_batches(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    w = journal_writer
    w.write([w.entry(f"m{i}") for i in range(2500)])

    async def main() -> None:
        source = make_source(journal_dir, batch_limit=1000)
        async with Collector(source) as c:
            await c.records_at_least(2500)
            assert [len(batch) for batch in c.batches] == [1000, 1000, 500]
            assert c.messages == [f"m{i}" for i in range(2500)]

    run(main())


def test_no_busy_spin_while_idle(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    w = journal_writer
    w.start()
    w.append([w.entry("one")])
    w.wait_visible()

    async def main() -> None:
        source = make_source(journal_dir)
        async with Collector(source) as c:
            await c.records_at_least(1)
            await asyncio.sleep(0.05)
            cpu = time.process_time()
            await asyncio.sleep(1.0)
            used = time.process_time() - cpu
            assert used < 0.05, f"{used:.3f}s of CPU while following an idle journal"
            # Still following after the idle second.
            w.append([w.entry("two")])
            assert await c.records_at_least(2, within=1.0) == ["one", "two"]

    run(main())


def test_empty_directory_then_machine_id_subdirectory(journal_dir: Path) -> None:
    async def main() -> None:
        source = make_source(journal_dir)
        async with Collector(source) as c:
            await c.until(lambda: source.health.alive)
            # journald creates <dir>/<machine-id>/system.journal; sd_journal must notice both.
            writer = JournalFileWriter(journal_dir / ("ab" * 16) / "system.journal")
            with writer:
                writer.start()
                writer.append([writer.entry("in a machine directory")])
                assert await c.records_at_least(1, within=2.0) == ["in a machine directory"]

    run(main())


# Which directory.


def _fallback_dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "var" / "log" / "journal", tmp_path / "run" / "log" / "journal"


@pytest.mark.parametrize("persistent_exists", [False, True])
def test_missing_persistent_journal_falls_back_to_runtime(
    tmp_path: Path, persistent_exists: bool, caplog: pytest.LogCaptureFixture
) -> None:
    persistent, runtime = _fallback_dirs(tmp_path)
    if persistent_exists:
        persistent.mkdir(parents=True)  # exists but holds no journal files
    machine = "cd" * 16
    w = JournalFileWriter(runtime / machine / "system.journal")
    volatile = [w.entry("volatile 1"), w.entry("volatile 2")]
    w.write(volatile)

    async def main() -> None:
        source = make_source(
            persistent, persistent_dir=str(persistent), runtime_dir=str(runtime), poll_interval=0.1
        )
        async with Collector(source) as c:
            assert await c.records_at_least(2) == ["volatile 1", "volatile 2"]
            assert source.directory == str(runtime)
            assert source.health.alive
            # journald starts persisting (Storage=auto, the directory now exists) and flushes the runtime
            # journal into it: the copies get new sequence numbers but are the same entries.
            flushed = JournalFileWriter(persistent / machine / "system.journal", boot_id=w.boot_id)
            flushed.write([*volatile, w.entry("persisted")])
            assert await c.records_at_least(3, within=2.0) == ["volatile 1", "volatile 2", "persisted"]
            assert source.directory == str(persistent)
            await c.settle()
            assert len(c.records) == 3

    with caplog.at_level(logging.INFO, logger="npd.sources.journald"):
        run(main())
    assert caplog.text.count("holds no journal files") == 1
    assert "is gone" not in caplog.text


def test_persistent_journal_with_files_is_read(tmp_path: Path) -> None:
    persistent, runtime = _fallback_dirs(tmp_path)
    runtime.mkdir(parents=True)
    w = JournalFileWriter(persistent / ("cd" * 16) / "system.journal")
    w.write([w.entry("persistent")])

    async def main() -> None:
        source = make_source(persistent, persistent_dir=str(persistent), runtime_dir=str(runtime))
        async with Collector(source) as c:
            assert await c.records_at_least(1) == ["persistent"]
            assert source.directory == str(persistent)

    run(main())


def test_neither_journal_directory_exists(tmp_path: Path) -> None:
    persistent, runtime = _fallback_dirs(tmp_path)

    async def main() -> None:
        source = make_source(
            persistent, persistent_dir=str(persistent), runtime_dir=str(runtime), retry_delay=0.05
        )
        async with Collector(source) as c:
            await c.until(lambda: source.health.read_errors > 0)
            assert not source.health.alive
            assert str(persistent) in source.health.detail and str(runtime) in source.health.detail
            w = JournalFileWriter(runtime / ("cd" * 16) / "system.journal")
            w.write([w.entry("appeared")])
            assert await c.records_at_least(1) == ["appeared"]
            assert source.health.alive

    run(main())


def test_missing_explicit_directory_fails_then_recovers(tmp_path: Path) -> None:
    directory = tmp_path / "custom" / "journal"

    async def main() -> None:
        source = make_source(directory, retry_delay=0.05, max_retry_delay=0.2)
        async with Collector(source) as c:
            await c.until(lambda: source.health.read_errors >= 2)
            assert not source.health.alive
            assert source.health.detail == f"journal directory {directory} does not exist"
            w = JournalFileWriter(directory / "system.journal")
            w.write([w.entry("here now")])
            assert await c.records_at_least(1, within=2.0) == ["here now"]
            assert source.health.alive and source.health.detail == "reading"

    run(main())


def test_directory_removed_while_following(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    w = JournalFileWriter(directory / "system.journal")
    w.write([w.entry("one")])

    async def main() -> None:
        source = make_source(directory, poll_interval=0.05, retry_delay=0.05, max_retry_delay=0.1)
        async with Collector(source) as c:
            await c.records_at_least(1)
            (directory / "system.journal").unlink()
            directory.rmdir()
            await c.until(lambda: not source.health.alive)
            assert "does not exist" in source.health.detail
            w2 = JournalFileWriter(directory / "system.journal")
            w2.write([w2.entry("two")])
            assert await c.records_at_least(2, within=2.0) == ["one", "two"]

    run(main())


def test_constructor_rejects_bad_identifiers(journal_dir: Path) -> None:
    for identifiers in ([], [""], ["a\0b"]):
        with pytest.raises(ValueError):
            make_source(journal_dir, identifiers)


# A real journald.


@pytest.mark.root
def test_classic_systemd_cat_check(private_journald: PrivateJournald) -> None:
    journald = private_journald

    async def main() -> None:
        source = make_source(journald.journal_dir, ["kernel"], start=time.time())
        async with Collector(source) as c:
            await c.until(lambda: source.health.alive)
            sent = time.monotonic()
            journald.shell(f'echo "{TASK_HUNG}" | systemd-cat -t kernel')
            journald.shell('echo "not for us" | systemd-cat -t dockerd')
            assert await c.records_at_least(1, within=1.0) == [TASK_HUNG], journald.describe()
            assert c.arrivals[0] - sent < 1.0
            await c.settle()
            assert c.messages == [TASK_HUNG]

    run(main())


@pytest.mark.root
def test_rotation_and_vacuuming_while_following(private_journald: PrivateJournald) -> None:
    journald = private_journald

    async def main() -> None:
        source = make_source(journald.journal_dir, ["kernel"], start=time.time())
        async with Collector(source) as c:
            await c.until(lambda: source.health.alive)
            journald.log("before rotation")
            await c.records_at_least(1, within=2.0)
            journald.rotate()
            journald.log("after rotation")
            await c.records_at_least(2, within=2.0)
            journald.run_in_namespace(["journalctl", "--rotate"])
            journald.run_in_namespace(["journalctl", "--vacuum-files=1"])
            journald.log("after vacuuming")
            assert await c.records_at_least(3, within=2.0) == [
                "before rotation",
                "after rotation",
                "after vacuuming",
            ]
            await c.settle()
            assert len(c.records) == 3

    run(main())


# Without inotify (upstream PR #1285: exhausted inotify instances made upstream spin).

_NO_INOTIFY_CHILD = """
import asyncio, json, logging, sys, time
from pathlib import Path
from npd.sources.base import SourceHealth
from npd.sources.journald import JournaldSource
from tests.support.journal import JournalFileWriter

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
directory = Path(sys.argv[1])

async def main():
    w = JournalFileWriter(directory / "system.journal")
    w.write([w.entry("one")])
    health = SourceHealth("journald", "child")
    source = JournaldSource(identifiers=["kernel"], log_path=str(directory), start=0, position=None,
                            health=health, poll_interval=0.1)
    messages = []
    batches = source.batches()
    async with asyncio.timeout(10):
        while len(messages) < 1:
            messages += [r.message for r in (await anext(batches)).records()]
        cpu = time.process_time()
        idle = asyncio.ensure_future(anext(batches))
        await asyncio.sleep(0.5)
        cpu = time.process_time() - cpu
        w.write([w.entry("two")])
        # A new file, as after a rotation: only a reopen sees it without inotify.
        other = JournalFileWriter(directory / "other.journal")
        other.write([other.entry("three")])
        messages += [r.message for r in (await idle).records()]
        while len(messages) < 3:
            messages += [r.message for r in (await anext(batches)).records()]
    await batches.aclose()
    print(json.dumps({"messages": messages, "cpu": cpu, "alive": health.alive}))

asyncio.run(main())
"""


def test_polls_when_inotify_is_unavailable(journal_dir: Path) -> None:
    # A user namespace whose inotify instance limit is 0: inotify_init fails with EMFILE there, exactly as
    # when a node runs out of instances, without touching the host's limit.
    script = "echo 0 > /proc/sys/user/max_inotify_instances && exec " + " ".join(
        [sys.executable, "-c", '"$NPD_CHILD"', str(journal_dir)]
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "NPD_CHILD": _NO_INOTIFY_CHILD}
    try:
        result = subprocess.run(
            ["unshare", "--user", "--map-root-user", "sh", "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("unshare is not installed")
    if result.returncode != 0 and "unshare" in result.stderr and "Operation not permitted" in result.stderr:
        pytest.skip(f"no user namespaces here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["messages"] == ["one", "two", "three"]
    assert outcome["alive"]
    assert outcome["cpu"] < 0.1, outcome
    assert "cannot watch the journal for changes" in result.stderr
