"""Parse timestamps with Go ``time.Parse`` layouts, accepting and rejecting exactly what Go does.

Upstream's filelog monitor reads ``pluginConfig.timestampFormat`` (a Go reference-time layout such as
``"Jan _2 15:04:05"``) and parses the text its timestamp regex captured with
``time.ParseInLocation(layout, text, time.Local)``; when the layout has no year it then adds the
current year. :class:`GoLayout` follows Go's ``time/format.go`` (``nextStdChunk`` and ``parse``) on the
value's UTF-8 bytes, as Go does, so every length and position check gives Go's answer, and a rejected
value raises :class:`GoParseError` carrying Go's error text.

Design: a layout is cut into Go's chunks once. Most layouts also compile into one stdlib regular
expression (atomic groups, possessive quantifiers: it consumes exactly what Go consumes) whose match
is turned into fields by a few operations; anything it does not match, and layouts it cannot express
(day of the year, a field set twice), go through a line-by-line port of Go's ``parse``, which is the
reference and words the errors. Results are memoised per text.

Where npd deliberately differs from Go or from upstream:

* a layout without a year gets the year of ``now`` in the local zone, or the year before when that
  would put the time more than a day in the future (upstream always takes the current year, so a
  ``Dec 31 23:59:59`` line read just after midnight on Jan 1 lands a year ahead);
* ``Feb 29`` without a year gets the most recent leap year (upstream's ``AddDate`` turns it into
  Mar 1 of a common year);
* the chosen year is applied to the fields as written and the instant resolved as Go resolves a text
  carrying that year (upstream adds years to Go's year-0 result, which for a zone abbreviation is
  off by the few minutes between that zone and the local zone's year-0 LMT offset);
* a layout with a year that reads year ``0000`` keeps year 0 (upstream's ``Year() == 0`` test would
  give it the current year);
* local times are converted with the C library (``localtime``: ``TZ``, else ``/etc/localtime``), which
  reads the same zone file as Go; only where Go cannot load the zone (a POSIX rule such as
  ``TZ=EST5EDT,M3.2.0,M11.1.0``, a version 4 zone file) does Go fall back to UTC and npd not.
"""

from __future__ import annotations

import operator
import os
import re
import struct
import time
from typing import Any, Final, NamedTuple

__all__ = ["GoLayout", "GoParseError"]

# Layout elements ("std chunks" in Go). The numbering is npd's own: the getnum-based fields come first
# so the parser's hottest branch is a single comparison.
_NUM_MONTH: Final = 1  # "1"
_ZERO_MONTH: Final = 2  # "01"
_DAY: Final = 3  # "2"
_UNDER_DAY: Final = 4  # "_2"
_ZERO_DAY: Final = 5  # "02"
_HOUR: Final = 6  # "15"
_HOUR12: Final = 7  # "3"
_ZERO_HOUR12: Final = 8  # "03"
_MINUTE: Final = 9  # "4"
_ZERO_MINUTE: Final = 10  # "04"
_SECOND: Final = 11  # "5"
_ZERO_SECOND: Final = 12  # "05"
_LONG_MONTH: Final = 13  # "January"
_MONTH: Final = 14  # "Jan"
_LONG_WEEKDAY: Final = 15  # "Monday"
_WEEKDAY: Final = 16  # "Mon"
_UNDER_YEARDAY: Final = 17  # "__2"
_ZERO_YEARDAY: Final = 18  # "002"
_LONG_YEAR: Final = 19  # "2006"
_YEAR: Final = 20  # "06"
_PM: Final = 21  # "PM"
_PM_LOWER: Final = 22  # "pm"
_TZ: Final = 23  # "MST"
_ISO8601_TZ: Final = 24  # "Z0700"
_ISO8601_SECONDS_TZ: Final = 25  # "Z070000"
_ISO8601_SHORT_TZ: Final = 26  # "Z07"
_ISO8601_COLON_TZ: Final = 27  # "Z07:00"
_ISO8601_COLON_SECONDS_TZ: Final = 28  # "Z07:00:00"
_NUM_TZ: Final = 29  # "-0700"
_NUM_SECONDS_TZ: Final = 30  # "-070000"
_NUM_SHORT_TZ: Final = 31  # "-07"
_NUM_COLON_TZ: Final = 32  # "-07:00"
_NUM_COLON_SECONDS_TZ: Final = 33  # "-07:00:00"
_FRAC0: Final = 34  # ".0", ".00", ... (also with a comma)
_FRAC9: Final = 35  # ".9", ".99", ... (also with a comma)

_FIXED_WIDTH: Final = frozenset({_ZERO_MONTH, _ZERO_DAY, _ZERO_HOUR12, _ZERO_MINUTE, _ZERO_SECOND})
_YEAR_ELEMENTS: Final = frozenset({_LONG_YEAR, _YEAR})
# Go's std0x: the element for "0" followed by "1" ... "6".
_STD0X: Final = (_ZERO_MONTH, _ZERO_DAY, _ZERO_HOUR12, _ZERO_MINUTE, _ZERO_SECOND, _YEAR)

_SHORT_MONTHS: Final = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_LONG_MONTHS: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_SHORT_DAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_LONG_DAYS: Final = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
# Each table's names differ in their first three letters, so a name is found from its first three
# bytes; Go's lookup scans the table in order, which picks the same entry.
_SHORT_MONTH_INDEX: Final = {name.encode(): i for i, name in enumerate(_SHORT_MONTHS)}
_LONG_MONTH_INDEX: Final = {name[:3].encode(): (i, name.encode()) for i, name in enumerate(_LONG_MONTHS)}
_SHORT_DAY_INDEX: Final = {name.encode(): i for i, name in enumerate(_SHORT_DAYS)}
_LONG_DAY_INDEX: Final = {name[:3].encode(): (i, name.encode()) for i, name in enumerate(_LONG_DAYS)}

# Days before the first of month m (1..13) in a common year, Go's daysBefore.
_DAYS_BEFORE: Final = (0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365)

# How the instant of the parsed fields is found.
_LOCAL: Final = 0  # no zone in the text: the local zone (Go's ParseInLocation(..., time.Local))
_UTC: Final = 1  # "Z" or "UTC"
_OFFSET: Final = 2  # a numeric offset
_NAMED: Final = 3  # an abbreviation such as "EST"

_DAY_SECONDS: Final = 86400
_FUTURE_SLACK: Final = 86400.0  # a year-less time further ahead than this belongs to last year
_DEFAULT_CACHE_SIZE: Final = 4096

_time = time.time
_localtime = time.localtime


class GoParseError(ValueError):
    """A value the layout does not accept; the text is Go's ``*time.ParseError`` message.

    ``layout_elem`` and ``value_elem`` are the layout element and the rest of the value Go reports
    for "cannot parse" errors; ``message`` is Go's detail (": day out of range", ": extra text: ...")
    and is empty for "cannot parse" errors.
    """

    def __init__(
        self, text: str, *, layout: str, value: str, layout_elem: str, value_elem: str, message: str
    ) -> None:
        super().__init__(text)
        self.layout = layout
        self.value = value
        self.layout_elem = layout_elem
        self.value_elem = value_elem
        self.message = message


