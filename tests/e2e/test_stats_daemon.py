"""The system stats monitor in the whole daemon: upstream's config, this machine's /proc, /metrics."""

from __future__ import annotations

from pathlib import Path

from tests.support.daemon import start_daemon

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
