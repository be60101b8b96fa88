"""The whole loop in the real daemon, against the real API server and a real containerd.

Upstream's ``health-checker-containerd.json`` runs as a custom plugin monitor of
``node-problem-detector`` for a Node of the test control plane. containerd is down; the health
checker finds it so, and its repair command (standing in for ``systemctl restart containerd``,
which needs systemd as PID 1) starts it. The test then sees on the Node what an operator would:
the condition raised with upstream's message, the repair recorded as an Event (from the checker's
``npd-event:`` line), the condition cleared once containerd answers, and on ``/metrics`` the
repair counted once although the checker ran again within its cooldown.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lightkube import Client

from tests.healthcheck.conftest import CONTAINERD_CONFIG, unavailable
from tests.support.daemon import console_script
from tests.support.kube import ControlPlane
from tests.support.kubewatch import (
    conditions_of,
    events_with_reason,
    get_node,
    metric_sum,
    node_events,
    poll,
    scrape,
    start_npd,
)
from tests.support.plugins import script

UPSTREAM = Path("/work/shared/compat/upstream-config/health-checker-containerd.json")
TIMEOUT = 30.0


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A containerd config, root and socket directory; whatever the repair started is stopped after."""
    reason = unavailable("containerd", "containerd")
    if reason is not None:
        pytest.skip(reason)
    # Under /tmp directly: a unix socket path must fit in 108 bytes.
    directory = Path(tempfile.mkdtemp(prefix="npd-ctd-"))
    (directory / "config.toml").write_text(CONTAINERD_CONFIG.format(dir=directory))
    try:
        yield directory
    finally:
        pid_file = directory / "containerd.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            try:
                os.kill(pid, signal.SIGTERM)
                # Not our child (the repair script started it in its own session): poll /proc.
                poll(lambda: os.path.exists(f"/proc/{pid}"), lambda alive: not alive, timeout=20, what="exit")
            except ProcessLookupError:
                pass
        shutil.rmtree(directory, ignore_errors=True)


def checker_config(tmp_path: Path, runtime: Path) -> Path:
    """Upstream's config: the path changed, a short interval, and where this test's runtime lives."""
    restart = script(
        tmp_path / "restart-containerd",
        f'echo "$1" >> "{runtime}/repairs"\n'
        # A session of its own: the plugin's process group is killed after every run.
        f'setsid containerd --config "{runtime}/config.toml" </dev/null >"{runtime}/containerd.log" 2>&1 &\n'
        f'echo $! > "{runtime}/containerd.pid"\n',
    )
    config = json.loads(UPSTREAM.read_text())
    config["pluginConfig"]["invoke_interval"] = "500ms"
    [rule] = config["rules"]
    rule["path"] = console_script("health-checker")
    rule["args"] += [
        f"--cri-socket-path=unix://{runtime}/containerd.sock",
        f"--repair-command={restart} {{service}}",
        f"--state-dir={tmp_path / 'checker-state'}",
    ]
    path = tmp_path / "health-checker-containerd.json"
    path.write_text(json.dumps(config))
    return path


def test_a_repair_is_recorded_on_the_node_and_counted(
    npd_rbac: ControlPlane, kube_node: str, runtime_dir: Path, tmp_path: Path
) -> None:
    admin: Client = npd_rbac.admin()
    config = checker_config(tmp_path, runtime_dir)
    # start_npd needs a log monitor; an empty log file is one that finds nothing.
    log_config = tmp_path / "quiet.json"
    log_config.write_text(
        json.dumps(
            {
                "plugin": "filelog",
                "pluginConfig": {
                    "timestamp": "^.{15}",
                    "message": "(.*)",
                    "timestampFormat": "Jan _2 15:04:05",
                },
                "logPath": str(tmp_path / "quiet.log"),
                "lookback": "5m",
                "source": "quiet",
                "conditions": [],
                "rules": [],
            }
        )
    )
    (tmp_path / "quiet.log").touch()
    extra = [f"--config.custom-plugin-monitor={config}"]
    with start_npd(npd_rbac, kube_node, [log_config], state_dir=tmp_path / "state", extra=extra) as npd:
        node = poll(
            lambda: get_node(admin, kube_node),
            lambda n: getattr(conditions_of(n).get("ContainerRuntimeUnhealthy"), "status", None) == "True",
            timeout=TIMEOUT,
            what="ContainerRuntimeUnhealthy=True",
        )
        raised = conditions_of(node)["ContainerRuntimeUnhealthy"]
        assert raised.reason == "ContainerdUnhealthy"
        assert raised.message.startswith("cri:containerd was found unhealthy; repair flag : true; ")

        [repaired] = poll(
            lambda: events_with_reason(node_events(admin, kube_node), "ContainerdRepaired"),
            bool,
            timeout=TIMEOUT,
            what="a ContainerdRepaired Event",
        )
        assert repaired.type == "Warning"
        assert repaired.source is not None and repaired.source.component == "health-checker"
        assert repaired.message is not None and repaired.message.startswith(
            f"repaired containerd ({tmp_path / 'restart-containerd'} containerd): "
        )

        # The repair started containerd: the next runs find it healthy and clear the condition.
        node = poll(
            lambda: get_node(admin, kube_node),
            lambda n: conditions_of(n)["ContainerRuntimeUnhealthy"].status == "False",
            timeout=TIMEOUT,
            what="ContainerRuntimeUnhealthy=False",
        )
        assert conditions_of(node)["ContainerRuntimeUnhealthy"].reason == "ContainerRuntimeIsHealthy"

        metrics = poll(
            lambda: scrape(npd),
            lambda text: metric_sum(text, "npd_plugin_runs_total", status="OK") >= 2,
            timeout=TIMEOUT,
            what="two healthy runs",
        )
        assert metric_sum(metrics, "problem_counter", reason="ContainerdRepaired") == 1
        assert metric_sum(metrics, "problem_counter", reason="ContainerdRepairFailed") == 0
        # One repair, though the runtime took a moment to answer after it: the cooldown held.
        assert (runtime_dir / "repairs").read_text() == "containerd\n"
        assert len(events_with_reason(node_events(admin, kube_node), "ContainerdRepaired")) == 1
