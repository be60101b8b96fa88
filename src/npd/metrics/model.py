"""Metric families and samples, independent of any output format."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

MetricType = Literal["counter", "gauge", "untyped"]
Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """One time series value."""

    labels: Labels
    value: float


@dataclass(slots=True)
class MetricFamily:
    """A named metric with its help text, type and samples."""

    name: str
    help: str
    type: MetricType
    samples: list[Sample] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        """Append a sample; label order is the keyword order."""
        self.samples.append(Sample(tuple(labels.items()), value))


#: A collector is called at scrape time and returns the families it owns.
Collector = Callable[[], Iterable[MetricFamily]]


class Registry:
    """The collectors whose families make up one ``/metrics`` page."""

    def __init__(self) -> None:
        self._collectors: list[Collector] = []

    def register(self, collector: Collector) -> None:
        """Add a collector; its families are rendered in registration order."""
        self._collectors.append(collector)

    def collect(self) -> list[MetricFamily]:
        """Every family of every collector, now."""
        families: list[MetricFamily] = []
        for collector in self._collectors:
            families.extend(collector())
        return families
