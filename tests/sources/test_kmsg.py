"""Tests for the kmsg source: the record parser, FIFO and file input, resume, and the real /dev/kmsg."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import random
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npd.sources.base import LogBatch, SourceHealth
from npd.sources.kmsg import KmsgRecord, KmsgSource, parse_record
from npd.sources.starttime import boot_id, boot_time

T = TypeVar("T")
KMSG = "/dev/kmsg"
USER = 1  # the facility the kernel gives records written to /dev/kmsg without one


def run(coro: Awaitable[T], timeout: float = 10.0) -> T:
    """Run a test coroutine with a guard, so a hang fails the test instead of the run."""

    async def guarded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(guarded())


def rec(seq: int, message: str, *, usec: int | None = None, pri: int = 6, meta: Iterable[str] = ()) -> bytes:
    """One record in the /dev/kmsg format."""
    usec = seq * 1000 if usec is None else usec
    lines = [f"{pri},{seq},{usec},-;{message}", *(f" {line}" for line in meta)]
    return ("\n".join(lines) + "\n").encode()


def new_health() -> SourceHealth:
    return SourceHealth(kind="kmsg", name="test")


async def take(batches: AsyncGenerator[LogBatch, None], count: int) -> tuple[list[str], list[LogBatch]]:
    """The messages of the next batches, until at least ``count`` messages arrived."""
    messages: list[str] = []
    seen: list[LogBatch] = []
    while len(messages) < count:
        batch = await anext(batches)
        seen.append(batch)
        messages.extend(record.message for record in batch.records())
    return messages, seen


async def until(batches: AsyncGenerator[LogBatch, None], done: Callable[[str], bool]) -> list[str]:
    """The messages of the next batches, up to and including the first one ``done`` accepts."""
    messages: list[str] = []
    while True:
        batch = await anext(batches)
        for record in batch.records():
            messages.append(record.message)
            if done(record.message):
                return messages


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


# --- parser ---------------------------------------------------------------------------------

PARSED = [
    pytest.param(
        b"6,343,1335563,-;EXT4-fs (vda): mounted filesystem with ordered data mode\n",
        KmsgRecord(
            6, 0, 6, 343, 1335563, "-", "EXT4-fs (vda): mounted filesystem with ordered data mode", {}
        ),
        id="normal",
    ),
    pytest.param(
        b"6,344,1400000,-;pci 0000:00:1f.2: enabling device\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:1f.2\n",
        KmsgRecord(
            6,
            0,
            6,
            344,
            1400000,
            "-",
            "pci 0000:00:1f.2: enabling device",
            {"SUBSYSTEM": "pci", "DEVICE": "+pci:0000:00:1f.2"},
        ),
        id="continuation-lines-are-metadata",
    ),
    pytest.param(
        b"4,5,6,-,caller=T123;hello\n",
        KmsgRecord(4, 0, 4, 5, 6, "-", "hello", {"caller": "T123"}),
        id="extra-header-fields",
    ),
    pytest.param(
        b"12,7,8,c;partial line\n", KmsgRecord(12, 1, 4, 7, 8, "c", "partial line", {}), id="c-flag"
    ),
    pytest.param(
        b"6,1,2,-;line one\\x0aline two\n",
        KmsgRecord(6, 0, 6, 1, 2, "-", "line one\\x0aline two", {}),
        id="escaped-newline-kept",
    ),
    pytest.param(b"6,1,2,-;  padded \t\n", KmsgRecord(6, 0, 6, 1, 2, "-", "padded", {}), id="trimmed"),
    pytest.param(
        b"6,1,2,-;a;b,c=d\n", KmsgRecord(6, 0, 6, 1, 2, "-", "a;b,c=d", {}), id="separators-in-text"
    ),
    pytest.param(b"6,1,2,-;no newline", KmsgRecord(6, 0, 6, 1, 2, "-", "no newline", {}), id="no-newline"),
    pytest.param(b"6,1,2,-;caf\xe9\n", KmsgRecord(6, 0, 6, 1, 2, "-", "caf\ufffd", {}), id="invalid-utf8"),
    pytest.param(b"6,1,2,-;\n", KmsgRecord(6, 0, 6, 1, 2, "-", "", {}), id="empty-message"),
    pytest.param(
        b"6,1,2,-;   \n SUBSYSTEM=x\n", KmsgRecord(6, 0, 6, 1, 2, "-", "", {"SUBSYSTEM": "x"}), id="blank"
    ),
    pytest.param(
        b"131,9,10,-;tagged\n",
        KmsgRecord(131, 16, 3, 9, 10, "-", "tagged", {}),
        id="facility-local0",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), PARSED)
def test_parse_record(raw: bytes, expected: KmsgRecord) -> None:
    assert parse_record(raw) == expected


MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\n", id="newline"),
    pytest.param(b"no semicolon here\n", id="no-semicolon"),
    pytest.param(b"6,1,2;three fields\n", id="three-fields"),
    pytest.param(b"x,1,2,-;bad priority\n", id="priority"),
    pytest.param(b"6,-1,2,-;negative seq\n", id="negative-seq"),
    pytest.param(b"6,1,2.5,-;fractional timestamp\n", id="timestamp"),
    pytest.param(b"6, 1,2,-;space in seq\n", id="space"),
    pytest.param(b"1_0,1,2,-;underscore\n", id="underscore"),
    pytest.param(b",,,;empty fields\n", id="empty-fields"),
    pytest.param(b" SUBSYSTEM=pci\n", id="continuation-alone"),
    pytest.param(b"9" * 10000 + b",1,2,-;huge number\n", id="huge-number"),
    pytest.param(b"\x00\xff\xfe;\x01\x02", id="binary"),
    pytest.param(b"A" * 1_000_000, id="1MB-junk"),
    pytest.param(b"B" * 1_000_000 + b";tail\n", id="1MB-junk-with-semicolon"),
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_parse_record_malformed(raw: bytes) -> None:
    assert parse_record(raw) is None


def test_parse_record_random_junk() -> None:
    rng = random.Random(1086)
    for _ in range(2000):
        junk = rng.randbytes(rng.randrange(0, 200))
        result = parse_record(junk)
        assert result is None or isinstance(result, KmsgRecord)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_parse_record_never_raises(raw: bytes) -> None:
    result = parse_record(raw)
    if result is not None:
        assert "\n" not in result.message
        assert result.level == result.priority & 7


# --- FIFO and regular-file input ------------------------------------------------------------


def test_fifo_several_records_per_write_and_split_records(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    health = new_health()

    async def main() -> None:
        batches = KmsgSource(log_path=str(fifo), start=0, position=None, health=health).batches()
        first = asyncio.ensure_future(take(batches, 3))
        await asyncio.sleep(0)  # let the source open the FIFO before the writer does
        writer = os.open(fifo, os.O_WRONLY)
        os.write(writer, rec(1, "one", meta=["SUBSYSTEM=pci"]) + rec(2, "two") + b"6,3,")
        os.write(writer, b"3000,-;three\n")
        messages, _ = await first
        assert messages == ["one", "two", "three"]

        # A write that ends inside a continuation line: the message still never shows metadata.
        os.write(writer, rec(4, "four") + b" SUBSY")
        os.write(writer, b"STEM=usb\n" + rec(5, "five"))
        messages, _ = await take(batches, 2)
        assert messages == ["four", "five"]

        # The writer goes away; the source waits for the next one without spinning.
        os.close(writer)
        pending = asyncio.ensure_future(take(batches, 1))
        cpu = time.process_time()
        await asyncio.sleep(0.5)
        assert time.process_time() - cpu < 0.05
        writer = os.open(fifo, os.O_WRONLY)
        os.write(writer, rec(6, "six"))
        os.close(writer)
        messages, _ = await pending
        assert messages == ["six"]
        await batches.aclose()

    run(main())
    assert health.alive
    assert health.parse_failures == 0
    assert health.lines_read == 6


def test_regular_file_that_grows(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(rec(1, "one") + rec(2, "two", meta=["DEVICE=+usb:1-1"]))
    health = new_health()

    async def main() -> None:
        batches = KmsgSource(log_path=str(path), start=0, position=None, health=health).batches()
        messages, _ = await take(batches, 2)
        assert messages == ["one", "two"]
        with path.open("ab") as handle:
            handle.write(rec(3, "three") + b"6,4,40")
            handle.flush()
            messages, _ = await take(batches, 1)
            assert messages == ["three"]
            handle.write(b"00,-;four\n")
        messages, _ = await take(batches, 1)
        assert messages == ["four"]
        await batches.aclose()

    run(main())
    assert health.lines_read == 4


def test_junk_and_empty_messages_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(
        b"Z" * 1_000_000
        + b"\n"
        + rec(1, "one")
        + b"not a record\n"
        + rec(2, "   ")
        + b"\x00\xff\x13garbage;\n"
        + rec(3, "three")
    )
    health = new_health()

    async def main() -> list[str]:
        batches = KmsgSource(log_path=str(path), start=0, position=None, health=health).batches()
        messages, _ = await take(batches, 2)
        await batches.aclose()
        return messages

    assert run(main()) == ["one", "three"]
    assert health.parse_failures == 3
    assert health.skipped == 1


def test_batches_respect_limit_and_carry_positions(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(rec(seq, f"m{seq}") for seq in range(1, 26)))

    async def main() -> list[LogBatch]:
        source = KmsgSource(log_path=str(path), start=0, position=None, health=new_health(), batch_limit=10)
        batches = source.batches()
        _, seen = await take(batches, 25)
        await batches.aclose()
        return seen

    seen = run(main())
    assert [len(list(batch.records())) for batch in seen] == [10, 10, 5]
    assert [batch.position for batch in seen] == [{"boot_id": boot_id(), "seq": seq} for seq in (10, 20, 25)]


def test_resume_by_seq_same_boot(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(rec(seq, f"m{seq}") for seq in range(1, 6)))

    async def first_run() -> Any:
        batches = KmsgSource(log_path=str(path), start=0, position=None, health=new_health()).batches()
        _, seen = await take(batches, 5)
        await batches.aclose()
        return seen[-1].position

    position = run(first_run())
    assert position == {"boot_id": boot_id(), "seq": 5}

    # Written while npd was down; far older than `start`, which a same-boot resume ignores.
    with path.open("ab") as handle:
        handle.write(b"".join(rec(seq, f"m{seq}") for seq in range(6, 9)))
    health = new_health()

    async def second_run() -> list[str]:
        source = KmsgSource(log_path=str(path), start=time.time() + 3600, position=position, health=health)
        batches = source.batches()
        messages, _ = await take(batches, 3)
        with path.open("ab") as handle:
            handle.write(rec(9, "m9"))
        messages += (await take(batches, 1))[0]
        await batches.aclose()
        return messages

    assert run(second_run()) == ["m6", "m7", "m8", "m9"]
    assert health.too_old == 0
    assert "lost_records" not in health.extra


def test_resume_counts_records_lost_while_down(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(rec(seq, f"m{seq}") for seq in range(10, 13)))
    health = new_health()

    async def main() -> list[str]:
        position = {"boot_id": boot_id(), "seq": 3}
        batches = KmsgSource(log_path=str(path), start=0, position=position, health=health).batches()
        messages, _ = await take(batches, 3)
        await batches.aclose()
        return messages

    assert run(main()) == ["m10", "m11", "m12"]
    assert health.extra["lost_records"] == 6  # seq 4..9


def lookback_file(path: Path) -> float:
    """Records logged 500 s and 1500 s after boot; returns a start time between them."""
    path.write_bytes(
        rec(1, "old", usec=500_000_000)
        + rec(2, "also old", usec=900_000_000)
        + rec(3, "new", usec=1_500_000_000)
        + rec(4, "newer", usec=1_600_000_000)
    )
    return boot_time() + 1000


def test_start_filter_without_position(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    start = lookback_file(path)
    health = new_health()

    async def main() -> list[LogBatch]:
        batches = KmsgSource(log_path=str(path), start=start, position=None, health=health).batches()
        _, seen = await take(batches, 2)
        await batches.aclose()
        return seen

    seen = run(main())
    records = [record for batch in seen for record in batch.records()]
    assert [record.message for record in records] == ["new", "newer"]
    assert records[0].timestamp == pytest.approx(boot_time() + 1500, abs=0.5)
    assert health.too_old == 2
    assert seen[-1].position == {"boot_id": boot_id(), "seq": 4}


def test_position_from_another_boot_falls_back_to_start(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    start = lookback_file(path)
    health = new_health()

    async def main() -> list[str]:
        position = {"boot_id": "00000000-0000-0000-0000-000000000000", "seq": 3}
        batches = KmsgSource(log_path=str(path), start=start, position=position, health=health).batches()
        # Seq 3 is delivered: the other boot's sequence numbers mean nothing in this one.
        messages, _ = await take(batches, 2)
        await batches.aclose()
        return messages

    assert run(main()) == ["new", "newer"]
    assert health.too_old == 2


def test_missing_path_is_retried(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    health = new_health()

    async def main() -> list[str]:
        batches = KmsgSource(log_path=str(path), start=0, position=None, health=health).batches()
        pending = asyncio.ensure_future(take(batches, 1))
        while health.read_errors == 0:  # noqa: ASYNC110 - health offers no event to wait on
            await asyncio.sleep(0.01)
        assert not health.alive
        assert str(path) in health.detail
        path.write_bytes(rec(1, "finally"))
        messages, _ = await pending
        await batches.aclose()
        return messages

    assert run(main()) == ["finally"]
    assert health.alive


class FailingReads:
    """Replaces ``os.read`` for the source: once armed, the next reads fail with the given errnos."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.errors: list[int] = []
        self._read = os.read
        monkeypatch.setattr(os, "read", self)

    def __call__(self, fd: int, size: int) -> bytes:
        if self.errors:
            code = self.errors.pop(0)
            raise OSError(code, os.strerror(code))
        return self._read(fd, size)


