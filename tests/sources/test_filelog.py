"""The filelog source: upstream's translator, the start filter, lazy candidates, and following a file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import re2

from npd.config.logmonitor import FilelogFormat
from npd.goregex import compile_go
from npd.sources.base import SourceHealth
from npd.sources.filelog import FileChunkBatch, FileLogSource, LineParser

KERN = FilelogFormat(timestamp="^.{15}", message="kernel: \\[.*\\] (.*)", timestamp_format="Jan _2 15:04:05")
DOCKER = FilelogFormat(
    timestamp='^time="(\\S*)"',
    message='msg="([^\\n]*)"',
    timestamp_format="2006-01-02T15:04:05.999999999Z07:00",
)


def health() -> SourceHealth:
    return SourceHealth(kind="filelog", name="test")


def stamp(epoch: float) -> str:
    return time.strftime("%b %e %H:%M:%S", time.localtime(epoch))


def test_translator_uses_the_last_submatch_and_the_go_layout() -> None:
    h = health()
    parser = LineParser(DOCKER, (), None, h)
    record = parser.parse(b'time="2026-01-02T03:04:05.5Z" level=error msg="layer broken" id=7')
    assert record is not None
    assert record.timestamp == 1767323045.5
    assert record.message == "layer broken"


def test_regex_without_groups_yields_the_whole_match() -> None:
    fmt = FilelogFormat(timestamp="^\\S+", message="ERROR.*", timestamp_format="2006-01-02T15:04:05Z07:00")
    record = LineParser(fmt, (), None, health()).parse(b"2026-01-02T03:04:05Z x ERROR disk gone")
    assert record is not None and record.message == "ERROR disk gone"


def test_skip_list_parse_failures_and_start_filter_are_counted() -> None:
    h = health()
    now = time.time()
    parser = LineParser(KERN, (" audit:",), now, h)
    assert parser.parse(f"{stamp(now)} n kernel: [1.0] audit: x".encode()) is None
    assert parser.parse(b"garbage without a timestamp") is None
    assert parser.parse(f"{stamp(now)} n not-a-kernel-line".encode()) is None
    assert parser.parse(f"{stamp(now - 3600)} n kernel: [1.0] old".encode()) is None
    assert (h.skipped, h.parse_failures, h.too_old) == (1, 2, 1)


def test_a_whole_second_stamp_in_the_starts_own_second_is_kept() -> None:
    start = float(int(time.time())) + 0.9
    parser = LineParser(KERN, (), start, health())
    record = parser.parse(f"{stamp(start)} n kernel: [1.0] just after start".encode())
    assert record is not None and record.message == "just after start"
    assert parser.parse(f"{stamp(start - 1)} n kernel: [1.0] a second before".encode()) is None


def test_candidates_parse_only_prefilter_hits_and_sample_the_first_line() -> None:
    h = health()
    now = time.time()
    lines = [f"{stamp(now)} n kernel: [1.0] noise {n}" for n in range(1000)]
    lines[0] = "unparseable first line"
    lines[700] = f"{stamp(now)} n kernel: [1.0] task docker:7 blocked for more than 120 seconds."
    batch = FileChunkBatch(("\n".join(lines) + "\n").encode(), LineParser(KERN, (), None, h), None)
    prefilter = compile_go("task \\w+:\\d+ blocked", never_capture=True)
    found = list(batch.candidates(prefilter))
    assert [r.message for r in found] == ["task docker:7 blocked for more than 120 seconds."]
    assert h.parse_failures == 1, "the sampled first line"
    assert len(list(batch.records())) == 999


def test_invalid_utf8_is_matched_like_the_decoded_message() -> None:
    now = time.time()
    raw = f"{stamp(now)} n kernel: [1.0] bad \xff byte then error\n".encode("latin-1")
    batch = FileChunkBatch(raw, LineParser(KERN, (), None, health()), None)
    prefilter = compile_go("bad . byte", never_capture=True)
    [record] = batch.candidates(prefilter)
    assert re2.search("bad . byte then error", record.message)
    assert "\ufffd" in record.message


def test_source_follows_the_file_and_reports_positions(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    now = time.time()
    log.write_text(f"{stamp(now)} n kernel: [1.0] first\n")

    async def main() -> tuple[list[str], dict[str, object]]:
        source = FileLogSource(
            path=str(log), fmt=KERN, skip_list=(), start=now - 60, position=None, health=health()
        )
        batches = source.batches()
        messages: list[str] = []
        async with asyncio.timeout(5):
            batch = await anext(batches)
            messages += [r.message for r in batch.records()]
            log.write_text(f"{stamp(now)} n kernel: [1.0] first\n{stamp(now)} n kernel: [2.0] second\n")
            batch = await anext(batches)
            messages += [r.message for r in batch.records()]
        await batches.aclose()  # type: ignore[attr-defined]
        assert batch.position is not None
        return messages, batch.position

    messages, position = asyncio.run(main())
    assert messages == ["first", "second"]
    assert position["offset"] == log.stat().st_size
