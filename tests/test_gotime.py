"""Go time layouts: every layout element, the year rules for year-less layouts, and real Go as the oracle."""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from npd.gotime import GoLayout, GoParseError

NEW_YORK = "America/New_York"
ORACLE_SOURCE = Path(__file__).parent / "gotime_oracle"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, ns: int = 0) -> int:
    """Nanoseconds since the epoch of a UTC date and time."""
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) * 1_000_000_000 + ns


def use_zone(name: str | None) -> None:
    if name is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = name
    time.tzset()


@contextlib.contextmanager
def local_zone(name: str) -> Iterator[None]:
    """Make ``name`` the process's local zone (TZ and tzset), restoring the original afterwards."""
    saved = os.environ.get("TZ")
    use_zone(name)
    try:
        yield
    finally:
        use_zone(saved)


@pytest.fixture
def new_york() -> Iterator[None]:
    """America/New_York: EST is UTC-5, EDT UTC-4."""
    with local_zone(NEW_YORK):
        yield


@pytest.fixture(params=[NEW_YORK, "UTC"])
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    with local_zone(request.param):
        yield str(request.param)


# West and east of UTC, none, and a half-hour DST shift.
@pytest.fixture(params=[NEW_YORK, "UTC", "Europe/London", "Australia/Lord_Howe"])
def oracle_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    with local_zone(request.param):
        yield str(request.param)


# Mid-June 2024, noon in New York.
JUNE_NOON_NS = utc(2024, 6, 15, 16)
JUNE_NOON = JUNE_NOON_NS / 1e9