class _Failure(NamedTuple):
    """A remembered rejection; a fresh exception is raised each time so tracebacks do not pile up."""

    layout: bytes
    value: bytes
    layout_elem: bytes
    value_elem: bytes
    message: str

    def error(self) -> GoParseError:
        if self.message:
            text = "parsing time " + _quote(self.value) + self.message
        else:
            text = (
                f"parsing time {_quote(self.value)} as {_quote(self.layout)}: "
                f"cannot parse {_quote(self.value_elem)} as {_quote(self.layout_elem)}"
            )
        return GoParseError(
            text,
            layout=_decode(self.layout),
            value=_decode(self.value),
            layout_elem=_decode(self.layout_elem),
            value_elem=_decode(self.value_elem),
            message=self.message,
        )


class _Rejected(Exception):
    """Internal carrier of a rejection out of the parse loop."""

    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _Fields(NamedTuple):
    """What Go's parse reads from a value, before the instant is resolved."""

    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    nanosecond: int
    zone: int  # _LOCAL, _UTC, _OFFSET or _NAMED
    offset: int  # seconds east of UTC, for _OFFSET
    name: str  # the abbreviation, for _NAMED


class _Chunk(NamedTuple):
    """One layout element and the literal text before it (Go's nextStdChunk result)."""

    prefix: bytes
    plain: bool  # the prefix has no space, so it must match byte for byte
    std: int  # 0 for the literal tail after the last element
    digits: int  # fractional-second digits, for _FRAC0 and _FRAC9
    fraction_follows: bool  # for seconds: the next element is a fractional second
    elem: bytes  # the element's layout text, for error messages


class _YearLess:
    """A cached year-less result: the instant in this year's candidate and, once needed, last year's."""

    __slots__ = ("fields", "prev", "this")

    def __init__(self, fields: _Fields, this: float) -> None:
        self.fields = fields
        self.this = this
        self.prev: float | None = None


def _encode(text: str) -> bytes:
    # Go works on the bytes the line was read as; surrogateescape restores undecodable bytes.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _quote(raw: bytes) -> str:
    """Go's time.quote: printable ASCII as is, everything else as \\x escapes of its bytes."""
    out = ['"']
    for ch in _decode(raw):
        code = ord(ch)
        if code >= 0x80 or code < 0x20:
            out.extend(f"\\x{byte:02x}" for byte in ch.encode("utf-8", "surrogateescape"))
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


def _is_digit(raw: bytes, i: int) -> bool:
    return i < len(raw) and 48 <= raw[i] <= 57


def _next_std_chunk(layout: bytes) -> tuple[bytes, int, int, bytes]:
    """Go's nextStdChunk: (literal prefix, element, fractional digits, rest of the layout)."""
    n = len(layout)
    for i in range(n):
        c = layout[i]
        if c == 0x4A:  # J: January, Jan
            if layout.startswith(b"Jan", i):
                if layout.startswith(b"January", i):
                    return layout[:i], _LONG_MONTH, 0, layout[i + 7 :]
                if not (i + 3 < n and 0x61 <= layout[i + 3] <= 0x7A):
                    return layout[:i], _MONTH, 0, layout[i + 3 :]
        elif c == 0x4D:  # M: Monday, Mon, MST
            if layout.startswith(b"Mon", i):
                if layout.startswith(b"Monday", i):
                    return layout[:i], _LONG_WEEKDAY, 0, layout[i + 6 :]
                if not (i + 3 < n and 0x61 <= layout[i + 3] <= 0x7A):
                    return layout[:i], _WEEKDAY, 0, layout[i + 3 :]
            if layout.startswith(b"MST", i):
                return layout[:i], _TZ, 0, layout[i + 3 :]
        elif c == 0x30:  # 0: 01 .. 06, 002
            if i + 1 < n and 0x31 <= layout[i + 1] <= 0x36:
                return layout[:i], _STD0X[layout[i + 1] - 0x31], 0, layout[i + 2 :]
            if layout.startswith(b"002", i):
                return layout[:i], _ZERO_YEARDAY, 0, layout[i + 3 :]
        elif c == 0x31:  # 1: 15, 1
            if i + 1 < n and layout[i + 1] == 0x35:
                return layout[:i], _HOUR, 0, layout[i + 2 :]
            return layout[:i], _NUM_MONTH, 0, layout[i + 1 :]
        elif c == 0x32:  # 2: 2006, 2
            if layout.startswith(b"2006", i):
                return layout[:i], _LONG_YEAR, 0, layout[i + 4 :]
            return layout[:i], _DAY, 0, layout[i + 1 :]
        elif c == 0x5F:  # _: _2, _2006, __2
            if i + 1 < n and layout[i + 1] == 0x32:
                # "_2006" is a literal underscore followed by the year.
                if layout.startswith(b"2006", i + 1):
                    return layout[: i + 1], _LONG_YEAR, 0, layout[i + 5 :]
                return layout[:i], _UNDER_DAY, 0, layout[i + 2 :]
            if layout.startswith(b"__2", i):
                return layout[:i], _UNDER_YEARDAY, 0, layout[i + 3 :]
        elif c == 0x33:
            return layout[:i], _HOUR12, 0, layout[i + 1 :]
        elif c == 0x34:
            return layout[:i], _MINUTE, 0, layout[i + 1 :]
        elif c == 0x35:
            return layout[:i], _SECOND, 0, layout[i + 1 :]
        elif c == 0x50:  # P: PM
            if i + 1 < n and layout[i + 1] == 0x4D:
                return layout[:i], _PM, 0, layout[i + 2 :]
        elif c == 0x70:  # p: pm
            if i + 1 < n and layout[i + 1] == 0x6D:
                return layout[:i], _PM_LOWER, 0, layout[i + 2 :]
        elif c == 0x2D:  # -: -070000, -07:00:00, -0700, -07:00, -07
            for text, std in (
                (b"-070000", _NUM_SECONDS_TZ),
                (b"-07:00:00", _NUM_COLON_SECONDS_TZ),
                (b"-0700", _NUM_TZ),
                (b"-07:00", _NUM_COLON_TZ),
                (b"-07", _NUM_SHORT_TZ),
            ):
                if layout.startswith(text, i):
                    return layout[:i], std, 0, layout[i + len(text) :]
        elif c == 0x5A:  # Z: Z070000, Z07:00:00, Z0700, Z07:00, Z07
            for text, std in (
                (b"Z070000", _ISO8601_SECONDS_TZ),
                (b"Z07:00:00", _ISO8601_COLON_SECONDS_TZ),
                (b"Z0700", _ISO8601_TZ),
                (b"Z07:00", _ISO8601_COLON_TZ),
                (b"Z07", _ISO8601_SHORT_TZ),
            ):
                if layout.startswith(text, i):
                    return layout[:i], std, 0, layout[i + len(text) :]
        elif c in (0x2E, 0x2C) and i + 1 < n and layout[i + 1] in (0x30, 0x39):
            # "." or "," and a run of 0s or 9s: fractional seconds.
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            # The run must end the digits; "15:04:05.0001" is not a fractional second.
            if not _is_digit(layout, j):
                code = _FRAC0 if ch == 0x30 else _FRAC9
                # Go keeps the digit count in 12 bits; 4096 zeros mean none.
                return layout[:i], code, (j - (i + 1)) & 0xFFF, layout[j:]
    return layout, 0, 0, b""


