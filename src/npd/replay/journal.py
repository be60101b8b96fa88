"""Journal exports: ``journalctl -o json`` and ``journalctl -o export``.

Both carry what the journald source reads from journal files: ``__REALTIME_TIMESTAMP`` (µs since
the epoch) as the record's time, ``MESSAGE`` (trimmed as Go's ``strings.TrimSpace`` does) and
``SYSLOG_IDENTIFIER``; ``_TRANSPORT=kernel`` marks the kernel's records. A field that repeats
counts with its first value, as ``sd_journal_get_data`` (which the daemon and upstream use)
returns it. An entry without a ``MESSAGE`` (or whose ``MESSAGE`` journalctl left out as too
large, ``null`` in JSON) is skipped; one without a usable timestamp is junk.

The formats are those of https://systemd.io/JOURNAL_EXPORT_FORMATS/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from npd.replay.batch import InputRecord, RecordListBatch
from npd.sources.base import go_trim_space

#: A binary field larger than this is junk: journald refuses fields this large, and reading it
#: would need that much memory.
MAX_BINARY_FIELD = 64 << 20
#: The fields a record is made of; the rest are skipped unread.
_WANTED = frozenset((b"__REALTIME_TIMESTAMP", b"MESSAGE", b"SYSLOG_IDENTIFIER", b"_TRANSPORT"))
_FIELD_NAME = re.compile(rb"[A-Za-z0-9_]{1,256}")


def _first(value: Any) -> Any:
    """The first value of a field that journalctl wrote as an array of values."""
    while isinstance(value, list) and value and not isinstance(value[0], int):
        value = value[0]
    return value


def _text(value: Any) -> str | None:
    """A JSON field's text: a string, or an array of byte values (non-UTF-8 data); else ``None``."""
    value = _first(value)
    if isinstance(value, str):
        return _encodable(value)
    if isinstance(value, list) and all(type(item) is int and 0 <= item <= 255 for item in value):
        return bytes(value).decode("utf-8", errors="replace")
    return None


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (JSON's ``"\\ud800"``) replaced: RE2 cannot match them."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")
    return text


def _microseconds(value: Any) -> int | None:
    value = _first(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


class JournalStats:
    """What a journal reader could not turn into records."""

    def __init__(self) -> None:
        self.junk = 0
        self.skipped = 0


def _record(
    fields: dict[str, Any], first_line: int, last_line: int, stats: JournalStats
) -> InputRecord | None:
    stamp = fields.get("__REALTIME_TIMESTAMP")
    message = fields.get("MESSAGE")
    identifier = fields.get("SYSLOG_IDENTIFIER", "")
    transport = fields.get("_TRANSPORT")
    if (
        type(stamp) is str
        and stamp.isdigit()
        and stamp.isascii()
        and len(stamp) <= 20
        and type(message) is str
        and message.isascii()
        and type(identifier) is str
        and identifier.isascii()
        and (transport is None or type(transport) is str)
    ):
        # The common case, which needs none of the checks below.
        return InputRecord(
            int(stamp) / 1e6,
            go_trim_space(message),
            first_line,
            last_line,
            identifier,
            transport == "kernel" or identifier == "kernel",
        )
    return _any_record(fields, first_line, last_line, stats)


def _any_record(
    fields: dict[str, Any], first_line: int, last_line: int, stats: JournalStats
) -> InputRecord | None:
    usec = _microseconds(fields.get("__REALTIME_TIMESTAMP"))
    if usec is None:
        stats.junk += 1
        return None
    message = _text(fields.get("MESSAGE"))
    if message is None:
        stats.skipped += 1
        return None
    identifier = _text(fields.get("SYSLOG_IDENTIFIER")) or ""
    return InputRecord(
        usec / 1e6,
        go_trim_space(message),
        first_line,
        last_line,
        identifier,
        _text(fields.get("_TRANSPORT")) == "kernel" or identifier == "kernel",
    )


def json_batch(block: bytes, first_line: int, lines: int) -> RecordListBatch:
    """The records of a block of ``journalctl -o json`` lines (one JSON object per line).

    Invalid UTF-8 (which journalctl never writes: it writes such data as arrays of bytes)
    is replaced, as everywhere else.
    """
    stats = JournalStats()
    numbered = [
        (number, line)
        for number, line in enumerate(block.decode("utf-8", errors="replace").split("\n")[:-1], first_line)
        if line and not line.isspace()
    ]
    records: list[InputRecord] = []
    for (number, _), fields in zip(numbered, _parse_lines([line for _, line in numbered]), strict=True):
        if not isinstance(fields, dict):
            stats.junk += 1
            continue
        record = _record(fields, number, number, stats)
        if record is not None:
            records.append(record)
    return RecordListBatch(records, lines=lines, junk=stats.junk, skipped=stats.skipped)


_DECODER = json.JSONDecoder()


def _parse_lines(lines: list[str]) -> Iterator[Any]:
    """Each line's JSON value, ``None`` for a line that is not JSON."""
    decode = _DECODER.decode  # without json.loads's detour through encoding detection
    for line in lines:
        try:
            yield decode(line)
        except (ValueError, RecursionError):  # not JSON, or nested beyond reason
            yield None


class ExportReader:
    """``journalctl -o export``: fields one per line, binary ones length-prefixed, entries
    separated by an empty line. Streams: memory is bounded by the largest field."""

    def __init__(self, batch_records: int = 10_000) -> None:
        self._batch_records = batch_records
        self._stats = JournalStats()
        self._records: list[InputRecord] = []
        self._fields: dict[str, Any] = {}
        self._entry_first = 0  # line of the entry's first field; 0 while no entry is open
        self._entry_last = 0
        self._line = 1  # the line the parse position is on
        self._lines_done = 1  # the line numbers already accounted to batches start here

    def batches(self, chunks: Iterable[bytes]) -> Iterator[RecordListBatch]:
        """Batches of records, as entries complete."""
        buffer = b""
        for chunk in chunks:
            buffer = self._parse(buffer + chunk, final=False)
            if len(buffer) > MAX_BINARY_FIELD + (1 << 20):
                # No field is this long: junk without a line break in sight.
                self._stats.junk += 1
                self._line += buffer.count(b"\n")
                buffer = b""
            if len(self._records) >= self._batch_records:
                yield self._take()
        self._parse(buffer, final=True)
        self._end_entry()
        yield self._take()

    def _take(self) -> RecordListBatch:
        done = self._line  # the lines before the one being parsed are done
        batch = RecordListBatch(
            self._records,
            lines=max(0, done - self._lines_done),
            junk=self._stats.junk,
            skipped=self._stats.skipped,
        )
        self._lines_done = done
        self._records = []
        self._stats = JournalStats()
        return batch

    def _parse(self, data: bytes, final: bool) -> bytes:
        """Consume the complete fields of ``data``; returns the unconsumed rest."""
        pos = 0
        size = len(data)
        while pos < size:
            newline = data.find(b"\n", pos)
            if newline < 0:
                if not final:
                    return data[pos:]
                # The last line, without a line break after it.
                line = data[pos:]
                if b"=" in line:
                    self._field(line, self._line)
                else:
                    self._stats.junk += 1
                self._line += 1
                return b""
            line = data[pos:newline]
            if not line or line == b"\r":
                self._end_entry()
            elif b"=" in line:
                self._field(line, self._line)
            elif _FIELD_NAME.fullmatch(line):
                consumed = self._binary(data, pos, newline, final)
                if consumed is None:
                    return data[pos:]
                pos = consumed
                continue
            else:
                self._stats.junk += 1
            self._line += 1
            pos = newline + 1
        return b""

    def _binary(self, data: bytes, pos: int, newline: int, final: bool) -> int | None:
        """Consume a binary field starting at ``pos``: the offset after it, ``None`` for more data."""
        header_end = newline + 9
        if len(data) < header_end:
            return self._truncated(data, newline, final)
        length = int.from_bytes(data[newline + 1 : header_end], "little")
        end = header_end + length
        if length > MAX_BINARY_FIELD or (len(data) > end and data[end : end + 1] != b"\n"):
            # Not a binary field after all: the name line is junk, and parsing resumes after it.
            self._stats.junk += 1
            self._line += 1
            return newline + 1
        if len(data) < end or (len(data) == end and not final):
            if not final:
                return None
            # Cut short by the end of the input.
            self._stats.junk += 1
            self._line += data.count(b"\n", pos) + 1
            return len(data)
        first = self._line
        self._line += data.count(b"\n", pos, end)
        self._field_value(data[pos:newline], data[header_end:end], first)
        self._line += 1
        return end + 1

    def _truncated(self, data: bytes, newline: int, final: bool) -> int | None:
        if not final:
            return None
        self._stats.junk += 1
        self._line += 1
        return newline + 1

    def _field(self, line: bytes, number: int) -> None:
        name, _, value = line.partition(b"=")
        self._field_value(name, value.removesuffix(b"\r"), number)

    def _field_value(self, name: bytes, value: bytes, first_line: int) -> None:
        if not self._entry_first:
            self._entry_first = first_line
        self._entry_last = self._line
        if name in _WANTED:
            key = name.decode("ascii")
            if key not in self._fields:  # the first value of a repeated field counts
                self._fields[key] = value.decode("utf-8", errors="replace")

    def _end_entry(self) -> None:
        if not self._entry_first:
            return
        record = _record(self._fields, self._entry_first, self._entry_last, self._stats)
        if record is not None:
            self._records.append(record)
        self._fields = {}
        self._entry_first = 0
