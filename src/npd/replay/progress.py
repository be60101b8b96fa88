"""A progress bar on stderr for long replays: bytes read of the total, and lines per second."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

#: A replay shorter than this shows no bar (small inputs finish before it would help), unless
#: its input is known to be at least :data:`LARGE_INPUT` bytes.
SHOW_AFTER_S = 0.5
LARGE_INPUT = 32 << 20
#: How often the bar is redrawn on a terminal, and a line written when not on one.
_REDRAW_S = 0.1
_LINE_EVERY_S = 1.0
_BAR_WIDTH = 24


def _rate(lines: int, seconds: float) -> str:
    per_second = lines / seconds if seconds > 0 else 0.0
    if per_second >= 1e6:
        return f"{per_second / 1e6:.2f} M lines/s"
    if per_second >= 1e3:
        return f"{per_second / 1e3:.0f} k lines/s"
    return f"{per_second:.0f} lines/s"


class Progress:
    """Shows how far a replay has got: at once for a large input, else once it has taken
    :data:`SHOW_AFTER_S`.

    On a terminal (``interactive``) the bar is redrawn in place and erased at the end; elsewhere
    (``--progress`` into a file) a line is written every second. ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        interactive: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._interactive = interactive
        self._clock = clock
        self._start = clock()
        self._drawn_at: float | None = None
        self._shown = False
        self._lines_before = 0  # lines of the inputs already finished

    def update(self, name: str, consumed: int, size: int | None, lines: int) -> None:
        """``lines`` lines of input ``name`` read, ``consumed`` of its ``size`` bytes."""
        if not self._enabled:
            return
        now = self._clock()
        elapsed = now - self._start
        if elapsed < SHOW_AFTER_S and (size or 0) < LARGE_INPUT:
            return
        every = _REDRAW_S if self._interactive else _LINE_EVERY_S
        if self._drawn_at is not None and now - self._drawn_at < every:
            return
        self._drawn_at = now
        rate = _rate(self._lines_before + lines, elapsed)
        megabytes = consumed / 1e6
        if size:
            fraction = min(1.0, consumed / size)
            filled = int(fraction * _BAR_WIDTH)
            bar = "#" * filled + "." * (_BAR_WIDTH - filled)
            read = f"{megabytes:,.1f}/{size / 1e6:,.1f} MB"
            text = f"{name} [{bar}] {fraction:4.0%} {read}, {lines:,} lines, {rate}"
        else:
            text = f"{name}: {megabytes:,.1f} MB, {lines:,} lines, {rate}"
        if self._interactive:
            self._stream.write(f"\r\x1b[K{text}")
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
        self._shown = True

    def input_done(self, lines: int) -> None:
        """An input has been read to its end (``lines`` lines)."""
        self._lines_before += lines

    def close(self) -> None:
        """Erase the bar, so what follows starts on a clean line."""
        if self._shown and self._interactive:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
        self._shown = False
