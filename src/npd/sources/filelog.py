"""The filelog source: a log file followed across rotation, parsed with the config's regexes.

Each line is split as upstream's translator does: the ``timestamp`` regex finds the time text
(its last submatch), the Go layout ``timestampFormat`` parses it, the ``message`` regex finds
the message (its last submatch). Lines containing a ``skipList`` entry, lines that fail to
parse and lines older than the start time are dropped.

Parsing is lazy: the monitor usually asks only for the lines its prefilter hits
(:meth:`FileChunkBatch.candidates`), and the rest are never parsed. That is what makes npd
read a 140 MB kern.log in about a second; see docs/performance.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

from npd.config.logmonitor import FilelogFormat
from npd.goregex import compile_go
from npd.gotime import GoLayout
from npd.sources.base import (
    LogBatch,
    LogRecord,
    LogSource,
    Position,
    SourceHealth,
    prefilter_lines,
    valid_utf8,
)
from npd.sources.tail import FileTailer

log = logging.getLogger(__name__)


def _last_submatch(found: Any, groups: int) -> str:
    """Go's ``FindStringSubmatch(...)[len-1]``: the last group, or the whole match without groups."""
    text = found.group(groups)
    return text if text is not None else ""


class LineParser:
    """Upstream's filelog translator plus the skip list and the start-time filter."""

    def __init__(
        self, fmt: FilelogFormat, skip_list: tuple[str, ...], start: float | None, health: SourceHealth
    ) -> None:
        self._timestamp = compile_go(fmt.timestamp)
        self._message = compile_go(fmt.message)
        self._layout = GoLayout(fmt.timestamp_format)
        self._skip = skip_list
        self._start = start
        self._health = health

    def parse(self, raw: bytes) -> LogRecord | None:
        """The record for one line (without its newline), or ``None`` if the line is dropped."""
        line = raw.decode("utf-8", errors="replace")
        if self._skip and any(entry in line for entry in self._skip):
            self._health.skipped += 1
            return None
        parsed = self._split(line)
        if parsed is None:
            return None
        timestamp, message = parsed
        if (
            self._start is not None
            and timestamp < self._start
            and not (
                # A whole-second stamp cannot say whether a line of the start's own second came
                # before or after it; keep it rather than lose a line written just after start.
                timestamp.is_integer() and timestamp >= math.floor(self._start)
            )
        ):
            self._health.too_old += 1
            return None
        return LogRecord(timestamp, message)

    def sample(self, raw: bytes) -> None:
        """Parse a line nobody asked for, only so that a format that does not fit the file shows
        up at once in the parse-failure count and the log (lazy batches parse little else)."""
        line = raw.decode("utf-8", errors="replace")
        if not (self._skip and any(entry in line for entry in self._skip)):
            self._split(line)

    def _split(self, line: str) -> tuple[float, str] | None:
        """Upstream's translator: (timestamp, message), or ``None`` (counted and reported)."""
        found = self._timestamp.search(line)
        if found is None:
            self._failed(line, "the timestamp regex does not match")
            return None
        try:
            timestamp = self._layout.parse(_last_submatch(found, self._timestamp.groups))
        except ValueError as exc:
            self._failed(line, str(exc))
            return None
        found = self._message.search(line)
        if found is None:
            self._failed(line, "the message regex does not match")
            return None
        return timestamp, _last_submatch(found, self._message.groups)

    def _failed(self, line: str, why: str) -> None:
        self._health.parse_failures += 1
        failures = self._health.parse_failures
        if failures == 1 or failures % 10_000 == 0:
            log.warning(
                "%s: cannot parse line (%.200s; %d unparseable lines so far): %.200r",
                self._health.name,
                why,
                failures,
                line,
            )


class FileChunkBatch(LogBatch):
    """Complete lines read from a log file in one go, parsed on demand."""

    parses_lazily = True

    def __init__(self, data: bytes, parser: LineParser, position: Position | None) -> None:
        data = valid_utf8(data)
        self._data = data
        self._parser = parser
        self.position = position

    def records(self) -> Iterator[LogRecord]:
        parse = self._parser.parse
        for line in self._data.split(b"\n")[:-1]:
            record = parse(line)
            if record is not None:
                yield record

    def candidates(self, prefilter: Any) -> Iterator[LogRecord]:
        data = self._data
        parse = self._parser.parse
        self._parser.sample(data[: data.find(b"\n")])
        for start, stop in prefilter_lines(data, prefilter):
            record = parse(data[start:stop])
            if record is not None:
                yield record


class FileLogSource(LogSource):
    """Follows ``path`` and yields one lazily parsed batch per chunk the tailer reads."""

    def __init__(
        self,
        *,
        path: str,
        fmt: FilelogFormat,
        skip_list: tuple[str, ...],
        start: float,
        position: Position | None,
        health: SourceHealth,
    ) -> None:
        self.health = health
        # A saved position means every later line is new, whatever its timestamp says.
        self._parser = LineParser(fmt, skip_list, None if position else start, health)
        self._tailer = FileTailer(path, health, position=position)

    async def batches(self) -> AsyncIterator[LogBatch]:
        async for chunk in self._tailer.chunks():
            yield FileChunkBatch(chunk.data, self._parser, chunk.position)
