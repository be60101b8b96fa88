"""Nagios plugin output: the message, and performance data parsed into numbers.

The format is the Nagios plugin development guidelines' (docs/plugins.md, "Nagios plugins"):
the first line is ``TEXT | PERFDATA``; a later line with a ``|`` starts more performance data,
which runs from there to the end of the output. A performance data item is
``'label'=value[UOM];[warn];[crit];[min];[max]``, items separated by spaces; a quoted label may
contain spaces, and ``''`` stands for a quote. Whatever does not parse is skipped item by item:
a plugin's output never raises here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from npd.metrics.model import MetricFamily

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
#: The value and its unit: the guidelines name s, ms, us, %, B, KB, MB, GB, TB and c; plugins use
#: others (MiB), so any ASCII letters (and %) are accepted and exported as they are.
_VALUE = re.compile(rf"({_NUMBER})([A-Za-z%]*)")
#: A threshold or bound exported as a number; ranges (``10:20``, ``@10:20``, ``~:5``) are not.
_PLAIN = re.compile(_NUMBER)

#: The threshold kinds, in the order of the fields after the value.
THRESHOLD_KINDS = ("warn", "crit", "min", "max")


@dataclass(frozen=True, slots=True)
class PerfItem:
    """One performance data item; a threshold is ``None`` when absent or not a plain number."""

    label: str
    value: float
    uom: str = ""
    warn: float | None = None
    crit: float | None = None
    min: float | None = None
    max: float | None = None

    def thresholds(self) -> list[tuple[str, float]]:
        """The thresholds that are numbers, as ``(kind, value)``."""
        given = zip(THRESHOLD_KINDS, (self.warn, self.crit, self.min, self.max), strict=True)
        return [(kind, number) for kind, number in given if number is not None]


def split_output(stdout: str, *, truncated: bool = False) -> tuple[str, str]:
    """The message (the first line before ``|``, trimmed) and the performance data text.

    ``truncated`` says the output was cut (the runner keeps its first 4096 bytes): an item the
    cut ran through is dropped rather than exported with a wrong value.
    """
    lines = stdout.strip().split("\n")
    message, _, perf = lines[0].partition("|")
    perf_reaches_end = len(lines) == 1
    for index, line in enumerate(lines[1:], start=1):
        _, bar, after = line.partition("|")
        if bar:
            # Nagios: from the first later line with a "|", everything is performance data.
            perf = " ".join([perf, after, *lines[index + 1 :]])
            perf_reaches_end = True
            break
    if truncated and perf_reaches_end and perf and not perf[-1].isspace():
        perf = perf[: max((perf.rfind(c) for c in " \t\n"), default=-1) + 1]
    return message.strip(), perf


def parse_perfdata(text: str) -> list[PerfItem]:
    """The items of a performance data text; malformed items are skipped, never raised for."""
    items: list[PerfItem] = []
    position, end = 0, len(text)
    while position < end:
        if text[position].isspace():
            position += 1
            continue
        label, position = _label(text, position)
        start = position
        while position < end and not text[position].isspace():
            position += 1
        if label:
            item = _item(label, text[start:position])
            if item is not None:
                items.append(item)
    return items


def _label(text: str, position: int) -> tuple[str | None, int]:
    """The label starting at ``position`` and where its value starts; ``None`` when malformed."""
    end = len(text)
    if text[position] == "'":
        chars: list[str] = []
        at = position + 1
        while at < end:
            if text[at] == "'":
                if at + 1 < end and text[at + 1] == "'":
                    chars.append("'")
                    at += 2
                    continue
                at += 1
                if at < end and text[at] == "=":
                    return "".join(chars), at + 1
                return None, at
            chars.append(text[at])
            at += 1
        return None, end  # no closing quote: nothing after it can be told apart
    at = position
    while at < end and text[at] != "=" and not text[at].isspace():
        at += 1
    if at < end and text[at] == "=" and at > position:
        return text[position:at], at + 1
    return None, at


def _item(label: str, data: str) -> PerfItem | None:
    fields = data.split(";")
    match = _VALUE.fullmatch(fields[0])
    if match is None:
        return None  # includes "U", the guidelines' "value could not be determined"
    value = float(match.group(1))
    if not math.isfinite(value):
        return None
    bounds = [_plain(field) for field in (fields[1:5] + [""] * 4)[:4]]
    return PerfItem(label, value, match.group(2), *bounds)


def _plain(field: str) -> float | None:
    if _PLAIN.fullmatch(field) is None:
        return None
    number = float(field)
    return number if math.isfinite(number) else None


def perfdata_families(series: Iterable[tuple[str, str, PerfItem]]) -> list[MetricFamily]:
    """``npd_plugin_perfdata`` and ``npd_plugin_perfdata_threshold`` for ``(monitor, rule, item)``.

    A series seen twice (two items with one label) keeps the first; empty families are left out.
    """
    values = MetricFamily("npd_plugin_perfdata", "Performance data a Nagios plugin reported.", "gauge")
    thresholds = MetricFamily(
        "npd_plugin_perfdata_threshold",
        "Thresholds and bounds a Nagios plugin reported with its performance data (plain numbers only).",
        "gauge",
    )
    seen: set[tuple[str, str, str]] = set()
    for monitor, rule, item in series:
        if (monitor, rule, item.label) in seen:
            continue
        seen.add((monitor, rule, item.label))
        values.add(item.value, monitor=monitor, rule=rule, label=item.label, uom=item.uom)
        for kind, number in item.thresholds():
            thresholds.add(number, monitor=monitor, rule=rule, label=item.label, kind=kind)
    return [family for family in (values, thresholds) if family.samples]
