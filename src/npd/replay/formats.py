"""The recorded-log formats ``npd replay`` reads, and recognising them.

Every reader streams (memory stays bounded on multi-GB inputs), numbers input lines from 1, and
never fails on bad data: a line that is not a record in its format is counted as junk and left
out. Line-oriented formats are read lazily (:mod:`npd.replay.text`); the journal's exports are
parsed as they are read (:mod:`npd.replay.journal`). docs/replay.md describes each format.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from npd.replay.batch import InputBatch, InputRecord
from npd.replay.journal import ExportReader, json_batch
from npd.replay.text import LazyTextBatch, LineFormat, line_blocks
from npd.replay.timestamps import MONTHS, LocalTime, YearlessTime, fraction, utc_offset, utc_seconds
from npd.sources.base import go_trim_space


class Format(enum.StrEnum):
    """A recorded-log format (``--format``)."""

    SYSLOG = "syslog"
    JOURNAL_JSON = "journal-json"
    JOURNAL_EXPORT = "journal-export"
    KMSG = "kmsg"
    DMESG = "dmesg"
    PLAIN = "plain"
    MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What a reader needs besides the bytes.

    ``reference`` is when the input was last written (its modification time; now for a pipe):
    the year of RFC 3164 stamps is inferred from it. ``boot_time`` is the epoch second that
    kmsg and ``dmesg`` times (seconds since boot) count from.
    """

    reference: float
    boot_time: float = 0.0


def _uncaptured(pattern: bytes) -> bytes:
    """``pattern`` without capturing groups (the junk test needs none, and runs on every line).
    Only for this module's patterns, which have no literal parentheses."""
    return re.sub(rb"\((?!\?)", b"(?:", pattern)


def _text(raw: bytes) -> str:
    return go_trim_space(raw.decode("utf-8", errors="replace"))


_MONTH = rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_PRI = rb"(?:<\d{1,3}>)?"
#: RFC 5424: ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG``.
_RFC5424 = rb"<\d{1,3}>1 (\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d) +(\S+)"
#: rsyslog's high-precision format (and ``journalctl -o short-iso``): ISO 8601, then host.
_ISO = _PRI + rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)([.,]\d{1,9})?(Z|[+-]\d\d:?\d\d)? +(\S+)"
#: RFC 3164 (and ``journalctl``'s default output): ``Mar  1 10:00:00 host tag[pid]: message``.
_RFC3164 = _PRI + _MONTH + rb" {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(\.\d{1,9})? +(\S+)"
#: What follows the host: the rest of the line, which always matches, so a line is a record
#: exactly when the header before it does (the header alone is the cheaper junk test).
_REST = rb" ?(.*)"
#: ``tag[pid]: `` at the start of a 3164 or ISO line's rest; a line without one has no tag.
_TAG = re.compile(rb"([^\s\[\]:]+)(?:\[[^\]]*\])?:(?: |$)")
#: RFC 5424's rest: ``APP PROCID MSGID`` then structured data (``-`` or ``[...]`` elements).
_RFC5424_REST = re.compile(rb"(\S+) \S+ \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?", re.DOTALL)
#: The printk time the kernel's lines carry in kern.log: ``[  123.456789] ``.
_PRINTK_TIME = re.compile(rb"\[\s*\d+\.\d+\] ?")