# (layout, value, nanoseconds since the epoch) with New York as the local zone.
ACCEPTED = [
    # Month and weekday names match ASCII letters in any case; the weekday is read, never checked.
    ("January 2, 2006", "March 5, 2021", utc(2021, 3, 5, 5)),
    ("January 2, 2006", "MARCH 5, 2021", utc(2021, 3, 5, 5)),
    ("Jan 2, 2006", "mAr 5, 2021", utc(2021, 3, 5, 5)),
    ("Monday, Jan 2 2006", "Sunday, Mar 5 2021", utc(2021, 3, 5, 5)),
    ("Mon Jan 2 2006", "fri Mar 5 2021", utc(2021, 3, 5, 5)),
    # Numeric months and days: "1"/"2" take one or two digits, "01"/"02" exactly two.
    ("1/2/2006", "3/5/2021", utc(2021, 3, 5, 5)),
    ("1/2/2006", "03/05/2021", utc(2021, 3, 5, 5)),
    ("01/02/2006", "03/05/2021", utc(2021, 3, 5, 5)),
    ("Jan _2 2006", "Mar  5 2021", utc(2021, 3, 5, 5)),
    ("Jan _2 2006", "Mar 05 2021", utc(2021, 3, 5, 5)),
    ("Jan _2 2006", "Mar 5 2021", utc(2021, 3, 5, 5)),
    ("Jan 2 2006", "Mar     5 2021", utc(2021, 3, 5, 5)),  # a layout space matches a run of spaces
    ("Jan_2 2006", "Mar 5 2021", utc(2021, 3, 5, 5)),  # "_2" itself skips one space
    # Day of the year, in the year given (or year 0, a leap year).
    ("__2 2006", " 64 2021", utc(2021, 3, 5, 5)),
    ("__2 2006", "  5 2021", utc(2021, 1, 5, 5)),
    ("002 2006", "064 2021", utc(2021, 3, 5, 5)),
    ("002 2006", "060 2024", utc(2024, 2, 29, 5)),
    ("002 2006", "060 2023", utc(2023, 3, 1, 5)),
    ("Jan 2 002 2006", "Mar 1 061 2024", utc(2024, 3, 1, 5)),
    # Clock: 24-hour, 12-hour with AM/PM (12 AM is midnight), minutes and seconds.
    ("2006-01-02 15:04:05", "2021-03-05 13:14:15", utc(2021, 3, 5, 18, 14, 15)),
    ("2006-01-02 15:4:5", "2021-03-05 3:4:5", utc(2021, 3, 5, 8, 4, 5)),
    ("2006-01-02 3:04:05 PM", "2021-03-05 1:14:15 PM", utc(2021, 3, 5, 18, 14, 15)),
    ("2006-01-02 03:04:05pm", "2021-03-05 12:14:15am", utc(2021, 3, 5, 5, 14, 15)),
    ("2006-01-02 3:04:05PM", "2021-03-05 12:14:15PM", utc(2021, 3, 5, 17, 14, 15)),
    ("2006-01-02 3:04:05PM", "2021-03-05 0:14:15PM", utc(2021, 3, 5, 17, 14, 15)),
    ("2006-01-02 3:4:5", "2021-03-05 9:8:7", utc(2021, 3, 5, 14, 8, 7)),
    # Two-digit years: 69..99 are 19xx, 00..68 are 20xx; Go's atoi even takes a sign.
    ("06-01-02", "69-03-05", utc(1969, 3, 5, 5)),
    ("06-01-02", "68-03-05", utc(2068, 3, 5, 5)),
    ("06-01-02", "-1-03-05", utc(1999, 3, 5, 5)),
    # Fractional seconds: ".000" wants exactly that many digits (either separator), ".999" any number
    # or none, and a fraction after the seconds is read even when the layout has none.
    ("2006-01-02 15:04:05.000", "2021-03-05 13:14:15.123", utc(2021, 3, 5, 18, 14, 15, 123_000_000)),
    ("2006-01-02 15:04:05,000", "2021-03-05 13:14:15.123", utc(2021, 3, 5, 18, 14, 15, 123_000_000)),
    ("2006-01-02 15:04:05.999", "2021-03-05 13:14:15", utc(2021, 3, 5, 18, 14, 15)),
    ("2006-01-02 15:04:05.999", "2021-03-05 13:14:15.123456789123", utc(2021, 3, 5, 18, 14, 15, 123456789)),
    ("2006-01-02 15:04:05,999", "2021-03-05 13:14:15,5", utc(2021, 3, 5, 18, 14, 15, 500_000_000)),
    ("2006-01-02 15:04:05", "2021-03-05 13:14:15.5", utc(2021, 3, 5, 18, 14, 15, 500_000_000)),
    ("2006-01-02 15:04:05", "2021-03-05 13:14:15,000000250", utc(2021, 3, 5, 18, 14, 15, 250)),
    ("2006-01-02 15:04:05.000000000", "2021-03-05 13:14:15.000000001", utc(2021, 3, 5, 18, 14, 15, 1)),
    # Numeric zones; the ISO forms also take "Z".
    ("2006-01-02T15:04:05Z07:00", "2021-03-05T13:14:15Z", utc(2021, 3, 5, 13, 14, 15)),
    ("2006-01-02T15:04:05Z07:00", "2021-03-05T13:14:15+05:30", utc(2021, 3, 5, 7, 44, 15)),
    ("2006-01-02T15:04:05Z0700", "2021-03-05T13:14:15-0700", utc(2021, 3, 5, 20, 14, 15)),
    ("2006-01-02T15:04:05Z0700", "2021-03-05T13:14:15Z", utc(2021, 3, 5, 13, 14, 15)),
    ("2006-01-02T15:04:05Z07", "2021-03-05T13:14:15+05", utc(2021, 3, 5, 8, 14, 15)),
    ("2006-01-02T15:04:05Z070000", "2021-03-05T13:14:15+053015", utc(2021, 3, 5, 7, 44, 0)),
    ("2006-01-02T15:04:05Z07:00:00", "2021-03-05T13:14:15+05:30:15", utc(2021, 3, 5, 7, 44, 0)),
    ("2006-01-02T15:04:05-0700", "2021-03-05T13:14:15-0700", utc(2021, 3, 5, 20, 14, 15)),
    ("2006-01-02T15:04:05-07:00", "2021-03-05T13:14:15+05:30", utc(2021, 3, 5, 7, 44, 15)),
    ("2006-01-02T15:04:05-07", "2021-03-05T13:14:15-07", utc(2021, 3, 5, 20, 14, 15)),
    ("2006-01-02T15:04:05-070000", "2021-03-05T13:14:15-070000", utc(2021, 3, 5, 20, 14, 15)),
    ("2006-01-02T15:04:05-07:00:00", "2021-03-05T13:14:15-07:00:01", utc(2021, 3, 5, 20, 14, 16)),
    ("2006-01-02T15:04:05-07:00", "2021-03-05T13:14:15+24:60", utc(2021, 3, 4, 12, 14, 15)),
    # An offset of exactly -1 second is Go's "no offset" sentinel: the time is local.
    ("2006-01-02T15:04:05-07:00:00", "2021-03-05T13:14:15-00:00:01", utc(2021, 3, 5, 18, 14, 15)),
    # Zone abbreviations: the local zone's, UTC, and unknown ones (clock read as UTC, as in Go).
    ("2006-01-02 15:04:05 MST", "2021-03-05 13:14:15 EST", utc(2021, 3, 5, 18, 14, 15)),
    ("2006-01-02 15:04:05 MST", "2021-07-05 13:14:15 EDT", utc(2021, 7, 5, 17, 14, 15)),
    ("2006-01-02 15:04:05 MST", "2021-07-05 13:14:15 EST", utc(2021, 7, 5, 18, 14, 15)),
    ("2006-01-02 15:04:05 MST", "2021-03-05 13:14:15 UTC", utc(2021, 3, 5, 13, 14, 15)),
    ("2006-01-02 15:04:05 MST", "2021-03-05 13:14:15 CEST", utc(2021, 3, 5, 13, 14, 15)),
    ("2006-01-02 15:04:05 MST", "2021-03-05 13:14:15 GMT+3", utc(2021, 3, 5, 13, 14, 15)),
    ("2006-01-02 15:04:05 MST", "2021-03-05 13:14:15 +03", utc(2021, 3, 5, 13, 14, 15)),
    ("2006-01-02 15:04:05 MST", "2021-03-05 13:14:15 ChST", utc(2021, 3, 5, 13, 14, 15)),
    ("2006-01-02 15:04:05 MST", "1943-03-05 13:14:15 EWT", utc(1943, 3, 5, 17, 14, 15)),
    # DST: a time in the spring-forward gap moves back an hour, a repeated time reads as daylight.
    ("2006-01-02 15:04:05", "2024-03-10 02:30:00", utc(2024, 3, 10, 6, 30)),
    ("2006-01-02 15:04:05", "2024-11-03 01:30:00", utc(2024, 11, 3, 5, 30)),
    ("2006-01-02 15:04:05", "2024-07-01 12:00:00", utc(2024, 7, 1, 16)),
    # Leap days.
    ("2006-01-02", "2024-02-29", utc(2024, 2, 29, 5)),
    ("2006-01-02", "2000-02-29", utc(2000, 2, 29, 5)),
    # Layouts seen in real configurations.
    (
        "2006-01-02T15:04:05.999999999Z07:00",
        "2024-03-10T02:30:00.123456789Z",
        utc(2024, 3, 10, 2, 30, 0, 123456789),
    ),
    ("2006-01-02T15:04:05.999999999Z07:00", "2024-03-10T02:30:00-08:00", utc(2024, 3, 10, 10, 30)),
    ("2006/01/02 15:04:05", "2024/07/01 12:00:00", utc(2024, 7, 1, 16)),
    ("2006-01-02T15:04:05.000000-0700", "2024-07-01T12:00:00.000001+0200", utc(2024, 7, 1, 10, 0, 0, 1000)),
    ("Mon Jan _2 15:04:05 MST 2006", "Wed Feb  4 21:00:57 EST 2009", utc(2009, 2, 5, 2, 0, 57)),
    ("02 Jan 06 15:04 -0700", "04 Feb 09 21:00 -0800", utc(2009, 2, 5, 5, 0)),
    # Literal text, including text that looks almost like an element.
    ("[2006-01-02] Month", "[2021-03-05] Month", utc(2021, 3, 5, 5)),
    ("2006.01", "2021.03", utc(2021, 3, 1, 5)),
    ("Jan 2006 é", "Mar 2021 é", utc(2021, 3, 1, 5)),
]