def _compile(layout: bytes) -> tuple[_Chunk, ...]:
    chunks: list[_Chunk] = []
    rest = layout
    while True:
        prefix, std, digits, suffix = _next_std_chunk(rest)
        elem = rest[len(prefix) : len(rest) - len(suffix)]
        fraction_follows = False
        if std in (_SECOND, _ZERO_SECOND):
            fraction_follows = _next_std_chunk(suffix)[1] in (_FRAC0, _FRAC9)
        chunks.append(_Chunk(prefix, b" " not in prefix, std, digits, fraction_follows, elem))
        if std == 0:
            return tuple(chunks)
        rest = suffix


def _skip(value: bytes, i: int, prefix: bytes) -> tuple[int, bool]:
    """Go's skip: match the literal prefix, where a run of spaces matches any run of spaces."""
    n = len(value)
    p = 0
    m = len(prefix)
    while p < m:
        if prefix[p] == 0x20:
            if i < n and value[i] != 0x20:
                return i, False
            while p < m and prefix[p] == 0x20:
                p += 1
            while i < n and value[i] == 0x20:
                i += 1
            continue
        if i >= n or value[i] != prefix[p]:
            return i, False
        p += 1
        i += 1
    return i, True


def _getnum(value: bytes, i: int, fixed: bool) -> tuple[int, int]:
    """Go's getnum: one or two digits (two when fixed); (-1, i) when there are none."""
    n = len(value)
    if i >= n or not 48 <= value[i] <= 57:
        return -1, i
    if i + 1 >= n or not 48 <= value[i + 1] <= 57:
        if fixed:
            return -1, i
        return value[i] - 48, i + 1
    return (value[i] - 48) * 10 + value[i + 1] - 48, i + 2


def _atoi(raw: bytes) -> int | None:
    """Go's atoi: an optional sign and digits (none is 0). Only short fields reach it, so no overflow."""
    neg = False
    if raw and raw[0] in (0x2B, 0x2D):
        neg = raw[0] == 0x2D
        raw = raw[1:]
    x = 0
    for c in raw:
        if not 48 <= c <= 57:
            return None
        x = x * 10 + c - 48
    return -x if neg else x


def _parse_nanoseconds(value: bytes, i: int, nbytes: int) -> tuple[int, str, bool]:
    """Go's parseNanoseconds over value[i:i+nbytes]: (nanoseconds, range error, syntax error)."""
    if value[i] not in (0x2E, 0x2C):
        return 0, "", True
    nbytes = min(nbytes, 10)  # digits past the ninth are read but ignored
    ns = _atoi(value[i + 1 : i + nbytes])
    if ns is None:
        return 0, "", True
    if ns < 0:
        return 0, "fractional second", False
    return ns * 10 ** (10 - nbytes), "", False


def _signed_offset_length(value: bytes, i: int) -> int:
    """Go's parseSignedOffset: the length of "+h" / "-hh" (hours 0..23) at value[i], or 0."""
    n = len(value)
    if i >= n or value[i] not in (0x2B, 0x2D):
        return 0
    j = i + 1
    x = 0
    while j < n and 48 <= value[j] <= 57:
        x = x * 10 + value[j] - 48
        j += 1
    if j == i + 1 or x > 23:
        return 0
    return j - i


def _time_zone_length(value: bytes, i: int) -> int:
    """Go's parseTimeZone: the length of the zone abbreviation at value[i], or 0 if there is none."""
    n = len(value) - i
    if n < 3:
        return 0
    if value.startswith((b"ChST", b"MeST"), i):
        return 4
    if value.startswith(b"GMT", i):
        return 3 + _signed_offset_length(value, i + 3)
    if value[i] in (0x2B, 0x2D):
        return _signed_offset_length(value, i)
    upper = 0
    while upper < 6 and upper < n and 0x41 <= value[i + upper] <= 0x5A:
        upper += 1
    if upper == 3:
        return 3
    if upper == 4 and (value[i + 3] == 0x54 or value.startswith(b"WITA", i)):
        return 4
    if upper == 5 and value[i + 4] == 0x54:
        return 5
    return 0


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 + ((month + (month >> 3)) & 1)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to the proleptic Gregorian date (year 0 included, as in Go).

    Months outside 1..12 and days outside the month roll over into the next or previous ones,
    as ``mktime`` does, so a log line with a date that cannot exist still gets a time.
    """
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    if month <= 2:
        year -= 1
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _local_offset(unix: int) -> int:
    return _localtime(unix).tm_gmtoff


def _local_instant(wall: int) -> int:
    """The instant of a local wall clock (seconds, read as if UTC), resolved as Go's time.Date does.

    Go looks up the offset in force at the wall clock read as UTC, and when the instant that gives
    falls outside that offset's period, the offset in force at that instant instead. So a time in a
    spring-forward gap, or one repeated by a fall-back, lands wherever that rule puts it.
    """
    return wall - _local_offset(wall - _local_offset(wall))


# Where Go's time.Local looks for a zone named by TZ (zoneinfo_unix.go).
_ZONE_SOURCES: Final = (
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
    "/etc/zoneinfo",
)
# Per TZ value: the local zone file's (abbreviation, offset) types, () for UTC, None if unreadable.
_abbreviations: dict[str | None, tuple[tuple[str, int], ...] | None] = {}


def _tzif_zones(data: bytes) -> tuple[tuple[str, int], ...] | None:
    """The (abbreviation, offset) local time types of a TZif file, in file order, as Go loads them."""
    if len(data) < 44 or data[:4] != b"TZif" or data[4] not in (0, 0x32, 0x33):  # Go rejects other versions
        return None
    counts = struct.unpack_from(">6L", data, 20)
    pos = 44
    size = 4
    if data[4] != 0:
        # Version 2+ repeats the data with 64-bit times after the 32-bit block; Go reads the second.
        utc_local, std_wall, leaps, times, types, chars = counts
        pos += times * 5 + types * 6 + chars + leaps * 8 + std_wall + utc_local + 20
        if len(data) < pos + 24:
            return None
        counts = struct.unpack_from(">6L", data, pos)
        pos += 24
        size = 8
    utc_local, std_wall, leaps, times, types, chars = counts
    pos += times * (size + 1)
    type_data = data[pos : pos + types * 6]
    abbrev = data[pos + types * 6 : pos + types * 6 + chars]
    if types == 0 or len(data) < pos + types * 6 + chars + leaps * (size + 4) + std_wall + utc_local:
        return None
    zones = []
    for k in range(types):
        offset, _, index = struct.unpack_from(">lBB", type_data, k * 6)
        if index >= len(abbrev):
            return None
        zones.append((_decode(abbrev[index:].split(b"\0", 1)[0]), offset))
    return tuple(zones)


def _load_abbreviations(tz: str | None) -> tuple[tuple[str, int], ...] | None:
    """Go's initLocal: the zone file time.Local is read from, reduced to its abbreviations."""
    if tz is None:
        paths = ["/etc/localtime"]
    else:
        tz = tz.removeprefix(":")
        if tz in ("", "UTC"):
            return ()  # Go's UTC knows no abbreviations
        paths = [tz] if tz.startswith("/") else [os.path.join(source, tz) for source in _ZONE_SOURCES]
    for path in paths:
        try:
            with open(path, "rb") as handle:
                zones = _tzif_zones(handle.read())
        except OSError:
            continue
        if zones is not None:
            return zones
    return None


