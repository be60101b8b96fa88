"""problem_counter / problem_gauge with upstream's names and semantics, and the text format."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from npd.exporters.prometheus import PrometheusExporter
from npd.metrics.exposition import render
from npd.metrics.model import MetricFamily
from npd.problem import Condition, ConditionStatus, Event, ProblemDeclaration, Severity, Status

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def condition(status: ConditionStatus, reason: str) -> Condition:
    return Condition("KernelDeadlock", status, NOW, reason, "m")


def exposition(exporter: PrometheusExporter) -> str:
    return render(exporter.metrics.collect()).decode()


def test_declared_problems_start_at_zero_under_upstream_names() -> None:
    exporter = PrometheusExporter()
    exporter.declare(
        [
            ProblemDeclaration(
                "kernel-monitor", ("OOMKilling", "DockerHung"), (("KernelDeadlock", "DockerHung"),)
            )
        ]
    )
    text = exposition(exporter)
    assert "# TYPE problem_counter counter\n" in text
    assert 'problem_counter{reason="OOMKilling"} 0\n' in text
    assert 'problem_counter{reason="DockerHung"} 0\n' in text
    assert "# TYPE problem_gauge gauge\n" in text
    assert 'problem_gauge{type="KernelDeadlock",reason="DockerHung"} 0\n' in text
    assert "_total" not in text


def test_warning_events_count_and_condition_changes_set_the_gauge() -> None:
    exporter = PrometheusExporter()
    exporter.declare(
        [ProblemDeclaration("k", ("OOMKilling", "DockerHung"), (("KernelDeadlock", "DockerHung"),))]
    )
    initial = Status("k", (), (condition(ConditionStatus.FALSE, "KernelHasNoDeadlock"),))
    oom = Status("k", (Event(Severity.WARN, NOW, "OOMKilling", "x"),), initial.conditions)
    info = Status("k", (Event(Severity.INFO, NOW, "OOMKilling", "x"),), initial.conditions)
    hung = Status(
        "k", (Event(Severity.WARN, NOW, "DockerHung", "x"),), (condition(ConditionStatus.TRUE, "DockerHung"),)
    )
    asyncio.run(exporter.export([initial, oom, oom, info, hung]))
    assert exporter.metrics.counters == {"OOMKilling": 2, "DockerHung": 1}
    assert exporter.metrics.gauges == {("KernelDeadlock", "DockerHung"): 1}
    assert 'problem_gauge{type="KernelDeadlock",reason="DockerHung"} 1' in exposition(exporter)


def test_at_most_one_reason_per_type_is_set() -> None:
    exporter = PrometheusExporter()
    exporter.declare(
        [
            ProblemDeclaration(
                "k", (), (("KernelDeadlock", "DockerHung"), ("KernelDeadlock", "AUFSUmountHung"))
            )
        ]
    )
    first = Status("k", (), (condition(ConditionStatus.FALSE, "KernelHasNoDeadlock"),))
    docker = Status("k", (), (condition(ConditionStatus.TRUE, "DockerHung"),))
    aufs = Status("k", (), (condition(ConditionStatus.TRUE, "AUFSUmountHung"),))
    asyncio.run(exporter.export([first, docker, aufs]))
    assert exporter.metrics.gauges == {
        ("KernelDeadlock", "DockerHung"): 0,
        ("KernelDeadlock", "AUFSUmountHung"): 1,
    }


def test_a_restored_true_condition_sets_its_gauge_at_start() -> None:
    exporter = PrometheusExporter()
    asyncio.run(exporter.export([Status("k", (), (condition(ConditionStatus.TRUE, "DockerHung"),))]))
    assert exporter.metrics.gauges == {("KernelDeadlock", "DockerHung"): 1}


def test_metrics_reporting_off_is_not_counted() -> None:
    exporter = PrometheusExporter()
    quiet = Status("k", (Event(Severity.WARN, NOW, "OOMKilling", "x"),), (), report_metrics=False)
    asyncio.run(exporter.export([quiet]))
    assert exporter.metrics.counters == {}


def test_text_format_escapes_labels_and_help() -> None:
    family = MetricFamily("m", "help with \\ and\nnewline", "gauge")
    family.add(1.5, label='quote " back \\ nl \n')
    family.add(float("nan"), label="x")
    assert render([family]).decode() == (
        "# HELP m help with \\\\ and\\nnewline\n"
        "# TYPE m gauge\n"
        'm{label="quote \\" back \\\\ nl \\n"} 1.5\n'
        'm{label="x"} NaN\n'
    )