# (layout, value, Go's error message)
REJECTED = [
    (
        "Jan _2 15:04:05",
        "Nox  5 03:04:05",
        'parsing time "Nox  5 03:04:05" as "Jan _2 15:04:05": cannot parse "Nox  5 03:04:05" as "Jan"',
    ),
    ("Jan _2 15:04:05", "Nov  5 03:04:05 x", 'parsing time "Nov  5 03:04:05 x": extra text: " x"'),
    (
        "Jan _2 15:04:05",
        "Nov  5 03:04",
        'parsing time "Nov  5 03:04" as "Jan _2 15:04:05": cannot parse "" as ":"',
    ),
    ("Jan _2 15:04:05", "Nov  5", 'parsing time "Nov  5" as "Jan _2 15:04:05": cannot parse "" as "15"'),
    (
        "Jan_2 2006",
        "Mar  5 2021",
        'parsing time "Mar  5 2021" as "Jan_2 2006": cannot parse "  5 2021" as "_2"',
    ),
    (
        "January 2, 2006",
        "Marc 5, 2021",
        'parsing time "Marc 5, 2021" as "January 2, 2006": cannot parse "Marc 5, 2021" as "January"',
    ),
    (
        "Mon Jan 2 2006",
        "Fry Mar 5 2021",
        'parsing time "Fry Mar 5 2021" as "Mon Jan 2 2006": cannot parse "Fry Mar 5 2021" as "Mon"',
    ),
    ("2006-01-02", "2021-13-05", 'parsing time "2021-13-05": month out of range'),
    ("2006-01-02", "2021-00-05", 'parsing time "2021-00-05": month out of range'),
    ("2006-01-02", "2021-3-05", 'parsing time "2021-3-05" as "2006-01-02": cannot parse "3-05" as "01"'),
    ("2006-01-02", "2021-02-30", 'parsing time "2021-02-30": day out of range'),
    ("2006-01-02", "2021-04-31", 'parsing time "2021-04-31": day out of range'),
    ("2006-01-02", "2021-04-00", 'parsing time "2021-04-00": day out of range'),
    ("2006-01-02", "2023-02-29", 'parsing time "2023-02-29": day out of range'),
    ("2006-01-02", "1900-02-29", 'parsing time "1900-02-29": day out of range'),
    ("2006-01-02", "21-03-05", 'parsing time "21-03-05" as "2006-01-02": cannot parse "21-03-05" as "2006"'),
    ("002 2006", "366 2021", 'parsing time "366 2021": day-of-year out of range'),
    ("Jan 2 002 2006", "Mar 2 061 2024", 'parsing time "Mar 2 061 2024": day-of-year does not match day'),
    ("15:04", "24:00", 'parsing time "24:00": hour out of range'),
    ("3:04PM", "13:00PM", 'parsing time "13:00PM": hour out of range'),
    ("3:04PM", "1:00XM", 'parsing time "1:00XM" as "3:04PM": cannot parse "XM" as "PM"'),
    ("3:04PM", "1:00pm", 'parsing time "1:00pm" as "3:04PM": cannot parse "pm" as "PM"'),
    ("15:04:05", "12:60:00", 'parsing time "12:60:00": minute out of range'),
    ("15:04:05", "12:00:60", 'parsing time "12:00:60": second out of range'),
    (
        "15:04:05.000",
        "12:00:00.12",
        'parsing time "12:00:00.12" as "15:04:05.000": cannot parse ".12" as ".000"',
    ),
    ("15:04:05.000", "12:00:00.-12", 'parsing time "12:00:00.-12": fractional second out of range'),
    (
        "15:04:05-0700",
        "12:00:00Z",
        'parsing time "12:00:00Z" as "15:04:05-0700": cannot parse "Z" as "-0700"',
    ),
    ("15:04:05Z07:00", "12:00:00+25:00", 'parsing time "12:00:00+25:00": time zone offset hour out of range'),
    (
        "15:04:05Z07:00",
        "12:00:00+05:61",
        'parsing time "12:00:00+05:61": time zone offset minute out of range',
    ),
    (
        "15:04:05Z07:00",
        "12:00:00*05:00",
        'parsing time "12:00:00*05:00" as "15:04:05Z07:00": cannot parse "*05:00" as "Z07:00"',
    ),
    (
        "15:04:05 MST",
        "12:00:00 Est",
        'parsing time "12:00:00 Est" as "15:04:05 MST": cannot parse "Est" as "MST"',
    ),
    (
        "15:04:05 MST",
        "12:00:00 ESTX",
        'parsing time "12:00:00 ESTX" as "15:04:05 MST": cannot parse "ESTX" as "MST"',
    ),
    (
        "2006-01-02T15:04:05Z07:00",
        "2021-03-05 13:14:15Z",
        'parsing time "2021-03-05 13:14:15Z" as "2006-01-02T15:04:05Z07:00": '
        'cannot parse " 13:14:15Z" as "T"',
    ),
    ("Jan", "Ja", 'parsing time "Ja" as "Jan": cannot parse "Ja" as "Jan"'),
    ("Jan 2006", "Mar 2021 \u00e9", 'parsing time "Mar 2021 \\xc3\\xa9": extra text: " \\xc3\\xa9"'),
    (" ", "x", 'parsing time "x" as " ": cannot parse "x" as " "'),
]


