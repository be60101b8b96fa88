"""The recorded-log readers: records, line numbers, origins and timestamps, junk, recognition."""

from __future__ import annotations

import json
import re
import struct
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from npd.goregex import compile_go
from npd.replay import text
from npd.replay.batch import InputRecord
from npd.replay.engine import ReplayEngine
from npd.replay.formats import Format, ReadOptions, detect, read_batches
from npd.replay.scan import SharedScan
from tests.replay.support import kernel_config


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so that RFC 3164 stamps have known epoch values."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def at(stamp: str) -> float:
    """Epoch seconds of an ISO 8601 time, UTC unless it says otherwise."""
    moment = datetime.fromisoformat(stamp)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def read(
    data: bytes, fmt: Format, *, reference: str = "2024-03-02T00:00:00", boot: float = 0.0, chunk: int = 0
):
    """Every record of ``data`` and the junk count, read as ``fmt``; ``chunk`` splits the input."""
    chunks = [data[index : index + chunk] for index in range(0, len(data), chunk)] if chunk else [data]
    records: list[InputRecord] = []
    junk = skipped = lines = 0
    for batch in read_batches(chunks, fmt, ReadOptions(reference=at(reference), boot_time=boot)):
        records += batch.all()
        junk += batch.junk
        skipped += batch.skipped
        lines += batch.lines
    return records, junk, skipped, lines


def rec(
    stamp: str | float,
    message: str,
    first: int,
    last: int | None = None,
    ident: str | None = None,
    kernel: bool = False,
) -> InputRecord:
    seconds = at(stamp) if isinstance(stamp, str) else stamp
    return InputRecord(seconds, message, first, first if last is None else last, ident, kernel)


SYSLOG = b"""\
Mar  1 09:59:58 node-1 systemd[1]: Started Kubernetes Kubelet.
Mar  1 10:00:01 node-1 kernel: [ 3602.123456] Out of memory: Killed process 1234 (java)
this is not a syslog line

Mar  1 10:00:02 node-1 dockerd[812]: level=error msg="oops"
Mar 01 10:00:03.250000 node-1 kubelet[900]: E0301 PLEG is not healthy
Mar  1 10:00:04 node-1 -- MARK --
<13>Mar  1 10:00:05 node-1 CRON[77]: (root) CMD (run-parts /etc/cron.hourly)
2024-03-01T11:00:06.5+01:00 node-1 containerd[55]: shim disconnected
2024-03-01T10:00:07Z node-1 kernel: [ 3608.000000] EXT4-fs error (device sda1): oops
<34>1 2024-03-01T10:00:08.125Z node-1 kubelet 900 - [meta sequenceId="1" x="a\\]b"] \xef\xbb\xbfNode not ready
<34>1 2024-03-01T10:00:09Z node-1 - - - - no application name
\x00\xff\xfe binary junk
Mar  1 10:00:10 node-1 kernel: no printk time here
"""


MIXED = b"""\
Mar  1 10:00:00 node-1 kernel: [ 1.000000] EXT4-fs error (device sda1): oops
[  123.456789] nvme nvme0: I/O 123 QID 4 timeout, aborting
kernel: [ 99.000000] BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:1234]
NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.
Mar 01 10:00:05 node-1 kubelet[1234]: E0301 PLEG is not healthy

"""


def test_syslog_records_their_tags_times_and_line_numbers() -> None:
    records, junk, skipped, lines = read(SYSLOG, Format.SYSLOG)
    assert records == [
        rec("2024-03-01T09:59:58", "Started Kubernetes Kubelet.", 1, ident="systemd"),
        rec(
            "2024-03-01T10:00:01", "Out of memory: Killed process 1234 (java)", 2, ident="kernel", kernel=True
        ),
        rec("2024-03-01T10:00:02", 'level=error msg="oops"', 5, ident="dockerd"),
        rec("2024-03-01T10:00:03.25", "E0301 PLEG is not healthy", 6, ident="kubelet"),
        rec("2024-03-01T10:00:04", "-- MARK --", 7),  # no tag: nobody in particular
        rec("2024-03-01T10:00:05", "(root) CMD (run-parts /etc/cron.hourly)", 8, ident="CRON"),
        rec("2024-03-01T10:00:06.5", "shim disconnected", 9, ident="containerd"),
        rec("2024-03-01T10:00:07", "EXT4-fs error (device sda1): oops", 10, ident="kernel", kernel=True),
        rec("2024-03-01T10:00:08.125", "Node not ready", 11, ident="kubelet"),
        rec("2024-03-01T10:00:09", "no application name", 12),
        rec("2024-03-01T10:00:10", "no printk time here", 14, ident="kernel", kernel=True),
    ]
    assert (junk, skipped, lines) == (2, 0, 14)  # lines 3 and 13; the empty line 4 is no junk


