"""Go durations: :func:`parse_go_duration` accepts and rejects exactly what ``time.ParseDuration`` does.

Configs (``lookback``, ``timeout``, ``invokeInterval``...) and flags (``--apiserver-wait-timeout``)
hold Go duration strings. The table states Go's answers; the cross-check asks a real Go program
about a few hundred generated strings, valid and invalid, and compares values and messages.
"""

from __future__ import annotations

import math
import random
import re

import pytest

from npd.config.duration import format_go_duration, parse_go_duration
from tests.config.goref import GoReference

MICRO_SIGN = "\u00b5"  # µ, as Go's unit table spells it
GREEK_MU = "\u03bc"  # μ, also accepted by Go

VALID = [
    ("0", 0.0),
    ("+0", 0.0),
    ("-0", 0.0),
    ("0s", 0.0),
    ("5m", 300.0),
    ("1h30m", 5400.0),
    ("1.5h", 5400.0),
    ("300ms", 0.3),
    ("2us", 2e-6),
    (f"2{MICRO_SIGN}s", 2e-6),
    (f"2{GREEK_MU}s", 2e-6),
    ("100ns", 1e-7),
    ("-5m", -300.0),
    ("+5s", 5.0),
    (".5s", 0.5),
    ("5.s", 5.0),
    ("1h1m1s1ms1us1ns", 3661.001001001),
    ("1m30s", 90.0),
    ("30s1m", 90.0),  # units in any order, and repeated
    ("1s1s", 2.0),
    ("0.000000001s", 1e-9),
    ("0.0000000001s", 0.0),  # below a nanosecond: truncated to 0
    ("00000000000000000001s", 1.0),
    ("86400s", 86400.0),
    ("9223372036854775807ns", 9223372036.854775807),
    ("-9223372036854775808ns", -9223372036.854775808),
    ("2562047h47m16.854775807s", 9223372036.854775807),
]

INVALID = [
    ("", 'time: invalid duration ""'),
    ("5", 'time: missing unit in duration "5"'),
    ("00", 'time: missing unit in duration "00"'),
    ("m", 'time: invalid duration "m"'),
    ("5x", 'time: unknown unit "x" in duration "5x"'),
    ("5S", 'time: unknown unit "S" in duration "5S"'),
    ("5sec", 'time: unknown unit "sec" in duration "5sec"'),
    ("5 minutes", 'time: unknown unit " minutes" in duration "5 minutes"'),
    ("1h-5m", 'time: unknown unit "h-" in duration "1h-5m"'),  # a unit runs up to the next digit or dot
    ("1h.5m-", 'time: unknown unit "m-" in duration "1h.5m-"'),
    ("--5m", 'time: invalid duration "--5m"'),
    ("+-5m", 'time: invalid duration "+-5m"'),
    ("-", 'time: invalid duration "-"'),
    ("+", 'time: invalid duration "+"'),
    (".", 'time: invalid duration "."'),
    (".s", 'time: invalid duration ".s"'),
    ("-.s", 'time: invalid duration "-.s"'),
    (" 5m", 'time: invalid duration " 5m"'),
    ("5m ", 'time: unknown unit "m " in duration "5m "'),
    ("1h 30m", 'time: unknown unit "h " in duration "1h 30m"'),
    ("1e3s", 'time: unknown unit "e" in duration "1e3s"'),
    ("0x10s", 'time: unknown unit "x" in duration "0x10s"'),
    ("1.2.3s", 'time: missing unit in duration "1.2.3s"'),
    ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
    ("2562048h", 'time: invalid duration "2562048h"'),
    ("99999999999999999999s", 'time: invalid duration "99999999999999999999s"'),
    ("5000000000m5000000000m", 'time: invalid duration "5000000000m5000000000m"'),
]


@pytest.mark.parametrize(("text", "seconds"), VALID, ids=[text or "empty" for text, _ in VALID])
def test_valid_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds, rel=1e-15, abs=1e-12)


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[text or "empty" for text, _ in INVALID])
def test_invalid_durations_have_go_messages(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_go_duration(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (5, "5s"), (90, "1m30s"), (300, "5m0s"), (5400, "1h30m0s"), (0.5, "0.5s"), (-300, "-5m0s")],
)
def test_format_go_duration(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text
    assert parse_go_duration(text) == seconds


UNITS = ["ns", "us", MICRO_SIGN + "s", GREEK_MU + "s", "ms", "s", "m", "h"]
BAD_UNITS = ["", "x", "S", "H", "sec", "u", " ", "mss", "µ", "ns ", "m-"]


def generated_durations(count: int, seed: int = 20260822) -> list[str]:
    """Strings shaped like durations, mostly valid, with the mistakes people make mixed in."""
    rng = random.Random(seed)

    def number() -> str:
        whole = "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 1, 1, 2, 3, 6, 12, 20])))
        if rng.random() < 0.4:
            frac = "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 1, 2, 9, 12, 25])))
            return f"{whole}.{frac}"
        return whole

    out: list[str] = []
    while len(out) < count:
        sign = rng.choice(["", "", "", "-", "+", "--"])
        parts = []
        for _ in range(rng.randint(1, 4)):
            unit = rng.choice(UNITS) if rng.random() < 0.85 else rng.choice(BAD_UNITS)
            parts.append(number() + unit)
        text = sign + "".join(parts)
        if rng.random() < 0.1 and text:  # a stray character somewhere
            where = rng.randrange(len(text) + 1)
            text = text[:where] + rng.choice(" .-+e_,;") + text[where:]
        if rng.random() < 0.03:
            text = rng.choice(["0", "-0", "+0", "", ".", "0.0", "0.0s"])
        out.append(text)
    return out


def _messages_comparable(text: str) -> bool:
    """Whether npd's message for ``text`` should be Go's, word for word.

    Go quotes non-ASCII and control characters as ``\\xNN``; npd keeps them. And Go notices a
    number too big for 64 bits before it reads the unit after it, so ``99999999999999999999x`` is
    "invalid duration" in Go and "unknown unit" in npd: both reject it, and the difference is
    only which of the two problems is named.
    """
    return (
        text.isascii()
        and text.isprintable()
        and '"' not in text
        and "\\" not in text
        and max(map(len, re.findall(r"[0-9]+", text)), default=0) < 19
    )


def test_cross_check_with_go(go_reference: GoReference) -> None:
    inputs = generated_durations(400)
    inputs += [text for text, _ in VALID] + [text for text, _ in INVALID]
    answers = go_reference.durations(inputs)
    valid = sum(isinstance(answer, int) for answer in answers)
    assert 100 < valid < len(inputs) - 100, "the generator should produce a mix of valid and invalid strings"
    mismatches: list[tuple[str, int | str, float | str]] = []
    compared_messages = 0
    for text, answer in zip(inputs, answers, strict=True):
        try:
            seconds: float | str = parse_go_duration(text)
        except ValueError as exc:
            seconds = str(exc)
        if isinstance(answer, int):
            if isinstance(seconds, str) or not math.isclose(
                seconds, answer / 1e9, rel_tol=1e-12, abs_tol=1.5e-9
            ):
                mismatches.append((text, answer, seconds))
        elif not isinstance(seconds, str):
            mismatches.append((text, answer, seconds))
        elif _messages_comparable(text):
            compared_messages += 1
            if seconds != answer:
                mismatches.append((text, answer, seconds))
    assert mismatches == []
    assert compared_messages > 50
