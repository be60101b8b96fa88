"""Catalog: kubelet, containerd and docker service failures in systemd's own journal (systemd-monitor).

Lines are PID 1's messages (SYSLOG_IDENTIFIER=systemd). Wordings come from systemd src/core/service.c
and unit.c across versions: 219 (RHEL/CentOS 7: "main process exited", "holdoff time over",
"start request repeated too quickly for X"), 229-237 (Ubuntu 16.04/18.04: "Service hold-off time
over"), 239+ ("Scheduled restart job, restart counter is at N."), 243+ (OOM killer lines) and 250+
(which prints "unit - description" in start/stop lines).
"""

from __future__ import annotations

import pytest

from tests.catalog.harness import bundled, findings, reasons

SYSTEMD = "systemd-monitor.json"

CASES: list[tuple[str, list[str]]] = [
    # Upstream's start events, with the descriptions of GKE/COS, kubeadm's packages and systemd 250+.
    ("Started Kubernetes kubelet.", ["KubeletStart"]),
    ("Started kubelet: The Kubernetes Node Agent.", ["KubeletStart"]),
    # AKS and EKS (AL2023) units say just "Kubelet".
    ("Started Kubelet.", ["KubeletStart"]),
    ("Started kubelet.service - kubelet: The Kubernetes Node Agent.", ["KubeletStart"]),
    ("Starting Docker Application Container Engine...", ["DockerStart"]),
    ("Starting docker.service - Docker Application Container Engine...", ["DockerStart"]),
    ("Starting containerd container runtime...", ["ContainerdStart"]),
    ("Starting containerd.service - containerd container runtime...", ["ContainerdStart"]),
    # The service's process failed (service.c service_sigchld_event / service_enter_dead).
    ("kubelet.service: Main process exited, code=exited, status=1/FAILURE", ["KubeletServiceFailed"]),
    ("kubelet.service: main process exited, code=exited, status=255/n/a", ["KubeletServiceFailed"]),
    ("kubelet.service: Main process exited, code=killed, status=6/ABRT", ["KubeletServiceFailed"]),
    ("kubelet.service: Failed with result 'exit-code'.", ["KubeletServiceFailed"]),
    ("kubelet.service: Service hold-off time over, scheduling restart.", ["KubeletServiceFailed"]),
    ("kubelet.service holdoff time over, scheduling restart.", ["KubeletServiceFailed"]),
    ("Failed to start Kubernetes Kubelet.", ["KubeletServiceFailed"]),
    ("Failed to start Kubelet.", ["KubeletServiceFailed"]),
    ("Failed to start kubelet.service - kubelet: The Kubernetes Node Agent.", ["KubeletServiceFailed"]),
    ("containerd.service: Main process exited, code=dumped, status=11/SEGV", ["ContainerdServiceFailed"]),
    ("containerd.service: Failed with result 'timeout'.", ["ContainerdServiceFailed"]),
    ("Failed to start containerd container runtime.", ["ContainerdServiceFailed"]),
    ("docker.service: Main process exited, code=exited, status=1/FAILURE", ["DockerServiceFailed"]),
    ("docker.service: Control process exited, code=exited, status=1/FAILURE", ["DockerServiceFailed"]),
    ("Failed to start Docker Application Container Engine.", ["DockerServiceFailed"]),
    ("Failed to start docker.service - Docker Application Container Engine.", ["DockerServiceFailed"]),
    # systemd 239+ counts automatic restarts; five or more since the last manual start is a loop.
    ("kubelet.service: Scheduled restart job, restart counter is at 5.", ["FrequentKubeletRestart"]),
    ("kubelet.service: Scheduled restart job, restart counter is at 1234.", ["FrequentKubeletRestart"]),
    ("containerd.service: Scheduled restart job, restart counter is at 12.", ["FrequentContainerdRestart"]),
    ("docker.service: Scheduled restart job, restart counter is at 7.", ["FrequentDockerRestart"]),
    # systemd 243+ (unit.c unit_check_oom, service.c SERVICE_FAILURE_OOM_KILL).
    ("kubelet.service: A process of this unit has been killed by the OOM killer.", ["KubeletOOMKilled"]),
    ("containerd.service: Failed with result 'oom-kill'.", ["ContainerdOOMKilled"]),
    ("docker.service: A process of this unit has been killed by the OOM killer.", ["DockerOOMKilled"]),
]

# systemd gave up: StartLimitBurst restarts within StartLimitIntervalSec.
START_LIMIT_CASES: list[tuple[str, str, str]] = [
    ("kubelet.service: Start request repeated too quickly.", "KubeletStartLimitHit", "KubeletServiceDown"),
    ("start request repeated too quickly for kubelet.service", "KubeletStartLimitHit", "KubeletServiceDown"),
    ("kubelet.service: Failed with result 'start-limit-hit'.", "KubeletStartLimitHit", "KubeletServiceDown"),
    ("kubelet.service: Failed with result 'start-limit'.", "KubeletStartLimitHit", "KubeletServiceDown"),
    (
        "containerd.service: Start request repeated too quickly.",
        "ContainerdStartLimitHit",
        "ContainerdServiceDown",
    ),
    ("start request repeated too quickly for docker.service", "DockerStartLimitHit", "DockerServiceDown"),
    ("docker.service: Failed with result 'start-limit-hit'.", "DockerStartLimitHit", "DockerServiceDown"),
]