def test_syslog_years_come_from_when_the_file_was_written_across_new_year() -> None:
    data = b"Dec 31 23:59:59 h kernel: a\nJan  1 00:00:01 h kernel: b\n"
    records, _, _, _ = read(data, Format.SYSLOG, reference="2024-01-01T00:05:00")
    assert [item.timestamp for item in records] == [at("2023-12-31T23:59:59"), at("2024-01-01T00:00:01")]


def test_syslog_stamps_are_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "EST5EDT")
    time.tzset()
    records, _, _, _ = read(b"Mar  1 10:00:00 h kernel: a\n", Format.SYSLOG)
    assert records[0].timestamp == at("2024-03-01T15:00:00")


KMSG = b"""\
 SUBSYSTEM=stray continuation before any record
6,1001,3601000001,-;IPv6: ADDRCONF(NETDEV_CHANGE): veth1: link becomes ready
 SUBSYSTEM=net
 DEVICE=n3
4,1002,3602000000,-,caller=T12;oom-kill:constraint=CONSTRAINT_MEMCG,task=java
garbage line
6,1003,3603000000,-;
3,1004,3606000000,c;INFO: task docker:4321 blocked for more than 120 seconds.\r
 SUBSYSTEM=sched
"""


def test_kmsg_records_span_their_dictionary_lines() -> None:
    boot = at("2024-03-01T09:00:00")
    records, junk, _, lines = read(KMSG, Format.KMSG, boot=boot)
    assert records == [
        rec(
            boot + 3601.000001,
            "IPv6: ADDRCONF(NETDEV_CHANGE): veth1: link becomes ready",
            2,
            4,
            "kernel",
            True,
        ),
        rec(boot + 3602.0, "oom-kill:constraint=CONSTRAINT_MEMCG,task=java", 5, ident="kernel", kernel=True),
        rec(boot + 3603.0, "", 7, ident="kernel", kernel=True),
        rec(boot + 3606.0, "INFO: task docker:4321 blocked for more than 120 seconds.", 8, 9, "kernel", True),
    ]
    assert (junk, lines) == (1, 9)


def test_kmsg_times_count_from_the_epoch_without_a_boot_time() -> None:
    records, _, _, _ = read(b"6,1,2500000,-;hello\n", Format.KMSG)
    assert records[0].timestamp == 2.5


def test_dmesg_uptime_and_wall_clock_stamps() -> None:
    data = (
        b"[    0.000000] Linux version 6.1.0\n"
        b"[Fri Mar  1 10:00:00 2024] EXT4-fs error (device sda1): oops\n"
        b"<6>[   12.500000] raw priority\n"
        b"kern  :info  : [   13.000000] facility and level\n"
        b"not dmesg\n"
    )
    records, junk, _, _ = read(data, Format.DMESG, boot=1000.0)
    assert records == [
        rec(1000.0, "Linux version 6.1.0", 1, ident="kernel", kernel=True),
        rec("2024-03-01T10:00:00", "EXT4-fs error (device sda1): oops", 2, ident="kernel", kernel=True),
        rec(1012.5, "raw priority", 3, ident="kernel", kernel=True),
        rec(1013.0, "facility and level", 4, ident="kernel", kernel=True),
    ]
    assert junk == 1


def test_plain_lines_are_messages_of_unknown_origin_one_second_apart() -> None:
    records, junk, _, _ = read(b"  first  \n\n\t\nthird\n\xffbad utf-8", Format.PLAIN)
    assert records == [rec(1.0, "first", 1), rec(4.0, "third", 4), rec(5.0, "\ufffdbad utf-8", 5)]
    assert junk == 0


