"""Upstream's problem metrics: ``problem_counter{reason}`` and ``problem_gauge{type,reason}``.

Semantics follow upstream's problem metrics manager: every rule's counter and every permanent
rule's gauge start at zero; each Warning event adds one to its reason's counter; a condition
that changes sets its gauge, first zeroing the gauge of the type's previous reason, so at most
one reason per type is 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from npd.exporters.base import Exporter
from npd.metrics.model import MetricFamily
from npd.problem import ConditionStatus, ProblemDeclaration, Severity, Status


class ProblemMetrics:
    """The counter and gauge values (the model; rendering is elsewhere)."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}
        self.gauges: dict[tuple[str, str], int] = {}
        self._reason_of_type: dict[str, str] = {}

    def increment(self, reason: str, by: int = 1) -> None:
        """Count ``by`` more occurrences of ``reason`` (``by=0`` creates the series)."""
        self.counters[reason] = self.counters.get(reason, 0) + by

    def set_gauge(self, problem_type: str, reason: str, value: bool) -> None:
        """Set the gauge of ``(type, reason)`` after zeroing the type's previous reason."""
        previous = self._reason_of_type.get(problem_type)
        if previous is not None:
            self.gauges[(problem_type, previous)] = 0
        self._reason_of_type[problem_type] = reason
        self.gauges[(problem_type, reason)] = int(value)

    def collect(self) -> list[MetricFamily]:
        """The two families, in upstream's names."""
        counter = MetricFamily(
            "problem_counter", "Number of times a specific type of problem have occurred.", "counter"
        )
        for reason, count in self.counters.items():
            counter.add(count, reason=reason)
        gauge = MetricFamily(
            "problem_gauge", "Whether a specific type of problem is affecting the node or not.", "gauge"
        )
        for (problem_type, reason), value in self.gauges.items():
            gauge.add(value, type=problem_type, reason=reason)
        return [counter, gauge]


class PrometheusExporter(Exporter):
    """Keeps :class:`ProblemMetrics` up to date from the monitors' reports."""

    name = "prometheus"

    def __init__(self) -> None:
        self.metrics = ProblemMetrics()
        self._seen: dict[tuple[str, str], tuple[ConditionStatus, str]] = {}

    def declare(self, declarations: Sequence[ProblemDeclaration]) -> None:
        for declaration in declarations:
            for problem_type, reason in declaration.gauges:
                self.metrics.set_gauge(problem_type, reason, False)
            for reason in declaration.reasons:
                self.metrics.increment(reason, 0)

    async def export(self, statuses: Sequence[Status]) -> None:
        for status in statuses:
            if status.report_metrics:
                self._account(status)

    def _account(self, status: Status) -> None:
        for event in status.events:
            if event.severity is Severity.WARN:
                self.metrics.increment(event.reason)
        for condition in status.conditions:
            key = (status.source, condition.type)
            state = (condition.status, condition.reason)
            previous = self._seen.get(key)
            self._seen[key] = state
            if previous == state:
                continue
            if previous is None and condition.status is not ConditionStatus.TRUE:
                continue  # a monitor's initial defaults create no series (as upstream)
            self.metrics.set_gauge(condition.type, condition.reason, condition.status is ConditionStatus.TRUE)