def test_read_error_reopens_and_resumes_after_last_seq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(rec(seq, f"m{seq}") for seq in range(1, 4)))
    failing = FailingReads(monkeypatch)
    health = new_health()

    async def main() -> list[str]:
        batches = KmsgSource(log_path=str(path), start=0, position=None, health=health).batches()
        messages, _ = await take(batches, 3)
        failing.errors = [errno.EIO]
        with path.open("ab") as handle:
            handle.write(rec(4, "m4") + rec(5, "m5"))
        # The reopened file is read from its start again; what was delivered is not repeated.
        messages += (await take(batches, 2))[0]
        await batches.aclose()
        return messages

    assert run(main()) == ["m1", "m2", "m3", "m4", "m5"]
    assert health.read_errors == 1
    assert health.alive


def test_cancellation_closes_the_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    before = open_fds()

    async def main() -> None:
        batches = KmsgSource(log_path=str(fifo), start=0, position=None, health=new_health()).batches()
        task = asyncio.ensure_future(take(batches, 1))
        await asyncio.sleep(0.05)
        assert len(open_fds() - before) >= 1
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await batches.aclose()

    run(main())
    assert open_fds() - before == set()


# --- the real /dev/kmsg ---------------------------------------------------------------------


def _kmsg_unusable() -> str | None:
    if os.geteuid() != 0:
        return "needs root to write /dev/kmsg"
    if not os.access(KMSG, os.R_OK | os.W_OK):
        return f"{KMSG} is not readable and writable here"
    try:
        os.close(os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as exc:
        return f"cannot open {KMSG}: {exc}"
    with contextlib.suppress(OSError):
        if Path("/proc/sys/kernel/printk_devkmsg").read_text().strip() == "off":
            return "kernel.printk_devkmsg=off drops records written to /dev/kmsg"
    return None


needs_kmsg = pytest.mark.skipif(_kmsg_unusable() is not None, reason=_kmsg_unusable() or "")


def kmsg_write(messages: list[str], level: int = 3) -> None:
    """Inject records into the kernel log.

    The kernel rate-limits writes per open file (10 per 5 s unless kernel.printk_devkmsg=on), so
    each group of ten gets a fresh descriptor.
    """
    for first in range(0, len(messages), 10):
        fd = os.open(KMSG, os.O_WRONLY)
        try:
            for message in messages[first : first + 10]:
                os.write(fd, f"<{level}>{message}\n".encode())
        finally:
            os.close(fd)


def ring_records() -> list[bytes]:
    """Every record now in the kernel ring, raw."""
    fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK)
    records: list[bytes] = []
    try:
        while True:
            try:
                records.append(os.read(fd, 16384))
            except BlockingIOError:
                return records
            except BrokenPipeError:
                continue
    finally:
        os.close(fd)