def _named_offset(name: str, wall: int) -> int | None:
    """The local zone's offset for an abbreviation, as Go's Location.lookupName finds it; None if unknown."""
    tz = os.environ.get("TZ")
    try:
        zones = _abbreviations[tz]
    except KeyError:
        zones = _abbreviations[tz] = _load_abbreviations(tz)
    if zones is None:
        # Not a zone file Go could read (a POSIX rule in TZ, say): the C library's names, which are
        # what the local times are resolved with.
        std_name, dst_name = time.tzname
        zones = (
            ((std_name, -time.timezone), (dst_name, -time.altzone))
            if time.daylight
            else ((std_name, -time.timezone),)
        )
    # Go prefers a zone of that name in force at that time ("EST" in Sydney was both standard and
    # summer time once), then the first zone of that name in the file.
    for abbreviation, offset in zones:
        if abbreviation == name:
            local = _localtime(wall - offset)
            if local.tm_zone == name:
                return local.tm_gmtoff
    for abbreviation, offset in zones:
        if abbreviation == name:
            return offset
    return None


def _instant(fields: _Fields, year: int) -> int:
    """Seconds since the epoch of the fields in the given year, as Go resolves a parsed time."""
    wall = (
        days_from_civil(year, fields.month, fields.day) * _DAY_SECONDS
        + fields.hour * 3600
        + fields.minute * 60
        + fields.second
    )
    zone = fields.zone
    if zone == _LOCAL:
        return _local_instant(wall)
    if zone == _UTC:
        return wall
    if zone == _OFFSET:
        return wall - fields.offset
    # An abbreviation the local zone does not know keeps the wall clock as UTC: Go records its
    # offset (0, or the hours of "GMT+h") only in the location, not in the instant.
    offset = _named_offset(fields.name, wall)
    return wall if offset is None else wall - offset


def _is_feb29(fields: _Fields) -> bool:
    return fields.month == 2 and fields.day == 29


def _candidate_year(fields: _Fields, year: int, back: int) -> int:
    """This year (back=0) or the one before (back=1); for Feb 29 the latest leap years instead."""
    if not _is_feb29(fields):
        return year - back
    while not _is_leap(year):
        year -= 1
    for _ in range(back):
        year -= 1
        while not _is_leap(year):
            year -= 1
    return year


# The fast path: a layout compiled into one stdlib regular expression over the value's bytes, whose
# match says Go's parse reads every element and passes its range checks, plus a few operations that
# turn the captured groups into fields. Each element sits in an atomic group and quantifiers are
# possessive, so the pattern consumes exactly what Go's parser consumes and never revisits a choice
# Go would not revisit. Whenever the pattern does not match or a remaining check fails, the
# element-by-element port (the reference, which also words the errors) decides instead.
_OP_FRACTION: Final = 0  # optional digits after "." or ","
_OP_FRAC0: Final = 1  # a ".000" group; arg: the power of ten it scales by
_OP_MONTH_NAME: Final = 2
_OP_LONG_MONTH_NAME: Final = 3
_OP_YEAR: Final = 4
_OP_AMPM: Final = 5
_OP_ZONE_NAME: Final = 6
_OP_ZONE_NUMBER: Final = 7  # arg: (minutes position, seconds position), 0 when absent

# Go's parseSignedOffset: a sign and digits worth 0..23 (leading zeros allowed).
_SIGNED_OFFSET_RX: Final = rb"[+-](?:0*+(?:1[0-9]|2[0-3]|[1-9])|0++)(?![0-9])"
# Go's "UTC" check and parseTimeZone, alternatives in Go's order; both need three bytes at least.
_ZONE_NAME_RX: Final = (
    rb"(?=(?s:.){3})(?:UTC|ChST|MeST|GMT(?:"
    + _SIGNED_OFFSET_RX
    + rb")?|"
    + _SIGNED_OFFSET_RX
    + rb"|[A-Z]{4}T(?![A-Z])|[A-Z]{3}T(?![A-Z])|WITA(?![A-Z])|[A-Z]{3}(?![A-Z]))"
)
_FRACTION_RX: Final = rb"(?:[.,]([0-9]++))?+"
# Numeric zones: the pattern after the sign, and where minutes and seconds sit in the match.
_ZONE_NUMBER_FORMS: Final = {
    _ISO8601_TZ: (rb"[0-9]{4}", (3, 0)),
    _NUM_TZ: (rb"[0-9]{4}", (3, 0)),
    _ISO8601_SECONDS_TZ: (rb"[0-9]{6}", (3, 5)),
    _NUM_SECONDS_TZ: (rb"[0-9]{6}", (3, 5)),
    _ISO8601_SHORT_TZ: (rb"[0-9]{2}", (0, 0)),
    _NUM_SHORT_TZ: (rb"[0-9]{2}", (0, 0)),
    _ISO8601_COLON_TZ: (rb"[0-9]{2}:[0-9]{2}", (4, 0)),
    _NUM_COLON_TZ: (rb"[0-9]{2}:[0-9]{2}", (4, 0)),
    _ISO8601_COLON_SECONDS_TZ: (rb"[0-9]{2}:[0-9]{2}:[0-9]{2}", (4, 7)),
    _NUM_COLON_SECONDS_TZ: (rb"[0-9]{2}:[0-9]{2}:[0-9]{2}", (4, 7)),
}
# Go's getnum (two digits when there are two, else one; fixed: exactly two) with its range check
# folded in: a single digit is only taken when no digit follows, as getnum would take two.
_NUMBER_RX: Final = {
    _NUM_MONTH: rb"0[1-9]|1[0-2]|[1-9](?![0-9])",
    _ZERO_MONTH: rb"0[1-9]|1[0-2]",
    _DAY: rb"[0-9][0-9]?+",  # any day: checked against the month at the end
    _UNDER_DAY: rb" ?+[0-9][0-9]?+",
    _ZERO_DAY: rb"[0-9]{2}",
    _HOUR: rb"[01][0-9]|2[0-3]|[0-9](?![0-9])",
    _HOUR12: rb"0[0-9]|1[0-2]|[0-9](?![0-9])",
    _ZERO_HOUR12: rb"0[0-9]|1[0-2]",
    _MINUTE: rb"[0-5][0-9]|[0-9](?![0-9])",
    _ZERO_MINUTE: rb"[0-5][0-9]",
    _SECOND: rb"[0-5][0-9]|[0-9](?![0-9])",
    _ZERO_SECOND: rb"[0-5][0-9]",
    _LONG_YEAR: rb"[0-9]{4}",
}
# Which of year, month, day, hour, minute, second (0..5) a numeric element sets.
_NUMBER_SLOT: Final = {
    _LONG_YEAR: 0,
    _NUM_MONTH: 1,
    _ZERO_MONTH: 1,
    _DAY: 2,
    _UNDER_DAY: 2,
    _ZERO_DAY: 2,
    _HOUR: 3,
    _HOUR12: 3,
    _ZERO_HOUR12: 3,
    _MINUTE: 4,
    _ZERO_MINUTE: 4,
    _SECOND: 5,
    _ZERO_SECOND: 5,
}