@pytest.mark.parametrize(("layout", "value", "expected"), ACCEPTED)
def test_accepted(new_york: None, layout: str, value: str, expected: int) -> None:
    parser = GoLayout(layout)
    assert parser.has_year
    assert parser.parse_ns(value) == expected
    assert parser.parse(value) == pytest.approx(expected / 1e9, abs=1e-6)
    assert parser.parse(value) == pytest.approx(expected / 1e9, abs=1e-6)  # from the memo


@pytest.mark.parametrize(("layout", "value", "message"), REJECTED)
def test_rejected(new_york: None, layout: str, value: str, message: str) -> None:
    parser = GoLayout(layout)
    for _ in range(2):  # the second from the memo
        with pytest.raises(GoParseError) as caught:
            parser.parse(value, now=JUNE_NOON)
        assert str(caught.value) == message
        assert isinstance(caught.value, ValueError)
    with pytest.raises(GoParseError, match=r"^parsing time "):
        parser.parse_ns(value, now=JUNE_NOON)


def test_error_fields() -> None:
    with pytest.raises(GoParseError) as caught:
        GoLayout("2006-01-02").parse("2021-x")
    error = caught.value
    assert (error.layout, error.value, error.layout_elem, error.value_elem, error.message) == (
        "2006-01-02",
        "2021-x",
        "01",
        "x",
        "",
    )


# Year-less layouts: (now, value, expected), the Stamp layout, New York.
YEARLESS = [
    # Single-digit days are space padded.
    (utc(2024, 12, 15, 17), "Nov  5 03:04:05", utc(2024, 11, 5, 8, 4, 5)),
    (utc(2024, 12, 15, 17), "Nov 15 03:04:05.25", utc(2024, 11, 15, 8, 4, 5, 250_000_000)),
    # In June, a November line is from last November.
    (JUNE_NOON_NS, "Nov  5 03:04:05", utc(2023, 11, 5, 8, 4, 5)),
    # A line stamped just before midnight on Dec 31, read just after it, is from last year.
    (utc(2025, 1, 1, 5, 0, 10), "Dec 31 23:59:59", utc(2025, 1, 1, 4, 59, 59)),
    (utc(2025, 1, 1, 5, 0, 10), "Jan  1 00:00:05", utc(2025, 1, 1, 5, 0, 5)),
    # Up to a day ahead is clock skew, not last year.
    (JUNE_NOON_NS, "Jun 16 11:00:00", utc(2024, 6, 16, 15)),
    (JUNE_NOON_NS, "Jun 16 13:00:00", utc(2023, 6, 16, 17)),
    # Feb 29 belongs to the latest leap year not more than a day ahead.
    (utc(2025, 6, 1, 16), "Feb 29 12:00:00", utc(2024, 2, 29, 17)),
    (utc(2024, 3, 1, 17), "Feb 29 12:00:00", utc(2024, 2, 29, 17)),
    (utc(2028, 2, 28, 17), "Feb 29 00:00:00", utc(2028, 2, 29, 5)),
    (utc(2028, 2, 28, 17), "Feb 29 23:00:00", utc(2024, 3, 1, 4)),
    (utc(2101, 6, 1), "Feb 29 12:00:00", utc(2096, 2, 29, 17)),  # 2100 is not a leap year
]