def ring_size() -> int:
    """The kernel log buffer's size (SYSLOG_ACTION_SIZE_BUFFER), or a generous guess."""
    libc = ctypes.CDLL(None, use_errno=True)
    size = int(libc.klogctl(10, None, 0))
    return size if size > 0 else 1 << 20


def tag() -> str:
    return f"npd-test-{uuid.uuid4()}"


@pytest.mark.root
@needs_kmsg
def test_real_kmsg_delivers_injected_record_quickly() -> None:
    marker = tag()
    health = new_health()

    async def main() -> tuple[list[str], float]:
        # Read the whole ring (start=0) to check every real record, dictionaries included.
        batches = KmsgSource(start=0, position=None, health=health).batches()
        pending = asyncio.ensure_future(until(batches, lambda message: marker in message))
        await asyncio.sleep(0.2)  # the old part of the ring is read first
        written = time.monotonic()
        kmsg_write([f"{marker} injected"])
        messages = await pending
        elapsed = time.monotonic() - written
        await batches.aclose()
        return messages, elapsed

    messages, elapsed = run(main())
    assert elapsed < 1.0
    assert messages[-1] == f"{marker} injected"
    assert health.alive
    assert health.parse_failures == 0

    raw = [parsed for parsed in map(parse_record, ring_records()) if parsed is not None]
    injected = [parsed for parsed in raw if parsed.message == f"{marker} injected"]
    assert len(injected) == 1
    assert (injected[0].level, injected[0].facility) == (3, USER)

    # Dictionary lines stay out of messages: every record with metadata arrived as its bare message.
    assert not any("\n" in message for message in messages)
    delivered = set(messages)
    for parsed in raw:
        if parsed.metadata and parsed.message:
            assert parsed.message in delivered
            for key, value in parsed.metadata.items():
                assert not any(message.endswith(f"{key}={value}") for message in messages if message)


