"""Self-test of :mod:`tests.support.daemon`: a real ``node-problem-detector`` on a filelog config.

The daemon reads a temporary kern.log-style file. The tests check that the helper waits for
readiness, routes ``/healthz`` and ``/conditions`` to the main port and ``/metrics`` to the
Prometheus port, sees a problem appended to the log, captures stdout, and stops the daemon by
SIGTERM (clean exit) or SIGKILL.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.support.daemon import RunningDaemon, start_daemon

CONDITION = "KernelDeadlock"


def filelog_config(tmp_path: Path) -> tuple[Path, Path]:
    """A filelog monitor config on an empty log file; returns (config, log)."""
    log = tmp_path / "kern.log"
    log.write_text("")
    config = {
        "plugin": "filelog",
        "pluginConfig": {
            "timestamp": "^.{15}",
            "message": r"kernel: \[.*\] (.*)",
            "timestampFormat": "Jan _2 15:04:05",
        },
        "logPath": str(log),
        "lookback": "10m",
        "bufferSize": 10,
        "source": "kernel-monitor",
        "conditions": [
            {"type": CONDITION, "reason": "KernelHasNoDeadlock", "message": "kernel has no deadlock"}
        ],
        "rules": [
            {"type": "temporary", "reason": "OOMKilling", "pattern": r"Killed process \d+ (.+)"},
            {
                "type": "permanent",
                "condition": CONDITION,
                "reason": "DockerHung",
                "pattern": r"task docker:\w+ blocked for more than \w+ seconds\.",
            },
        ],
    }
    path = tmp_path / "kernel-monitor-filelog.json"
    path.write_text(json.dumps(config))
    return path, log


def kern_line(message: str) -> str:
    """A syslog kern.log line stamped now, in the ``Jan _2 15:04:05`` layout."""
    return f"{time.strftime('%b %e %H:%M:%S')} node kernel: [ 1234.567890] {message}\n"


@pytest.fixture
def daemon(tmp_path: Path) -> RunningDaemon:
    config, _ = filelog_config(tmp_path)
    return start_daemon(
        ["--enable-k8s-exporter=false", f"--config.system-log-monitor={config}"],
        tool=False,
        state_dir=tmp_path / "state",
    )


def condition(body: str, kind: str) -> dict[str, str] | None:
    found: list[dict[str, str]] = [item for item in json.loads(body) if item["type"] == kind]
    return found[0] if found else None


def test_healthz_and_conditions_respond(daemon: RunningDaemon) -> None:
    with daemon:
        status, body = daemon.wait_for_page("/healthz", lambda status, _: status == 200)
        assert body == "ok"
        status, body = daemon.get("/conditions")
        assert status == 200
        initial = condition(body, CONDITION)
        assert initial is not None
        assert (initial["status"], initial["reason"]) == ("False", "KernelHasNoDeadlock")
        assert daemon.stop() == 0
        assert not daemon.running


def test_metrics_are_on_the_prometheus_port(daemon: RunningDaemon) -> None:
    with daemon:
        assert daemon.port != daemon.prometheus_port
        assert daemon.port_for("/metrics") == daemon.prometheus_port
        status, body = daemon.get("/metrics")
        assert status == 200
        assert 'problem_counter{reason="OOMKilling"} 0' in body


def test_wait_for_sees_a_problem_appended_to_the_log(daemon: RunningDaemon, tmp_path: Path) -> None:
    with daemon:
        daemon.wait_for_page("/healthz", lambda status, _: status == 200)
        with open(tmp_path / "kern.log", "a") as log:
            log.write(kern_line("task docker:1234 blocked for more than 120 seconds."))
        _, body = daemon.wait_for_page(
            "/conditions", lambda _, body: (condition(body, CONDITION) or {}).get("status") == "True"
        )
        changed = condition(body, CONDITION)
        assert changed is not None
        assert changed["reason"] == "DockerHung"
        gauge = re.compile(
            r'^problem_gauge\{(?=.*reason="DockerHung")(?=.*type="KernelDeadlock").*\} 1$', re.M
        )
        daemon.wait_for_page("/metrics", lambda _, body: gauge.search(body) is not None)


def test_stdout_lines_of_npd_run(tmp_path: Path) -> None:
    config, log = filelog_config(tmp_path)
    with start_daemon(
        [f"--config.system-log-monitor={config}", "--log-format=json"], tool=True, state_dir=None
    ) as daemon:
        daemon.wait_for_page("/healthz", lambda status, _: status == 200)
        with open(log, "a") as handle:
            handle.write(kern_line("Killed process 42 (stress) total-vm:1kB"))
        lines = daemon.wait_for_stdout(lambda lines: any("OOMKilling" in line for line in lines))
        event = json.loads(next(line for line in lines if "OOMKilling" in line))
        assert event["reason"] == "OOMKilling"
        assert event["message"] == "Killed process 42 (stress) total-vm:1kB"
        assert daemon.stop() == 0


def test_kill9(daemon: RunningDaemon) -> None:
    with daemon:
        assert daemon.kill9() == -9
        assert not daemon.running


def test_start_fails_clearly_when_the_daemon_exits(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(AssertionError, match=r"(?s)exited with 2.*bad\.json: invalid JSON"):
        start_daemon(
            ["--enable-k8s-exporter=false", f"--config.system-log-monitor={bad}"], tool=False, state_dir=None
        )


def test_readiness_uses_metrics_when_the_main_port_is_disabled(tmp_path: Path) -> None:
    config, _ = filelog_config(tmp_path)
    with start_daemon(
        ["--enable-k8s-exporter=false", f"--config.system-log-monitor={config}", "--port=0"],
        tool=False,
        state_dir=None,
    ) as daemon:
        assert daemon.port == 0
        status, body = daemon.get("/metrics")
        assert status == 200
        assert "problem_counter" in body
        assert daemon.stop() == 0
