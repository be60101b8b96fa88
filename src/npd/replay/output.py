"""Writing what a replay found: JSON lines or a table, then a summary per reason."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from npd.config.errors import one_line
from npd.config.logmonitor import LogMonitorConfig
from npd.problem import format_go_time
from npd.replay.engine import Finding


class FindingWriter(Protocol):
    """Where findings go as they are made."""

    def write(self, findings: Sequence[Finding]) -> None:
        """Write ``findings`` (in log order)."""


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding as the JSON object ``--output json`` prints (``status`` only for permanent ones)."""
    out: dict[str, Any] = {
        "input": finding.input,
        "first_line": finding.first_line,
        "last_line": finding.last_line,
        "timestamp": format_go_time(finding.timestamp),
        "monitor": finding.monitor,
        "type": finding.type.value,
        "reason": finding.reason,
        "condition": finding.condition,
        "message": finding.message,
    }
    if finding.status is not None:
        out["status"] = finding.status.value
    return out


class JsonLinesWriter:
    """One JSON object per finding, one per line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, findings: Sequence[Finding]) -> None:
        if findings:
            self._stream.write(
                "".join(json.dumps(finding_json(item), ensure_ascii=False) + "\n" for item in findings)
            )


class TableWriter:
    """A table for people: one row per finding, columns sized from the configs up front.

    Rows are written as findings come, so a long replay shows them at once. ``width`` (the
    terminal's, or ``None`` when not writing to one) cuts long messages to fit.
    """

    def __init__(
        self, stream: TextIO, configs: Sequence[LogMonitorConfig], inputs: Sequence[str], width: int | None
    ) -> None:
        self._stream = stream
        self._width = width
        reasons = [rule.reason for config in configs for rule in config.rules]
        reasons += [condition.reason for config in configs for condition in config.conditions]
        conditions = [f"{condition.type}=False" for config in configs for condition in config.conditions]
        self._columns = (
            max([len("LINES"), *(len(name) + 12 for name in inputs)]),
            len("2006-01-02T15:04:05Z"),
            max([len("MONITOR"), *(len(config.source) for config in configs)]),
            max([len("REASON"), *map(len, reasons)]),
            max([len("CONDITION"), *map(len, conditions)]),
        )
        self._header = False

    def write(self, findings: Sequence[Finding]) -> None:
        if not findings:
            return
        rows = []
        if not self._header:
            self._header = True
            rows.append(self._row(("LINES", "TIME", "MONITOR", "REASON", "CONDITION"), "MESSAGE"))
        for item in findings:
            lines = (
                f"{item.first_line}"
                if item.first_line == item.last_line
                else f"{item.first_line}-{item.last_line}"
            )
            condition = f"{item.condition}={item.status.value}" if item.status is not None else "-"
            cells = (
                f"{item.input}:{lines}",
                format_go_time(item.timestamp.replace(microsecond=0)),
                item.monitor,
                item.reason,
                condition,
            )
            rows.append(self._row(cells, one_line(item.message)))
        self._stream.write("".join(rows))

    def _row(self, cells: tuple[str, ...], message: str) -> str:
        text = "  ".join(cell.ljust(width) for cell, width in zip(cells, self._columns, strict=True))
        if self._width is not None:
            room = max(20, self._width - len(text) - 2)
            if len(message) > room:
                message = message[: room - 1] + "…"
        return f"{text}  {message}\n"


@dataclass
class InputSummary:
    """What was read from one input."""

    name: str
    format: str
    lines: int = 0
    junk: int = 0
    skipped: int = 0
    findings: int = 0
    #: Why the format was chosen, when it was not recognised (read as plain text).
    note: str = ""


@dataclass
class Summary:
    """Findings counted per monitor and reason, and what each input held."""

    inputs: list[InputSummary] = field(default_factory=list)
    counts: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)

    def add(self, findings: Sequence[Finding]) -> None:
        """Count findings."""
        for item in findings:
            condition = f"{item.condition}={item.status.value}" if item.status is not None else ""
            self.counts[(item.monitor, item.type.value, item.reason, condition)] += 1

    @property
    def total(self) -> int:
        """Findings in all."""
        return sum(self.counts.values())

    def render(self) -> str:
        """The summary as text: one line per input, then a count per reason."""
        out = []
        for item in self.inputs:
            read = f"{_count(item.lines, 'line')}, {_count(item.findings, 'finding')}"
            line = f"{item.name} ({item.format}): {read}"
            if item.junk:
                junk = _count(item.junk, "line")
                line += f"; skipped {junk} that {'is' if item.junk == 1 else 'are'} not {item.format}"
            if item.skipped:
                line += f"; skipped {_count(item.skipped, 'record')} without a message"
            if item.note:
                line += f"; {item.note}"
            out.append(one_line(line))
        if not self.counts:
            out.append("No findings.")
            return "\n".join(out) + "\n"
        rows = [("COUNT", "MONITOR", "TYPE", "REASON", "CONDITION")]
        rows += [
            (f"{count:,}", monitor, kind, reason, condition or "-")
            for (monitor, kind, reason, condition), count in sorted(
                self.counts.items(), key=lambda item: (-item[1], item[0])
            )
        ]
        widths = [max(len(row[index]) for row in rows) for index in range(5)]
        out.append(f"Findings by reason ({_count(self.total, 'finding')}):")
        for row in rows:
            cells = [row[0].rjust(widths[0])] + [
                cell.ljust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
            ]
            out.append(one_line("  " + "  ".join(cells).rstrip()))
        return "\n".join(out) + "\n"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