# The values of the one- and two-digit captures ("_2" may keep its space): a dict lookup is several
# times cheaper than int() on bytes.
_SMALL_NUMBERS: Final = {
    **{b"%d" % n: n for n in range(10)},
    **{b" %d" % n: n for n in range(10)},
    **{b"%02d" % n: n for n in range(100)},
    **{b" %02d" % n: n for n in range(100)},
}
_new_tuple = tuple.__new__


def _names_rx(names: tuple[str, ...]) -> bytes:
    # For bytes patterns re's case folding is ASCII-only, like Go's match().
    return b"(?i:" + b"|".join(name.encode() for name in names) + b")"


def _literal_rx(prefix: bytes) -> bytes:
    """Go's skip as a pattern: a run of spaces needs a run of spaces, or the end of the value."""
    out = []
    i = 0
    while i < len(prefix):
        if prefix[i] == 0x20:
            while i < len(prefix) and prefix[i] == 0x20:
                i += 1
            out.append(rb"(?: ++|\Z)")
        else:
            out.append(re.escape(prefix[i : i + 1]))
            i += 1
    return b"".join(out)


class _FastPlan:
    """A layout as one regular expression plus group operations; see the comment above."""

    __slots__ = ("_defaults", "_match", "_numbers", "_ops", "_year")

    def __init__(
        self, pattern: bytes, groups: int, slots: list[int], ops: list[tuple[int, int, Any]]
    ) -> None:
        self._match = re.compile(pattern).match
        # The year's group, or the index of a "0" appended after the groups.
        self._year = slots[0] if slots[0] >= 0 else groups
        # Month, day, hour, minute and second come out of one C-level pick over the groups plus the
        # defaults appended after them: "0", and "1" for a month or day the layout lacks.
        picks = [slot if slot >= 0 else groups + (field <= 2) for field, slot in enumerate(slots) if field]
        self._numbers = operator.itemgetter(*picks)
        self._defaults = (b"0", b"1")
        self._ops = tuple(ops)

    @classmethod
    def build(cls, chunks: tuple[_Chunk, ...]) -> _FastPlan | None:
        """The plan for a layout, or None for layouts left to the port.

        The port keeps layouts with a day of the year, and those that set a field twice, where the
        order of the elements decides which value wins.
        """
        parts: list[bytes] = []
        ops: list[tuple[int, int, Any]] = []
        slots = [-1] * 6
        taken: set[str] = set()
        group = 0

        def capture(pattern: bytes) -> int:
            nonlocal group
            parts.append(b"(?>(" + pattern + b"))")
            group += 1
            return group - 1

        def take(field: str) -> bool:
            if field in taken:
                return False
            taken.add(field)
            return True

        for chunk in chunks:
            parts.append(_literal_rx(chunk.prefix))
            std = chunk.std
            if std in _NUMBER_SLOT:
                slot = _NUMBER_SLOT[std]
                if not take(("year", "month", "day", "hour", "minute", "second")[slot]):
                    return None
                slots[slot] = capture(_NUMBER_RX[std])
                if std in (_SECOND, _ZERO_SECOND) and not chunk.fraction_follows:
                    # Go reads a fractional second after the seconds even when the layout has none.
                    if not take("nsec"):
                        return None
                    parts.append(_FRACTION_RX)
                    ops.append((_OP_FRACTION, group, None))
                    group += 1
            elif std in (_MONTH, _LONG_MONTH):
                if not take("month"):
                    return None
                if std == _MONTH:
                    ops.append((_OP_MONTH_NAME, capture(_names_rx(_SHORT_MONTHS)), None))
                else:
                    ops.append((_OP_LONG_MONTH_NAME, capture(_names_rx(_LONG_MONTHS)), None))
            elif std == _WEEKDAY:
                parts.append(_names_rx(_SHORT_DAYS))
            elif std == _LONG_WEEKDAY:
                parts.append(_names_rx(_LONG_DAYS))
            elif std == _YEAR:
                if not take("year"):
                    return None
                ops.append((_OP_YEAR, capture(rb"[+-][0-9]|[0-9]{2}"), None))  # Go's atoi takes a sign
            elif std in (_PM, _PM_LOWER):
                ops.append((_OP_AMPM, capture(rb"PM|AM" if std == _PM else rb"pm|am"), None))
            elif std == _TZ:
                if not take("name"):
                    return None
                ops.append((_OP_ZONE_NAME, capture(_ZONE_NAME_RX), None))
            elif std in _ZONE_NUMBER_FORMS:
                if not take("offset"):
                    return None
                body, positions = _ZONE_NUMBER_FORMS[std]
                number = rb"[+-]" + body
                iso = std <= _ISO8601_COLON_SECONDS_TZ
                ops.append((_OP_ZONE_NUMBER, capture(b"Z|" + number if iso else number), positions))
            elif std == _FRAC0:
                if not take("nsec"):
                    return None
                digits = chunk.digits
                parts.append(rb"[.,]")
                if digits == 0:
                    ops.append((_OP_FRAC0, -1, 0))
                elif digits <= 9:
                    pattern = rb"[+-][0-9]{%d}|[0-9]{%d}" % (digits - 1, digits)
                    ops.append((_OP_FRAC0, capture(pattern), 10 ** (9 - digits)))
                else:
                    # Go reads nine digits and skips the rest of the width unread.
                    ops.append((_OP_FRAC0, capture(rb"[+-][0-9]{8}|[0-9]{9}"), 1))
                    parts.append(rb"(?s:.){%d}" % (digits - 9))
            elif std == _FRAC9:
                if not take("nsec"):
                    return None
                parts.append(_FRACTION_RX)
                ops.append((_OP_FRACTION, group, None))
                group += 1
            elif std != 0:
                return None
        parts.append(rb"\Z")
        return cls(b"".join(parts), group, slots, ops)

    def parse(self, value: bytes) -> _Fields | None:
        """The fields Go reads from the value, or None to let the port decide."""
        m = self._match(value)
        if m is None:
            return None
        groups = m.groups() + self._defaults
        year = int(groups[self._year])
        month, day, hour, minute, second = map(_SMALL_NUMBERS.__getitem__, self._numbers(groups))
        nsec = 0
        utc = am = pm = False
        zone_offset = -1
        zone_name = b""
        for op, k, arg in self._ops:
            if op == _OP_FRACTION:
                digits = groups[k]
                if digits is not None:
                    digits = digits[:9]
                    nsec = int(digits) * 10 ** (9 - len(digits))
            elif op == _OP_MONTH_NAME:
                month = _SHORT_MONTH_INDEX[groups[k].lower()] + 1
            elif op == _OP_ZONE_NUMBER:
                text = groups[k]
                if text == b"Z":
                    utc = True
                    continue
                minutes_at, seconds_at = arg
                hh = int(text[1:3])
                mm = int(text[minutes_at : minutes_at + 2]) if minutes_at else 0
                ss = int(text[seconds_at : seconds_at + 2]) if seconds_at else 0
                if hh > 24 or mm > 60 or ss > 60:
                    return None
                zone_offset = (hh * 60 + mm) * 60 + ss
                if text[0] == 0x2D:
                    zone_offset = -zone_offset
            elif op == _OP_FRAC0:
                if k < 0:
                    nsec = 0
                else:
                    text = groups[k]
                    num = int(text) if len(text) > 1 or text not in (b"+", b"-") else 0
                    if num < 0:
                        return None
                    nsec = num * arg
            elif op == _OP_LONG_MONTH_NAME:
                month = _LONG_MONTH_INDEX[groups[k][:3].lower()][0] + 1
            elif op == _OP_YEAR:
                num = int(groups[k])
                year = num + (1900 if num >= 69 else 2000)
            elif op == _OP_AMPM:
                if groups[k] in (b"PM", b"pm"):
                    pm = True
                else:
                    am = True
            elif groups[k] == b"UTC":  # _OP_ZONE_NAME
                utc = True
            else:
                zone_name = groups[k]
        if pm and hour < 12:
            hour += 12
        elif am and hour == 12:
            hour = 0
        if day < 1 or (day > 28 and day > _days_in(month, year)):
            return None
        # tuple.__new__ skips the NamedTuple's Python-level constructor.
        if utc:
            return _new_tuple(_Fields, (year, month, day, hour, minute, second, nsec, _UTC, 0, ""))
        if zone_offset != -1:
            return _new_tuple(
                _Fields, (year, month, day, hour, minute, second, nsec, _OFFSET, zone_offset, "")
            )
        if zone_name:
            name = _decode(zone_name)
            return _new_tuple(_Fields, (year, month, day, hour, minute, second, nsec, _NAMED, 0, name))
        return _new_tuple(_Fields, (year, month, day, hour, minute, second, nsec, _LOCAL, 0, ""))


