"""The CRI check against a real containerd (Debian's), spoken to over gRPC: no crictl anywhere."""

from __future__ import annotations

import time
from pathlib import Path

from tests.healthcheck.conftest import Daemon, health_checker, stale_socket, unused_socket_path

NO_REPAIR = "--enable-repair=false"


def test_a_running_containerd_is_healthy_with_no_crictl(containerd: Daemon, tmp_path: Path) -> None:
    # PATH holds nothing at all, so no crictl can have been used.
    result = health_checker(
        "--component=cri",
        NO_REPAIR,
        f"--cri-socket-path=unix://{containerd.socket}",
        env={"PATH": str(tmp_path)},
    )
    assert (result.returncode, result.stdout) == (0, "cri:containerd is healthy\n"), result.stderr


def test_a_plain_socket_path_works_too(containerd: Daemon) -> None:
    result = health_checker("--component=cri", NO_REPAIR, f"--cri-socket-path={containerd.socket}")
    assert result.returncode == 0, result.stdout


def test_container_runtime_endpoint_sets_the_default_socket(containerd: Daemon) -> None:
    env = {"CONTAINER_RUNTIME_ENDPOINT": f"unix://{containerd.socket}"}
    assert health_checker("--component=cri", NO_REPAIR, env=env).returncode == 0
    # The flag, when given, wins over the variable.
    flagged = health_checker(
        "--component=cri", NO_REPAIR, f"--cri-socket-path={unused_socket_path()}", env=env
    )
    assert flagged.returncode == 1


def test_a_stopped_containerd_is_unhealthy_within_the_cri_timeout(containerd: Daemon) -> None:
    containerd.pause()
    started = time.monotonic()
    result = health_checker(
        "--component=cri", NO_REPAIR, "--cri-timeout=1s", f"--cri-socket-path={containerd.socket}"
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stdout == "cri:containerd was found unhealthy; repair flag : false; CRI Status: timed out\n"
    assert 1.0 <= elapsed < 5.0, elapsed


def test_health_check_timeout_caps_the_cri_timeout(containerd: Daemon) -> None:
    containerd.pause()
    started = time.monotonic()
    result = health_checker(
        "--component=cri",
        NO_REPAIR,
        "--cri-timeout=30s",
        "--health-check-timeout=1s",
        f"--cri-socket-path={containerd.socket}",
    )
    assert result.returncode == 1
    assert time.monotonic() - started < 5.0


def test_an_exited_containerd_is_unhealthy(containerd: Daemon) -> None:
    containerd.stop()
    result = health_checker("--component=cri", NO_REPAIR, f"--cri-socket-path={containerd.socket}")
    assert result.returncode == 1
    # containerd removes its socket on exit, unless it cannot in time: then connecting is refused.
    assert result.stdout.endswith(("; CRI: no socket\n", "; CRI Status: refused\n")), result.stdout


def test_a_missing_socket_is_unhealthy() -> None:
    started = time.monotonic()
    result = health_checker("--component=cri", NO_REPAIR, f"--cri-socket-path={unused_socket_path()}")
    assert result.returncode == 1
    assert result.stdout == "cri:containerd was found unhealthy; repair flag : false; CRI: no socket\n"
    assert time.monotonic() - started < 5.0  # fails fast, does not wait for the socket to appear


def test_a_socket_nobody_listens_on_is_refused(tmp_path: Path) -> None:
    result = health_checker("--component=cri", NO_REPAIR, f"--cri-socket-path={stale_socket(tmp_path)}")
    assert result.stdout == "cri:containerd was found unhealthy; repair flag : false; CRI Status: refused\n"
