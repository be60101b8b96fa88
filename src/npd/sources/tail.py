"""Follow a log file across rotation, resumably, without losing or doubling a line.

:class:`FileTailer` reads a file in big chunks and yields :class:`TailChunk` objects holding whole
lines only; a trailing partial line is held until its newline arrives. Each chunk carries the
:data:`~npd.sources.base.Position` just after its last byte, in the file it came from, so a
restarted daemon resumes exactly there, even if the file was rotated in between.

Wake-ups come from inotify on the parent directory (for the name) and on each open file's inode
(for appends, which also reach a file that was renamed or deleted), with a ``poll_interval`` stat
as a safety net and as the only mechanism when inotify is unavailable.

Every file the tailer has seen at ``path`` stays open, oldest first, in a chain. The first is read;
the others wait their turn. That one rule covers every rotation style:

* **rename** (``create``): the path names a new inode. It joins the chain; the old file is read to
  its end and then kept for a grace period, because the writer appends to it until it reopens.
  It is let go once it has not been written to (mtime) for ``rotate_grace`` since the rotation was
  seen while its successor has data, or once we have read nothing from it for ``max_grace``; the
  successor is then read from offset 0. A writer that pauses longer than the grace period and
  then appends to the old file again loses those lines: that is the heuristic's price.
* **delete and recreate**: the same, the open fd still reads the deleted file.
* **copytruncate**: the same inode shrinks (its size drops below our offset) or, if the writer got
  past our offset before we looked, its first bytes change. The copy logrotate just made is looked
  up in the directory by those first bytes and read from our offset, then the truncated file from
  0. copytruncate has a race of its own that no reader can fix: lines written between logrotate's
  copy and its truncate are in neither file. If the copy cannot be found (compressed at once),
  lines written after our last read and before the truncation are lost too.

Resuming: the saved file is the one at ``path`` if device, inode and a hash of its first bytes
(up to 1 KiB) match and it is at least ``offset`` long; otherwise it is looked for in the same
directory, by inode (renamed) or by those first bytes (a copy; compressed files are skipped), and
finished first. If it is gone, or was truncated while the daemon was down, the file at ``path``
is read from 0 and ``health.extra["rotation_gaps"]`` counts it.

Known limits: a file that is at ``path`` only between two looks (polling, or two rotations while
the daemon is down) is never seen; a truncated file rewritten with its old first bytes exactly
looks untruncated.

Cleanup: :meth:`FileTailer.chunks` closes its fds and the inotify instance in a ``finally``, which
runs when the task iterating it is cancelled while it waits (the usual case) or when the
generator is closed. Call :meth:`FileTailer.aclose` (or wrap the iterator in
``contextlib.aclosing``) to release them when iteration stops at a ``yield``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import math
import os
import stat
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from npd.sources.base import Position, SourceHealth

try:
    from inotify_simple import INotify
except ImportError:  # a declared dependency; polling alone still works without it
    INotify = None

log = logging.getLogger(__name__)

#: How many leading bytes identify a file's content (inode reuse, truncate-and-rewrite, copies).
FINGERPRINT_BYTES: Final = 1024
#: A line this long without a newline is emitted anyway, to bound memory.
MAX_LINE: Final = 16 << 20
#: Rotated files with these suffixes are compressed: their bytes are not the log's bytes.
COMPRESSED_SUFFIXES: Final = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".zip", ".Z")
#: A copy found by content alone (not by inode) needs this much content to be trusted.
_MIN_CONTENT_MATCH: Final = 64
_BACKOFF_FIRST: Final = 0.1
_BACKOFF_MAX: Final = 30.0

# IN_MODIFY, IN_CREATE, ... as plain ints so that the module imports without inotify_simple.
_IN_MODIFY: Final = 0x00000002
_IN_MOVED_FROM: Final = 0x00000040
_IN_MOVED_TO: Final = 0x00000080
_IN_CREATE: Final = 0x00000100
_IN_DELETE: Final = 0x00000200
_IN_DELETE_SELF: Final = 0x00000400
_IN_MOVE_SELF: Final = 0x00000800
_IN_IGNORED: Final = 0x00008000
_DIR_MASK: Final = _IN_CREATE | _IN_MOVED_TO | _IN_MOVED_FROM | _IN_DELETE | _IN_DELETE_SELF | _IN_MOVE_SELF


@dataclass(frozen=True, slots=True)
class TailChunk:
    """Whole lines read from the file, and where to resume after them.

    ``data`` holds one or more lines, each ending in ``b"\\n"``. ``position`` is JSON-serialisable:
    ``{"path", "dev", "ino", "offset", "fingerprint", "fingerprint_len"}``, where ``dev``/``ino``
    name the file the chunk came from (a rotated file, possibly) and ``offset`` is just after the
    chunk's last byte there.
    """

    data: bytes
    lines: int
    position: Position


def _open_fd(path: str) -> int:
    """Open ``path`` for reading; a seam for tests that inject failures."""
    # O_NONBLOCK so that a FIFO at the path cannot block the event loop in open().
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)


def _fingerprint(head: bytes) -> str:
    return hashlib.sha256(head).hexdigest()[:32]


class _File:
    """One open file of the chain and how far it has been read."""

    __slots__ = (
        "detached_since",
        "dev",
        "fd",
        "final",
        "head",
        "ino",
        "last_data",
        "offset",
        "partial",
        "partial_len",
        "wd",
    )

    def __init__(self, fd: int, st: os.stat_result, now: float) -> None:
        self.fd = fd
        self.dev = st.st_dev
        self.ino = st.st_ino
        #: Bytes read so far: the next read starts here. Held partial bytes end here.
        self.offset = 0
        #: The file's first bytes as read (at most FINGERPRINT_BYTES): they identify its content.
        self.head = b""
        self.partial: list[bytes] = []
        self.partial_len = 0
        self.last_data = now
        #: When the path was first seen naming another file (or nothing); None while it names this one.
        self.detached_since: float | None = None
        #: Nobody writes to it (a copytruncate copy): let it go at its end without a grace period.
        self.final = False
        self.wd: int | None = None

    @property
    def ident(self) -> tuple[int, int]:
        return (self.dev, self.ino)

    def restart(self) -> None:
        """Read again from the start: the file was truncated."""
        self.offset = 0
        self.head = b""
        self.partial = []
        self.partial_len = 0


@dataclass(frozen=True, slots=True)
class _Saved:
    """A parsed saved position: which file, how far, and what its first bytes were."""

    dev: int
    ino: int
    offset: int
    fingerprint: str
    fingerprint_len: int

    @property
    def ident(self) -> tuple[int, int]:
        return (self.dev, self.ino)


class _Retry:
    """Returned by a read step that changed what is to be read next."""


_RETRY: Final = _Retry()


class FileTailer:
    """Yields the lines of ``path`` as it grows, following it across rotation.

    With no ``position`` the file is read from offset 0 (the caller filters old entries by
    timestamp, like upstream). With a position from an earlier :class:`TailChunk`, reading resumes
    just after that chunk, in the rotated file if the file was rotated meanwhile (see the module
    docstring). ``chunk_size`` bytes are read at a time.

    ``rotate_grace`` (default ``poll_interval``) is how long a rotated-away file must have been
    quiet, with its successor holding data, before it is let go; ``max_grace`` lets it go when
    quiet that long whatever the successor holds. ``use_inotify=False`` polls only.

    Health: ``health.read(lines)`` per chunk; ``alive`` false while the path is missing and
    nothing is left to read, or while reading fails (retried with backoff). ``health.extra``
    counts ``rotations``, ``truncations``, ``rotation_gaps`` (the saved position's file was not
    found, or a file was truncated while the daemon was down: lines may have been missed) and
    ``oversized_lines`` (lines cut at ``max_line`` bytes).
    """

    def __init__(
        self,
        path: str,
        health: SourceHealth,
        *,
        position: Position | None = None,
        chunk_size: int = 1 << 20,
        poll_interval: float = 1.0,
        rotate_grace: float | None = None,
        max_grace: float = 60.0,
        max_line: int = MAX_LINE,
        use_inotify: bool = True,
    ) -> None:
        if chunk_size <= 0 or poll_interval <= 0:
            raise ValueError("chunk_size and poll_interval must be positive")
        self.path = path
        self.health = health
        self._dir = os.path.dirname(path) or "."
        self._base = os.path.basename(path)
        self._position = position
        self._chunk_size = chunk_size
        self._poll_interval = poll_interval
        self._grace = poll_interval if rotate_grace is None else rotate_grace
        self._max_grace = max(max_grace, self._grace)
        self._max_line = max_line
        self._use_inotify = use_inotify
        self._chain: list[_File] = []
        self._started = False
        self._resumed = False
        self._closed = False
        self._path_missing = False
        self._path_event = False
        self._open_error: str | None = None
        self._last_refresh = -1e18
        self._timeout = poll_interval
        self._agen: AsyncGenerator[TailChunk, None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inotify: Any = None
        self._dir_wd: int | None = None
        self._pending = False
        self._waiter: asyncio.Future[None] | None = None
        self._fp_cache: tuple[bytes, str] = (b"", _fingerprint(b""))
        for key in ("rotations", "truncations", "rotation_gaps", "oversized_lines"):
            health.extra.setdefault(key, 0)

    # -- public interface ---------------------------------------------------------------------

    def chunks(self) -> AsyncIterator[TailChunk]:
        """Yield chunks of whole lines until cancelled or closed; callable once per tailer."""
        if self._started:
            raise RuntimeError("FileTailer.chunks() can only be iterated once")
        self._started = True
        self._agen = self._run()
        return self._agen

    async def aclose(self) -> None:
        """Stop: close the generator (if suspended) and release every fd and the inotify instance."""
        self._closed = True
        agen = self._agen
        if agen is not None:
            # RuntimeError: another task is inside it; the wake-up below lets it see _closed and stop.
            with contextlib.suppress(RuntimeError):
                await agen.aclose()
        self._wake()
        self._release()

    # -- the loop ------------------------------------------------------------------------------

    async def _run(self) -> AsyncGenerator[TailChunk, None]:
        self._loop = asyncio.get_running_loop()
        backoff = 0.0
        try:
            self._start_inotify()
            while not self._closed:
                # Events that arrive from here on wake the wait below; earlier ones are covered
                # by this step, which reads everything there is.
                self._pending = False
                try:
                    chunk = self._step()
                except OSError as exc:
                    backoff = min(max(backoff * 2, _BACKOFF_FIRST), _BACKOFF_MAX)
                    self._failed(exc, backoff)
                    await asyncio.sleep(backoff)
                    continue
                backoff = 0.0
                if chunk is not None:
                    self.health.read(chunk.lines)
                    yield chunk
                elif not self._pending:
                    await self._sleep(self._timeout)
        finally:
            self._release()

    def _failed(self, exc: OSError, backoff: float) -> None:
        detail = f"{self.path}: {exc.strerror or exc}"
        if self.health.alive or self.health.detail != detail:
            log.warning("reading %s failed (%s); retrying in %.1fs and backing off", self.path, exc, backoff)
        self.health.failed(detail)

    def _step(self) -> TailChunk | None:
        """Do whatever can be done now; a chunk, or None when there is nothing until a wake-up."""
        now = time.monotonic()
        if not self._resumed:
            self._resume(now)
            self._resumed = True
        # Also while catching up on a backlog (never at the end), so that a file that is at the
        # path only briefly (rotated twice in quick succession) still joins the chain.
        if self._path_event or now - self._last_refresh >= self._poll_interval:
            self._refresh_path(now)
        self._track_waiting()
        while True:
            current = self._chain[0] if self._chain else None
            if current is not None:
                result = self._read(current, now)
                if isinstance(result, TailChunk):
                    self._mark_running()
                    return result
                if result is _RETRY:
                    continue
            self._refresh_path(now)
            if not self._chain:
                self._mark_waiting()
                self._timeout = self._poll_interval
                return None
            if self._chain[0] is current:
                assert current is not None
                wait = self._let_go_in(current, now)
                if wait > 0:
                    self._idle_at_end(current, now, wait)
                    return None
                flushed = self._let_go(current)
                if flushed is not None:
                    return flushed

    def _track_waiting(self) -> None:
        """Remember the first bytes of files queued behind the current one.

        A file can be copytruncated before we get to it (rename, then copytruncate of the new
        file while the old one is still being drained); knowing how it started is what lets
        :meth:`_read` notice that and :meth:`_truncated` find the copy.
        """
        for f in self._chain[1:]:
            if f.offset == 0 and len(f.head) < FINGERPRINT_BYTES:
                head = os.pread(f.fd, FINGERPRINT_BYTES, 0)
                if head.startswith(f.head):
                    f.head = head

    def _idle_at_end(self, current: _File, now: float, let_go_in: float) -> None:
        """Nothing to read now: set how long to wait, and the health while waiting."""
        self._timeout = min(self._poll_interval, let_go_in)
        if (
            self._path_missing
            and current.detached_since is not None
            and now - max(current.last_data, current.detached_since) >= self._grace
        ):
            self._mark_waiting()  # still following the old file, but it has gone quiet
        else:
            self._mark_running()

    # -- reading -------------------------------------------------------------------------------

    def _read(self, f: _File, now: float) -> TailChunk | _Retry | None:
        """Read the next chunk of ``f``: a chunk, None at its end, or _RETRY if the chain changed."""
        buf = os.pread(f.fd, self._chunk_size, f.offset)
        if not buf:
            if os.fstat(f.fd).st_size < f.offset:
                return self._truncated(f)
            return None
        # Checked after the read: if the start is still ours now, it was when the bytes were read.
        if f.head and os.pread(f.fd, len(f.head), 0) != f.head:
            return self._truncated(f)
        start = f.offset
        held = len(f.head)
        if held < FINGERPRINT_BYTES and start <= held < start + len(buf):
            f.head += buf[held - start : FINGERPRINT_BYTES - start]
        f.offset += len(buf)
        f.last_data = now
        newline = buf.rfind(b"\n")
        if newline < 0:
            f.partial.append(buf)
            f.partial_len += len(buf)
            if f.partial_len >= self._max_line:
                self.health.extra["oversized_lines"] += 1
                log.warning("%s: line longer than %d bytes; emitting it in pieces", self.path, self._max_line)
                return self._flush(f)
            return _RETRY
        if f.partial:
            data = b"".join([*f.partial, memoryview(buf)[: newline + 1]])
        elif newline == len(buf) - 1:
            data = buf
        else:
            data = buf[: newline + 1]
        rest = buf[newline + 1 :]
        f.partial = [rest] if rest else []
        f.partial_len = len(rest)
        return TailChunk(data, data.count(b"\n"), self._pos(f, f.offset - len(rest)))

    def _flush(self, f: _File) -> TailChunk | None:
        """The held partial line as a complete line (its file is done, or it is too long)."""
        if not f.partial:
            return None
        data = b"".join([*f.partial, b"\n"])
        f.partial = []
        f.partial_len = 0
        return TailChunk(data, 1, self._pos(f, f.offset))

    def _pos(self, f: _File, offset: int) -> Position:
        head, fingerprint = self._fp_cache
        if head != f.head:
            fingerprint = _fingerprint(f.head)
            self._fp_cache = (f.head, fingerprint)
        return {
            "path": self.path,
            "dev": f.dev,
            "ino": f.ino,
            "offset": offset,
            "fingerprint": fingerprint,
            "fingerprint_len": len(f.head),
        }

    def _truncated(self, f: _File) -> TailChunk | _Retry:
        """``f`` was truncated in place: finish its copy if logrotate left one, then read it from 0."""
        self.health.extra["truncations"] += 1
        copy = self._find_in_dir(f.head, f.offset, exclude={g.ident for g in self._chain}) if f.head else None
        if copy is not None:
            log.info("%s was truncated; finishing its copy from offset %d first", self.path, f.offset)
            copy.offset, copy.head = f.offset, f.head
            copy.partial, copy.partial_len = f.partial, f.partial_len
            copy.final = True
            f.restart()
            self._chain.insert(0, copy)
            return _RETRY
        log.info(
            "%s was truncated and no uncompressed copy was found; reading it from the start "
            "(lines written after offset %d and before the truncation may be lost)",
            self.path,
            f.offset,
        )
        flushed = self._flush(f)
        f.restart()
        if flushed is not None:
            flushed.position.update(offset=0, fingerprint=_fingerprint(b""), fingerprint_len=0)
            return flushed
        return _RETRY

    # -- rotation ------------------------------------------------------------------------------

    def _refresh_path(self, now: float) -> None:
        """See what ``path`` names now; a file not in the chain joins it (to be read from 0)."""
        self._path_event = False
        self._last_refresh = now
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            st = None
        if self._inotify is not None and self._dir_wd is None:
            self._watch_dir()
        if st is None:
            self._path_missing = True
            for f in self._chain:
                if f.detached_since is None:
                    f.detached_since = now
            return
        self._path_missing = False
        ident = (st.st_dev, st.st_ino)
        for f in self._chain:
            if f.ident == ident:
                f.detached_since = None
                return
        for f in self._chain:
            if f.detached_since is None:
                f.detached_since = now
        try:
            new = self._open(self.path, now)
        except OSError as exc:
            if not self._chain:
                raise
            # The rotated file may still hold unread lines: keep reading it, retry the new one.
            if self._open_error != str(exc):
                log.warning("cannot open the new %s yet (%s); still reading the old one", self.path, exc)
            self._open_error = str(exc)
            return
        self._open_error = None
        if any(f.ident == new.ident for f in self._chain):
            self._close(new)
            return
        if self._chain:
            self.health.extra["rotations"] += 1
            log.info("%s was rotated; finishing the old file before reading the new one", self.path)
        self._chain.append(new)

    def _let_go_in(self, f: _File, now: float) -> float:
        """Seconds until ``f`` (read to its end) may be let go: 0 once its writer has moved on.

        Quiet means not written to (its mtime), not merely read by us: a rotated file whose
        backlog we just caught up on was usually finished long ago.
        """
        if f.final:
            return 0.0
        if f.detached_since is None:
            return math.inf
        # What we saw ourselves, on the monotonic clock: the bound that holds whatever the mtime says.
        idle = now - max(f.last_data, f.detached_since)
        if idle >= self._max_grace:
            return 0.0
        written_ago = time.time() - os.fstat(f.fd).st_mtime
        quiet = min(now - f.detached_since, max(written_ago, 0.0))  # an mtime in the future: not quiet
        if quiet < self._grace:
            return min(self._grace - quiet, self._max_grace - idle)
        if len(self._chain) > 1 and self._has_data(self._chain[1]):
            return 0.0
        return self._max_grace - idle  # or until the successor's first write wakes us

    @staticmethod
    def _has_data(f: _File) -> bool:
        return f.offset > 0 or os.fstat(f.fd).st_size > 0

    def _let_go(self, f: _File) -> TailChunk | None:
        """Close the finished first file of the chain; its partial last line becomes a line."""
        flushed = self._flush(f)
        self._chain.pop(0)
        self._close(f)
        log.debug("%s: done with rotated file (inode %d) at offset %d", self.path, f.ino, f.offset)
        return flushed

    # -- resuming ------------------------------------------------------------------------------

    def _resume(self, now: float) -> None:
        """Set up the chain from the saved position; with none, ``_refresh_path`` opens the file."""
        saved = self._parse_position(self._position)
        if saved is None:
            return
        try:
            st: os.stat_result | None = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            st = None
        if st is not None and (st.st_dev, st.st_ino) == saved.ident:
            f = self._open(self.path, now)
            try:
                if f.ident == saved.ident and self._same_content(f, saved):
                    self._chain.append(f)
                    return
            except OSError:
                self._close(f)
                raise
            self._close(f)
            log.warning("%s was truncated or rewritten while npd was down", self.path)
        found = self._find_saved(saved, now)
        if found is None:
            self.health.extra["rotation_gaps"] += 1
            log.warning(
                "%s: the file last read (inode %d, offset %d) is gone; reading the current file from the "
                "start, lines written to the old one after that offset are lost",
                self.path,
                saved.ino,
                saved.offset,
            )
            return
        log.info("%s was rotated while npd was down; finishing the old file at %d", self.path, saved.offset)
        self._chain.append(found)

    def _parse_position(self, position: Position | None) -> _Saved | None:
        if not position:
            return None
        try:
            if position.get("path", self.path) != self.path:
                log.info("saved position is for %s, not %s; ignoring it", position["path"], self.path)
                return None
            return _Saved(
                dev=int(position["dev"]),
                ino=int(position["ino"]),
                offset=int(position["offset"]),
                fingerprint=str(position["fingerprint"]),
                fingerprint_len=int(position["fingerprint_len"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring unusable saved position for %s (%r): %s", self.path, position, exc)
            return None

    @staticmethod
    def _same_content(f: _File, saved: _Saved) -> bool:
        """Whether ``f`` still holds what was read up to the saved offset; if so, position ``f`` there."""
        if os.fstat(f.fd).st_size < max(saved.offset, saved.fingerprint_len):
            return False
        head = os.pread(f.fd, saved.fingerprint_len, 0)
        if len(head) != saved.fingerprint_len or _fingerprint(head) != saved.fingerprint:
            return False
        f.head = head
        f.offset = saved.offset
        return True

    def _find_saved(self, saved: _Saved, now: float) -> _File | None:
        """The saved file, renamed (same inode) or copied (same content) in the directory."""
        by_content: list[tuple[str, os.stat_result]] = []
        # Content alone is trusted only when it covers what was read, or a good part of it.
        content_ok = (
            saved.fingerprint_len >= min(_MIN_CONTENT_MATCH, saved.offset) and saved.fingerprint_len > 0
        )
        for entry_path, st in self._candidates(saved.offset):
            if (st.st_dev, st.st_ino) == saved.ident:
                f = self._open_checked(entry_path, st, saved, now)
                if f is not None:
                    return f
            elif content_ok:
                by_content.append((entry_path, st))
        for entry_path, st in by_content:
            f = self._open_checked(entry_path, st, saved, now)
            if f is not None:
                f.final = True  # a copy: nobody writes to it
                return f
        return None

    def _open_checked(self, path: str, st: os.stat_result, saved: _Saved, now: float) -> _File | None:
        """``path`` opened at the saved offset if it is the file ``st`` and holds the saved content."""
        try:
            f = self._open(path, now, watch=False)
        except OSError:
            return None
        try:
            if f.ident == (st.st_dev, st.st_ino) and self._same_content(f, saved):
                self._watch_file(f)
                return f
        except OSError:
            pass
        self._close(f)
        return None

    def _find_in_dir(self, head: bytes, offset: int, exclude: set[tuple[int, int]]) -> _File | None:
        """A file in the directory that starts with ``head`` and is at least ``offset`` long."""
        now = time.monotonic()
        wanted = _Saved(
            dev=-1, ino=-1, offset=offset, fingerprint=_fingerprint(head), fingerprint_len=len(head)
        )
        for entry_path, st in self._candidates(offset):
            if (st.st_dev, st.st_ino) not in exclude:
                f = self._open_checked(entry_path, st, wanted, now)
                if f is not None:
                    return f
        return None

    def _candidates(self, min_size: int) -> list[tuple[str, os.stat_result]]:
        """Uncompressed regular files in the directory at least ``min_size`` bytes long."""
        found: list[tuple[str, os.stat_result]] = []
        try:
            with os.scandir(self._dir) as entries:
                for entry in entries:
                    if entry.name.endswith(COMPRESSED_SUFFIXES):
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISREG(st.st_mode) and st.st_size >= min_size:
                        found.append((entry.path, st))
        except OSError as exc:
            log.warning("cannot list %s to find rotated files: %s", self._dir, exc)
        # Names like the log's own first (kern.log.1 before unrelated files): fewer opens.
        found.sort(key=lambda item: not os.path.basename(item[0]).startswith(self._base))
        return found

    # -- files ---------------------------------------------------------------------------------

    def _open(self, path: str, now: float, *, watch: bool = True) -> _File:
        fd = _open_fd(path)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
        except OSError:
            os.close(fd)
            raise
        f = _File(fd, st, now)
        if watch:
            self._watch_file(f)
        return f

    def _close(self, f: _File) -> None:
        if f.wd is not None and self._inotify is not None:
            with contextlib.suppress(OSError):  # the kernel may have dropped it already
                self._inotify.rm_watch(f.wd)
        f.wd = None
        with contextlib.suppress(OSError):
            os.close(f.fd)

    def _release(self) -> None:
        for f in self._chain:
            self._close(f)
        self._chain = []
        if self._inotify is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._inotify.fileno())
            self._inotify.close()
            self._inotify = None

    # -- health --------------------------------------------------------------------------------

    def _mark_running(self) -> None:
        if not self.health.alive:
            self.health.running()

    def _mark_waiting(self) -> None:
        detail = f"{self.path} does not exist; waiting for it to be created"
        if self.health.alive or self.health.detail != detail:
            log.info("%s", detail)
            self.health.waiting(detail)

    # -- wake-ups ------------------------------------------------------------------------------

    def _start_inotify(self) -> None:
        if not self._use_inotify or self._loop is None:
            return
        try:
            if INotify is None:
                raise OSError(errno.ENOSYS, "inotify_simple is not installed")
            inotify = INotify(nonblocking=True)
        except OSError as exc:
            log.info("inotify unavailable (%s); polling %s every %.1fs", exc, self.path, self._poll_interval)
            return
        self._inotify = inotify
        self._loop.add_reader(inotify.fileno(), self._on_inotify)
        self._watch_dir()

    def _watch_dir(self) -> None:
        try:
            self._dir_wd = self._inotify.add_watch(self._dir, _DIR_MASK)
        except OSError:
            self._dir_wd = None  # retried on each poll until the directory exists

    def _watch_file(self, f: _File) -> None:
        if self._inotify is None:
            return
        try:
            # Through the fd, so the watch is on this very inode, renamed or deleted.
            f.wd = self._inotify.add_watch(f"/proc/self/fd/{f.fd}", _IN_MODIFY)
        except OSError:
            f.wd = None

    def _on_inotify(self) -> None:
        try:
            events = self._inotify.read(timeout=0)
        except OSError:
            return
        wake = False
        for event in events:
            if event.wd != self._dir_wd:
                wake = True  # an open file changed, a watch went away, or the queue overflowed
            elif event.mask & _IN_IGNORED:
                self._dir_wd = None
                wake = True
            elif event.name == self._base or event.mask & (_IN_DELETE_SELF | _IN_MOVE_SELF):
                self._path_event = True
                wake = True
        if wake:
            self._wake()

    def _wake(self) -> None:
        self._pending = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _sleep(self, delay: float) -> None:
        """Wait for a wake-up or ``delay`` seconds, whichever comes first."""
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiter = waiter
        timer = self._loop.call_later(delay, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