class SyslogFormat(LineFormat):
    """syslog files: RFC 3164, rsyslog's ISO 8601 stamps, RFC 5424; the tag is the identifier."""

    def __init__(self, options: ReadOptions) -> None:
        self._rfc5424 = re.compile(_RFC5424 + _REST)
        self._iso = re.compile(_ISO + _REST)
        self._rfc3164 = re.compile(_RFC3164 + _REST)
        self.shape = re.compile(_uncaptured(b"|".join((_RFC3164, _ISO, _RFC5424))))
        self._local = LocalTime()
        self._yearless = YearlessTime(options.reference, self._local)

    def parse(self, line: bytes, first_line: int, last_line: int) -> InputRecord | None:
        found = self._rfc3164.match(line)
        if found is not None:
            month, day, hour, minute, second, frac, _, rest = found.groups()
            stamp = self._yearless.seconds(MONTHS[month], int(day), int(hour), int(minute), int(second))
            return self._tagged(stamp + fraction(frac), rest, first_line, last_line)
        found = self._iso.match(line)
        if found is not None:
            return self._tagged(self._iso_seconds(found.groups()), found.group(10), first_line, last_line)
        found = self._rfc5424.match(line)
        if found is not None:
            return self._rfc5424_record(found, first_line, last_line)
        return None

    def _iso_seconds(self, groups: tuple[Any, ...]) -> float:
        year, month, day, hour, minute, second = (int(value) for value in groups[:6])
        if groups[7] is None:
            stamp = self._local.seconds(year, month, day, hour, minute, second)
        else:
            stamp = utc_seconds(year, month, day, hour, minute, second) - utc_offset(groups[7])
        return stamp + fraction(groups[6])

    def _tagged(self, stamp: float, rest: bytes, first_line: int, last_line: int) -> InputRecord:
        tag = _TAG.match(rest)
        if tag is None:
            return InputRecord(stamp, _text(rest), first_line, last_line)
        identifier = tag.group(1).decode("utf-8", errors="replace")
        message = rest[tag.end() :]
        kernel = identifier == "kernel"
        if kernel:
            printk = _PRINTK_TIME.match(message)
            if printk is not None:
                message = message[printk.end() :]
        return InputRecord(stamp, _text(message), first_line, last_line, identifier, kernel)

    def _rfc5424_record(self, found: Any, first_line: int, last_line: int) -> InputRecord:
        groups = found.groups()
        year, month, day, hour, minute, second = (int(value) for value in groups[:6])
        stamp = (
            utc_seconds(year, month, day, hour, minute, second) - utc_offset(groups[7]) + fraction(groups[6])
        )
        rest = found.group(10)
        parts = _RFC5424_REST.match(rest)
        if parts is None:
            return InputRecord(stamp, _text(rest), first_line, last_line)
        app = parts.group(1)
        message = (parts.group(2) or b"").removeprefix(b"\xef\xbb\xbf")
        identifier = None if app == b"-" else app.decode("utf-8", errors="replace")
        return InputRecord(stamp, _text(message), first_line, last_line, identifier, identifier == "kernel")


class KmsgFormat(LineFormat):
    """Raw /dev/kmsg records (``PRI,SEQ,USEC,FLAGS;message``, dictionary lines below them)."""

    continuations = True

    def __init__(self, options: ReadOptions) -> None:
        # The header rules of npd.sources.kmsg: three numbers of at most 20 digits, a ``;`` soon.
        header = rb"\d{1,20},\d{1,20},(\d{1,20}),[^;\n]{0,480};"
        self.shape = re.compile(_uncaptured(header))
        self._record = re.compile(header + rb"(.*)")
        self._boot = options.boot_time

    def parse(self, line: bytes, first_line: int, last_line: int) -> InputRecord | None:
        found = self._record.match(line)
        if found is None:
            return None
        usec, message = found.groups()
        return InputRecord(
            self._boot + int(usec) / 1e6, _text(message), first_line, last_line, "kernel", True
        )


_WEEKDAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"


class DmesgFormat(LineFormat):
    """``dmesg`` output: ``[  123.456789] message``, or ``dmesg -T``'s ``[Mon Mar  1 10:00:00 2024]``."""

    def __init__(self, options: ReadOptions) -> None:
        header = (
            # Optional raw priority (dmesg -r) or facility:level (dmesg -x) before the time.
            rb"(?:<\d{1,3}>|[a-z]{1,8} *:[a-z]{1,8} *: )?\[(?: *(\d{1,12})\.(\d{1,9})|"
            + _WEEKDAY
            + rb" "
            + _MONTH
            + rb" {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}))\]"
        )
        self.shape = re.compile(_uncaptured(header))
        self._record = re.compile(header + _REST)
        self._boot = options.boot_time
        self._local = LocalTime()

    def parse(self, line: bytes, first_line: int, last_line: int) -> InputRecord | None:
        found = self._record.match(line)
        if found is None:
            return None
        seconds, frac, month, day, hour, minute, second, year, message = found.groups()
        if seconds is not None:
            stamp = self._boot + int(seconds) + int(frac) / 10.0 ** len(frac)
        else:
            stamp = self._local.seconds(
                int(year), MONTHS[month], int(day), int(hour), int(minute), int(second)
            )
        return InputRecord(stamp, _text(message), first_line, last_line, "kernel", True)


class PlainFormat(LineFormat):
    """One message per line, from nobody in particular; line N is logged N seconds after the epoch."""

    def __init__(self, options: ReadOptions) -> None:
        self.shape = re.compile(rb"[^\S\n]*\S")

    def parse(self, line: bytes, first_line: int, last_line: int) -> InputRecord | None:
        if self.shape.match(line) is None:
            return None
        return InputRecord(float(first_line), _text(line), first_line, last_line)


