"""What a replay prints: JSON objects, table rows, the summary, and the progress bar."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from npd.problem import ConditionStatus, RuleType
from npd.replay.engine import Finding
from npd.replay.output import InputSummary, JsonLinesWriter, Summary, TableWriter, finding_json
from npd.replay.progress import SHOW_AFTER_S, Progress
from tests.replay.support import kernel_config

WHEN = datetime(2024, 3, 1, 10, 0, 0, 250000, tzinfo=UTC)
TEMPORARY = Finding(
    "kern.log", 3, 3, WHEN, "kernel-monitor", RuleType.TEMPORARY, "OOMKilling", "", None, "oom\nkill"
)
PERMANENT = Finding(
    "kern.log", 7, 9, WHEN, "kernel-monitor", RuleType.PERMANENT, "DockerHung", "KernelDeadlock",
    ConditionStatus.TRUE, "task docker:1 blocked " + "x" * 200,
)  # fmt: skip


def test_json_objects_have_exactly_the_documented_keys() -> None:
    assert finding_json(TEMPORARY) == {
        "input": "kern.log",
        "first_line": 3,
        "last_line": 3,
        "timestamp": "2024-03-01T10:00:00.25Z",
        "monitor": "kernel-monitor",
        "type": "temporary",
        "reason": "OOMKilling",
        "condition": "",
        "message": "oom\nkill",
    }
    assert finding_json(PERMANENT)["status"] == "True"
    stream = io.StringIO()
    JsonLinesWriter(stream).write([TEMPORARY, PERMANENT])
    assert [json.loads(line)["first_line"] for line in stream.getvalue().splitlines()] == [3, 7]


def test_table_rows_fit_a_terminal_and_stay_on_one_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    writer = TableWriter(stream, [kernel_config(tmp_path)], ["kern.log"], width=140)
    writer.write([TEMPORARY])
    writer.write([PERMANENT])
    header, first, second = stream.getvalue().splitlines()
    assert header.split() == ["LINES", "TIME", "MONITOR", "REASON", "CONDITION", "MESSAGE"]
    assert first.split() == [
        "kern.log:3",
        "2024-03-01T10:00:00Z",
        "kernel-monitor",
        "OOMKilling",
        "-",
        "oom\\nkill",
    ]
    assert second.split()[:5] == ["kern.log:7-9", "2024-03-01T10:00:00Z", "kernel-monitor", "DockerHung",
                                  "KernelDeadlock=True"]  # fmt: skip
    assert len(second) == 140
    assert second.endswith("x…")
    assert first.index("oom") == header.index("MESSAGE")


def test_the_summary_counts_findings_per_reason() -> None:
    summary = Summary()
    summary.add([TEMPORARY, PERMANENT, TEMPORARY])
    summary.inputs.append(InputSummary("kern.log", "syslog", lines=1234, junk=1, findings=3))
    assert summary.total == 3
    assert summary.render().splitlines() == [
        "kern.log (syslog): 1,234 lines, 3 findings; skipped 1 line that is not syslog",
        "Findings by reason (3 findings):",
        "  COUNT  MONITOR         TYPE       REASON      CONDITION",
        "      2  kernel-monitor  temporary  OOMKilling  -",
        "      1  kernel-monitor  permanent  DockerHung  KernelDeadlock=True",
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_waits_for_a_long_replay_then_redraws_at_most_ten_times_a_second() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, interactive=True, clock=clock)
    progress.update("kern.log", 1_000_000, 4_000_000, 10_000)
    assert stream.getvalue() == ""  # too early: small inputs never show a bar
    clock.now += SHOW_AFTER_S
    progress.update("kern.log", 2_000_000, 4_000_000, 500_000)
    assert (
        stream.getvalue()
        == "\r\x1b[Kkern.log [############............]  50% 2.0/4.0 MB, 500,000 lines, 1.00 M lines/s"
    )
    clock.now += 0.05
    progress.update("kern.log", 3_000_000, 4_000_000, 600_000)
    assert stream.getvalue().count("\r") == 1  # not redrawn yet
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_of_a_large_input_shows_at_once_and_counts_lines_over_inputs() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, interactive=False, clock=clock)
    progress.input_done(1_000)
    clock.now += 0.01
    progress.update("-", 64 << 20, None, 1_000)  # a pipe's size is not known: not yet
    progress.update("big.log", 32 << 20, 64 << 20, 1_000)
    progress.update("big.log", 64 << 20, 64 << 20, 1_500)  # within the second: no new line
    clock.now += 1.0
    progress.update("big.log", 64 << 20, 64 << 20, 2_000)
    clock.now += 1.0
    progress.update("-", 64 << 20, None, 3_000)
    assert stream.getvalue().splitlines() == [
        "big.log [############............]  50% 33.6/67.1 MB, 1,000 lines, 200 k lines/s",
        "big.log [########################] 100% 67.1/67.1 MB, 2,000 lines, 3 k lines/s",
        "-: 67.1 MB, 3,000 lines, 2 k lines/s",
    ]
    progress.close()
    assert stream.getvalue().endswith("\n")  # lines, not a bar: nothing to erase


def test_progress_disabled_writes_nothing() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(stream, enabled=False, interactive=True, clock=clock)
    clock.now += 10
    progress.update("kern.log", 1, 2, 3)
    progress.close()
    assert stream.getvalue() == ""
