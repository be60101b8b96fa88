"""What every log source provides: batches of log records, a resumable position, and its health.

A source reads one log (the kernel ring, a journal, a file) and yields :class:`LogBatch` objects.
Each batch carries the position just after its last line; once the monitor's findings for a
batch have been exported, the position is saved, so a restarted daemon resumes there.

Batches may parse lazily: a rule can only fire on a line its prefilter matches, so a monitor
whose rules all look at single lines asks only for :meth:`LogBatch.candidates` and the source
never parses the other lines (see docs/performance.md).
"""

from __future__ import annotations

import abc
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: A source's position, as saved in the state directory: JSON-serialisable, source-specific.
Position = dict[str, Any]


#: Exactly the characters Go's ``unicode.IsSpace`` accepts. Python's ``str.strip()`` would also
#: remove U+001C..U+001F, which Go keeps.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def go_trim_space(text: str) -> str:
    """Go's ``strings.TrimSpace``, which upstream applies to kmsg and journal messages."""
    return text.strip(GO_SPACE)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log entry: when it was logged (seconds since the epoch) and its message text."""

    timestamp: float
    message: str


class LogBatch(abc.ABC):
    """Consecutive log entries from one source.

    ``position`` is where reading resumes after this batch (``None`` when the source cannot
    resume, e.g. a FIFO).
    """

    position: Position | None = None
    #: Whether :meth:`candidates` saves work over :meth:`records` (it parses only the lines
    #: the prefilter hits); batches of already-parsed records leave it false.
    parses_lazily = False

    @abc.abstractmethod
    def records(self) -> Iterator[LogRecord]:
        """Every entry of the batch, in order; entries that fail to parse or are too old are skipped."""

    def candidates(self, prefilter: Any) -> Iterator[LogRecord]:
        """The entries whose message ``prefilter`` matches somewhere, in order.

        ``prefilter`` is a compiled RE2 pattern (:func:`npd.goregex.compile_go`) that never
        matches across a newline. A source may test it on its raw lines instead of the parsed
        messages, because a message is part of its line: a prefilter built from rule patterns
        with their assertions removed matches a line wherever it matches the line's message.
        """
        search = prefilter.search
        for record in self.records():
            if search(record.message) is not None:
                yield record


def valid_utf8(data: bytes) -> bytes:
    """``data`` with invalid UTF-8 replaced by U+FFFD, as decoding would (unchanged when valid).

    RE2 matches "." only against valid UTF-8, while a decoded message has U+FFFD where the bytes
    were invalid; normalising raw chunks makes prefiltering see what the rules see.
    """
    if data.isascii():
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace").encode("utf-8")
    return data


def prefilter_lines(data: bytes, prefilter: Any) -> Iterator[tuple[int, int]]:
    """Where each line of ``data`` that ``prefilter`` matches somewhere in starts and ends.

    The search runs in RE2 over the whole chunk and jumps from hit to hit, so lines without a
    hit cost nothing in Python: this is how lazy batches parse only the lines a rule may fire on.
    """
    search = prefilter.search
    pos = 0
    end = len(data)
    while pos < end:
        found = search(data, pos)
        if found is None:
            return
        hit = found.start()
        start = data.rfind(b"\n", 0, hit) + 1
        stop = data.find(b"\n", hit)
        if stop < 0:
            stop = end
        yield start, stop
        pos = stop + 1


class RecordBatch(LogBatch):
    """A batch of records that were parsed as they were read (kmsg, journald)."""

    def __init__(self, records: list[LogRecord], position: Position | None) -> None:
        self._records = records
        self.position = position

    def records(self) -> Iterator[LogRecord]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


@dataclass
class SourceHealth:
    """A source's own account of how it is doing, read by ``/healthz`` and ``/metrics``.

    Counters only grow. ``alive`` is false while the source cannot read (its log is missing,
    unreadable, or reading failed and is being retried); ``detail`` then says why, and
    ``failing`` tells that apart from a source that is only starting. ``on_change``, when set,
    is called whenever that state changes.
    """

    kind: str
    name: str
    alive: bool = False
    detail: str = "starting"
    lines_read: int = 0
    parse_failures: int = 0
    skipped: int = 0
    too_old: int = 0
    read_errors: int = 0
    overruns: int = 0
    last_read: float | None = None
    failing: bool = False
    extra: dict[str, int] = field(default_factory=dict)
    on_change: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def running(self) -> None:
        """Mark the source as reading normally."""
        self._set(True, "reading")

    def failed(self, detail: str) -> None:
        """Mark the source as unable to read, saying why (a read error, counted)."""
        self.read_errors += 1
        self.waiting(detail)

    def waiting(self, detail: str) -> None:
        """Mark the source as unable to read for a reason that is not an error (its file is absent)."""
        self._set(False, detail)

    def _set(self, alive: bool, detail: str) -> None:
        if alive == self.alive and detail == self.detail:
            return
        self.alive = alive
        self.failing = not alive
        self.detail = detail
        if self.on_change is not None:
            self.on_change()

    def read(self, lines: int) -> None:
        """Account for ``lines`` entries read just now."""
        self.lines_read += lines
        self.last_read = time.time()


class LogSource(abc.ABC):
    """A log reader. :meth:`batches` runs until the task iterating it is cancelled."""

    health: SourceHealth

    @abc.abstractmethod
    def batches(self) -> AsyncIterator[LogBatch]:
        """Yield batches as entries arrive, resuming from the position given at construction."""
