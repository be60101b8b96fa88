"""What the replay readers hand the engine: consecutive records of one input, with line numbers."""

from __future__ import annotations

import abc
import bisect
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from npd.replay.scan import SharedScan
from npd.sources.base import LogBatch, LogRecord


@dataclass(frozen=True, slots=True)
class InputRecord(LogRecord):
    """A log record read from a recorded log, with where it came from.

    ``first_line`` and ``last_line`` are the 1-based numbers of the input lines the record
    spans (a kmsg record with continuation lines, a journal export entry spans several).
    ``identifier`` is the journal's ``SYSLOG_IDENTIFIER`` or the syslog tag; ``None`` when the
    input does not say who wrote the line. ``kernel`` is true for the kernel's own messages.
    """

    first_line: int
    last_line: int
    identifier: str | None = None
    kernel: bool = False


class InputBatch(LogBatch):
    """Consecutive records of one input, in input order.

    :meth:`all` is every record, parsed once and kept, so several monitors share one parse.
    A lazily parsed batch (``parses_lazily``) also answers :meth:`candidates` from its raw
    lines, parsing only the lines a monitor's prefilter hits.
    """

    #: Input lines this batch covers.
    lines: int = 0
    #: The scan shared by all monitors (:meth:`share_scan`), and its hits sorted per prefilter.
    _shared: SharedScan | None = None
    _buckets: list[list[Any]] | None = None

    @abc.abstractmethod
    def all(self) -> list[InputRecord]:
        """Every record of the batch, in order (the same objects on every call)."""

    def records(self) -> Iterator[InputRecord]:
        return iter(self.all())

    def candidates(self, prefilter: Any) -> Iterator[InputRecord]:
        search = prefilter.search
        return (record for record in self.all() if search(record.message) is not None)

    @property
    def junk(self) -> int:
        """Lines (or entries) of this batch that are not records in the input's format."""
        return 0

    @property
    def skipped(self) -> int:
        """Records of this batch left out because they have no message."""
        return 0

    def share_scan(self, scan: SharedScan) -> None:
        """Answer :meth:`candidates` for the prefilters of ``scan`` from one scan of the batch
        (batches that parse lazily; others ignore it)."""
        self._shared = scan
        self._buckets = None

    def _shared_hits(self, prefilter: Any) -> list[Any] | None:
        """The hits of ``prefilter`` from the shared scan; ``None`` when it is not part of one."""
        scan = self._shared
        index = scan.index(prefilter) if scan is not None else None
        if scan is None or index is None:
            return None
        if self._buckets is None:
            buckets: list[list[Any]] = [[] for _ in range(scan.size)]
            for hit in self._scan(scan.union):
                for which in scan.which(self._hit_text(hit)):
                    buckets[which].append(hit)
            self._buckets = buckets
        return self._buckets[index]

    def _scan(self, pattern: Any) -> Iterator[Any]:
        """Where ``pattern`` matches: a hit per line or record. Batches that use
        :meth:`_shared_hits` implement this and :meth:`_hit_text`."""
        raise NotImplementedError

    def _hit_text(self, hit: Any) -> bytes | str:
        """The text of the line or record of a hit from :meth:`_scan`."""
        raise NotImplementedError

    def first(self) -> InputRecord | None:
        """The first record, without parsing the rest when that can be avoided."""
        records = self.all()
        return records[0] if records else None

    def last(self) -> InputRecord | None:
        """The last record, without parsing the rest when that can be avoided."""
        records = self.all()
        return records[-1] if records else None

    def routed_before(
        self, record: InputRecord, limit: int, accepts: Callable[[InputRecord], bool], after_line: int
    ) -> list[InputRecord]:
        """Up to ``limit`` records before ``record`` (one of this batch's) that ``accepts``
        takes and that start after line ``after_line``; oldest first."""
        records = self.all()
        return _newest(
            records,
            bisect.bisect_left(records, record.first_line, key=_first_line),
            limit,
            accepts,
            after_line,
        )

    def routed_tail(self, limit: int, accepts: Callable[[InputRecord], bool]) -> list[InputRecord]:
        """The last ``limit`` records of the batch that ``accepts`` takes; oldest first."""
        records = self.all()
        return _newest(records, len(records), limit, accepts, 0)


def _first_line(record: InputRecord) -> int:
    return record.first_line


def _newest(
    records: list[InputRecord], end: int, limit: int, accepts: Callable[[InputRecord], bool], after_line: int
) -> list[InputRecord]:
    found: list[InputRecord] = []
    index = end
    while index > 0 and len(found) < limit:
        index -= 1
        item = records[index]
        if item.first_line <= after_line:
            break
        if accepts(item):
            found.append(item)
    found.reverse()
    return found


class RecordListBatch(InputBatch):
    """Records that were parsed as they were read (journal JSON and export, or given by a caller).

    :meth:`candidates` still saves work: the messages are scanned as one text, in C, rather
    than tested one by one.
    """

    parses_lazily = True

    def __init__(
        self, records: list[InputRecord], *, lines: int = 0, junk: int = 0, skipped: int = 0
    ) -> None:
        self._records = records
        self.lines = lines
        self._junk = junk
        self._skipped = skipped
        self._text: tuple[bytes, list[int]] | None = None

    def candidates(self, prefilter: Any) -> Iterator[InputRecord]:
        records = self._records
        hits = self._shared_hits(prefilter)
        return (records[index] for index in (self._scan(prefilter) if hits is None else hits))

    def _hit_text(self, hit: int) -> str:
        return self._records[hit].message

    def _scan(self, prefilter: Any) -> Iterator[int]:
        """The indices of the records whose message ``prefilter`` matches somewhere in."""
        if self._text is None:
            # One line per message (a prefilter never matches across a line break), so one
            # search in C finds the next hit, however many records lie before it.
            encoded = [record.message.encode("utf-8", errors="replace") for record in self._records]
            starts = list(itertools.accumulate((len(item) + 1 for item in encoded), initial=0))
            self._text = b"\n".join(encoded) + b"\n", starts
        data, starts = self._text
        search = prefilter.search
        count = len(self._records)
        pos = 0
        while pos < len(data):
            found = search(data, pos)
            if found is None:
                return
            index = bisect.bisect_right(starts, found.start()) - 1
            if index >= count:
                return
            yield index
            pos = starts[index + 1]

    def all(self) -> list[InputRecord]:
        return self._records

    @property
    def junk(self) -> int:
        return self._junk

    @property
    def skipped(self) -> int:
        return self._skipped