#: A kernel line pasted from a syslog file without its header: ``kernel: [  1.234] message``.
_KERNEL_TAG = re.compile(rb"kernel: ?")


class MixedFormat(LineFormat):
    """Lines pasted together from several sources: each line is read in the first format that
    fits it (syslog, then ``dmesg``), and otherwise as a plain message, after a bare ``kernel:``
    tag and printk time are taken off (the kernel's then). A line without a time of its own is
    given the input's modification time.
    """

    def __init__(self, options: ReadOptions) -> None:
        self.shape = re.compile(rb"[^\S\n]*\S")
        self._formats = (SyslogFormat(options), DmesgFormat(options))
        self._reference = options.reference

    def parse(self, line: bytes, first_line: int, last_line: int) -> InputRecord | None:
        if self.shape.match(line) is None:
            return None
        for fmt in self._formats:
            record = fmt.parse(line, first_line, last_line)
            if record is not None:
                return record
        text = line.lstrip()
        tag = _KERNEL_TAG.match(text)
        if tag is None:
            return InputRecord(self._reference, _text(line), first_line, last_line)
        message = text[tag.end() :]
        printk = _PRINTK_TIME.match(message)
        if printk is not None:
            message = message[printk.end() :]
        return InputRecord(self._reference, _text(message), first_line, last_line, "kernel", True)


_LINE_FORMATS: dict[Format, Callable[[ReadOptions], LineFormat]] = {
    Format.SYSLOG: SyslogFormat,
    Format.KMSG: KmsgFormat,
    Format.DMESG: DmesgFormat,
    Format.PLAIN: PlainFormat,
    Format.MIXED: MixedFormat,
}


def read_batches(chunks: Iterable[bytes], fmt: Format, options: ReadOptions) -> Iterator[InputBatch]:
    """The input's records, in batches, in input order."""
    if fmt is Format.JOURNAL_EXPORT:
        yield from ExportReader().batches(chunks)
        return
    if fmt is Format.JOURNAL_JSON:
        for block, first_line, lines in line_blocks(chunks, continuations=False):
            yield json_batch(block, first_line, lines)
        return
    line_format = _LINE_FORMATS[fmt](options)
    for block, first_line, lines in line_blocks(chunks, line_format.continuations):
        yield LazyTextBatch(block, first_line, lines, line_format)


#: How many non-blank lines from the start of an input decide its format.
_SAMPLE_LINES = 50
#: A syslog or ``dmesg`` input with fewer of its sample lines in that format is taken to be
#: pasted together from several sources. A few stray lines (a cut-off first line, binary junk)
#: do not make a log mixed: they stay junk, and the log keeps its own times.
_MIXED_BELOW = 0.8
_EXPORT_FIELD = re.compile(rb"[A-Za-z0-9_]+=")


def detect(sample: bytes) -> Format | None:
    """The format of an input whose first bytes are ``sample``; ``None`` when no format fits.

    Each format scores the sample lines that are records in it; the best score wins (ties go to
    the more specific format, in the order of :class:`Format`). When the best is syslog or
    ``dmesg`` but a fifth of the lines or more are not, the lines were pasted together from
    several sources: they are read as :attr:`Format.MIXED`, so that no line is lost.
    """
    lines = [line for line in sample.split(b"\n")[: _SAMPLE_LINES * 4] if line.strip()][:_SAMPLE_LINES]
    if not lines:
        return None
    options = ReadOptions(reference=0.0)
    scores = {
        Format.JOURNAL_JSON: sum(1 for line in lines if _is_journal_json(line)),
        Format.JOURNAL_EXPORT: (
            sum(1 for line in lines if _EXPORT_FIELD.match(line))
            if any(line.startswith((b"__CURSOR=", b"__REALTIME_TIMESTAMP=")) for line in lines)
            else 0
        ),
    }
    for fmt in (Format.KMSG, Format.DMESG, Format.SYSLOG):
        shape = _LINE_FORMATS[fmt](options).shape
        scores[fmt] = sum(1 for line in lines if shape.match(line))
    best = max(scores, key=lambda fmt: scores[fmt])  # the first of equal scores
    if best in (Format.SYSLOG, Format.DMESG) and scores[best] < len(lines) * _MIXED_BELOW:
        return Format.MIXED
    return best if scores[best] else None


def _is_journal_json(line: bytes) -> bool:
    if not line.lstrip().startswith(b"{"):
        return False
    try:
        fields = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(fields, dict) and ("__REALTIME_TIMESTAMP" in fields or "MESSAGE" in fields)
