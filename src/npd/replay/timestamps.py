"""Turning the date and time fields of log lines into seconds since the epoch, never failing.

Log lines carry calendar fields in UTC (ISO 8601 with an offset), in local time (RFC 3164
syslog, ``dmesg -T``), and sometimes without a year (RFC 3164). The readers' regexes bound
every field's digits; whatever values remain (February 30, month 00) are normalised the way
``mktime`` normalises them instead of making the line junk, so a line that has the format's
shape always becomes a record.
"""

from __future__ import annotations

import time

from npd.gotime import days_from_civil

MONTHS = {
    name: number
    for number, name in enumerate(
        (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"), 1
    )
}

#: A line stamped later than its file was last written is from the year before; this much
#: later is still tolerated, for clocks and time zones that disagree a little.
_FUTURE_SLACK_S = 2 * 86400


def utc_seconds(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    """Seconds since the epoch of a UTC calendar time."""
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def fraction(text: bytes | None) -> float:
    """``b".123"`` or ``b",123"`` as 0.123; ``None`` or an empty fraction as 0."""
    if not text or len(text) < 2:
        return 0.0
    return int(text[1:]) / 10.0 ** (len(text) - 1)


def utc_offset(text: bytes | None) -> int:
    """Seconds east of UTC of ``Z``, ``+01:00`` or ``-0130``; 0 for ``None``."""
    if not text or text in (b"Z", b"z"):
        return 0
    sign = -1 if text[:1] == b"-" else 1
    digits = text[1:].replace(b":", b"")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)


class LocalTime:
    """Local calendar times to epoch seconds, with ``mktime``'s daylight-saving rules.

    Results are cached per hour: a log has few distinct hours, and zone offsets only change
    on hour boundaries.
    """

    def __init__(self) -> None:
        self._hours: dict[tuple[int, int, int, int], float] = {}

    def seconds(self, year: int, month: int, day: int, hour: int, minute: int, second: int) -> float:
        """Seconds since the epoch of a local calendar time."""
        key = (year, month, day, hour)
        base = self._hours.get(key)
        if base is None:
            try:
                base = time.mktime((year, month, day, hour, 0, 0, 0, 0, -1))
            except (OverflowError, ValueError):
                base = float(utc_seconds(year, month, day, hour, 0, 0))
            self._hours[key] = base
        return base + minute * 60 + second


class YearlessTime:
    """RFC 3164 stamps (``Mar  1 10:00:00``): local time, the year inferred from a reference.

    The reference is when the log was last written (the file's modification time, or now for
    a pipe): a line cannot be later than that, so a stamp that would be later in the
    reference's year is from the year before. That places every line of a log spanning less
    than a year, across a new year included, without reading ahead.
    """

    def __init__(self, reference: float, local: LocalTime) -> None:
        self._reference = reference
        self._year = time.localtime(reference).tm_year
        self._local = local

    def seconds(self, month: int, day: int, hour: int, minute: int, second: int) -> float:
        """Seconds since the epoch of a stamp without a year."""
        stamp = self._local.seconds(self._year, month, day, hour, minute, second)
        if stamp > self._reference + _FUTURE_SLACK_S:
            stamp = self._local.seconds(self._year - 1, month, day, hour, minute, second)
        return stamp
