"""Go's ``strconv`` parsing, for what upstream reads with it (flags, URI options, JSON numbers)."""

from __future__ import annotations

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}

#: The values of Go's int64.
INT64 = range(-(1 << 63), 1 << 63)


def parse_bool(text: str) -> bool:
    """Go's ``strconv.ParseBool``: exactly its spellings, else ValueError with Go's wording."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def parse_int(text: str) -> int:
    """Go's ``strconv.ParseInt(text, 0, 64)``: base prefixes, a leading 0 is octal, 64-bit range."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not (body.isascii() and body.replace("_", "").isalnum()):
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    try:
        if len(body) > 1 and body[0] == "0" and body[1].isdigit():
            value = int(text.replace("0", "0o", 1), 0)
        else:
            value = int(text, 0)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    if value not in INT64:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value
