"""Just enough of the protobuf wire format to read the few CRI response fields the checker needs.

The CRI messages are tiny and stable; decoding four fields by hand avoids vendoring generated code
(and a protobuf runtime) for them. Unknown fields are skipped, as protobuf readers must.
"""

from __future__ import annotations

from collections.abc import Iterator

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of every field: an int (varint, fixed) or bytes (length-delimited)."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == _VARINT:
            value, pos = _varint(data, pos)
        elif wire_type in (_I64, _I32):
            size = 8 if wire_type == _I64 else 4
            if pos + size > len(data):
                raise WireError("truncated fixed-size field")
            value = int.from_bytes(data[pos : pos + size], "little")
            pos += size
        elif wire_type == _LEN:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise WireError("truncated length-delimited field")
            value = data[pos : pos + size]
            pos += size
        else:
            raise WireError(f"unsupported wire type {wire_type}")
        yield number, value


def submessages(data: bytes, number: int) -> list[bytes]:
    """Every occurrence of length-delimited field ``number`` (a repeated or single message)."""
    return [value for field, value in fields(data) if field == number and isinstance(value, bytes)]


def scalar(data: bytes, number: int, default: int = 0) -> int:
    """The last occurrence of varint field ``number`` (protobuf's rule), or ``default``."""
    found = default
    for field, value in fields(data):
        if field == number and isinstance(value, int):
            found = value
    return found


def text(data: bytes, number: int) -> str:
    """String field ``number``, or "" when absent."""
    found = b""
    for field, value in fields(data):
        if field == number and isinstance(value, bytes):
            found = value
    return found.decode("utf-8", "replace")
