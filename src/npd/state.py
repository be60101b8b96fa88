"""The state directory: where monitors' positions and conditions survive a restart.

A monitor offers a checkpoint after each batch it processed: the source position after the
batch and its conditions then. The checkpoint is written only once every report the monitor
made up to that batch has been exported, so a crash can repeat the last exported findings
(at least once) but never skip a line. A checkpoint that follows newly exported findings is
written at once; one that only advances the position is written at most once per
``min_interval`` (replaying lines that produced nothing reports nothing).

Files are replaced atomically (write, then rename). ``kill -9`` cannot lose a completed
write; after a power loss a file may be older, which means some lines are reported again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_FORMAT_VERSION = 1


class StateStore:
    """Checkpoints per monitor in one directory; a ``None`` directory keeps nothing."""

    def __init__(
        self, directory: str | None, *, min_interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._directory = directory
        self._min_interval = min_interval
        self._clock = clock
        self._delivered = -1
        self._pending: dict[str, deque[tuple[int, dict[str, Any]]]] = {}
        self._ready: dict[str, tuple[int, dict[str, Any]]] = {}
        self._written_after: dict[str, int] = {}
        self._written_at: dict[str, float] = {}
        self.write_errors = 0
        self.writes = 0
        self._warned = False
        if directory is not None:
            try:
                os.makedirs(os.path.join(directory, "monitors"), exist_ok=True)
            except OSError as exc:
                log.warning(
                    "state directory %s is unusable (%s): positions and conditions will not "
                    "survive a restart",
                    directory,
                    exc.strerror or exc,
                )
                self._directory = None
                self.write_errors += 1

    @property
    def enabled(self) -> bool:
        """Whether checkpoints are kept."""
        return self._directory is not None

    def _path(self, monitor: str) -> str:
        assert self._directory is not None
        digest = hashlib.sha256(monitor.encode("utf-8")).hexdigest()[:16]
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(monitor))[:64] or "monitor"
        return os.path.join(self._directory, "monitors", f"{stem}-{digest}.json")

    def load(self, monitor: str) -> dict[str, Any] | None:
        """The last checkpoint written for ``monitor``, or ``None``."""
        if self._directory is None:
            return None
        path = self._path(monitor)
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable state file %s: %s", path, exc)
            return None
        if not isinstance(document, dict) or document.get("version") != _FORMAT_VERSION:
            log.warning("ignoring state file %s written by another version", path)
            return None
        state = document.get("state")
        return state if isinstance(state, dict) else None

    def offer(self, monitor: str, after: int, state: dict[str, Any]) -> None:
        """A checkpoint to write once every report up to sequence ``after`` is exported."""
        if self._directory is None:
            return
        queue = self._pending.setdefault(monitor, deque())
        if queue and queue[-1][0] == after:
            queue[-1] = (after, state)
        else:
            queue.append((after, state))
        self._promote(monitor)

    def delivered(self, seq: int) -> None:
        """Every report up to ``seq`` has been exported."""
        if seq <= self._delivered:
            return
        self._delivered = seq
        for monitor in list(self._pending):
            self._promote(monitor)

    def _promote(self, monitor: str) -> None:
        queue = self._pending[monitor]
        ready = None
        while queue and queue[0][0] <= self._delivered:
            ready = queue.popleft()
        if ready is None:
            return
        self._ready[monitor] = ready
        if ready[0] > self._written_after.get(monitor, -1):
            self._write(monitor)  # new findings were exported: record that at once

    def flush(self, *, force: bool = False) -> None:
        """Write the checkpoints that are due (all ready ones when ``force``)."""
        now = self._clock()
        for monitor in list(self._ready):
            if force or now - self._written_at.get(monitor, float("-inf")) >= self._min_interval:
                self._write(monitor)

    async def run(self) -> None:
        """Write due checkpoints periodically until cancelled."""
        while True:
            await asyncio.sleep(self._min_interval)
            self.flush()

    def _write(self, monitor: str) -> None:
        after, state = self._ready.pop(monitor)
        path = self._path(monitor)
        temporary = f"{path}.tmp"
        document = {"version": _FORMAT_VERSION, "monitor": monitor, "saved_at": time.time(), "state": state}
        try:
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(document, handle, separators=(",", ":"))
            os.replace(temporary, path)
        except OSError as exc:
            self.write_errors += 1
            if not self._warned:
                log.warning("cannot write state file %s: %s (will keep trying)", path, exc.strerror or exc)
                self._warned = True
            self._ready.setdefault(monitor, (after, state))
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            return
        self.writes += 1
        self._written_after[monitor] = after
        self._written_at[monitor] = self._clock()
