"""The Prometheus text exposition format, version 0.0.4."""

from __future__ import annotations

import math
from collections.abc import Iterable

from npd.metrics.model import MetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def render(families: Iterable[MetricFamily]) -> bytes:
    """Render families as the text format; samples are written under the family's own name."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for sample in family.samples:
            if sample.labels:
                labels = ",".join(f'{key}="{_escape_label(value)}"' for key, value in sample.labels)
                lines.append(f"{family.name}{{{labels}}} {_format_value(sample.value)}")
            else:
                lines.append(f"{family.name} {_format_value(sample.value)}")
    lines.append("")
    return "\n".join(lines).encode("utf-8")