class GoLayout:
    """A Go time layout (``"Jan _2 15:04:05"``, ``time.RFC3339Nano``, ...) compiled for parsing.

    Any string is a valid layout: text that is not a layout element is literal, as in Go.
    :meth:`parse` accepts and rejects exactly the values Go's ``time.ParseInLocation(layout, value,
    time.Local)`` does and reads the same fields; a time without a zone is in the local zone, which is
    the C library's (``TZ``, else ``/etc/localtime``; call ``time.tzset()`` after changing ``TZ``, then
    :meth:`clear_cache`).

    Year-less layouts (no ``2006`` or ``06``): the year is the local year of ``now``, or the year
    before when that puts the time more than a day after ``now``. ``Feb 29`` takes the most recent
    leap year instead (again stepping back one leap year when that lands more than a day ahead). The
    year is applied to the month, day and clock as written and the instant resolved as Go would for a
    text carrying that year. A day-of-year (``__2``/``002``) without a year is read, as in Go, in
    year 0, which is a leap year.

    Local times that do not exist or exist twice (DST changes) resolve as Go's ``time.Date`` resolves
    them: the offset in force at the wall clock read as UTC, re-looked-up once at the resulting
    instant. So it depends on the side of UTC: in ``America/New_York`` a time in the spring-forward
    gap moves back an hour (02:30 is 01:30 EST) and a repeated time is the first (EDT) one; in
    ``Europe/London`` a gap time moves forward (01:30 is 02:30 BST) and a repeated one is the second
    (GMT).

    Zone abbreviations (``MST``): ``UTC`` is UTC; any other is looked up, as Go's
    ``Location.lookupName`` does, among the abbreviations of the zone file Go's ``time.Local`` loads
    (``TZ``, ``:``-prefixed or absolute, else ``/etc/localtime``), preferring one in force at that
    time. An abbreviation the local zone does not use, ``GMT+h`` included, leaves the clock read as
    UTC, exactly as Go does (Go keeps the ``GMT+h`` offset for display only). When Go could not load a
    zone file (see the module docs) the C library's standard and daylight names are used instead.

    Results are memoised per text (bounded; the memo is dropped when it outgrows ``cache_size``), so a
    log that repeats the same timestamp on many lines pays for parsing once.
    """

    __slots__ = (
        "_cache",
        "_cache_size",
        "_chunks",
        "_fast",
        "_hi",
        "_layout",
        "_lo",
        "_year",
        "has_year",
        "layout",
    )

    def __init__(self, layout: str, *, cache_size: int = _DEFAULT_CACHE_SIZE) -> None:
        self.layout = layout
        self._layout = _encode(layout)
        self._chunks = _compile(self._layout)
        self._fast = _FastPlan.build(self._chunks)
        #: Whether the layout has a year element; without one, :meth:`parse` chooses the year.
        self.has_year = any(chunk.std in _YEAR_ELEMENTS for chunk in self._chunks)
        self._cache: dict[str, float | _YearLess | _Failure] = {}
        self._cache_size = max(1, cache_size)
        # The local year of the last `now` and the instants it starts and ends (empty until used).
        self._year = 0
        self._lo = 0.0
        self._hi = 0.0

    def __repr__(self) -> str:
        return f"GoLayout({self.layout!r})"

    def clear_cache(self) -> None:
        """Forget memoised results (needed only after the process's local time zone changes)."""
        self._cache.clear()
        self._year = 0
        self._lo = self._hi = 0.0

    def parse(self, text: str, *, now: float | None = None) -> float:
        """Seconds since the epoch of ``text``; raises :class:`GoParseError` (a ValueError) as Go would.

        ``now`` (default: the current time) only matters for year-less layouts, see the class docs.
        """
        # The memo hit, kept to a few bytecodes: a year-less stamp whose year is settled, or an instant.
        entry = self._cache.get(text)
        if type(entry) is _YearLess:
            t = _time() if now is None else now
            if self._lo <= t < self._hi:
                this = entry.this
                if this <= t + _FUTURE_SLACK:
                    return this
        elif type(entry) is float:
            return entry
        return self._parse_missed(text, now)

    def _parse_missed(self, text: str, now: float | None) -> float:
        t = _time() if now is None else now
        if not self._lo <= t < self._hi:
            self._enter_year(t)
        entry = self._cache.get(text)
        if entry is None:
            entry = self._remember(text)
        if type(entry) is float:
            return entry
        if type(entry) is _YearLess:
            this = entry.this
            if this <= t + _FUTURE_SLACK:
                return this
            prev = entry.prev
            if prev is None:
                fields = entry.fields
                prev = entry.prev = self._float_instant(fields, _candidate_year(fields, self._year, 1))
            return prev
        assert type(entry) is _Failure
        raise entry.error()

    def parse_ns(self, text: str, *, now: float | None = None, year: int | None = None) -> int:
        """Nanoseconds since the epoch of ``text``, exactly, without the memo.

        For a year-less layout, ``year`` (when given) is used as if the text carried it (so ``Feb 29``
        of a common year is rejected as Go would); otherwise the year is chosen from ``now`` as in
        :meth:`parse`.
        """
        try:
            fields = self._fields(text)
        except _Rejected as rejected:
            raise rejected.failure.error() from None
        if self.has_year:
            return _instant(fields, fields.year) * 1_000_000_000 + fields.nanosecond
        if year is not None:
            if fields.day > _days_in(fields.month, year):
                raise _Failure(self._layout, _encode(text), b"", b"", ": day out of range").error()
            return _instant(fields, year) * 1_000_000_000 + fields.nanosecond
        t = _time() if now is None else now
        local_year = _localtime(t).tm_year
        ns = _instant(fields, _candidate_year(fields, local_year, 0)) * 1_000_000_000 + fields.nanosecond
        if ns > (t + _FUTURE_SLACK) * 1e9:
            ns = _instant(fields, _candidate_year(fields, local_year, 1)) * 1_000_000_000 + fields.nanosecond
        return ns

    def _enter_year(self, t: float) -> None:
        year = _localtime(t).tm_year
        if year != self._year:
            # Year-less entries hold instants for the old year.
            self._cache.clear()
            self._year = year
        lo = float(_local_instant(days_from_civil(year, 1, 1) * _DAY_SECONDS))
        hi = float(_local_instant(days_from_civil(year + 1, 1, 1) * _DAY_SECONDS))
        if lo <= t < hi:
            self._lo, self._hi = lo, hi
        else:
            # A zone that skipped its New Year's midnight: no window, look the year up every call.
            self._lo = self._hi = 0.0

    def _remember(self, text: str) -> float | _YearLess | _Failure:
        entry: float | _YearLess | _Failure
        try:
            fields = self._fields(text)
        except _Rejected as rejected:
            entry = rejected.failure
        else:
            if self.has_year:
                entry = self._float_instant(fields, fields.year)
            else:
                entry = _YearLess(fields, self._float_instant(fields, _candidate_year(fields, self._year, 0)))
        cache = self._cache
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[text] = entry
        return entry

    @staticmethod
    def _float_instant(fields: _Fields, year: int) -> float:
        return _instant(fields, year) + fields.nanosecond / 1e9

    def _fail(self, value: bytes, layout_elem: bytes, value_elem: bytes, message: str = "") -> _Rejected:
        return _Rejected(_Failure(self._layout, value, layout_elem, value_elem, message))

    def _fields(self, text: str) -> _Fields:
        """Go's time.parse, up to the fields and the kind of zone; raises _Rejected."""
        value = _encode(text)
        if self._fast is not None:
            fields = self._fast.parse(value)
            if fields is not None:
                return fields
        return self._port(value)

    def _port(self, value: bytes) -> _Fields:
        """Go's time.parse element by element: the reference the fast path defers to; raises _Rejected."""
        n = len(value)
        i = 0
        year = 0
        month = -1
        day = -1
        yday = -1
        hour = minute = second = nsec = 0
        utc = False
        zone_offset = -1  # Go's "no offset" sentinel: an offset of -1 second is taken as none too
        zone_name = b""
        am = pm = False
        for prefix, plain, std, digits, fraction_follows, elem in self._chunks:
            if prefix:
                if plain and value.startswith(prefix, i):
                    i += len(prefix)
                else:
                    i, ok = _skip(value, i, prefix)
                    if not ok:
                        raise self._fail(value, prefix, value[i:])
            if std == 0:
                if i != n:
                    raise self._fail(value, b"", value[i:], ": extra text: " + _quote(value[i:]))
                break
            hold = i
            bad = False
            out_of_range = ""
            if std <= _ZERO_SECOND:
                if std == _UNDER_DAY and i < n and value[i] == 0x20:
                    i += 1
                num, i = _getnum(value, i, std in _FIXED_WIDTH)
                bad = num < 0
                if std <= _ZERO_MONTH:
                    month = num
                    if not bad and not 1 <= month <= 12:
                        out_of_range = "month"
                elif std <= _ZERO_DAY:
                    day = num  # any one or two digits; checked against the month at the end
                elif std == _HOUR:
                    hour = max(num, 0)
                    if hour >= 24:
                        out_of_range = "hour"
                elif std <= _ZERO_HOUR12:
                    hour = max(num, 0)
                    if hour > 12:
                        out_of_range = "hour"
                elif std <= _ZERO_MINUTE:
                    minute = max(num, 0)
                    if minute >= 60:
                        out_of_range = "minute"
                elif not bad:
                    second = num
                    if second >= 60:
                        out_of_range = "second"
                    elif (
                        not fraction_follows
                        and n - i >= 2
                        and value[i] in (0x2E, 0x2C)
                        and 48 <= value[i + 1] <= 57
                    ):
                        # Go reads a fractional second after the seconds even when the layout has none.
                        j = i + 2
                        while j < n and 48 <= value[j] <= 57:
                            j += 1
                        nsec, out_of_range, bad = _parse_nanoseconds(value, i, j - i)
                        i = j
            elif std == _MONTH:
                found = _SHORT_MONTH_INDEX.get(value[i : i + 3].lower(), -1) if n - i >= 3 else -1
                month = found + 1
                bad = found < 0
                if not bad:
                    i += 3
            elif std in (_LONG_MONTH, _LONG_WEEKDAY, _WEEKDAY):
                bad = True
                if n - i >= 3:
                    if std == _WEEKDAY:
                        if value[i : i + 3].lower() in _SHORT_DAY_INDEX:
                            bad = False
                            i += 3
                    else:
                        table = _LONG_MONTH_INDEX if std == _LONG_MONTH else _LONG_DAY_INDEX
                        hit = table.get(value[i : i + 3].lower())
                        if hit is not None and value[i : i + len(hit[1])].lower() == hit[1]:
                            bad = False
                            i += len(hit[1])
                            if std == _LONG_MONTH:
                                month = hit[0] + 1
                if bad and std == _LONG_MONTH:
                    month = 0
            elif std == _LONG_YEAR:
                if n - i < 4 or not 48 <= value[i] <= 57:
                    bad = True
                else:
                    parsed = _atoi(value[i : i + 4])
                    i += 4
                    bad = parsed is None
                    year = parsed or 0
            elif std == _YEAR:
                if n - i < 2:
                    bad = True
                else:
                    parsed = _atoi(value[i : i + 2])
                    i += 2
                    if parsed is None:
                        bad = True
                    else:
                        year = parsed + (1900 if parsed >= 69 else 2000)
            elif std in (_UNDER_YEARDAY, _ZERO_YEARDAY):
                if std == _UNDER_YEARDAY:
                    for _ in range(2):
                        if i < n and value[i] == 0x20:
                            i += 1
                j = i
                yday = 0
                while j < i + 3 and j < n and 48 <= value[j] <= 57:
                    yday = yday * 10 + value[j] - 48
                    j += 1
                if j == i or (std == _ZERO_YEARDAY and j != i + 3):
                    bad = True
                    yday = 0
                else:
                    i = j
            elif std in (_PM, _PM_LOWER):
                if n - i < 2:
                    bad = True
                else:
                    p = value[i : i + 2]
                    i += 2
                    if p == (b"PM" if std == _PM else b"pm"):
                        pm = True
                    elif p == (b"AM" if std == _PM else b"am"):
                        am = True
                    else:
                        bad = True
            elif std == _TZ:
                if value.startswith(b"UTC", i):
                    utc = True
                    i += 3
                else:
                    length = _time_zone_length(value, i)
                    if length == 0:
                        bad = True
                    else:
                        zone_name = value[i : i + length]
                        i += length
            elif std <= _NUM_COLON_SECONDS_TZ:
                if std <= _ISO8601_COLON_SECONDS_TZ and i < n and value[i] == 0x5A:
                    i += 1
                    utc = True
                else:
                    i, zone_offset, out_of_range, bad = _numeric_zone(value, i, std)
            elif std == _FRAC0:
                ndigit = 1 + digits
                if n - i < ndigit:
                    bad = True
                else:
                    nsec, out_of_range, bad = _parse_nanoseconds(value, i, ndigit)
                    i += ndigit
            elif n - i >= 2 and value[i] in (0x2E, 0x2C) and 48 <= value[i + 1] <= 57:  # _FRAC9
                # As many digits as there are, even more than the layout shows, like the seconds do.
                j = i + 2
                while j < n and 48 <= value[j] <= 57:
                    j += 1
                nsec, out_of_range, bad = _parse_nanoseconds(value, i, j - i)
                i = j
            if out_of_range:
                raise self._fail(value, elem, value[i:], ": " + out_of_range + " out of range")
            if bad:
                raise self._fail(value, elem, value[hold:])

        if pm and hour < 12:
            hour += 12
        elif am and hour == 12:
            hour = 0

        if yday >= 0:
            m = d = 0
            if _is_leap(year):
                if yday == 31 + 29:
                    m, d = 2, 29
                elif yday > 31 + 29:
                    yday -= 1
            if yday < 1 or yday > 365:
                raise self._fail(value, b"", value[i:], ": day-of-year out of range")
            if m == 0:
                m = (yday - 1) // 31 + 1
                if _DAYS_BEFORE[m + 1] < yday:
                    m += 1
                d = yday - _DAYS_BEFORE[m]
            if month >= 0 and month != m:
                raise self._fail(value, b"", value[i:], ": day-of-year does not match month")
            month = m
            if day >= 0 and day != d:
                raise self._fail(value, b"", value[i:], ": day-of-year does not match day")
            day = d
        else:
            if month < 0:
                month = 1
            if day < 0:
                day = 1

        if day < 1 or day > _days_in(month, year):
            raise self._fail(value, b"", value[i:], ": day out of range")

        if utc:
            zone, offset, name = _UTC, 0, ""
        elif zone_offset != -1:
            zone, offset, name = _OFFSET, zone_offset, ""
        elif zone_name:
            zone, offset, name = _NAMED, 0, _decode(zone_name)
        else:
            zone, offset, name = _LOCAL, 0, ""
        return _Fields(year, month, day, hour, minute, second, nsec, zone, offset, name)


