"""The hand-written protobuf reader on CRI responses encoded by hand from the CRI's field numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from npd.healthcheck import protowire
from npd.healthcheck.cri import Condition, sandbox_count, status_conditions


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: bytes | int | bool) -> bytes:
    if isinstance(value, bytes):
        return varint(number << 3 | 2) + varint(len(value)) + value
    return varint(number << 3) + varint(int(value))


def condition(kind: str, status: bool, reason: str = "", message: str = "") -> bytes:
    return field(1, kind.encode()) + field(2, status) + field(3, reason.encode()) + field(4, message.encode())


def test_status_response_conditions() -> None:
    status = field(1, condition("RuntimeReady", True)) + field(
        1, condition("NetworkReady", False, "NetworkPluginNotReady", "cni config uninitialized")
    )
    # info (a map, field 2) and an unknown fixed64 field are skipped.
    response = field(1, status) + field(2, field(1, b"config") + field(2, b"{}")) + b"\x19" + bytes(8)
    assert status_conditions(response) == [
        Condition("RuntimeReady", True, "", ""),
        Condition("NetworkReady", False, "NetworkPluginNotReady", "cni config uninitialized"),
    ]


def test_list_pod_sandbox_response() -> None:
    sandbox = field(1, b"abc123") + field(2, field(1, b"pod") + field(3, b"default"))
    assert sandbox_count(b"") == 0
    assert sandbox_count(field(1, sandbox) + field(1, sandbox)) == 2


@pytest.mark.parametrize("data", [b"\x0a\x05abc", b"\x08", b"\x08\xff", b"\x0b", b"\x09\x00"])
def test_malformed_messages_raise_wire_error(data: bytes) -> None:
    with pytest.raises(protowire.WireError):
        list(protowire.fields(data))


@given(st.lists(st.tuples(st.integers(1, 1000), st.one_of(st.binary(max_size=20), st.integers(0, 2**63)))))
def test_fields_round_trip(items: list[tuple[int, bytes | int]]) -> None:
    encoded = b"".join(field(number, value) for number, value in items)
    assert list(protowire.fields(encoded)) == items
