"""Opening what ``npd replay`` reads: files or standard input, gzip-compressed or not."""

from __future__ import annotations

import os
import stat
import sys
import time
import zlib
from collections.abc import Iterator
from typing import BinaryIO

#: Bytes per read: big enough that the per-read cost vanishes.
READ_SIZE = 1 << 20
#: Most bytes one step of decompression may produce, so a small compressed input that expands
#: enormously does not need all that memory at once.
_INFLATE_MAX = 4 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class InputError(Exception):
    """An input cannot be read; the message is one line naming it."""


class Input:
    """One input: a file, or standard input (``-``).

    ``size`` is its size as stored (compressed, for gzip), ``None`` when unknown (a pipe);
    ``consumed`` counts the stored bytes read so far, for progress. ``reference`` is when it
    was last written (its modification time, or now for a pipe).
    """

    def __init__(self, name: str, stream: BinaryIO, *, owned: bool) -> None:
        self.name = name
        self._stream = stream
        self._owned = owned
        self.consumed = 0
        self.compressed = False
        try:
            info = os.fstat(stream.fileno())
        except (OSError, ValueError):
            info = None
        regular = info is not None and stat.S_ISREG(info.st_mode)
        self.size: int | None = info.st_size if info is not None and regular else None
        self.reference = info.st_mtime if info is not None and regular else time.time()

    def close(self) -> None:
        """Close the file (standard input is left open)."""
        if self._owned:
            self._stream.close()

    def chunks(self) -> Iterator[bytes]:
        """The input's bytes, decompressed when it is gzip data; raises :class:`InputError`."""
        raw = self._raw()
        first = next(raw, b"")
        if first.startswith(_GZIP_MAGIC):
            self.compressed = True
            yield from self._gunzip(first, raw)
        elif first:
            yield first
            yield from raw

    def _raw(self) -> Iterator[bytes]:
        read = self._stream.read
        while True:
            try:
                data = read(READ_SIZE)
            except OSError as exc:
                raise InputError(f"{self.name}: {exc.strerror or exc}") from None
            if not data:
                return
            self.consumed += len(data)
            yield data

    def _gunzip(self, first: bytes, raw: Iterator[bytes]) -> Iterator[bytes]:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        started = False
        try:
            for chunk in _prepend(first, raw):
                data = chunk
                while data:
                    started = True
                    out = inflate.decompress(data, _INFLATE_MAX)
                    if out:
                        yield out
                    data = inflate.unconsumed_tail
                    if inflate.eof:
                        # Concatenated gzip members form one stream, as gzip -d reads them.
                        data = inflate.unused_data
                        if not data.strip(b"\0"):
                            return
                        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                        started = False
            if started and not inflate.eof:
                raise InputError(f"{self.name}: compressed data ends too early (a truncated .gz file?)")
        except zlib.error as exc:
            raise InputError(f"{self.name}: not valid gzip data ({exc})") from None


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def open_input(path: str) -> Input:
    """Open ``path`` (``-`` for standard input); raises :class:`InputError`."""
    if path == "-":
        return Input("-", sys.stdin.buffer, owned=False)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by Input.close
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    return Input(path, stream, owned=True)