def _numeric_zone(value: bytes, i: int, std: int) -> tuple[int, int, str, bool]:
    """A numeric zone offset element: (new index, offset seconds, range error, syntax error)."""
    n = len(value) - i
    if std in (_ISO8601_COLON_TZ, _NUM_COLON_TZ):
        if n < 6 or value[i + 3] != 0x3A:
            return i, 0, "", True
        hh, mm, ss, end = value[i + 1 : i + 3], value[i + 4 : i + 6], b"00", i + 6
    elif std in (_NUM_SHORT_TZ, _ISO8601_SHORT_TZ):
        if n < 3:
            return i, 0, "", True
        hh, mm, ss, end = value[i + 1 : i + 3], b"00", b"00", i + 3
    elif std in (_ISO8601_COLON_SECONDS_TZ, _NUM_COLON_SECONDS_TZ):
        if n < 9 or value[i + 3] != 0x3A or value[i + 6] != 0x3A:
            return i, 0, "", True
        hh, mm, ss, end = value[i + 1 : i + 3], value[i + 4 : i + 6], value[i + 7 : i + 9], i + 9
    elif std in (_ISO8601_SECONDS_TZ, _NUM_SECONDS_TZ):
        if n < 7:
            return i, 0, "", True
        hh, mm, ss, end = value[i + 1 : i + 3], value[i + 3 : i + 5], value[i + 5 : i + 7], i + 7
    else:
        if n < 5:
            return i, 0, "", True
        hh, mm, ss, end = value[i + 1 : i + 3], value[i + 3 : i + 5], b"00", i + 5
    # Go stops at the first field that is not two digits, leaving the rest 0.
    hr = _getnum(hh, 0, True)[0]
    mi = se = 0
    bad = hr < 0
    if bad:
        hr = 0
    else:
        mi = _getnum(mm, 0, True)[0]
        bad = mi < 0
        if bad:
            mi = 0
        else:
            se = _getnum(ss, 0, True)[0]
            bad = se < 0
            if bad:
                se = 0
    # Go allows 24 hours, 60 minutes and 60 seconds: people write such offsets.
    out_of_range = ""
    if hr > 24:
        out_of_range = "time zone offset hour"
    if mi > 60:
        out_of_range = "time zone offset minute"
    if se > 60:
        out_of_range = "time zone offset second"
    offset = (hr * 60 + mi) * 60 + se
    sign = value[i]
    if sign == 0x2D:
        offset = -offset
    elif sign != 0x2B:
        bad = True
    return end, offset, out_of_range, bad
