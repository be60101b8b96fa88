"""The command line: upstream's flags and defaults, npd's additions, and usage errors (exit 2, one line)."""

from __future__ import annotations

import re

import pytest

from npd.cli.flags import FlagError
from npd.healthcheck.options import (
    DEFAULT_REPAIR_COMMAND,
    Component,
    Endpoints,
    HealthOptions,
    LogPattern,
    parse_options,
)
from tests.healthcheck.conftest import health_checker


def parse(*argv: str, env: dict[str, str] | None = None) -> HealthOptions:
    options, _ = parse_options("health-checker", argv, env or {})
    return options


def test_upstreams_defaults() -> None:
    options = parse()
    assert options == HealthOptions(
        component=Component.KUBELET,
        service="kubelet",
        enable_repair=True,
        cooldown=120.0,
        loopback=0.0,
        health_check_timeout=10.0,
        cri_socket="/var/run/containerd/containerd.sock",
        cri_timeout=2.0,
        log_patterns=(),
        journal_path="",
        repair_command=tuple(DEFAULT_REPAIR_COMMAND.format(service="kubelet").split()),
        state_dir="/var/lib/npd/health-checker",
        endpoints=Endpoints(host="localhost", kubelet_port="10248", kube_proxy_port="10256"),
    )


@pytest.mark.parametrize(
    ("component", "service"),
    [("kubelet", "kubelet"), ("kube-proxy", "kube-proxy"), ("cri", "containerd"), ("docker", "docker")],
)
def test_each_components_default_service(component: str, service: str) -> None:
    options = parse(f"--component={component}")
    assert (options.component.value, options.service) == (component, service)
    assert options.repair_command == ("systemctl", "restart", service)


def test_every_flag_is_parsed() -> None:
    options = parse(
        "--component",
        "cri",
        "--service=containerd-x",
        "--enable-repair=false",
        "--crictl-path=/opt/bin/crictl",
        "--cri-socket-path=unix:///run/k3s/containerd/containerd.sock",
        "--cri-timeout=10s",
        "--cooldown-time=1m30s",
        "--loopback-time=5m",
        "--health-check-timeout=60s",
        "--log-pattern=3:PLEG is not healthy,1:panic",
        "--log-pattern=-1:always",
        "--journal-path=/host/var/log/journal",
        "--repair-command=/usr/local/bin/fix --unit {service}",
        "--state-dir=/tmp/hc",
        "-v=4",
        "--logtostderr",
        "--alsologtostderr=true",
    )
    assert options.component is Component.CRI
    assert options.service == "containerd-x"
    assert options.enable_repair is False
    assert options.cri_socket == "/run/k3s/containerd/containerd.sock"
    assert (options.cri_timeout, options.cooldown, options.loopback) == (10.0, 90.0, 300.0)
    assert options.health_check_timeout == 60.0
    assert options.log_patterns == (
        LogPattern(3, "PLEG is not healthy"),
        LogPattern(1, "panic"),
        LogPattern(-1, "always"),
    )
    assert options.journal_path == "/host/var/log/journal"
    assert options.repair_command == ("/usr/local/bin/fix", "--unit", "containerd-x")
    assert options.state_dir == "/tmp/hc"


def test_the_environment_sets_the_endpoints_and_defaults() -> None:
    env = {
        "HOST_ADDRESS": "10.0.0.7",
        "KUBELET_PORT": "1",
        "KUBEPROXY_PORT": "2",
        "DOCKER_HOST": "unix:///run/docker.sock",
        "CONTAINER_RUNTIME_ENDPOINT": "unix:///run/crio/crio.sock",
        "NPD_HEALTH_CHECKER_STATE_DIR": "/var/lib/other",
    }
    options = parse(env=env)
    assert options.endpoints == Endpoints("10.0.0.7", "1", "2", "unix:///run/docker.sock")
    assert options.cri_socket == "/run/crio/crio.sock"
    assert options.state_dir == "/var/lib/other"
    assert parse("--state-dir=/x", env=env).state_dir == "/x"


def test_systemd_service_is_a_deprecated_alias() -> None:
    options, notices = parse_options("health-checker", ["--systemd-service=kubelet2"], {})
    assert options.service == "kubelet2"
    assert notices == ["Flag --systemd-service has been deprecated, use --service instead"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--component=etcd"], "--component=etcd: not supported (one of kubelet, kube-proxy, cri, docker)"),
        (["--cooldown-time=2 minutes"], 'invalid argument "2 minutes" for "--cooldown-time" flag'),
        (["--cri-timeout=0"], "--cri-timeout must be positive"),
        (["--health-check-timeout=-1s"], "--health-check-timeout must be positive"),
        (["--loopback-time=-1m"], "--loopback-time must not be negative"),
        (["--log-pattern=0:x"], "--log-pattern '0:x': want count:pattern with a non-zero count"),
        (["--log-pattern=x"], "--log-pattern 'x': want count:pattern"),
        (["--log-pattern=1:(x"], "--log-pattern '1:(x': invalid regular expression"),
        (["--cri-socket-path=tcp://1.2.3.4:1"], "only unix sockets are supported"),
        (["--cri-socket-path=relative.sock"], "the socket path must be absolute"),
        (["--repair-command="], "--repair-command must not be empty"),
        (["--repair-command=a 'b"], '--repair-command "a \'b": No closing quotation'),
        (["--enable-repair=maybe"], 'invalid argument "maybe" for "--enable-repair" flag'),
        (["--nope"], "unknown flag: --nope"),
        (["extra"], "unexpected argument: extra"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(args: list[str], message: str) -> None:
    with pytest.raises(FlagError):
        parse(*args)
    result = health_checker(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("health-checker: ") and message in line, line


def test_help_prints_every_upstream_flag() -> None:
    result = health_checker("--help")
    assert result.returncode == 0
    for flag in (
        "--component",
        "--service",
        "--enable-repair",
        "--crictl-path",
        "--cri-socket-path",
        "--cri-timeout",
        "--cooldown-time",
        "--loopback-time",
        "--health-check-timeout",
        "--log-pattern",
        "--journal-path",
        "--repair-command",
        "--state-dir",
    ):
        assert re.search(rf"^  {flag}( \w+)?$", result.stderr, re.MULTILINE), flag


def test_deprecation_notice_goes_to_stderr() -> None:
    result = health_checker("--systemd-service=kubelet", "--enable-repair=false", env={"KUBELET_PORT": "1"})
    assert result.returncode == 1
    assert "Flag --systemd-service has been deprecated, use --service instead" in result.stderr