def _json_lines(*entries: object) -> bytes:
    return b"".join(
        (entry if isinstance(entry, bytes) else json.dumps(entry).encode()) + b"\n" for entry in entries
    )


def test_journal_json_messages_identifiers_and_the_kernel_transport() -> None:
    hung = "INFO: task docker:1 blocked for more than 120 seconds."
    data = _json_lines(
        {"__REALTIME_TIMESTAMP": "1709287200000000", "_TRANSPORT": "kernel", "SYSLOG_IDENTIFIER": "kernel",
         "MESSAGE": "  Out of memory  "},
        {"__REALTIME_TIMESTAMP": "1709287201000000", "_TRANSPORT": "kernel",
         "MESSAGE": [0xFF, *hung.encode()]},
        b"-- not json --",
        {"__REALTIME_TIMESTAMP": "1709287202000000", "SYSLOG_IDENTIFIER": "kubelet", "MESSAGE": None},
        {"__REALTIME_TIMESTAMP": "1709287203000000", "SYSLOG_IDENTIFIER": ["dockerd", "x"],
         "MESSAGE": ["one", "two"]},
        {"MESSAGE": "no timestamp"},
        b"",
        b"[" * 100_000,
        b'["an array"]',
        {"__REALTIME_TIMESTAMP": 1709287204000000, "MESSAGE": "no identifier", "_TRANSPORT": "stdout"},
    )  # fmt: skip
    records, junk, skipped, lines = read(data, Format.JOURNAL_JSON)
    assert records == [
        rec(1709287200.0, "Out of memory", 1, ident="kernel", kernel=True),
        rec(1709287201.0, "\ufffd" + hung, 2, ident="", kernel=True),
        rec(1709287203.0, "one", 5, ident="dockerd"),
        rec(1709287204.0, "no identifier", 10, ident=""),
    ]
    # Junk: not JSON (line 3), no timestamp (6), nested too deep (8), not an object (9).
    assert (junk, skipped, lines) == (4, 1, 10)


def _export_entry(*fields: tuple[str, str | bytes]) -> bytes:
    out = b""
    for name, value in fields:
        if isinstance(value, str):
            out += f"{name}={value}\n".encode()
        else:
            out += name.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
    return out + b"\n"


def test_journal_export_text_and_binary_fields() -> None:
    binary = b"first line\nsecond line \xff"
    data = (
        _export_entry(
            ("__CURSOR", "s=1;i=1"), ("__REALTIME_TIMESTAMP", "1709287200000000"), ("_TRANSPORT", "kernel"),
            ("SYSLOG_IDENTIFIER", "kernel"), ("MESSAGE", "INFO: task docker:42 blocked"),
        )
        + _export_entry(
            ("__REALTIME_TIMESTAMP", "1709287201000000"), ("SYSLOG_IDENTIFIER", "dockerd"),
            ("MESSAGE", binary), ("MESSAGE", "a second MESSAGE does not count"), ("_PID", "812"),
        )
        # 10 bytes long: the length itself holds a newline byte.
        + _export_entry(("__REALTIME_TIMESTAMP", "1709287202000000"), ("MESSAGE", b"0123456789"))
        + _export_entry(("__REALTIME_TIMESTAMP", "1709287203000000"), ("SYSLOG_IDENTIFIER", "kubelet"))
        + b"just junk\n"
        + _export_entry(("MESSAGE", "no timestamp"))
        + _export_entry(
            ("__REALTIME_TIMESTAMP", "1709287204000000"), ("MESSAGE", "last, no blank line after")
        ).rstrip(b"\n")
    )  # fmt: skip
    records, junk, skipped, lines = read(data, Format.JOURNAL_EXPORT)
    assert records == [
        rec(1709287200.0, "INFO: task docker:42 blocked", 1, 5, "kernel", True),
        # The binary MESSAGE holds a newline: lines 9-11.
        rec(1709287201.0, "first line\nsecond line \ufffd", 7, 13, "dockerd"),
        # The MESSAGE's length holds a newline byte: the field is on lines 16-18.
        rec(1709287202.0, "0123456789", 15, 18, ""),
        rec(1709287204.0, "last, no blank line after", 26, 27, ""),
    ]
    # Line 23 is not a field; the entry of line 24 has no timestamp; that of lines 20-21 no message.
    assert (junk, skipped, lines) == (2, 1, 27)


