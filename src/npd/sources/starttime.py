"""Where reading starts when there is no saved position: upstream's lookback and delay.

Upstream (``util.GetStartTime``) drops every entry older than
``max(boot time + delay, now - lookback)``; the default lookback ``0`` keeps only new entries.
"""

from __future__ import annotations

import time


def boot_time() -> float:
    """The wall-clock time the machine booted, in seconds since the epoch."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def start_time(
    lookback: float, delay: float, *, now: float | None = None, booted: float | None = None
) -> float:
    """The oldest timestamp a source reports when it starts without a saved position."""
    now = time.time() if now is None else now
    booted = boot_time() if booted is None else booted
    return max(booted + delay, now - lookback)


def boot_id() -> str:
    """This boot's random identifier; kmsg sequence numbers are only comparable within one boot."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return f"booted-{int(boot_time())}"
