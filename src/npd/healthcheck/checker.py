"""One run of the health checker: check, count log patterns, repair, and what to print and exit with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from npd.healthcheck.options import Component, HealthOptions
from npd.healthcheck.outcome import CheckError, Finding, unhealthy
from npd.healthcheck.repair import repair
from npd.healthcheck.service import ServiceError, unit_uptime

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1
EXIT_ERROR = 2


@dataclass(slots=True)
class Report:
    """The run's result: exit status, the stdout line, and stderr lines (events first, then warnings)."""

    code: int
    line: str
    stderr: list[str] = field(default_factory=list)


def check_component(options: HealthOptions) -> Finding:
    """The component's own check, within ``--health-check-timeout``."""
    timeout = options.health_check_timeout
    endpoints = options.endpoints
    # Imported per component: the CRI check loads grpc, which the others do not need.
    if options.component is Component.CRI:
        from npd.healthcheck.cri import check_cri  # noqa: PLC0415

        return check_cri(options.cri_socket, options.cri_timeout, timeout)
    from npd.healthcheck import httpcheck  # noqa: PLC0415

    if options.component is Component.KUBELET:
        return httpcheck.check_kubelet(endpoints, timeout)
    if options.component is Component.KUBE_PROXY:
        return httpcheck.check_kube_proxy(endpoints, timeout)
    return httpcheck.check_docker(endpoints, timeout)


def check_log_patterns(options: HealthOptions, *, now: float | None = None) -> Finding:
    """Whether the unit logged a ``--log-pattern`` its count of times since it started (or the loopback).

    Raises :class:`CheckError` when the unit's start or the journal cannot be read.
    """
    if not options.log_patterns:
        return Finding(True)
    from npd.healthcheck.journal import pattern_findings, unit_messages  # noqa: PLC0415

    now = time.time() if now is None else now
    try:
        uptime = unit_uptime(options.service)
    except ServiceError as exc:
        raise CheckError(str(exc)) from None
    window = options.loopback if 0 < options.loopback < uptime else uptime
    found = pattern_findings(
        unit_messages(options.service, now - window, options.journal_path), options.log_patterns
    )
    return unhealthy(", ".join(found)) if found else Finding(True)


def run_check(options: HealthOptions) -> Report:
    """Check, and repair when unhealthy; never raises for what it checks."""
    component, service = options.component.value, options.service
    finding = check_component(options)
    try:
        logs = check_log_patterns(options)
    except CheckError as exc:
        if finding.healthy:
            return Report(EXIT_ERROR, f"error checking {component} health: {exc}")
        logs = Finding(True)  # the component check alone already decides
    reasons = [f.reason for f in (finding, logs) if not f.healthy]
    if not reasons:
        return Report(EXIT_HEALTHY, f"{component}:{service} is healthy")
    why = "; ".join(reasons)
    # Upstream's exact words first: tooling may match them; npd adds why, then what repair did.
    flag = str(options.enable_repair).lower()
    line = f"{component}:{service} was found unhealthy; repair flag : {flag}; {why}"
    report = Report(EXIT_UNHEALTHY, line)
    if options.enable_repair:
        done = repair(options, why)
        if done.note:
            report.line += f"; {done.note}"
        report.stderr.extend(done.events)
        report.stderr.extend(done.warnings)
    return report
