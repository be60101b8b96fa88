"""Upstream's log buffer, exactly: the reference semantics every faster matcher must equal.

A ring of the last ``size`` messages is joined with newlines (unfilled slots are empty
strings) and a rule's pattern must match up to the end of that text. The matched lines run
from the one holding the start of the match through the newest. This is O(size) per line and
rule; :mod:`npd.monitors.matcher` gets the same answers without joining in the common cases
and is tested against this class.
"""

from __future__ import annotations

from typing import Any

from npd.sources.base import LogRecord


class LogBuffer:
    """A ring of the most recent log records (upstream's ``logBuffer``)."""

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("buffer size must be positive")
        self._size = size
        self._records: list[LogRecord | None] = [None] * size
        self._next = 0

    def push(self, record: LogRecord) -> None:
        """Add the newest record, dropping the oldest when full."""
        self._records[self._next % self._size] = record
        self._next += 1

    def text(self) -> str:
        """The buffered messages, oldest first, joined with newlines (empty strings for unfilled slots)."""
        start = self._next % self._size
        ordered = self._records[start:] + self._records[:start]
        return "\n".join(record.message if record is not None else "" for record in ordered)

    def match(self, anchored: Any) -> list[LogRecord] | None:
        """The records a match of ``anchored`` (a compiled pattern ending in ``\\z``) spans, or ``None``.

        The walk back from the newest line mirrors upstream: it takes lines until their
        cumulative length (each plus its newline) exceeds the length from the match start to
        the end of the text, so it always takes at least the newest line.
        """
        text = self.text()
        found = anchored.search(text)
        if found is None:
            return None
        remaining = len(text) - found.start() - 1
        matched: list[LogRecord] = []
        total = 0
        for back in range(self._size):
            record = self._records[(self._next - 1 - back) % self._size]
            if record is None:
                break
            matched.append(record)
            total += len(record.message) + 1
            if total > remaining:
                break
        matched.reverse()
        return matched
