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


def merged(collectors: Iterable[Collector]) -> Collector:
    """One collector whose families hold the samples of all of ``collectors``' same-named families.

    For collectors of different series of the same families (each plugin monitor's perfdata): a
    Prometheus page must list a family once.
    """
    sources = list(collectors)

    def collect() -> list[MetricFamily]:
        families: dict[str, MetricFamily] = {}
        for collector in sources:
            for family in collector():
                into = families.setdefault(family.name, MetricFamily(family.name, family.help, family.type))
                into.samples.extend(family.samples)
        return list(families.values())

    return collect


def first_of_each_name(collectors: Iterable[Collector]) -> Collector:
    """One collector over several that may export the same families: the first of each name wins.

    Upstream accepts several system stats configs, which record into the same metrics; a
    Prometheus page must not list a family twice.
    """

    sources = list(collectors)

    def collect() -> list[MetricFamily]:
        families: dict[str, MetricFamily] = {}
        for collector in sources:
            for family in collector():
                families.setdefault(family.name, family)
        return list(families.values())

    return collect