NEAR_MISSES = [
    "Stopping Kubernetes Kubelet...",
    "Stopped kubelet: The Kubernetes Node Agent.",
    "kubelet.service: Deactivated successfully.",
    "kubelet.service: Consumed 1min 2.345s CPU time.",
    "kubelet.service: Scheduled restart job, restart counter is at 1.",
    "kubelet.service: Scheduled restart job, restart counter is at 4.",
    "Started containerd container runtime.",
    "Started Docker Application Container Engine.",
    "docker.socket: Failed with result 'service-start-limit-hit'.",
    "Reloading.",
    "kubelet.service: Current command vanished from the unit file, execution of the command list won't be "
    "resumed.",
    "Starting Kubernetes Kubelet...",
    "nginx.service: Main process exited, code=exited, status=1/FAILURE",
    "Failed to start Kubernetes API Server.",
]


@pytest.mark.parametrize(("line", "expected"), CASES, ids=lambda value: str(value)[:70])
def test_service_lines_report_once(line: str, expected: list[str]) -> None:
    assert reasons(SYSTEMD, [line]) == expected


@pytest.mark.parametrize(("line", "reason", "condition"), START_LIMIT_CASES)
def test_start_limit_sets_the_service_down_condition(line: str, reason: str, condition: str) -> None:
    assert [(f.reason, f.condition) for f in findings(SYSTEMD, [line])] == [(reason, condition)]


def test_systemd_219_restart_loop_as_posted_in_bug_reports() -> None:
    # CentOS 7's systemd 219 for a kubelet whose binary is missing (status=203/EXEC): each line of a
    # crash that says the unit failed or is being restarted reports (the exit, the failed state
    # twice, the scheduled restart: pasted reports quote any of them); the start limit then raises
    # the condition.
    crash = [
        "kubelet.service: main process exited, code=exited, status=203/EXEC",
        "Unit kubelet.service entered failed state.",
        "kubelet.service failed.",
        "kubelet.service holdoff time over, scheduling restart.",
        "Stopped Kubernetes Kubelet.",
    ]
    lines = [
        *crash,
        "Started Kubernetes Kubelet.",
        *crash,
        "start request repeated too quickly for kubelet.service",
        "Failed to start Kubernetes Kubelet.",
        "Unit kubelet.service entered failed state.",
    ]
    crash_reports = ["KubeletServiceFailed"] * 4
    assert reasons(SYSTEMD, lines) == [
        *crash_reports,
        "KubeletStart",
        *crash_reports,
        "KubeletStartLimitHit",
        "KubeletServiceFailed",
        "KubeletServiceFailed",
    ]


def test_systemd_250_crash_with_restart_counter() -> None:
    lines = [
        "kubelet.service: Main process exited, code=exited, status=1/FAILURE",
        "kubelet.service: Failed with result 'exit-code'.",
        "kubelet.service: Consumed 312ms CPU time.",
        "kubelet.service: Scheduled restart job, restart counter is at 5.",
        "Stopped kubelet.service - kubelet: The Kubernetes Node Agent.",
        "Started kubelet.service - kubelet: The Kubernetes Node Agent.",
    ]
    assert reasons(SYSTEMD, lines) == [
        "KubeletServiceFailed",
        "KubeletServiceFailed",
        "FrequentKubeletRestart",
        "KubeletStart",
    ]


def test_start_limit_is_reported_once_while_it_holds() -> None:
    lines = [
        "docker.service: Start request repeated too quickly.",
        "docker.service: Failed with result 'start-limit-hit'.",
    ]
    assert reasons(SYSTEMD, lines) == ["DockerStartLimitHit"]


def test_a_started_line_clears_the_service_down_condition() -> None:
    # While the condition holds, a second give-up changes nothing; once a Started line has cleared
    # it, the next give-up raises it again.
    lines = [
        "kubelet.service: Start request repeated too quickly.",
        "start request repeated too quickly for kubelet.service",
        "Started kubelet.service - kubelet: The Kubernetes Node Agent.",
        "kubelet.service: Start request repeated too quickly.",
    ]
    assert reasons(SYSTEMD, lines) == ["KubeletStartLimitHit", "KubeletStart", "KubeletStartLimitHit"]


def test_another_units_start_does_not_clear_the_condition() -> None:
    lines = [
        "docker.service: Start request repeated too quickly.",
        "Started containerd container runtime.",
        "Started kubelet.service - kubelet: The Kubernetes Node Agent.",
        "docker.service: Start request repeated too quickly.",
    ]
    assert reasons(SYSTEMD, lines) == ["DockerStartLimitHit", "KubeletStart"]


@pytest.mark.parametrize("line", NEAR_MISSES)
def test_normal_service_lines_stay_quiet(line: str) -> None:
    assert findings(SYSTEMD, [line]) == []


def test_every_rule_has_a_positive_case() -> None:
    covered = {reason for _, expected in CASES for reason in expected} | {
        reason for _, reason, _ in START_LIMIT_CASES
    }
    assert {rule.reason for rule in bundled(SYSTEMD).rules} <= covered