def test_journal_export_cut_short_in_a_binary_field() -> None:
    whole = _export_entry(("__REALTIME_TIMESTAMP", "1709287200000000"), ("MESSAGE", "ok"))
    cut = _export_entry(("__REALTIME_TIMESTAMP", "1709287201000000"), ("MESSAGE", b"x" * 100))[:-60]
    records, junk, skipped, _ = read(whole + cut, Format.JOURNAL_EXPORT)
    assert [item.message for item in records] == ["ok"]
    assert (junk, skipped) == (1, 1)  # the cut field; the entry it leaves without a message


@pytest.mark.parametrize(("fmt", "data"), [(Format.SYSLOG, SYSLOG), (Format.KMSG, KMSG)])
def test_records_do_not_depend_on_reads_or_blocks(
    monkeypatch: pytest.MonkeyPatch, fmt: Format, data: bytes
) -> None:
    whole = read(data * 20, fmt)
    monkeypatch.setattr(text, "BLOCK_SIZE", 100)  # blocks of a line or two
    for chunk in (1, 7, 64, 1000):
        assert read(data * 20, fmt, chunk=chunk) == whole, chunk


def test_a_kmsg_record_is_never_split_from_its_dictionary_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "BLOCK_SIZE", 10)
    data = b"6,1,1000000,-;first\n SUBSYSTEM=a\n SUBSYSTEM=b\n6,2,2000000,-;second\n DEVICE=c\n"
    blocks = list(text.line_blocks([data[:25], data[25:40], data[40:]], continuations=True))
    assert [(block, first) for block, first, _ in blocks] == [
        (b"6,1,1000000,-;first\n SUBSYSTEM=a\n SUBSYSTEM=b\n", 1),
        (b"6,2,2000000,-;second\n DEVICE=c\n", 4),
    ]


def test_an_overlong_line_is_cut_but_still_counts_as_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "MAX_LINE", 50)
    data = [b"Mar  1 10:00:00 h kernel: " + b"x" * 40, b"y" * 1000, b"\nMar  1 10:00:01 h kernel: next\n"]
    records = [
        record for batch in read_batches(data, Format.SYSLOG, ReadOptions(0.0)) for record in batch.all()
    ]
    assert [(item.first_line, item.message) for item in records] == [(1, "x" * 24), (2, "next")]


def _lazy_batch(data: bytes, fmt: Format) -> text.LazyTextBatch:
    (batch,) = read_batches([data], fmt, ReadOptions(reference=at("2024-03-02T00:00:00")))
    assert isinstance(batch, text.LazyTextBatch)
    return batch


@pytest.mark.parametrize(
    ("fmt", "data"), [(Format.SYSLOG, SYSLOG), (Format.KMSG, KMSG), (Format.PLAIN, SYSLOG)]
)
def test_lazy_candidates_are_the_records_the_prefilter_hits(fmt: Format, data: bytes) -> None:
    prefilter = text_prefilter(r"[a-z]+ (?:not|ready|time)")
    everything = _lazy_batch(data, fmt).all()
    hit = [item for item in everything if prefilter.search(item.message)]
    assert hit
    assert list(_lazy_batch(data, fmt).candidates(prefilter)) == hit
    shared = _lazy_batch(data, fmt)
    other = text_prefilter("Killed")
    shared.share_scan(SharedScan([other, prefilter]))
    assert list(shared.candidates(prefilter)) == hit
    assert list(shared.candidates(other)) == [item for item in everything if "Killed" in item.message]


def text_prefilter(pattern: str) -> Any:
    """A compiled prefilter, as monitors pass them to :meth:`LazyTextBatch.candidates`."""
    return compile_go(pattern, never_capture=True)