@pytest.mark.root
@needs_kmsg
def test_real_kmsg_resume_same_boot() -> None:
    first, second, third = tag(), tag(), tag()

    async def first_run() -> Any:
        batches = KmsgSource(start=time.time() - 2, position=None, health=new_health()).batches()
        kmsg_write([first])
        # The position of the batch that delivered the marker is what npd would have saved.
        while True:
            batch = await anext(batches)
            if any(record.message == first for record in batch.records()):
                await batches.aclose()
                return batch.position

    position = run(first_run())
    assert position["boot_id"] == boot_id()
    kmsg_write([second, third])  # while "down"
    health = new_health()

    async def resumed() -> list[str]:
        batches = KmsgSource(start=time.time() + 3600, position=position, health=health).batches()
        messages = await until(batches, lambda message: message == third)
        await batches.aclose()
        return messages

    messages = run(resumed())
    assert first not in messages
    assert messages.index(second) < messages.index(third)
    assert messages.count(second) == 1


@pytest.mark.root
@needs_kmsg
def test_real_kmsg_overrun_is_counted_and_reading_continues() -> None:
    before, after = tag(), tag()
    health = new_health()
    # Twice the ring's worth of text overwrites every record the source has not read yet.
    size = ring_size()
    filler = "x" * 900
    flood = [f"npd-test-flood {n} {filler}" for n in range(2 * size // 900 + 1)]

    async def main() -> list[str]:
        batches = KmsgSource(start=time.time() - 2, position=None, health=health).batches()
        kmsg_write([before])
        await until(batches, lambda message: message == before)
        # The source is suspended at its yield and reads nothing while the ring wraps.
        # Info level: records below the console log level are not echoed to a (slow) console.
        kmsg_write(flood, level=6)
        kmsg_write([after])
        messages = await until(batches, lambda message: message == after)
        await batches.aclose()
        return messages

    messages = run(main(), timeout=30)
    assert health.overruns >= 1
    assert health.extra["lost_records"] > 0
    assert messages[-1] == after
    survivors = [message for message in messages if message.startswith("npd-test-flood ")]
    assert 0 < len(survivors) < len(flood)
    # The survivors are the newest part of the flood, in order.
    numbers = [int(message.split()[1]) for message in survivors]
    assert numbers == sorted(numbers)
    assert numbers[-1] == len(flood) - 1


@pytest.mark.root
@needs_kmsg
def test_real_kmsg_idle_does_not_spin_and_cancel_leaks_no_fd() -> None:
    marker = tag()
    before_fds = open_fds()

    async def main() -> float:
        batches = KmsgSource(start=time.time() - 2, position=None, health=new_health()).batches()
        kmsg_write([marker])
        await until(batches, lambda message: message == marker)
        waiting = asyncio.ensure_future(anext(batches))
        await asyncio.sleep(0)
        cpu = time.process_time()
        await asyncio.sleep(1.0)
        used = time.process_time() - cpu
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await waiting
        await batches.aclose()
        return used

    assert run(main()) < 0.05
    assert open_fds() - before_fds == set()


@pytest.mark.root
@needs_kmsg
def test_real_kmsg_read_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, third = tag(), tag(), tag()
    failing = FailingReads(monkeypatch)
    health = new_health()

    async def main() -> list[str]:
        batches = KmsgSource(start=time.time() - 2, position=None, health=health).batches()
        kmsg_write([first])
        messages = await until(batches, lambda message: message == first)
        # EINVAL (a record too big for the buffer) is counted and skipped; the reader goes on.
        failing.errors = [errno.EINVAL]
        kmsg_write([second])
        messages += await until(batches, lambda message: message == second)
        # Any other error reopens the ring, which starts at its oldest record: nothing is repeated.
        failing.errors = [errno.EIO]
        kmsg_write([third])
        messages += await until(batches, lambda message: message == third)
        await batches.aclose()
        return messages

    messages = run(main())
    assert messages.count(first) == 1
    assert messages.count(second) == 1
    assert messages[-1] == third
    assert health.extra["oversized_records"] == 1
    assert health.read_errors == 1
    assert health.alive
