"""Repair with a fake systemctl first on PATH: restart once, the cooldowns, the npd-event lines."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.healthcheck.conftest import Endpoint, FakeSystemctl, health_checker, refused_port


def run(
    systemctl: FakeSystemctl, state: Path, *args: str, component: str = "kubelet"
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": systemctl.path, "HOST_ADDRESS": "127.0.0.1", "KUBELET_PORT": refused_port()}
    env["KUBEPROXY_PORT"] = env["KUBELET_PORT"]
    return health_checker(f"--component={component}", f"--state-dir={state}", *args, env=env)


def events(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("npd-event:")]


def test_an_unhealthy_kubelet_is_restarted_once_with_one_event(
    systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    result = run(systemctl, tmp_path, "--cooldown-time=1m")
    assert result.returncode == 1
    assert result.stdout == (
        "kubelet:kubelet was found unhealthy; repair flag : true; /healthz: refused; restarted\n"
    )
    assert systemctl.restarts() == [["restart", "kubelet"]]
    assert events(result) == [
        "npd-event: KubeletRepaired: restarted kubelet (systemctl restart kubelet): /healthz: refused"
    ]


def test_a_healthy_kubelet_is_not_touched(
    systemctl: FakeSystemctl, tmp_path: Path, kubelet: Endpoint
) -> None:
    env = {"PATH": systemctl.path, "KUBELET_PORT": kubelet.port}
    result = health_checker("--component=kubelet", f"--state-dir={tmp_path}", env=env)
    assert result.returncode == 0
    assert systemctl.calls() == []
    assert events(result) == []


def test_a_unit_up_less_than_the_cooldown_is_not_repaired(systemctl: FakeSystemctl, tmp_path: Path) -> None:
    systemctl.set_uptime(30)
    result = run(systemctl, tmp_path, "--cooldown-time=2m")
    assert result.returncode == 1
    assert result.stdout.endswith("; repair skipped: cooldown, 90s left\n"), result.stdout
    assert systemctl.restarts() == []
    assert events(result) == []


def test_a_recent_repair_holds_the_next_one_off(systemctl: FakeSystemctl, tmp_path: Path) -> None:
    first = run(systemctl, tmp_path, "--cooldown-time=2m")
    assert len(events(first)) == 1
    # The fake unit still says it has been up for an hour: only the recorded repair stops a second one.
    second = run(systemctl, tmp_path, "--cooldown-time=2m")
    assert second.returncode == 1
    assert "; repair skipped: cooldown, 120s left" in second.stdout
    assert events(second) == []
    assert systemctl.restarts() == [["restart", "kubelet"]]
    assert (tmp_path / "kubelet-kubelet.last-repair").is_file()
    # Another component's unit has its own record.
    assert len(events(run(systemctl, tmp_path, "--cooldown-time=2m", component="kube-proxy"))) == 1


def test_a_zero_cooldown_repairs_every_time(systemctl: FakeSystemctl, tmp_path: Path) -> None:
    for _ in range(2):
        assert len(events(run(systemctl, tmp_path, "--cooldown-time=0"))) == 1
    assert len(systemctl.restarts()) == 2


def test_enable_repair_false_never_repairs(systemctl: FakeSystemctl, tmp_path: Path) -> None:
    result = run(systemctl, tmp_path, "--enable-repair=false", "--cooldown-time=0")
    assert result.returncode == 1
    assert "repair flag : false" in result.stdout
    assert systemctl.calls() == []
    assert events(result) == []


def test_a_failing_repair_says_so_and_still_exits_1(systemctl: FakeSystemctl, tmp_path: Path) -> None:
    systemctl.fail_restart(5)
    result = run(systemctl, tmp_path, component="kube-proxy")
    assert result.returncode == 1
    assert result.stdout.endswith("; repair failed: exit 5\n"), result.stdout
    assert events(result) == [
        "npd-event: KubeProxyRepairFailed: repair of kube-proxy failed"
        " (systemctl restart kube-proxy: exit 5): /livez: refused"
    ]


def test_the_repair_command_and_service_are_configurable(systemctl: FakeSystemctl, tmp_path: Path) -> None:
    marker = tmp_path / "repaired"
    result = run(
        systemctl,
        tmp_path,
        "--service=kubelet-custom",
        f"--repair-command=touch '{marker}-{{service}}'",
    )
    assert result.returncode == 1
    assert (tmp_path / "repaired-kubelet-custom").exists()
    assert systemctl.restarts() == []
    assert ["show", "kubelet-custom", "--property=InactiveExitTimestampMonotonic"] in systemctl.calls()
    assert events(result) == [
        f"npd-event: KubeletCustomRepaired: repaired kubelet-custom (touch {marker}-kubelet-custom):"
        " /healthz: refused"
    ]


def test_without_systemd_the_last_repair_alone_bounds_repairs(
    systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    systemctl.fail_show()
    systemctl.fail_restart(1)
    first = run(systemctl, tmp_path, "--cooldown-time=1m")
    assert [e.split(":")[1] for e in events(first)] == [" KubeletRepairFailed"]
    assert "the cooldown counts from the last repair only" in first.stderr
    second = run(systemctl, tmp_path, "--cooldown-time=1m")
    assert events(second) == []
    assert len(systemctl.restarts()) == 1


def test_a_state_dir_that_cannot_be_created_warns_and_goes_on(
    systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run(systemctl, blocker / "state")
    assert result.returncode == 1
    assert len(events(result)) == 1
    assert f"cannot record the repair in {blocker / 'state'}" in result.stderr


def test_a_repair_command_that_does_not_exist_fails_cleanly(systemctl: FakeSystemctl, tmp_path: Path) -> None:
    result = run(systemctl, tmp_path, "--repair-command=/nonexistent/restart {service}")
    assert result.returncode == 1
    assert result.stdout.endswith("; repair failed: /nonexistent/restart: not found\n")
    assert [e.split(":")[1] for e in events(result)] == [" KubeletRepairFailed"]
    assert "Traceback" not in result.stderr
