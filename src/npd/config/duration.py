"""Go duration strings (``time.ParseDuration``): ``300ms``, ``5m``, ``1h30m``, ``0``."""

from __future__ import annotations

import re

_UNIT_NANOS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_COMPONENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
_MAX_NANOS = (1 << 63) - 1


def parse_go_duration(text: str) -> float:
    """Parse a Go duration string into seconds.

    Accepts exactly what Go accepts: an optional sign, then one or more decimal numbers each
    followed by a unit (ns, us, µs, ms, s, m, h); the bare ``0`` needs no unit. Raises
    ``ValueError`` with Go's wording otherwise.
    """
    original = text
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    negative = False
    if text[0] in "+-":
        negative = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    total = 0
    pos = 0
    while pos < len(text):
        match = _COMPONENT.match(text, pos)
        assert match is not None  # the pattern can match the empty string
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise ValueError(f'time: invalid duration "{original}"')
        if not unit:
            raise ValueError(f'time: missing unit in duration "{original}"')
        scale = _UNIT_NANOS.get(unit)
        if scale is None:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{original}"')
        nanos = int(whole or "0") * scale
        if frac:
            nanos += int(frac) * scale // (10 ** len(frac))
        total += nanos
        if total > _MAX_NANOS + (1 if negative else 0):
            raise ValueError(f'time: invalid duration "{original}"')
        pos = match.end()
    seconds = total / 1e9
    return -seconds if negative else seconds


def format_go_duration(seconds: float) -> str:
    """Format seconds the way Go's ``Duration.String`` does for whole-millisecond values (``1h30m0s``)."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    remaining = abs(seconds)
    hours, remaining = divmod(remaining, 3600)
    minutes, remaining = divmod(remaining, 60)
    secs = f"{remaining:.9f}".rstrip("0").rstrip(".")
    if hours:
        return f"{sign}{int(hours)}h{int(minutes)}m{secs}s"
    if minutes:
        return f"{sign}{int(minutes)}m{secs}s"
    return f"{sign}{secs}s"
