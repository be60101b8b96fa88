"""The docker check: the Docker Engine API on DOCKER_HOST's unix socket, no docker CLI.

Against Debian's dockerd, started per test; an error status, which a real dockerd cannot be made to
answer, comes from an HTTP server on a unix socket.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.healthcheck.conftest import (
    Daemon,
    Endpoint,
    docker_host,
    health_checker,
    stale_socket,
    unused_socket_path,
)

NO_REPAIR = "--enable-repair=false"


def test_a_running_dockerd_is_healthy_with_no_docker_cli(dockerd: Daemon, tmp_path: Path) -> None:
    # PATH holds nothing at all, so no docker CLI can have been used.
    env = {"DOCKER_HOST": f"unix://{dockerd.socket}", "PATH": str(tmp_path)}
    result = health_checker("--component=docker", NO_REPAIR, env=env)
    assert (result.returncode, result.stdout) == (0, "docker:docker is healthy\n"), result.stderr


def test_a_hung_dockerd_is_unhealthy_after_the_timeout(dockerd: Daemon) -> None:
    dockerd.pause()
    started = time.monotonic()
    result = health_checker(
        "--component=docker",
        NO_REPAIR,
        "--health-check-timeout=1s",
        env={"DOCKER_HOST": f"unix://{dockerd.socket}"},
    )
    assert result.returncode == 1
    assert (
        result.stdout == "docker:docker was found unhealthy; repair flag : false; docker /_ping: timed out\n"
    )
    assert 1.0 <= time.monotonic() - started < 5.0


def test_a_stopped_dockerd_is_unhealthy(dockerd: Daemon) -> None:
    dockerd.stop()
    result = health_checker("--component=docker", NO_REPAIR, env={"DOCKER_HOST": f"unix://{dockerd.socket}"})
    assert result.returncode == 1
    # dockerd removes its socket on exit, unless it cannot in time: then connecting is refused.
    assert result.stdout.endswith(("; docker /_ping: no socket\n", "; docker /_ping: refused\n")), (
        result.stdout
    )


def test_an_error_status_is_unhealthy(docker_api: Endpoint) -> None:
    docker_api.status = 500
    result = health_checker("--component=docker", NO_REPAIR, env={"DOCKER_HOST": docker_host(docker_api)})
    assert result.returncode == 1
    assert (
        result.stdout == "docker:docker was found unhealthy; repair flag : false; docker /_ping: HTTP 500\n"
    )
    assert docker_api.paths == ["/_ping"]


def test_both_calls_are_made(docker_api: Endpoint) -> None:
    result = health_checker("--component=docker", NO_REPAIR, env={"DOCKER_HOST": docker_host(docker_api)})
    assert result.returncode == 0
    assert docker_api.paths == ["/_ping", "/containers/json"]


def test_no_docker_socket_is_unhealthy() -> None:
    result = health_checker(
        "--component=docker", NO_REPAIR, env={"DOCKER_HOST": f"unix://{unused_socket_path()}"}
    )
    assert result.returncode == 1
    assert result.stdout.endswith("; docker /_ping: no socket\n")


def test_a_tcp_docker_host_is_refused_as_a_usage_error() -> None:
    result = health_checker("--component=docker", NO_REPAIR, env={"DOCKER_HOST": "tcp://127.0.0.1:2375"})
    assert result.returncode == 2
    assert "DOCKER_HOST=tcp://127.0.0.1:2375: only unix sockets are supported" in result.stderr


def test_a_socket_nobody_listens_on_is_refused(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": f"unix://{stale_socket(tmp_path)}"}
    result = health_checker("--component=docker", NO_REPAIR, env=env)
    assert result.stdout == "docker:docker was found unhealthy; repair flag : false; docker /_ping: refused\n"