@pytest.mark.parametrize(("fmt", "data"), [(Format.SYSLOG, SYSLOG), (Format.KMSG, KMSG)])
def test_lazy_first_last_and_records_before_agree_with_a_full_parse(fmt: Format, data: bytes) -> None:
    everything = _lazy_batch(data, fmt).all()
    batch = _lazy_batch(data, fmt)
    assert (batch.first(), batch.last()) == (everything[0], everything[-1])
    kernel = [item for item in everything if item.kernel]
    newest = kernel[-1]
    assert list(batch.candidates(text_prefilter(re.escape(newest.message)))) == [newest]
    assert batch.routed_before(newest, 2, lambda item: item.kernel, 0) == kernel[-3:-1]
    assert batch.routed_before(newest, 10, lambda item: item.kernel, kernel[-3].first_line) == kernel[-2:-1]
    assert batch.routed_tail(2, lambda item: True) == everything[-2:]


def test_journal_json_lines_are_recognised() -> None:
    assert detect(_json_lines({"__REALTIME_TIMESTAMP": "1", "MESSAGE": "x"})) is Format.JOURNAL_JSON


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (SYSLOG, Format.SYSLOG),
        (KMSG, Format.KMSG),
        (b"[    0.000000] Linux version\n[    0.100000] Command line\n", Format.DMESG),
        (
            _export_entry(("__CURSOR", "s=1"), ("__REALTIME_TIMESTAMP", "1"), ("MESSAGE", "x")),
            Format.JOURNAL_EXPORT,
        ),
        (b"hello\nworld\n", None),
        (b"", None),
        (b"\x00\xff" * 100, None),
        # Mostly syslog, with a partial line and noise around: still syslog.
        (b"ng tail of a line\n" + SYSLOG * 3, Format.SYSLOG),
        # Lines pasted from syslog, dmesg and bare messages: mixed.
        (MIXED, Format.MIXED),
    ],
)
def test_formats_are_recognised_from_the_first_lines(sample: bytes, expected: Format | None) -> None:
    assert detect(sample) is expected


def test_mixed_lines_are_each_read_in_the_format_that_fits_them() -> None:
    records, junk, _, lines = read(MIXED, Format.MIXED, reference="2024-03-02T00:00:00")
    assert records == [
        rec("2024-03-01T10:00:00", "EXT4-fs error (device sda1): oops", 1, ident="kernel", kernel=True),
        rec(123.456789, "nvme nvme0: I/O 123 QID 4 timeout, aborting", 2, ident="kernel", kernel=True),
        # A bare kernel tag: the kernel's, with the time the input was written.
        rec(
            "2024-03-02T00:00:00",
            "BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:1234]",
            3,
            ident="kernel",
            kernel=True,
        ),
        rec(
            "2024-03-02T00:00:00",
            "NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.",
            4,
        ),
        rec("2024-03-01T10:00:05", "E0301 PLEG is not healthy", 5, ident="kubelet"),
    ]
    assert (junk, lines) == (0, 6)


def test_journal_json_lone_surrogates_are_replaced_so_rules_can_run(tmp_path: Path) -> None:
    # JSON can spell a lone surrogate ("\ud800"); RE2 cannot take one, so it must not reach a rule.
    data = (
        b'{"__REALTIME_TIMESTAMP": "1", "SYSLOG_IDENTIFIER": "k\\udc80", '
        + b'"MESSAGE": "Killed process 1 \\ud800"}'
    )
    records, junk, _, _ = read(data, Format.JOURNAL_JSON)
    assert junk == 0
    assert records[0].message.startswith("Killed process 1 \ufffd")
    assert records[0].identifier is not None and records[0].identifier.startswith("k\ufffd")
    rules = [{"type": "temporary", "reason": "OOMKilling", "pattern": r"Killed process \d+ .*"}]
    engine = ReplayEngine([kernel_config(tmp_path, rules=rules)], "log")
    unknown_origin = InputRecord(0.0, records[0].message, 1, 1)
    assert [item.message for item in engine.feed([unknown_origin])] == [records[0].message]


def test_junk_is_judged_line_by_line() -> None:
    # A header cut short before its ";" is junk, even though the next line has one.
    data = b"6,1,1000000,- no semicolon here\n6,2,2000000,-;ok\n   \n\r\nplain junk\n"
    records, junk, _, lines = read(data, Format.KMSG)
    assert [(item.first_line, item.message) for item in records] == [(2, "ok")]
    assert (junk, lines) == (2, 5)