@pytest.mark.parametrize(("now", "value", "expected"), YEARLESS)
def test_yearless(new_york: None, now: int, value: str, expected: int) -> None:
    parser = GoLayout("Jan _2 15:04:05")
    assert not parser.has_year
    assert parser.parse_ns(value, now=now / 1e9) == expected
    for _ in range(2):
        assert parser.parse(value, now=now / 1e9) == pytest.approx(expected / 1e9, abs=1e-6)


def test_yearless_explicit_year(new_york: None) -> None:
    parser = GoLayout("Jan _2 15:04:05")
    assert parser.parse_ns("Feb 28 12:00:00", year=2023) == utc(2023, 2, 28, 17)
    assert parser.parse_ns("Feb 29 12:00:00", year=2024) == utc(2024, 2, 29, 17)
    with pytest.raises(GoParseError, match="day out of range"):
        parser.parse_ns("Feb 29 12:00:00", year=2023)
    # Go itself accepts Feb 29 without a year (year 0 is a leap year), but not Feb 30.
    with pytest.raises(GoParseError, match="day out of range"):
        parser.parse("Feb 30 12:00:00")


def test_yearless_without_date(new_york: None) -> None:
    # Elements missing from the layout are Go's zero values: January 1st, midnight.
    assert GoLayout("15:04:05").parse_ns("10:00:00", now=JUNE_NOON) == utc(2024, 1, 1, 15)
    assert GoLayout("").parse_ns("", now=JUNE_NOON) == utc(2024, 1, 1, 5)
    assert GoLayout("Jan _2 15:04:05 Z07:00").parse_ns("Nov  5 03:04:05 +01:00", now=JUNE_NOON) == utc(
        2023, 11, 5, 2, 4, 5
    )


def test_memo_follows_now_across_new_year(new_york: None) -> None:
    parser = GoLayout("Jan _2 15:04:05")
    text = "Dec 31 23:59:59"
    before = utc(2024, 12, 31, 23) / 1e9
    after = utc(2025, 1, 1, 5, 0, 10) / 1e9  # 00:00:10 EST
    much_later = utc(2026, 1, 2, 5) / 1e9
    assert parser.parse(text, now=before) == utc(2025, 1, 1, 4, 59, 59) / 1e9
    assert parser.parse(text, now=after) == utc(2025, 1, 1, 4, 59, 59) / 1e9
    assert parser.parse(text, now=much_later) == utc(2026, 1, 1, 4, 59, 59) / 1e9
    assert parser.parse(text, now=before) == utc(2025, 1, 1, 4, 59, 59) / 1e9


def test_memo_is_bounded_and_stays_correct(new_york: None) -> None:
    parser = GoLayout("2006-01-02 15:04:05", cache_size=3)
    for second in range(20):
        for _ in range(2):
            assert parser.parse(f"2024-07-01 12:00:{second:02d}") == utc(2024, 7, 1, 16, 0, second) / 1e9
    assert len(parser._cache) <= 3
    parser.clear_cache()
    assert parser.parse("2024-07-01 12:00:00") == utc(2024, 7, 1, 16) / 1e9


def test_local_zone_follows_tz(zone: str) -> None:
    offset = 4 if zone == NEW_YORK else 0
    assert GoLayout("2006-01-02 15:04:05").parse_ns("2024-07-01 12:00:00") == utc(2024, 7, 1, 12 + offset)


def test_dst_east_of_utc() -> None:
    with local_zone("Europe/London"):
        parser = GoLayout("2006-01-02 15:04:05")
        # Go's rule lands the other way round east of UTC: a gap time moves forward, a repeated
        # time is the second (GMT) one.
        assert parser.parse_ns("2024-03-31 01:30:00") == utc(2024, 3, 31, 1, 30)
        assert parser.parse_ns("2024-10-27 01:30:00") == utc(2024, 10, 27, 1, 30)
        assert parser.parse_ns("2024-10-27 00:30:00") == utc(2024, 10, 26, 23, 30)
        # The zone file's abbreviations, as Go reads them, not only today's pair.
        named = GoLayout("2006-01-02 15:04:05 MST")
        assert named.parse_ns("2024-07-01 12:00:00 BST") == utc(2024, 7, 1, 11)
        assert named.parse_ns("2024-07-01 12:00:00 GMT") == utc(2024, 7, 1, 12)
        assert named.parse_ns("1944-07-01 12:00:00 BDST") == utc(1944, 7, 1, 10)


def test_posix_rule_zone_uses_c_library_names() -> None:
    # Go cannot load such a TZ and falls back to UTC; npd follows the C library (documented).
    with local_zone("EST5EDT4,M3.2.0,M11.1.0"):
        assert GoLayout("2006-01-02 15:04:05").parse_ns("2024-07-01 12:00:00") == utc(2024, 7, 1, 16)
        named = GoLayout("2006-01-02 15:04:05 MST")
        assert named.parse_ns("2024-01-01 12:00:00 EDT") == utc(2024, 1, 1, 16)
        assert named.parse_ns("2024-01-01 12:00:00 PST") == utc(2024, 1, 1, 12)


def test_default_now_is_the_current_time(new_york: None) -> None:
    # A syslog stamp from a minute ago reads as a minute ago, whatever today is.
    then = time.time() - 60
    stamp = time.strftime("%b %e %H:%M:%S", time.localtime(then))
    assert GoLayout("Jan _2 15:04:05").parse(stamp) == pytest.approx(then, abs=1.0)


