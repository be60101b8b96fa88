"""The journald source (plugin ``journald``): entries of the systemd journal with given syslog identifiers.

Reads journal files in-process with cysystemd (which bundles libsystemd), like upstream's cgo binding:

* **Where.** ``logPath`` names a journal directory, opened with ``sd_journal_open_directory`` (which reads
  ``<dir>/*.journal`` and ``<dir>/<machine-id>/*.journal`` and notices files and machine directories created
  later). An empty ``logPath`` opens the system journal (``/var/log/journal`` and ``/run/log/journal``).
  Upstream's shipped configs name ``/var/log/journal``, which is missing or empty where the journal is
  volatile (upstream #121); then the source reads ``/run/log/journal`` instead, and switches back as soon as
  ``/var/log/journal`` holds journal files. Any other directory that is missing is reported as a failure
  and retried until it appears.
* **What.** Only entries whose ``SYSLOG_IDENTIFIER`` is one of the configured identifiers (several is an npd
  extension; matches on one field are ORed). The record's time is ``__REALTIME_TIMESTAMP``, its message
  ``MESSAGE`` with surrounding whitespace removed as Go's ``strings.TrimSpace`` does.
* **From where.** A saved position is ``{"cursor": <journal cursor>}`` of the last entry handed out; reading
  resumes right after that entry. Without one, reading starts at the start time and older entries are
  dropped. A cursor whose entry is gone (vacuumed, or another journal) resumes at the later of the start time
  and the cursor's own time, so nothing is reported twice and the lookback still bounds the replay.
* **Waiting.** At the end of the journal the source waits for the journal's inotify descriptor to become
  readable, through the event loop, with a timeout as a safety net, and calls ``sd_journal_process`` once per
  wake-up. It never spins (upstream ignored ``Wait``'s result and could busy-loop: PR #1285). Without inotify
  (e.g. the instance limit is reached) it polls, reopening the journal at the last cursor each interval.
* **Failures** (missing directory, permission, read errors) mark the health failed and are retried with
  exponential backoff; reading then resumes at the last cursor, so nothing is lost or repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import operator
import os
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

from cysystemd.reader import JournalOpenMode, JournalReader, Rule

from npd.sources.base import LogRecord, LogSource, Position, RecordBatch, SourceHealth, go_trim_space

log = logging.getLogger(__name__)

#: The persistent journal directory, which upstream's shipped configs name as ``logPath``.
DEFAULT_JOURNAL_DIR = "/var/log/journal"
#: Where journald keeps the journal when storage is volatile (or before it is flushed to disk).
RUNTIME_JOURNAL_DIR = "/run/log/journal"

#: ``sd_journal_get_timeout``'s "no deadline" value.
_NO_DEADLINE = 2**64 - 1
_JOURNAL_SUFFIXES = (".journal", ".journal~")


class _Unavailable(Exception):
    """The journal cannot be opened now; ``str(exc)`` says why, for the health detail."""


@dataclass(frozen=True, slots=True)
class _Target:
    """What to open: a directory, or the system journal (``directory is None``).

    ``layout`` records which default directories existed when the system journal was opened, because
    ``sd_journal_open`` only watches directories that exist: one appearing later needs a reopen.
    """

    directory: str | None
    fallback: bool = False
    layout: tuple[bool, bool] = (False, False)


def has_journal_files(directory: str) -> bool:
    """Whether ``directory`` or one of its subdirectories (machine ids) holds journal files."""
    try:
        with os.scandir(directory) as entries:
            subdirs = []
            for entry in entries:
                if entry.name.endswith(_JOURNAL_SUFFIXES):
                    return True
                if entry.is_dir(follow_symlinks=True):
                    subdirs.append(entry.path)
    except OSError:
        return False
    for subdir in subdirs:
        try:
            with os.scandir(subdir) as entries:
                if any(entry.name.endswith(_JOURNAL_SUFFIXES) for entry in entries):
                    return True
        except OSError:
            continue
    return False


def _cursor_fields(cursor: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in cursor.split(";") if "=" in part)


def same_entry(saved: str, found: str) -> bool:
    """Whether two cursors name the same journal entry, like ``sd_journal_test_cursor`` but across copies.

    Within one file (same seqnum id) the sequence number decides. An entry journald copied elsewhere (the
    runtime journal flushed to ``/var/log/journal``) gets a new sequence number but keeps its boot id,
    timestamps and content hash, so those decide otherwise.
    """
    a, b = _cursor_fields(saved), _cursor_fields(found)
    if "s" in a and a.get("s") == b.get("s"):
        return a.get("i") == b.get("i")
    return all(a.get(key) is not None and a.get(key) == b.get(key) for key in ("b", "m", "t", "x"))


def cursor_time(cursor: str) -> float | None:
    """The realtime timestamp (seconds) stored in a cursor, if it has a readable one."""
    try:
        return int(_cursor_fields(cursor)["t"], 16) / 1e6
    except (KeyError, ValueError):
        return None


class _Session:
    """One open journal: the reader, what it was opened on, and its inotify descriptor (None: polling)."""

    def __init__(self, reader: Any, target: _Target, fd: int | None) -> None:
        self.reader: Any = reader
        self.target = target
        self.fd = fd

    def close(self) -> None:
        # cysystemd has no close(): sd_journal_close runs when the reader is freed, which releases the
        # journal's mmaps and file descriptors (including those of files deleted by vacuuming) now.
        self.reader = None


class JournaldSource(LogSource):
    """Follows the journal for entries whose ``SYSLOG_IDENTIFIER`` is one of ``identifiers``.

    ``log_path`` is the journal directory ("" for the system journal). ``start`` is the oldest entry time
    to report when there is no usable ``position``. Batches hold up to ``batch_limit`` entries and carry the
    cursor of their last entry as their position.

    The keyword-only tuning parameters exist for tests: ``persistent_dir`` and ``runtime_dir`` are the
    directories of the ``/var/log/journal`` fallback rule, ``poll_interval`` the safety-net wake-up (and
    polling interval without inotify), ``retry_delay``/``max_retry_delay`` the backoff after failures.
    """

    def __init__(
        self,
        *,
        identifiers: Sequence[str],
        log_path: str,
        start: float,
        position: Position | None,
        health: SourceHealth,
        batch_limit: int = 1000,
        persistent_dir: str = DEFAULT_JOURNAL_DIR,
        runtime_dir: str = RUNTIME_JOURNAL_DIR,
        poll_interval: float = 2.0,
        retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
    ) -> None:
        if not identifiers or any(not ident or "\0" in ident for ident in identifiers):
            raise ValueError(f"journald needs non-empty syslog identifiers, got {list(identifiers)!r}")
        if batch_limit < 1:
            raise ValueError("batch_limit must be at least 1")
        self.identifiers = tuple(dict.fromkeys(identifiers))
        self.log_path = log_path
        self.start = start
        self.health = health
        self.batch_limit = batch_limit
        self.persistent_dir = persistent_dir
        self.runtime_dir = runtime_dir
        self.poll_interval = poll_interval
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        #: The directory being read (None: the system journal, or nothing open yet).
        self.directory: str | None = None
        # Cursor of the last entry handed out: where every (re)open resumes.
        self._cursor: str | None = _saved_cursor(position)
        # Where to resume by time when there is no usable cursor.
        self._resume_time = start
        # While catching up after a seek by time, entries older than this are dropped (clocks are not
        # monotonic across files and boots, so the seek alone does not guarantee it).
        self._min_time: float | None = None
        self._fallback_announced = False
        self._no_inotify_announced = False
        self._last_failure: str | None = None

    # Choosing what to open.

    def _same_path(self, a: str, b: str) -> bool:
        return os.path.normpath(a) == os.path.normpath(b)

    def _target(self) -> _Target:
        """What to open now; raises :class:`_Unavailable` when nothing can be."""
        persistent, runtime = self.persistent_dir, self.runtime_dir
        if not self.log_path:
            layout = (os.path.isdir(persistent), os.path.isdir(runtime))
            if not any(layout):
                raise _Unavailable(f"no journal: neither {persistent} nor {runtime} exists")
            return _Target(None, layout=layout)
        if self._same_path(self.log_path, persistent):
            if has_journal_files(persistent):
                return self._directory_target(persistent)
            if os.path.isdir(runtime):
                return self._directory_target(runtime, fallback=True)
            if os.path.isdir(persistent):
                # journald may still create its files here; the directory is watched.
                return self._directory_target(persistent)
            raise _Unavailable(f"journal directory {persistent} does not exist, nor does {runtime}")
        return self._directory_target(self.log_path)

    @staticmethod
    def _directory_target(directory: str, fallback: bool = False) -> _Target:
        if not os.path.exists(directory):
            raise _Unavailable(f"journal directory {directory} does not exist")
        if not os.path.isdir(directory):
            raise _Unavailable(f"journal directory {directory} is not a directory")
        if not os.access(directory, os.R_OK | os.X_OK):
            raise _Unavailable(f"journal directory {directory}: permission denied")
        return _Target(directory, fallback=fallback)

    # Opening and seeking.

    def _open(self) -> _Session:
        target = self._target()
        if target.fallback and not self._fallback_announced:
            self._fallback_announced = True
            log.info(
                "journal directory %s holds no journal files; reading %s instead",
                self.log_path,
                target.directory,
            )
        reader = JournalReader()
        try:
            if target.directory is None:
                # SYSTEM rather than upstream's LOCAL_ONLY: in a container the local machine id is the
                # container's, which would hide every host journal file.
                reader.open(JournalOpenMode.SYSTEM)
            else:
                reader.open_directory(target.directory)
        except (OSError, SystemError) as exc:
            raise _Unavailable(
                f"cannot open journal {target.directory or '(system)'}: {_describe(exc)}"
            ) from exc
        fd: int | None
        try:
            # Asking for the descriptor right after opening sets up the inotify watches before the first
            # read, so no change made while seeking is missed.
            fd = int(reader.fd)
        except (OSError, SystemError) as exc:
            fd = None
            if not self._no_inotify_announced:
                self._no_inotify_announced = True
                log.warning(
                    "cannot watch the journal for changes (%s); polling every %.1fs",
                    _describe(exc),
                    self.poll_interval,
                )
        rules = [Rule("SYSLOG_IDENTIFIER", ident) for ident in self.identifiers]
        reader.add_filter(functools.reduce(operator.or_, rules))
        self._seek(reader)
        self.directory = target.directory
        return _Session(reader, target, fd)

    def _seek(self, reader: Any) -> None:
        """Position ``reader`` just after the saved cursor, or at the start time."""
        cursor = self._cursor
        if cursor is None:
            self._seek_time(reader, self._resume_time)
            return
        try:
            reader.seek_cursor(cursor.encode())
        except (SystemError, UnicodeEncodeError, ValueError) as exc:
            log.warning("saved journal cursor %r is invalid (%s); reading from the start time", cursor, exc)
            self._cursor = None
            self._seek_time(reader, self._resume_time)
            return
        entry = reader.next()  # a read error here is a failure to retry, not a bad cursor
        # seek_cursor positions *at* the entry when it still exists; next() returns it, and it was
        # already handed out.
        if entry is not None and same_entry(cursor, entry.cursor.decode()):
            return
        saved_at = cursor_time(cursor)
        resume = self.start if saved_at is None else max(self.start, saved_at + 1e-6)
        log.warning(
            "the entry of saved journal cursor %r is gone (vacuumed, or another journal); "
            "reading entries from %s on",
            cursor,
            time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(resume)),
        )
        # Forget the cursor so a later reopen (before any new entry) does not warn again.
        self._cursor = None
        self._resume_time = resume
        self._seek_time(reader, resume)

    def _seek_time(self, reader: Any, when: float) -> None:
        reader.seek_realtime_usec(max(0, int(when * 1_000_000)))
        self._min_time = when

    # Reading.

    def _drain(self, reader: Any) -> tuple[list[LogRecord], int, bool]:
        """Read up to ``batch_limit`` entries: (records, entries consumed, whether the end was reached).

        Updates the cursor to the last entry consumed, records or not, so skipped entries are not reread.
        """
        records: list[LogRecord] = []
        min_time = self._min_time
        health = self.health
        last = None
        consumed = 0
        at_end = False
        for _ in range(self.batch_limit):
            entry = reader.next()
            if entry is None:
                at_end = True
                break
            consumed += 1
            last = entry
            timestamp = entry.get_realtime_usec() / 1e6
            if min_time is not None and timestamp < min_time:
                health.too_old += 1
                continue
            message = entry.data.get("MESSAGE")
            if message is None:
                health.parse_failures += 1
                continue
            if isinstance(message, list):
                # A field may repeat within an entry; sd_journal_get_data (upstream's call) gives the first.
                message = message[0]
            # cysystemd already decoded the value as UTF-8 with errors="replace".
            records.append(LogRecord(timestamp, go_trim_space(message)))
        if last is not None:
            self._cursor = last.cursor.decode()
        if at_end:
            # Caught up: from now on entries are new, whatever their timestamps say (a clock stepped back
            # must not hide them).
            self._min_time = None
        return records, consumed, at_end

    async def _wait(self, session: _Session) -> bool:
        """Wait for the journal to change or the safety-net timeout; True when the descriptor woke us."""
        timeout = self.poll_interval
        if session.fd is None:
            await asyncio.sleep(timeout)
            return False
        deadline = session.reader.timeout
        if deadline != _NO_DEADLINE:
            # Journals on network file systems have no inotify; libsystemd asks to be woken to recheck.
            timeout = max(0.0, min(timeout, deadline / 1e6 - time.monotonic()))
        loop = asyncio.get_running_loop()
        ready = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        # Registered only while waiting: the descriptor stays readable until sd_journal_process drains it,
        # and a reader left registered while the consumer handles a batch would spin the event loop.
        loop.add_reader(session.fd, wake)
        try:
            done, _ = await asyncio.wait({ready}, timeout=timeout)
        finally:
            loop.remove_reader(session.fd)
            ready.cancel()
        return bool(done)

    async def _follow(self, session: _Session) -> AsyncGenerator[RecordBatch, None]:
        """Batches from one open journal; returns when the journal should be reopened."""
        self.health.running()
        self._last_failure = None
        checked = time.monotonic()
        while True:
            records, consumed, at_end = self._drain(session.reader)
            if consumed:
                self.health.read(len(records))
                yield RecordBatch(records, {"cursor": self._cursor})
                if not at_end:
                    # Catching up on a long journal: let other tasks run between batches even if the
                    # consumer never awaits.
                    await asyncio.sleep(0)
                    continue
            await self._wait(session)
            if session.fd is None:
                return  # polling: reopen to see new and rotated files
            # Always process, even on timeout: it is what makes libsystemd notice new, rotated and deleted
            # files. Its result does not matter; the next drain finds whatever was appended.
            session.reader.process_events()
            # Also on a journal too busy to ever time out, look now and then whether to reopen.
            now = time.monotonic()
            if now - checked >= self.poll_interval:
                checked = now
                if self._should_reopen(session):
                    return

    def _should_reopen(self, session: _Session) -> bool:
        """Checked at each safety-net wake-up: has what should be open changed (fallback, directory gone)?"""
        try:
            target = self._target()
        except _Unavailable:
            return True
        if target != session.target:
            log.info(
                "journal %s: now reading %s (was %s)",
                self.log_path or "(system)",
                target.directory or "the system journal",
                session.target.directory or "the system journal",
            )
            return True
        return False

    async def batches(self) -> AsyncGenerator[RecordBatch, None]:
        """Yield batches of matching entries as they are appended, forever; failures are retried."""
        delay = self.retry_delay
        while True:
            try:
                session = self._open()
            except _Unavailable as exc:
                self._failed(str(exc))
            except Exception as exc:
                self._failed(f"cannot open journal {self.log_path or '(system)'}: {_describe(exc)}")
            else:
                try:
                    async with contextlib.aclosing(self._follow(session)) as batches:
                        async for batch in batches:
                            delay = self.retry_delay
                            yield batch
                    continue  # the journal asked to be reopened: do it now
                except Exception as exc:
                    log.debug("reading the journal failed", exc_info=True)
                    self._failed(f"reading journal {self.directory or '(system)'}: {_describe(exc)}")
                finally:
                    session.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_retry_delay)

    def _failed(self, detail: str) -> None:
        if detail != self._last_failure:
            log.warning("journald source %s: %s; retrying", ",".join(self.identifiers), detail)
            self._last_failure = detail
        self.health.failed(detail)


def _saved_cursor(position: Position | None) -> str | None:
    if position is None:
        return None
    cursor = position.get("cursor") if isinstance(position, dict) else None
    if isinstance(cursor, str) and cursor:
        return cursor
    log.warning("ignoring saved journald position %r: no cursor", position)
    return None


def _describe(exc: BaseException) -> str:
    # cysystemd raises SystemError(strerror, errno name); show "Permission denied (EACCES)".
    if isinstance(exc, SystemError) and len(exc.args) == 2:
        return f"{exc.args[0]} ({exc.args[1]})"
    return str(exc) or type(exc).__name__
