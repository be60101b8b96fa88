"""Line-oriented inputs: blocks of whole lines, parsed lazily into records.

A block is a few MiB of complete lines with the number of its first line. Most monitors only
ask a block for the lines their prefilter hits (:meth:`LazyTextBatch.candidates`), so most
lines of a large log are never parsed into records; the line numbers of those that are come
from counting newlines, in C. That is what makes replaying a kern.log about as fast as the
daemon reads one (docs/performance.md).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from npd.replay.batch import InputBatch, InputRecord
from npd.sources.base import prefilter_lines, valid_utf8

#: How much text a block holds: large enough that per-block costs vanish, small enough to keep
#: memory bounded on multi-GB inputs.
BLOCK_SIZE = 4 << 20
#: A record with more dictionary lines than this is cut (the rest are stray), to bound memory.
_MAX_RECORD = 16 << 20
#: A line a prefilter hit: where it starts and ends, its number, and its record's last line.
_Hit = tuple[int, int, int, int]
#: A line longer than this is cut (its line number still counts): a log line is never that
#: long, and keeping it whole would let one broken line use unbounded memory.
MAX_LINE = 1 << 20


class LineFormat(abc.ABC):
    """How one line-oriented log format turns lines into records.

    ``shape`` is the regex (on bytes) a line must match from its start to be a record: lines
    it matches are records, other lines that are not blank are junk, so the junk count does not
    depend on which lines were parsed. It must not match across a newline. With
    ``continuations``, lines starting with a space belong to the record above them (kmsg's
    dictionary lines) and are neither records nor junk.
    """

    shape: Any
    continuations = False
    _junk: Any = None

    def junk_line(self) -> Any:
        """A regex (on bytes) that finds, after its newline, each line that is junk: not blank,
        not a dictionary line (with ``continuations``), and not matching ``shape``."""
        if self._junk is None:
            skip = b" |" if self.continuations else b""
            self._junk = re.compile(rb"\n(?!" + skip + self.shape.pattern + rb")[^\n]*\S")
        return self._junk

    @abc.abstractmethod
    def parse(self, line: bytes, first_line: int, last_line: int) -> InputRecord | None:
        """The record of a line (without its newline), or ``None`` when ``shape`` does not match
        it; a line that matches always gives a record."""


def line_blocks(chunks: Iterable[bytes], continuations: bool) -> Iterator[tuple[bytes, int, int]]:
    """Split raw chunks into blocks of whole lines: ``(block, number of its first line, lines)``.

    Every block ends with a newline (one is added after a last line without). With
    ``continuations``, a block never ends in the middle of a record: it is cut before the last
    line that does not start with a space (a record of more than ``_MAX_RECORD`` bytes is cut).
    """
    pending: list[bytes] = []
    size = 0
    number = 1
    partial = b""
    for chunk in chunks:
        if not chunk:
            continue
        cut = chunk.rfind(b"\n")
        if cut < 0:
            partial = _bounded(partial + chunk)
            continue
        pending.append(partial + chunk[: cut + 1])
        size += len(pending[-1])
        partial = chunk[cut + 1 :]
        if size >= BLOCK_SIZE:
            block = b"".join(pending)
            rest = b""
            if continuations:
                block, rest = _split_at_record(block)
                if not block:
                    if len(rest) < _MAX_RECORD:
                        pending, size = [rest], len(rest)
                        continue  # one record so far: its dictionary lines may go on
                    block, rest = rest, b""
            lines = block.count(b"\n")
            yield block, number, lines
            number += lines
            pending = [rest] if rest else []
            size = len(rest)
    if partial:
        pending.append(_bounded(partial) + b"\n")
    if pending:
        block = b"".join(pending)
        yield block, number, block.count(b"\n")


def _bounded(partial: bytes) -> bytes:
    # Keep the start of an overlong line (what a rule could match) and drop the rest.
    return partial[:MAX_LINE] if len(partial) > MAX_LINE else partial


def _split_at_record(block: bytes) -> tuple[bytes, bytes]:
    """``block`` cut before its last line that starts a record (one not starting with a space);
    uncut when it has none."""
    end = len(block) - 1  # the final newline
    while end > 0:
        start = block.rfind(b"\n", 0, end) + 1
        if block[start : start + 1] != b" ":
            return block[:start], block[start:]
        end = start - 1
    return block, b""


class LazyTextBatch(InputBatch):
    """A block of whole lines in one format, parsed on demand and at most once."""

    parses_lazily = True

    def __init__(self, data: bytes, first_line: int, lines: int, fmt: LineFormat) -> None:
        data = valid_utf8(data)
        self._data = data
        self._first_line = first_line
        self.lines = lines
        self._format = fmt
        self._records: list[InputRecord] | None = None
        self._junk: int | None = None
        #: Where the lines :meth:`candidates` found start, by line number, and their records.
        self._offsets: dict[int, int] = {}
        self._parsed: dict[int, InputRecord | None] = {}

    def all(self) -> list[InputRecord]:
        if self._records is None:
            self._records = list(self._parse_all())
        return self._records

    def _parse_all(self) -> Iterator[InputRecord]:
        lines = self._data.split(b"\n")
        lines.pop()  # the block ends with a newline
        parse = self._format.parse
        number = self._first_line
        if not self._format.continuations:
            for line in lines:
                record = parse(line, number, number)
                if record is not None:
                    yield record
                number += 1
            return
        count = len(lines)
        index = 0
        while index < count:
            end = index + 1
            while end < count and lines[end][:1] == b" ":
                end += 1
            line = lines[index]
            if line[:1] != b" ":
                record = parse(line, number + index, number + end - 1)
                if record is not None:
                    yield record
            index = end

    @property
    def junk(self) -> int:
        if self._junk is None:
            # The regex engine skips from newline to newline in C: only junk lines reach Python.
            # (The newline put in front lets the first line be tested like the others.)
            self._junk = sum(1 for _ in self._format.junk_line().finditer(b"\n" + self._data))
        return self._junk

    def candidates(self, prefilter: Any) -> Iterator[InputRecord]:
        data = self._data
        hits = self._shared_hits(prefilter)
        parsed = self._parsed
        parse = self._format.parse
        for start, stop, number, last in self._scan(prefilter) if hits is None else hits:
            if number in parsed:
                record = parsed[number]
            else:
                record = parsed[number] = parse(data[start:stop], number, last)
            if record is not None:
                yield record

    def _hit_text(self, hit: Any) -> bytes:
        return self._data[hit[0] : hit[1]]

    def _scan(self, prefilter: Any) -> Iterator[_Hit]:
        """The lines ``prefilter`` matches somewhere in: (start, end, number, last line of the record)."""
        data = self._data
        continuations = self._format.continuations
        number = self._first_line
        counted = 0  # newlines before this offset are counted in ``number``
        for start, stop in prefilter_lines(data, prefilter):
            number += data.count(b"\n", counted, start)
            counted = start
            last = number
            if continuations:
                if data[start : start + 1] == b" ":
                    continue  # a dictionary line: no message in it
                pos = stop + 1
                while data[pos : pos + 1] == b" ":
                    pos = data.find(b"\n", pos) + 1
                    last += 1
            self._offsets[number] = start
            yield start, stop, number, last

    def first(self) -> InputRecord | None:
        if self._records is not None:
            return self._records[0] if self._records else None
        data = self._data
        parse = self._format.parse
        continuations = self._format.continuations
        number = self._first_line
        pos = 0
        while pos < len(data):
            stop = data.find(b"\n", pos)
            line = data[pos:stop]
            pos = stop + 1
            last = number
            if continuations:
                if line[:1] == b" ":
                    number += 1
                    continue
                while data[pos : pos + 1] == b" ":
                    pos = data.find(b"\n", pos) + 1
                    last += 1
            record = parse(line, number, last)
            if record is not None:
                return record
            number = last + 1
        return None

    def last(self) -> InputRecord | None:
        if self._records is not None:
            return self._records[-1] if self._records else None
        found = self._backward(len(self._data), self._first_line + self.lines, 1, _anyone, 0)
        return found[0] if found else None

    def routed_before(
        self, record: InputRecord, limit: int, accepts: Callable[[InputRecord], bool], after_line: int
    ) -> list[InputRecord]:
        """Up to ``limit`` records before ``record`` (a record :meth:`candidates` gave) that
        ``accepts`` takes and that start after line ``after_line``; oldest first."""
        offset = self._offsets.get(record.first_line)
        if offset is None:
            offset = self._line_offset(record.first_line)
        return self._backward(offset, record.first_line, limit, accepts, after_line)

    def routed_tail(self, limit: int, accepts: Callable[[InputRecord], bool]) -> list[InputRecord]:
        """The last ``limit`` records of the batch that ``accepts`` takes; oldest first."""
        return self._backward(len(self._data), self._first_line + self.lines, limit, accepts, 0)

    def _line_offset(self, number: int) -> int:
        offset = 0
        for _ in range(number - self._first_line):
            offset = self._data.index(b"\n", offset) + 1
        return offset

    def _backward(
        self,
        offset: int,
        number: int,
        limit: int,
        accepts: Callable[[InputRecord], bool],
        after_line: int,
    ) -> list[InputRecord]:
        """Records ending before byte ``offset`` (where line ``number`` starts), newest first
        while parsing, returned oldest first."""
        data = self._data
        parse = self._format.parse
        continuations = self._format.continuations
        found: list[InputRecord] = []
        stop = offset - 1  # the newline that ends the line being looked at
        number -= 1
        following = 0  # dictionary lines after the line being looked at
        while stop >= 0 and len(found) < limit and number > after_line:
            start = data.rfind(b"\n", 0, stop) + 1
            line = data[start:stop]
            if continuations and line[:1] == b" ":
                following += 1
            else:
                record = parse(line, number, number + following)
                following = 0
                if record is not None and accepts(record):
                    found.append(record)
            number -= 1
            stop = start - 1
        found.reverse()
        return found


def _anyone(record: InputRecord) -> bool:
    return True
