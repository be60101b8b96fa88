"""kubelet and kube-proxy checks against real HTTP servers on ephemeral ports."""

from __future__ import annotations

import time

import pytest

from tests.healthcheck.conftest import Endpoint, health_checker, refused_port

NO_REPAIR = "--enable-repair=false"


def env_for(port: str, variable: str = "KUBELET_PORT") -> dict[str, str]:
    return {"HOST_ADDRESS": "127.0.0.1", variable: port}


def test_kubelet_200_is_healthy(kubelet: Endpoint) -> None:
    result = health_checker("--component=kubelet", NO_REPAIR, env=env_for(kubelet.port))
    assert (result.returncode, result.stdout) == (0, "kubelet:kubelet is healthy\n"), result.stderr
    assert kubelet.paths == ["/healthz"]


def test_kubelet_500_is_unhealthy_with_upstreams_words_first(kubelet: Endpoint) -> None:
    kubelet.status = 500
    result = health_checker("--component=kubelet", NO_REPAIR, env=env_for(kubelet.port))
    assert result.returncode == 1
    assert result.stdout == "kubelet:kubelet was found unhealthy; repair flag : false; /healthz: HTTP 500\n"
    assert "npd-event:" not in result.stderr


def test_kubelet_refused_is_unhealthy() -> None:
    result = health_checker("--component=kubelet", NO_REPAIR, env=env_for(refused_port()))
    assert result.returncode == 1
    assert result.stdout.endswith("; /healthz: refused\n"), result.stdout


def test_a_hanging_kubelet_is_unhealthy_after_the_timeout(kubelet: Endpoint) -> None:
    kubelet.hang = True
    started = time.monotonic()
    result = health_checker(
        "--component=kubelet", NO_REPAIR, "--health-check-timeout=1s", env=env_for(kubelet.port)
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stdout.endswith("; /healthz: timed out\n"), result.stdout
    assert kubelet.paths == ["/healthz"]  # it did reach the server: the timeout, not a refusal
    assert 1.0 <= elapsed < 5.0, elapsed


def test_the_default_host_is_localhost(kubelet: Endpoint) -> None:
    result = health_checker("--component=kubelet", NO_REPAIR, env={"KUBELET_PORT": kubelet.port})
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(("status", "code"), [(200, 0), (503, 1)])
def test_kube_proxy_uses_livez_on_kubeproxy_port(kube_proxy: Endpoint, status: int, code: int) -> None:
    kube_proxy.status = status
    result = health_checker(
        "--component=kube-proxy", NO_REPAIR, env=env_for(kube_proxy.port, "KUBEPROXY_PORT")
    )
    assert result.returncode == code, result.stdout
    assert kube_proxy.paths == ["/livez"]
    assert result.stdout.startswith("kube-proxy:kube-proxy ")


def test_kube_proxy_ignores_kubelets_port(kubelet: Endpoint) -> None:
    env = {"HOST_ADDRESS": "127.0.0.1", "KUBELET_PORT": kubelet.port, "KUBEPROXY_PORT": refused_port()}
    result = health_checker("--component=kube-proxy", NO_REPAIR, env=env)
    assert result.returncode == 1
    assert kubelet.paths == []


def test_npd_health_check_is_the_same_command(kubelet: Endpoint) -> None:
    result = health_checker("--component=kubelet", NO_REPAIR, env=env_for(kubelet.port), via_npd=True)
    assert (result.returncode, result.stdout) == (0, "kubelet:kubelet is healthy\n")
