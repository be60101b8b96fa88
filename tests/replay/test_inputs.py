"""Opening inputs: files, gzip data (whole, concatenated, cut short or corrupt)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from npd.replay import inputs
from npd.replay.inputs import InputError, open_input


def read_all(path: Path) -> bytes:
    source = open_input(str(path))
    try:
        return b"".join(source.chunks())
    finally:
        source.close()


def test_plain_files_are_read_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"\x1f not gzip\n")
    source = open_input(str(path))
    assert b"".join(source.chunks()) == b"\x1f not gzip\n"
    assert (source.size, source.consumed, source.compressed) == (11, 11, False)
    source.close()


def test_gzip_members_are_read_as_one_stream_in_bounded_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs, "READ_SIZE", 7)
    monkeypatch.setattr(inputs, "_INFLATE_MAX", 5)
    path = tmp_path / "log.gz"
    path.write_bytes(gzip.compress(b"first member\n") + gzip.compress(b"second member\n") + b"\0\0\0")
    source = open_input(str(path))
    chunks = list(source.chunks())
    assert b"".join(chunks) == b"first member\nsecond member\n"
    assert max(map(len, chunks)) <= 5
    assert source.compressed
    assert source.consumed == source.size
    source.close()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (gzip.compress(b"x" * 1000)[:-12], "compressed data ends too early"),
        (gzip.compress(b"x" * 1000)[:10] + b"garbage!" * 10, "not valid gzip data"),
    ],
)
def test_broken_gzip_data_is_an_input_error(tmp_path: Path, data: bytes, problem: str) -> None:
    path = tmp_path / "log.gz"
    path.write_bytes(data)
    with pytest.raises(InputError, match=problem) as raised:
        read_all(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_an_input_that_cannot_be_opened_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No such file or directory"):
        open_input(str(tmp_path / "missing"))
