"""Standalone output: one line per problem on standard output, human-readable or JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import BinaryIO

from npd.exporters.base import Exporter
from npd.problem import Condition, ConditionStatus, Severity, Status, format_go_time

_SEVERITY_WORD = {Severity.WARN: "Warning", Severity.INFO: "Normal"}


class StdoutExporter(Exporter):
    """Prints every event, and in JSON mode every condition change, as it is reported.

    Writes happen in a worker thread so that a stalled reader of stdout (a full pipe) delays
    only this exporter, never the monitors.
    """

    name = "stdout"

    def __init__(self, *, json_lines: bool = False, stream: BinaryIO | None = None) -> None:
        self._json = json_lines
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._conditions: dict[tuple[str, str], Condition] = {}

    async def export(self, statuses: Sequence[Status]) -> None:
        lines = [line for status in statuses for line in self._format(status)]
        if lines:
            await asyncio.to_thread(self._write, "".join(lines).encode("utf-8", errors="replace"))

    def _write(self, data: bytes) -> None:
        try:
            self._stream.write(data)
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            pass  # nobody is reading stdout any more; the other exporters carry on

    def _format(self, status: Status) -> list[str]:
        lines = []
        for event in status.events:
            if self._json:
                record = {
                    "kind": "event",
                    "time": format_go_time(event.timestamp),
                    "source": status.source,
                    "type": _SEVERITY_WORD[event.severity],
                    "reason": event.reason,
                    "message": event.message,
                }
                lines.append(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                lines.append(
                    f"{format_go_time(event.timestamp)} {_SEVERITY_WORD[event.severity]:<7} "
                    f"{status.source} {event.reason}: {_one_line(event.message)}\n"
                )
        for condition in status.conditions:
            key = (status.source, condition.type)
            previous = self._conditions.get(key)
            self._conditions[key] = condition
            changed = previous is not None and (previous.status, previous.reason) != (
                condition.status,
                condition.reason,
            )
            first_problem = previous is None and condition.status is not ConditionStatus.FALSE
            if self._json and (changed or first_problem):
                record = {"kind": "condition", "source": status.source, **condition.to_json()}
                lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        return lines


def _one_line(message: str) -> str:
    return message.replace("\n", "\\n")
