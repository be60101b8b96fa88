"""Upstream's health-checker-*.json, with only ``path`` changed, run as npd's plugin monitor runs them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from npd.config.duration import parse_go_duration
from npd.sources.plugin import PluginResult, PluginStatus, run_plugin
from tests.healthcheck.conftest import (
    Daemon,
    Endpoint,
    FakeSystemctl,
    refused_port,
    unused_socket_path,
)
from tests.support.daemon import console_script

UPSTREAM_CONFIGS = Path("/work/shared/compat/upstream-config")


def rule_of(
    name: str, path: str = "/home/kubernetes/bin/health-checker"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config's only rule, with its path pointed at the installed health-checker."""
    config = json.loads((UPSTREAM_CONFIGS / name).read_text())
    [rule] = config["rules"]
    assert rule["path"] == path
    return config, {**rule, "path": console_script("health-checker")}


def run_rule(
    name: str, env: dict[str, str], path: str = "/home/kubernetes/bin/health-checker"
) -> PluginResult:
    config, rule = rule_of(name, path)
    timeout = min(parse_go_duration(rule["timeout"]), parse_go_duration(config["pluginConfig"]["timeout"]))
    return asyncio.run(
        run_plugin(
            rule["path"],
            rule["args"],
            timeout=timeout,
            max_output=config["pluginConfig"]["max_output_length"],
            env=env,
        )
    )


@pytest.fixture
def base_env(systemctl: FakeSystemctl, tmp_path: Path) -> dict[str, str]:
    return {"PATH": systemctl.path, "NPD_HEALTH_CHECKER_STATE_DIR": str(tmp_path / "state")}


def test_kubelet_config_healthy(
    kubelet: Endpoint, base_env: dict[str, str], systemctl: FakeSystemctl
) -> None:
    result = run_rule("health-checker-kubelet.json", {**base_env, "KUBELET_PORT": kubelet.port})
    assert (result.status, result.output) == (PluginStatus.OK, "kubelet:kubelet is healthy")
    assert systemctl.calls() == []


def test_kubelet_config_unhealthy_repairs(base_env: dict[str, str], systemctl: FakeSystemctl) -> None:
    result = run_rule("health-checker-kubelet.json", {**base_env, "KUBELET_PORT": refused_port()})
    assert result.status is PluginStatus.NON_OK
    # Cut at max_output_length (80 bytes): upstream's words and the reason come first.
    full = "kubelet:kubelet was found unhealthy; repair flag : true; /healthz: refused; restarted"
    assert result.output == full[:80]
    assert systemctl.restarts() == [["restart", "kubelet"]]
    assert "npd-event: KubeletRepaired: restarted kubelet (systemctl restart kubelet): " in result.stderr


def test_kubelet_config_in_cooldown(base_env: dict[str, str], systemctl: FakeSystemctl) -> None:
    systemctl.set_uptime(20)  # the config's cooldown is 1m
    result = run_rule("health-checker-kubelet.json", {**base_env, "KUBELET_PORT": refused_port()})
    assert result.status is PluginStatus.NON_OK
    assert systemctl.restarts() == []


def test_containerd_config(containerd: Daemon, base_env: dict[str, str], systemctl: FakeSystemctl) -> None:
    healthy = run_rule(
        "health-checker-containerd.json", {**base_env, "CONTAINER_RUNTIME_ENDPOINT": containerd.socket}
    )
    assert (healthy.status, healthy.output) == (PluginStatus.OK, "cri:containerd is healthy")
    containerd.stop()
    down = run_rule(
        "health-checker-containerd.json", {**base_env, "CONTAINER_RUNTIME_ENDPOINT": containerd.socket}
    )
    assert down.status is PluginStatus.NON_OK
    assert down.output.startswith("cri:containerd was found unhealthy; repair flag : true; CRI")
    assert systemctl.restarts() == [["restart", "containerd"]]


def test_containerd_configs_default_socket_is_upstreams(base_env: dict[str, str]) -> None:
    socket = unused_socket_path()
    result = run_rule("health-checker-containerd.json", {**base_env, "CONTAINER_RUNTIME_ENDPOINT": socket})
    assert result.status is PluginStatus.NON_OK


def test_docker_config(dockerd: Daemon, base_env: dict[str, str], systemctl: FakeSystemctl) -> None:
    env = {**base_env, "DOCKER_HOST": f"unix://{dockerd.socket}"}
    healthy = run_rule("health-checker-docker.json", env)
    assert (healthy.status, healthy.output) == (PluginStatus.OK, "docker:docker is healthy")
    dockerd.stop()
    down = run_rule("health-checker-docker.json", env)
    assert down.status is PluginStatus.NON_OK
    assert down.output.startswith("docker:docker was found unhealthy; repair flag : true; docker /_ping: ")
    assert systemctl.restarts() == [["restart", "docker"]]


def test_windows_kube_proxy_configs_args_parse(kube_proxy: Endpoint, base_env: dict[str, str]) -> None:
    # The Windows config's path is a .exe, but its arguments are the same flags.
    result = run_rule(
        "windows-health-checker-kubeproxy.json",
        {**base_env, "KUBEPROXY_PORT": kube_proxy.port},
        path="C:\\etc\\kubernetes\\node\\bin\\health-checker.exe",
    )
    assert (result.status, result.output) == (PluginStatus.OK, "kube-proxy:kube-proxy is healthy")
    assert kube_proxy.paths == ["/livez"]