def test_repr_and_layout() -> None:
    parser = GoLayout("Jan _2 15:04:05")
    assert parser.layout == "Jan _2 15:04:05"
    assert repr(parser) == "GoLayout('Jan _2 15:04:05')"


# --- Cross-check against real Go -------------------------------------------------------------------

GO_LAYOUTS = [
    # The time package's constants.
    "01/02 03:04:05PM '06 -0700",
    "Mon Jan _2 15:04:05 2006",
    "Mon Jan _2 15:04:05 MST 2006",
    "Mon Jan 02 15:04:05 -0700 2006",
    "02 Jan 06 15:04 MST",
    "02 Jan 06 15:04 -0700",
    "Monday, 02-Jan-06 15:04:05 MST",
    "Mon, 02 Jan 2006 15:04:05 MST",
    "Mon, 02 Jan 2006 15:04:05 -0700",
    "2006-01-02T15:04:05Z07:00",
    "2006-01-02T15:04:05.999999999Z07:00",
    "3:04PM",
    "Jan _2 15:04:05",
    "Jan _2 15:04:05.000",
    "Jan _2 15:04:05.000000",
    "Jan _2 15:04:05.000000000",
    "2006-01-02 15:04:05",
    "2006-01-02",
    "15:04:05",
    # Layouts from real monitor configurations.
    "2006/01/02 15:04:05",
    "2006-01-02T15:04:05.000000-0700",
    "2006-01-02T15:04:05.000000000Z07:00",
    # Every other element, in odd company.
    "January 2, 2006 3:04:05.999 pm MST",
    "Monday 02-Jan-06 15:04:05.000 Z07",
    "__2 2006 15:04:05,000000 -07:00:00",
    "002/2006 15h04m05s Z070000",
    "2006-1-2 3:4:5 PM -070000",
    "_2 Jan 2006 15:04:05 Z07:00:00",
    "2006.01.02 15:04:05.0",
    "[Jan _2 15:04:05]",
    "Mon Jan  2 15:04:05 -07 2006",
    "15:04:05.999999999",
    "2006-01-02 15:04:05.00 MST",
    "06 Jan 2 03:04:05 pm",
    "Jan _2 __2 15:04:05,999",
    "2006-01-02T15:04:05-07:00",
    "Mon, 2 Jan 2006 15:04:05 Z0700",
]

# Elements and separators that random layouts are made of.
LAYOUT_TOKENS = [
    "January", "Jan", "1", "01", "Monday", "Mon", "2", "_2", "02", "__2", "002", "15", "3", "03", "4",
    "04", "5", "05", "2006", "06", "PM", "pm", "MST", "Z0700", "Z07:00", "Z07", "Z070000", "Z07:00:00",
    "-0700", "-07:00", "-07", "-070000", "-07:00:00", ".0", ".000", ".9", ".999999", ",000", ",99",
    " ", " ", "  ", ":", "-", "/", "T", "x", "é", ".", ",",
]  # fmt: skip

CORRUPTION_CHARS = "0123456789 :.,-+ZTAPMampJanFebESTGMT_/é\t"


