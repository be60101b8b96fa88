"""The kernel log source: records from ``/dev/kmsg`` (or a file or FIFO in the same format, for tests).

Each record is ``PRI,SEQ,TS_USEC,FLAGS[,more fields];MESSAGE`` followed by optional continuation
lines `` KEY=value`` (see the kernel's Documentation/ABI/testing/dev-kmsg). Unlike upstream, the
continuation lines become metadata instead of staying in the message, so patterns anchored at the
end of a message match real kernel lines (upstream #1086).

Reading never goes blind: when the ring overwrites records before they are read (``EPIPE``), the
loss is counted and reading continues with the oldest record still available; other read errors
reopen the log and resume after the last sequence number seen (upstream restarted and seeked to
the end, losing messages: #1168, #1174).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import stat
import time
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from npd.sources.base import LogRecord, LogSource, Position, RecordBatch, SourceHealth, go_trim_space
from npd.sources.starttime import boot_id, boot_time

log = logging.getLogger(__name__)

#: One read of /dev/kmsg returns one record; the kernel caps a record with its dictionary at
#: 8 KiB (CONSOLE_EXT_LOG_MAX), so twice that can never give EINVAL for a valid record.
READ_SIZE = 16384
#: Header fields are short numbers and flags; a ``;`` further in means the record is junk, and
#: bounding the search keeps junk lines cheap.
_MAX_HEADER = 512
#: In a file or FIFO, a line without a newline longer than this is junk, not a record still arriving.
_MAX_STREAM_LINE = 65536
_STREAM_READ_SIZE = 65536
#: Reads per fill of a file or FIFO, so a huge file does not hold up the event loop.
_MAX_CHUNKS_PER_FILL = 16
#: Regular files are a testing aid: at end of file, poll for growth at this interval.
_FILE_POLL_S = 0.1
_BACKOFF_INITIAL_S = 0.1
_BACKOFF_MAX_S = 30.0
#: Consecutive EINVALs after which reading counts as broken rather than one oversized record.
_MAX_EINVAL_RUN = 100
_LOSS_LOG_INTERVAL_S = 5.0


@dataclass(frozen=True, slots=True)
class KmsgRecord:
    """One parsed kernel log record.

    ``message`` is the text after the first ``;`` with surrounding whitespace stripped, as the
    kernel wrote it (non-printable bytes stay escaped as ``\\xNN``). ``metadata`` holds the
    continuation lines (`` SUBSYSTEM=pci`` becomes ``{"SUBSYSTEM": "pci"}``) and any ``key=value``
    header fields after the flags (``caller=T123``).
    """

    priority: int
    facility: int
    level: int
    seq: int
    usec: int
    flags: str
    message: str
    metadata: dict[str, str]


def _split_header(raw: bytes) -> tuple[list[bytes], int] | None:
    """The header fields and the index of the ``;`` after them, or ``None`` when malformed."""
    semi = raw.find(b";", 0, _MAX_HEADER)
    if semi < 0:
        return None
    fields = raw[:semi].split(b",")
    # isdigit() rejects signs, spaces and underscores that int() would accept; the kernel's
    # fields are 64-bit, so a longer run of digits is junk (and would overflow a float).
    if len(fields) < 4 or not all(field.isdigit() and len(field) <= 20 for field in fields[:3]):
        return None
    return fields, semi


def _message(raw: bytes, semi: int, end: int) -> str:
    text = raw[semi + 1 :] if end < 0 else raw[semi + 1 : end]
    return go_trim_space(text.decode("utf-8", "replace"))


def _metadata(raw: bytes, end: int, extra_fields: list[bytes]) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for field in extra_fields:
        key, sep, value = field.partition(b"=")
        if sep:
            metadata[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    if end < 0:
        return metadata
    for line in raw[end + 1 :].split(b"\n"):
        # Only continuation lines belong to the record; anything else is not the kernel's format.
        if line.startswith(b" "):
            key, _, value = line[1:].rstrip(b"\r").partition(b"=")
            metadata[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return metadata


def parse_record(raw: bytes) -> KmsgRecord | None:
    """Parse one record as read from /dev/kmsg, continuation lines included.

    Returns ``None`` for a malformed record (no ``;`` in the header, fewer than four header
    fields, or a non-numeric priority, sequence number or timestamp). A record whose message is
    empty is returned with ``message == ""``: its sequence number still counts, and readers skip it.
    Never raises for any input.
    """
    header = _split_header(raw)
    if header is None:
        return None
    fields, semi = header
    end = raw.find(b"\n", semi + 1)
    has_metadata = len(fields) > 4 or (end >= 0 and end + 1 < len(raw))
    priority = int(fields[0])
    return KmsgRecord(
        priority,
        priority >> 3,
        priority & 7,
        int(fields[1]),
        int(fields[2]),
        fields[3].decode("ascii", "replace"),
        _message(raw, semi, end),
        _metadata(raw, end, fields[4:]) if has_metadata else {},
    )


def _parse_fast(raw: bytes) -> tuple[int, int, str] | None:
    """``(seq, usec, message)`` of a record, skipping what the source does not need (metadata)."""
    header = _split_header(raw)
    if header is None:
        return None
    fields, semi = header
    return int(fields[1]), int(fields[2]), _message(raw, semi, raw.find(b"\n", semi + 1))


class _Backoff:
    """Capped exponential delays between attempts to reopen the log."""

    def __init__(self) -> None:
        self._next = _BACKOFF_INITIAL_S

    def reset(self) -> None:
        self._next = _BACKOFF_INITIAL_S

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, _BACKOFF_MAX_S)
        return delay


class _Cursor:
    """Which records to deliver: the resume point, the start filter, and lost-record accounting.

    Lives across reopens, so a reopened log resumes after the last record seen.
    """

    def __init__(self, *, start: float, position: Position | None, health: SourceHealth, path: str) -> None:
        self.health = health
        self.path = path
        self.booted = boot_time()
        self.boot_id = boot_id()
        self.last_seq: int | None = None
        #: Records with seq <= floor were delivered before (by this run or the one that saved the
        #: position) and are skipped.
        self.floor: int | None = None
        self.start: float | None = start
        self._lost_unlogged = 0
        self._loss_logged_at = float("-inf")
        if position is not None and position.get("boot_id") == self.boot_id:
            seq = position.get("seq")
            if isinstance(seq, int) and not isinstance(seq, bool):
                # Same boot: resume by sequence number, so nothing is replayed or skipped, however old.
                self.last_seq = self.floor = seq
                self.start = None

    def position(self, seq: int) -> Position:
        return {"boot_id": self.boot_id, "seq": seq}

    def accept(self, seq: int, usec: int, message: str) -> LogRecord | None:
        """The record to deliver for a parsed kernel record, or ``None`` when it is skipped."""
        if self.floor is not None and seq <= self.floor:
            return None
        last = self.last_seq
        if last is not None and seq > last + 1:
            self._lost(seq - last - 1, last, seq)
        self.last_seq = seq
        if not message:
            self.health.skipped += 1
            return None
        timestamp = self.booted + usec / 1e6
        if self.start is not None and timestamp < self.start:
            self.health.too_old += 1
            return None
        return LogRecord(timestamp, message)

    def _lost(self, count: int, last: int, seq: int) -> None:
        extra = self.health.extra
        extra["lost_records"] = extra.get("lost_records", 0) + count
        self._lost_unlogged += count
        now = time.monotonic()
        # A sustained flood overruns the ring again and again; one warning per interval is enough.
        if now - self._loss_logged_at >= _LOSS_LOG_INTERVAL_S:
            log.warning(
                "%s: %d kernel log records lost (gone from the ring before they were read); "
                "continuing with seq %d after seq %d",
                self.path,
                self._lost_unlogged,
                seq,
                last,
            )
            self._loss_logged_at = now
            self._lost_unlogged = 0


async def _wait_readable(fd: int) -> None:
    """Wait until ``fd`` polls readable (or hung up)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, _set_ready, ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _set_ready(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


class _Reader:
    """An open log; :meth:`next_batch` waits for and returns the next non-empty batch."""

    fd: int

    def close(self) -> None:
        os.close(self.fd)

    async def next_batch(self) -> RecordBatch:
        raise NotImplementedError


class _DeviceReader(_Reader):
    """/dev/kmsg: each read returns exactly one record, and the device supports poll."""

    def __init__(self, fd: int, cursor: _Cursor, batch_limit: int) -> None:
        self.fd = fd
        self.cursor = cursor
        self.health = cursor.health
        self.batch_limit = batch_limit
        self._einval_run = 0

    async def next_batch(self) -> RecordBatch:
        while True:
            records, last_seq, drained = self._drain()
            if records:
                assert last_seq is not None
                return RecordBatch(records, self.cursor.position(last_seq))
            if drained:
                await _wait_readable(self.fd)
            else:
                # Only skipped records so far (e.g. the old part of the ring): let others run.
                await asyncio.sleep(0)

    def _drain(self) -> tuple[list[LogRecord], int | None, bool]:
        """Read what is available without blocking: (records, seq of the last, reached the end)."""
        records: list[LogRecord] = []
        last_seq: int | None = None
        cursor = self.cursor
        for _ in range(self.batch_limit):
            raw = self._read_one()
            if raw is None:
                return records, last_seq, True
            if not raw:
                continue
            parsed = _parse_fast(raw)
            if parsed is None:
                self.health.parse_failures += 1
                log.debug("unparseable kmsg record: %r", raw[:200])
                continue
            record = cursor.accept(*parsed)
            if record is not None:
                records.append(record)
                last_seq = parsed[0]
        return records, last_seq, False

    def _read_one(self) -> bytes | None:
        """One record; ``b""`` when a record was lost instead, ``None`` at the end of the ring."""
        try:
            raw = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return None
        except OSError as exc:
            return self._read_error(exc)
        self._einval_run = 0
        if not raw:
            # /dev/kmsg never reports end of file; some other character device does.
            raise OSError(errno.EIO, "unexpected end of file")
        return raw

    def _read_error(self, exc: OSError) -> bytes:
        if exc.errno == errno.EPIPE:
            # The kernel has moved us to the oldest record still in the ring; the gap in sequence
            # numbers before it is counted when it is read.
            self.health.overruns += 1
            return b""
        if exc.errno == errno.EINVAL:
            # The kernel skips a record too large for the buffer; cannot happen with READ_SIZE.
            self._einval_run += 1
            if self._einval_run > _MAX_EINVAL_RUN:
                raise exc
            self.health.parse_failures += 1
            self.health.extra["oversized_records"] = self.health.extra.get("oversized_records", 0) + 1
            return b""
        raise exc


class _StreamReader(_Reader):
    """A FIFO or regular file: a read returns any number of records, possibly a partial one."""

    def __init__(self, fd: int, cursor: _Cursor, batch_limit: int, *, fifo: bool) -> None:
        self.fd = fd
        self.path = cursor.path
        self.fifo = fifo
        self.cursor = cursor
        self.health = cursor.health
        self.batch_limit = batch_limit
        self._partial = b""  # the start of a line whose newline has not arrived yet
        self._discarding = False  # inside an overlong junk line, dropping bytes until its newline
        self._group: list[bytes] = []  # the lines of the record being assembled
        self._ready: deque[tuple[LogRecord, int]] = deque()
        self._offset = 0

    async def next_batch(self) -> RecordBatch:
        while True:
            # Fill before taking, so a batch holds everything already written (up to the limit).
            state = self._fill() if len(self._ready) < self.batch_limit else "more"
            if self._ready:
                return self._take()
            if state == "wait":
                await _wait_readable(self.fd)
            elif state == "eof":
                await self._wait_more()
            else:
                await asyncio.sleep(0)

    def _take(self) -> RecordBatch:
        count = min(self.batch_limit, len(self._ready))
        taken = [self._ready.popleft() for _ in range(count)]
        return RecordBatch([record for record, _ in taken], self.cursor.position(taken[-1][1]))

    def _fill(self) -> str:
        """Read and parse until a batch is ready: ``"more"``, or ``"wait"``/``"eof"`` at the end."""
        for _ in range(_MAX_CHUNKS_PER_FILL):
            try:
                chunk = os.read(self.fd, _STREAM_READ_SIZE)
            except BlockingIOError:
                self._flush_group()
                return "wait"
            if not chunk:
                self._flush_group()
                return "eof"
            self._offset += len(chunk)
            self._feed(chunk)
            if len(self._ready) >= self.batch_limit:
                return "more"
        return "more"

    def _feed(self, chunk: bytes) -> None:
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if self._discarding:
            if not lines:
                return
            self._discarding = False
            lines[0] = b""
        if lines:
            lines[0] = self._partial + lines[0]
            self._partial = b""
        for line in lines:
            self._line(line)
        self._partial += tail
        if len(self._partial) > _MAX_STREAM_LINE:
            self.health.parse_failures += 1
            log.debug("%s: dropping a line longer than %d bytes", self.path, _MAX_STREAM_LINE)
            self._partial = b""
            self._discarding = True

    def _line(self, line: bytes) -> None:
        if line.startswith(b" "):
            # A continuation line belongs to the record before it; without one it is stray.
            if self._group:
                self._group.append(line)
            return
        self._flush_group()
        if line.strip():
            self._group.append(line)

    def _flush_group(self) -> None:
        """Parse the record assembled so far: it is complete once another record or the end follows."""
        if not self._group:
            return
        raw = b"\n".join(self._group)
        self._group = []
        parsed = _parse_fast(raw)
        if parsed is None:
            self.health.parse_failures += 1
            log.debug("%s: unparseable kmsg record: %r", self.path, raw[:200])
            return
        record = self.cursor.accept(*parsed)
        if record is not None:
            self._ready.append((record, parsed[0]))

    async def _wait_more(self) -> None:
        if self.fifo:
            self._reopen_fifo()
            await _wait_readable(self.fd)
            return
        await asyncio.sleep(_FILE_POLL_S)
        if os.fstat(self.fd).st_size < self._offset:
            # Truncated and rewritten: read it again from the start.
            os.lseek(self.fd, 0, os.SEEK_SET)
            self._offset = 0
            self._partial = b""
            self._group = []
            self._discarding = False

    def _reopen_fifo(self) -> None:
        """The writer closed: wait for the next one on a fresh descriptor.

        The old descriptor would poll as hung up forever. Opening the new one before closing the
        old keeps a reader on the pipe throughout, so a writer that arrives meanwhile is not refused.
        """
        new_fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.close(self.fd)
        self.fd = new_fd


class KmsgSource(LogSource):
    """Follows the kernel log, yielding :class:`RecordBatch` objects with a resumable position.

    ``position`` is ``{"boot_id": ..., "seq": <last seq delivered>}``. From the current boot,
    every record after that seq is delivered, however old; without one, or from another boot,
    only records logged at or after ``start`` (seconds since the epoch) are. ``log_path`` may also
    name a FIFO or a regular file holding records in the /dev/kmsg format (a testing aid).
    """

    def __init__(
        self,
        *,
        log_path: str = "/dev/kmsg",
        start: float,
        position: Position | None,
        health: SourceHealth,
        batch_limit: int = 1000,
    ) -> None:
        self.log_path = log_path
        self.health = health
        self._start = start
        self._position = position
        self._batch_limit = max(1, batch_limit)

    async def batches(self) -> AsyncGenerator[RecordBatch, None]:
        """Yield batches as records arrive; retries (with backoff) instead of raising.

        Only cancellation ends it; ``aclose()`` or cancelling the iterating task closes the log.
        """
        cursor = _Cursor(start=self._start, position=self._position, health=self.health, path=self.log_path)
        backoff = _Backoff()
        while True:
            reader: _Reader | None = None
            try:
                reader = self._open(cursor)
                self.health.running()
                while True:
                    batch = await reader.next_batch()
                    self.health.read(len(batch))
                    backoff.reset()
                    yield batch
            except OSError as exc:
                self._failed(f"{self.log_path}: {exc.strerror or exc}")
            except Exception as exc:  # a bug must not stop the source for good
                log.exception("kmsg source %s failed", self.log_path)
                self._failed(f"{self.log_path}: {type(exc).__name__}: {exc}")
            finally:
                if reader is not None:
                    reader.close()
            await asyncio.sleep(backoff.next())

    def _open(self, cursor: _Cursor) -> _Reader:
        fd = os.open(self.log_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            mode = os.fstat(fd).st_mode
            if (stat.S_ISCHR(mode) or stat.S_ISREG(mode)) and cursor.last_seq is not None:
                # Sequence numbers only grow within a boot: a reopened ring (or file) is read from
                # its start again, so skip every record already seen. A FIFO replays nothing.
                cursor.floor = cursor.last_seq
            if stat.S_ISCHR(mode):
                return _DeviceReader(fd, cursor, self._batch_limit)
            if stat.S_ISFIFO(mode) or stat.S_ISREG(mode):
                return _StreamReader(fd, cursor, self._batch_limit, fifo=stat.S_ISFIFO(mode))
            raise OSError(errno.EINVAL, "not a character device, FIFO or regular file")
        except BaseException:
            os.close(fd)
            raise

    def _failed(self, detail: str) -> None:
        if detail != self.health.detail:
            log.warning("kmsg source: %s; retrying", detail)
        self.health.failed(detail)
