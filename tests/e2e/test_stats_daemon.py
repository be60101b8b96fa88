"""The system stats monitor in the whole daemon: upstream's config, this machine's /proc, /metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.daemon import RunningDaemon, start_daemon

UPSTREAM = Path("/work/shared/compat/upstream-config")
UPSTREAM_STATS = UPSTREAM / "system-stats-monitor.json"


def samples(page: str, name: str) -> list[str]:
    return [line for line in page.splitlines() if line.startswith(name + "{") or line.startswith(name + " ")]


def test_upstreams_stats_config_exports_its_metrics_once(tmp_path: Path) -> None:
    # The same config twice: upstream accepts it; each family must still appear once.
    args = [
        "--enable-k8s-exporter=false",
        f"--config.system-stats-monitor={UPSTREAM_STATS}",
        f"--config.system-stats-monitor={tmp_path / 'copy.json'}",
    ]
    (tmp_path / "copy.json").write_text(UPSTREAM_STATS.read_text())
    with start_daemon(args, tool=False, state_dir=tmp_path / "state") as daemon:
        _, page = daemon.wait_for_page("/metrics", lambda s, b: "\nhost_uptime{" in b)
        for family in ("cpu_usage_time", "memory_bytes_used", "disk_operation_count", "host_uptime"):
            assert page.count(f"# TYPE {family} ") == 1, family
        [uptime] = samples(page, "host_uptime")
        assert float(uptime.rsplit(" ", 1)[1]) > 0
        user = [line for line in samples(page, "cpu_usage_time") if 'state="user"' in line]
        assert len(user) == 1 and float(user[0].rsplit(" ", 1)[1]) > 0
        assert daemon.stop() == 0


def exhaustion_node(root: Path, fds_used: int) -> None:
    """A fixture /proc with file descriptors at ``fds_used`` of 1000 and a root file system."""
    files = {
        "sys/fs/file-nr": f"{fds_used}\t0\t1000\n",
        "sys/fs/file-max": "1000\n",
        "loadavg": "0.10 0.20 0.30 2/100 4242\n",
        "sys/kernel/pid_max": "32768\n",
        "sys/kernel/threads-max": "32768\n",
        "1/mountinfo": "27 1 253:1 / / rw,relatime - ext4 /dev/vda1 rw\n",
        "filesystems": "nodev\tproc\n\text4\n",
    }
    for relative, text in files.items():
        path = root / "proc" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def conditions(
    daemon: RunningDaemon, predicate: Callable[[dict[str, dict[str, str]]], bool]
) -> dict[str, Any]:
    def by_type(body: str) -> dict[str, dict[str, str]]:
        return {item["type"]: item for item in json.loads(body)}

    _, body = daemon.wait_for_page(
        "/conditions", lambda status, body: status == 200 and predicate(by_type(body))
    )
    return by_type(body)


def test_exhaustion_condition_raises_on_conditions_and_survives_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "node"
    exhaustion_node(root, fds_used=950)
    config = tmp_path / "stats.json"
    config.write_text(
        json.dumps(
            {
                "procPath": str(root / "proc"),
                "invokeInterval": "200ms",
                "disk": {"lsblkTimeout": "100ms"},
                "exhaustion": {"minDuration": "0s"},
            }
        )
    )
    args = ["--enable-k8s-exporter=false", f"--config.system-stats-monitor={config}"]
    with start_daemon(args, tool=False, state_dir=tmp_path / "state") as daemon:
        found = conditions(daemon, lambda c: c.get("FileDescriptorExhaustion", {}).get("status") == "True")
        raised = found["FileDescriptorExhaustion"]
        assert raised["reason"] == "FileDescriptorsNearlyExhausted"
        assert raised["message"] == "file descriptors 95% used (950 of 1000); at or above 90% for 0s"
        assert found["PIDExhaustion"]["status"] == "False"
        assert found["ConntrackExhaustion"]["message"].startswith("conntrack not in use")
        assert daemon.stop() == 0

    # Back between the thresholds (85%): a fresh start would say False; the saved True holds.
    exhaustion_node(root, fds_used=850)
    with start_daemon(args, tool=False, state_dir=tmp_path / "state") as daemon:
        found = conditions(daemon, lambda c: "FileDescriptorExhaustion" in c)
        assert found["FileDescriptorExhaustion"] == raised
        _, page = daemon.wait_for_page("/metrics", lambda s, b: "npd_resource_usage_ratio{" in b)
        assert 'npd_resource_usage_ratio{resource="fileDescriptors",instance=""} 0.85' in page
        assert (
            'problem_gauge{type="FileDescriptorExhaustion",reason="FileDescriptorsNearlyExhausted"} 1' in page
        )
        assert daemon.stop() == 0