def oracle_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None
    )
    if go is None:
        pytest.skip(
            "Go is not installed (no `go` on PATH or at /usr/local/go/bin/go): no cross-check with Go"
        )
    digest = hashlib.sha256(go.encode())
    for name in sorted(p.name for p in ORACLE_SOURCE.iterdir()):
        digest.update(name.encode() + b"\0" + (ORACLE_SOURCE / name).read_bytes())
    target = Path(tempfile.gettempdir()) / f"npd-gotime-oracle-{digest.hexdigest()[:16]}"
    if target.exists():
        return target
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="", CGO_ENABLED="0")
    if not any(env.get(name) for name in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
        env["GOCACHE"] = str(tmp_path_factory.mktemp("gocache"))
    building = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    subprocess.run(
        [go, "build", "-o", str(building), "."], cwd=ORACLE_SOURCE, env=env, check=True, timeout=300
    )
    os.replace(building, target)  # atomic, so concurrent test runs never see half a binary
    return target


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return oracle_binary(tmp_path_factory)


def ask_go(binary: Path, zone: str, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = "".join(json.dumps(request) + "\n" for request in requests)
    done = subprocess.run(
        [str(binary)], input=lines, capture_output=True, text=True, env=dict(os.environ, TZ=zone), check=True
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == len(requests)
    return answers


def hexed(text: str) -> str:
    return text.encode("utf-8").hex()


def random_layout(rng: random.Random) -> str:
    return "".join(rng.choice(LAYOUT_TOKENS) for _ in range(rng.randint(1, 9)))


def random_instant(rng: random.Random) -> tuple[int, int]:
    roll = rng.random()
    if roll < 0.15:  # around New York's 2024 DST changes
        start = rng.choice((utc(2024, 3, 10, 5), utc(2024, 11, 3, 4)))
        sec = start // 1_000_000_000 + rng.randint(0, 4 * 3600)
    elif roll < 0.2:  # the first and last years Go can read back
        first = utc(1, 1, 1) // 1_000_000_000 - 366 * 86400  # year 0 is a leap year
        sec = rng.choice((first, utc(9999, 1, 1) // 1_000_000_000)) + rng.randint(0, 364 * 86400)
    elif roll < 0.25:  # around New Year
        sec = utc(rng.randint(1990, 2030), 1, 1) // 1_000_000_000 + rng.randint(-86400, 86400)
    else:
        sec = rng.randint(utc(1900, 1, 1), utc(2100, 1, 1)) // 1_000_000_000
    nsec = rng.choice((0, rng.randrange(1_000_000_000), rng.randrange(1000) * 1_000_000))
    return sec, nsec


def random_zone(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("local", "local", "utc", "fixed", "fixed"))
    if kind != "fixed":
        return {"zone": kind, "offset": 0, "name": ""}
    offset = rng.choice((rng.randint(-14 * 4, 14 * 4) * 900, rng.randint(-50000, 50000)))
    return {
        "zone": "fixed",
        "offset": offset,
        "name": rng.choice(("", "", "XYZ", "ABCT", "GMT+3", "EST", "EDT")),
    }


def corrupt(rng: random.Random, text: str) -> str:
    if not text:
        return rng.choice(CORRUPTION_CHARS)
    i = rng.randrange(len(text))
    op = rng.randrange(8)
    if op == 0:
        return text[:i] + text[i + 1 :]
    if op == 1:
        return text[:i] + rng.choice(CORRUPTION_CHARS) + text[i:]
    if op == 2:
        return text[:i] + rng.choice(CORRUPTION_CHARS) + text[i + 1 :]
    if op == 3:
        return text[:i] + text[i] + text[i:]
    if op == 4:
        return text[:i]
    if op == 5:
        return text.swapcase()
    if op == 6:
        return text + rng.choice((" ", "0", "5", ".5", ",123456789012", "Z", "x"))
    digits = [j for j, ch in enumerate(text) if ch.isdigit()]
    if not digits:
        return text[:i] + text[i + 1 :]
    j = rng.choice(digits)
    return text[:j] + rng.choice("0123456789") + text[j + 1 :]


# Hand-picked values that exercise Go's corner cases, for the layouts they concern.
CORNER_CASES = [
    ("Jan _2 15:04:05", "Feb 29 12:00:00"),
    ("Jan _2 15:04:05", "feb 29 12:00:00"),
    ("Jan _2 15:04:05", "Feb 30 12:00:00"),
    ("Jan _2 15:04:05", "Nov  5 03:04:05.123456789012"),
    ("Jan _2 15:04:05", "Nov 5 03:04:05"),
    ("Jan _2 15:04:05", "Nov   5 03:04:05"),
    ("Jan _2 15:04:05", "Nov 5  03:04:05"),
    ("Jan _2 15:04:05", "Nov 05 3:4:5"),
    ("Jan _2 15:04:05", "Nov  5 03:04:05 "),
    ("Jan _2 15:04:05 ", "Nov  5 03:04:05"),
    ("Jan _2 15:04:05", "\u212aov  5 03:04:05"),  # Kelvin sign: no ASCII case folding
    ("Jan _2 15:04:05", "Nov  5 03:04:05\u00e9"),
    ("15:04:05.0000000000x", "12:00:00.123456789\u00e9x"),
    ("15:04:05.0000000000x", "12:00:00.123456789ABx"),
    (".0", ".+"),
    (".00", ".-0"),
    (".000", ".+12"),
    ("06", "+5"),
    ("06", "--"),
    ("2006", "+200"),
    ("05.000", "07.123"),
    ("05 .000", "07.123 .456"),
    ("05 .000", "07 .456"),
    ("15:04:05 MST", "12:00:00 GMT+24"),
    ("15:04:05 MST", "12:00:00 GMT-7"),
    ("15:04:05 MST", "12:00:00 GMT+0003"),
    ("15:04:05 MST", "12:00:00 +24"),
    ("15:04:05 MST", "12:00:00 -5"),
    ("15:04:05 MST", "12:00:00 WITA"),
    ("15:04:05 MST", "12:00:00 ABCDT"),
    ("15:04:05 MST", "12:00:00 ABCDE"),
    ("15:04:05 MST", "12:00:00 ABCDEFT"),
    ("15:04:05 MST", "12:00:00 MeST"),
    ("15:04:05 MST", "12:00:00 UTCX"),
    ("15:04:05 MST", "12:00:00 EST5"),
    ("2006-01-02 15:04:05 MST", "2024-07-01 12:00:00 EST"),
    ("2006-01-02 15:04:05 MST", "2024-01-01 12:00:00 EDT"),
    ("2006-01-02 15:04:05 MST", "1800-01-01 12:00:00 LMT"),
    ("2006-01-02 15:04:05 MST", "2024-01-01 12:00:00 LMT"),
    ("2006-01-02 15:04:05 MST", "1943-06-01 12:00:00 EWT"),
    ("2006-01-02 15:04:05 MST -0700", "2024-07-01 12:00:00 EST -0300"),
    ("2006-01-02 15:04:05", "2024-03-10 02:00:00"),
    ("2006-01-02 15:04:05", "2024-03-10 02:59:59"),
    ("2006-01-02 15:04:05", "2024-03-10 03:00:00"),
    ("2006-01-02 15:04:05", "2024-11-03 00:59:59"),
    ("2006-01-02 15:04:05", "2024-11-03 01:00:00"),
    ("2006-01-02 15:04:05", "2024-11-03 02:00:00"),
    ("2006-01-02 15:04:05", "0000-01-01 00:00:00"),
    ("2006-01-02 15:04:05", "1883-11-18 12:03:57"),
    ("2006-01-02 15:04:05", "9999-12-31 23:59:59"),
    ("2006-01-02T15:04:05Z07:00", "2024-07-01T12:00:00,5Z"),
    ("2006-01-02T15:04:05Z07:00", "2024-07-01T12:00:00+24:00"),
    ("2006-01-02T15:04:05Z07:00", "2024-07-01T1:00:00Z"),
    ("2006-01-02T15:04:05.999999999Z07:00", "2024-07-01T12:00:00.Z"),
    ("-07:00:00", "-00:00:01"),
    ("-07:00:00", "+00:00:60"),
    ("-07:00:00", "+00:00:61"),
    ("Z07", "Z"),
    ("Z07", "+1"),
    ("3:04PM", "0:00AM"),
    ("3:04PM", "12:00AM"),
    ("3 PM PM", "3 PM AM"),
    ("__2", "  1"),
    ("__2", "   1"),
    ("__2 2006", "366 2024"),
    ("__2 2006", "367 2024"),
    ("__2 2006", "0 2024"),
    ("002", "1"),
    ("Jan 002", "Mar 060"),
    ("Jan 002", "Feb 060"),
    ("2 002", "29 060"),
    ("January", "Janu"),
    ("Monday", "Mon"),
    ("Mon", "Monday"),
    ("Month", "Month"),
    ("Janet", "Janet"),
    ("_2006", "_2024"),
    ("2006-01-02", "2024-01-02\n"),
    ("2006-01-02", "\t2024-01-02"),
    ("", " "),
    (" ", ""),
    ("  x", " x"),
    ("x ", "x"),
]


def test_matches_go(oracle: Path, oracle_zone: str) -> None:
    """Go and npd agree on acceptance, error text and instant for hand-picked and generated values."""
    zone = oracle_zone
    rng = random.Random(f"npd-gotime-{zone}")
    layouts = GO_LAYOUTS + [random_layout(rng) for _ in range(60)]

    formats: list[dict[str, Any]] = []
    for layout in layouts:
        for _ in range(8):
            sec, nsec = random_instant(rng)
            formats.append(
                {"op": "format", "layout": hexed(layout), "sec": sec, "nsec": nsec, **random_zone(rng)}
            )
    formatted = ask_go(oracle, zone, formats)

    cases: list[tuple[str, str]] = [(layout, value) for layout, value, _ in ACCEPTED + REJECTED]
    cases += CORNER_CASES
    for request, answer in zip(formats, formatted, strict=True):
        layout = bytes.fromhex(request["layout"]).decode()
        text = bytes.fromhex(answer.get("text", "")).decode()
        cases.append((layout, text))
        cases.append((layout, corrupt(rng, text)))
        cases.append((layout, corrupt(rng, corrupt(rng, text))))

    parsers = {layout: GoLayout(layout) for layout, _ in cases}
    year = 2024  # a leap year, like Go's year 0, so year-less values are accepted alike
    requests = [
        {
            "op": "parse",
            "layout": hexed(layout),
            "value": hexed(value),
            "year": 0 if parsers[layout].has_year else year,
        }
        for layout, value in cases
    ]
    answers = ask_go(oracle, zone, requests)

    mismatches = []
    accepted = 0
    for (layout, value), answer in zip(cases, answers, strict=True):
        parser = parsers[layout]
        try:
            ours: tuple[str, Any] = ("ok", parser.parse_ns(value, year=year))
        except GoParseError as error:
            ours = ("error", str(error))
        if answer["ok"]:
            accepted += 1
            theirs: tuple[str, Any] = ("ok", answer["sec"] * 1_000_000_000 + answer["nsec"])
        else:
            theirs = ("error", answer["err"])
        if ours != theirs:
            mismatches.append(f"{layout!r} {value!r}: npd {ours} Go {theirs}")
        elif ours[0] == "ok" and parser.has_year:
            cached = parser.parse(value)
            # A float keeps microseconds only within a few centuries of 1970.
            if abs(cached - ours[1] / 1e9) > max(1e-6, abs(cached) * 2**-51):
                mismatches.append(f"{layout!r} {value!r}: parse() {cached} parse_ns() {ours[1]}")
        # The regex fast path must take every value Go accepts (or it costs speed) and read the
        # same fields as the port of Go's parse (or it costs correctness).
        fast = parser._fast
        if fast is not None:
            raw = value.encode()
            quick = fast.parse(raw)
            if answer["ok"] and quick is None:
                mismatches.append(f"{layout!r} {value!r}: the fast path missed it")
            if quick is not None and quick != parser._port(raw):
                mismatches.append(f"{layout!r} {value!r}: fast path {quick} port {parser._port(raw)}")
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ:\n" + "\n".join(mismatches[:40])
    # The generated values must exercise both outcomes in earnest.
    assert len(cases) > 1500
    assert accepted > 400
    assert len(cases) - accepted > 400
