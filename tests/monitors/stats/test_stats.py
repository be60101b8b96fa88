"""System stats monitor: golden metrics from fixture /proc trees, robustness, the live node, run()."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from npd.config.loader import MonitorKind, load_monitor_config
from npd.config.stats import KNOWN_METRICS, SystemStatsConfig
from npd.metrics.model import MetricFamily
from npd.monitors.stats import SystemStatsMonitor
from npd.monitors.stats.disk import Usage
from npd.monitors.stats.host import os_version
from npd.monitors.stats.monitor import SOURCE
from npd.problem import Status

FIXTURES = Path(__file__).parent / "fixtures"
UPSTREAM = Path("/work/shared/compat/upstream-config/system-stats-monitor.json")

Golden = dict[str, tuple[str, set[tuple[tuple[tuple[str, str], ...], float]]]]


def all_metrics(section: str) -> dict[str, Any]:
    return {"metricsConfigs": {m: {"displayName": m} for m in KNOWN_METRICS[section]}}


def load(tmp_path: Path, document: dict[str, Any]) -> SystemStatsConfig:
    file = tmp_path / "stats.json"
    file.write_text(json.dumps(document))
    config = load_monitor_config(str(file), MonitorKind.SYSTEM_STATS, lambda _: None)
    assert isinstance(config, SystemStatsConfig)
    return config


def tree(tmp_path: Path) -> Path:
    """A private copy of the node1 fixture, so a test can change files between samples."""
    root = tmp_path / "node"
    shutil.copytree(FIXTURES / "node1", root)
    return root


def root_only(mountpoint: str) -> Usage:
    if mountpoint == "/":
        return Usage(free=750, used=250)
    raise FileNotFoundError(2, "No such file or directory")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def golden(families: list[MetricFamily]) -> Golden:
    out: Golden = {}
    for family in families:
        assert family.name not in out, f"duplicate family {family.name}"
        samples = {(s.labels, s.value) for s in family.samples}
        assert len(samples) == len(family.samples), f"duplicate samples in {family.name}"
        out[family.name] = (family.type, samples)
    return out


def sel(result: Golden, prefix: str) -> Golden:
    return {name: value for name, value in result.items() if name.startswith(prefix)}


def monitor(tmp_path: Path, root: Path, clock: Clock | None = None, **sections: Any) -> SystemStatsMonitor:
    document = {"procPath": str(root / "proc"), **sections}
    return SystemStatsMonitor(load(tmp_path, document), clock=clock or Clock(), disk_usage=root_only)


# -- golden ----------------------------------------------------------------------------------


def test_cpu_golden_seconds_and_cumulative_counters(tmp_path: Path) -> None:
    mon = monitor(tmp_path, tree(tmp_path), cpu=all_metrics("cpu"))
    mon.sample()
    usage = {"user": 10.0, "system": 3.0, "idle": 80.0, "nice": 0.5, "iowait": 0.2, "irq": 0.0,
             "softirq": 0.1, "steal": 0.05, "guest": 0.0, "guest_nice": 0.0}  # fmt: skip
    stages = ("user", "nice", "system", "idle", "iowait", "iRQ", "softIRQ", "steal", "guest", "guestNice")
    cpu0 = (6.0, 0.2, 2.0, 40.0, 0.1, 0.0, 0.06, 0.03, 0.0, 0.0)
    cpu1 = (4.0, 0.3, 1.0, 40.0, 0.1, 0.0, 0.04, 0.02, 0.0, 0.0)
    expected: Golden = {
        "cpu_runnable_task_count": ("gauge", {((), 0.5)}),
        "cpu_load_1m": ("gauge", {((), 0.5)}),
        "cpu_load_5m": ("gauge", {((), 0.25)}),
        "cpu_load_15m": ("gauge", {((), 0.1)}),
        "cpu_usage_time": ("counter", {((("state", s),), v) for s, v in usage.items()}),
        "system_cpu_stat": (
            "counter",
            {
                ((("cpu", cpu), ("stage", stage)), value)
                for cpu, values in (("cpu0", cpu0), ("cpu1", cpu1))
                for stage, value in zip(stages, values, strict=True)
            },
        ),
        "system_interrupts_total": ("counter", {((), 123456)}),
        "system_processes_total": ("counter", {((), 4321)}),
        "system_procs_running": ("gauge", {((), 3)}),
        "system_procs_blocked": ("gauge", {((), 1)}),
    }
    assert golden(mon.collect()) == expected


def test_memory_golden(tmp_path: Path) -> None:
    mon = monitor(tmp_path, tree(tmp_path), memory=all_metrics("memory"))
    mon.sample()
    kib = 1024
    st = (("state", "free"), ("state", "used"), ("state", "buffered"), ("state", "cached"), ("state", "slab"))
    assert golden(mon.collect()) == {
        "memory_bytes_used": (
            "gauge",
            {
                ((label,), v * kib)
                for label, v in zip(st, (400000, 350000, 10000, 200000, 40000), strict=True)
            },
        ),
        "memory_percent_used": ("gauge", {((("state", "used"),), 35.0)}),
        "memory_dirty_used": (
            "gauge",
            {((("state", "dirty"),), 256 * kib), ((("state", "writeback"),), 64 * kib)},
        ),
        "memory_anonymous_used": (
            "gauge",
            {((("state", "active"),), 120000 * kib), ((("state", "inactive"),), 30000 * kib)},
        ),
        "memory_page_cache_used": (
            "gauge",
            {((("state", "active"),), 180000 * kib), ((("state", "inactive"),), 120000 * kib)},
        ),
        "memory_unevictable_used": ("gauge", {((), 4000 * kib)}),
    }


NET_ETH0 = dict(zip(
    ["rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "rx_fifo", "rx_frame", "rx_compressed",
     "rx_multicast", "tx_bytes", "tx_packets", "tx_errors", "tx_dropped", "tx_fifo", "tx_collisions",
     "tx_carrier", "tx_compressed"],
    [9000000, 7000, 1, 2, 3, 4, 5, 6, 800000, 6000, 7, 8, 9, 10, 11, 12], strict=True,
))  # fmt: skip


@pytest.mark.parametrize(
    ("exclude", "interfaces"), [("", {"lo", "eth0", "vethab12"}), ("^(cali|tunl|veth)", {"lo", "eth0"})]
)
def test_net_golden_and_exclude_regexp(tmp_path: Path, exclude: str, interfaces: set[str]) -> None:
    mon = monitor(tmp_path, tree(tmp_path), net={**all_metrics("net"), "excludeInterfaceRegexp": exclude})
    mon.sample()
    got = golden(mon.collect())
    assert set(got) == {f"net_{name}" for name in NET_ETH0}
    for name, value in NET_ETH0.items():
        kind, samples = got[f"net_{name}"]
        assert kind == "counter"
        assert {labels[0][1] for labels, _ in samples} == interfaces
        assert ((("interface_name", "eth0"),), value) in samples
    assert ((("interface_name", "lo"),), 5000) in got["net_rx_bytes"][1]


def disk_io(rows: dict[str, tuple[int, ...]]) -> Golden:
    """Expected IO families from rows of (reads, merged, sectors, ms) × (read, write), io ms, weighted ms."""
    out: Golden = {"disk_io_time": ("counter", set()), "disk_weighted_io": ("counter", set())}
    per_direction = ("disk_operation_count", "disk_merged_operation_count", "disk_operation_bytes_count",
                     "disk_operation_time")  # fmt: skip
    for name in per_direction:
        out[name] = ("counter", set())
    for dev, v in rows.items():
        out["disk_io_time"][1].add(((("device_name", dev),), v[8]))
        out["disk_weighted_io"][1].add(((("device_name", dev),), v[9]))
        for i, name in enumerate(per_direction):
            scale = 512 if name == "disk_operation_bytes_count" else 1
            out[name][1].add(((("device_name", dev), ("direction", "read")), v[i] * scale))
            out[name][1].add(((("device_name", dev), ("direction", "write")), v[4 + i] * scale))
    return out


FIRST = {
    "loop0": (10, 0, 80, 1, 0, 0, 0, 0, 4, 1),
    "vda": (1000, 100, 20000, 500, 2000, 200, 40000, 3000, 1500, 3500),
    "vda1": (900, 90, 18000, 450, 1900, 190, 38000, 2900, 1400, 3350),
}
LATER = {
    "loop0": (10, 0, 80, 1, 0, 0, 0, 0, 4, 1),
    "vda": (1100, 110, 22000, 550, 2500, 250, 50000, 3600, 2500, 8500),
    "vda1": (1000, 100, 20000, 500, 2400, 240, 48000, 3500, 2400, 5350),
}
VDA1 = (("device_name", "vda1"), ("fs_type", "ext4"), ("mount_option", "rw,relatime"))
SPACE: Golden = {
    "disk_bytes_used": ("gauge", {((*VDA1, ("state", "free")), 750), ((*VDA1, ("state", "used")), 250)}),
    "disk_percent_used": ("gauge", {((*VDA1, ("state", "free")), 75.0), ((*VDA1, ("state", "used")), 25.0)}),
}


def test_disk_golden_over_two_samples(tmp_path: Path) -> None:
    root = tree(tmp_path)
    clock = Clock()
    mon = monitor(tmp_path, root, clock, disk=all_metrics("disk"))
    mon.sample()
    # No queue length before there are two samples to compare.
    assert golden(mon.collect()) == {**disk_io(FIRST), **SPACE}

    shutil.copy(FIXTURES / "node1-later" / "proc" / "diskstats", root / "proc" / "diskstats")
    clock.now += 10.0
    mon.sample()
    queue: Golden = {
        "disk_avg_queue_len": (
            "gauge",
            {
                ((("device_name", "loop0"),), 0.0),
                ((("device_name", "vda"),), (8500 - 3500) / 10000),
                ((("device_name", "vda1"),), (5350 - 3350) / 10000),
            },
        )
    }
    # Counters are the kernel's latest cumulative values, not sums of the two samples.
    assert golden(mon.collect()) == {**disk_io(LATER), **queue, **SPACE}


@pytest.mark.parametrize(
    ("flags", "devices"),
    [
        ({"includeRootBlk": True}, {"loop0", "vda"}),
        ({"includeAllAttachedBlk": True}, {"vda1"}),
        ({"includeRootBlk": True, "includeAllAttachedBlk": True}, {"loop0", "vda", "vda1"}),
    ],
)
def test_disk_device_selection(tmp_path: Path, flags: dict[str, bool], devices: set[str]) -> None:
    mon = monitor(tmp_path, tree(tmp_path), disk={**all_metrics("disk"), **flags})
    mon.sample()
    got = golden(mon.collect())
    assert {labels[0][1] for labels, _ in got["disk_io_time"][1]} == devices
    assert got["disk_io_time"] == disk_io({d: FIRST[d] for d in devices})["disk_io_time"]


def test_host_and_os_feature_golden(tmp_path: Path) -> None:
    known = tmp_path / "known.json"
    shutil.copy(FIXTURES / "known-modules.json", known)
    os_feature = {**all_metrics("osFeature"), "knownModulesConfigPath": str(known)}
    mon = monitor(tmp_path, tree(tmp_path), host=all_metrics("host"), osFeature=os_feature)
    mon.sample()

    def feature(name: str, value: str = "") -> tuple[tuple[str, str], ...]:
        return (("os_feature", name), ("value", value))

    assert golden(mon.collect()) == {
        "host_uptime": (
            "gauge",
            {((("kernel_version", "6.1.0-test"), ("os_version", "cos 73-11647.217.0")), 3600.5)},
        ),
        "system_os_feature": (
            "gauge",
            {
                (feature("KTD"), 0),
                (feature("UnifiedCgroupHierarchy"), 1),
                (feature("KernelModuleIntegrity"), 1),
                (feature("UnknownModules", "vboxdrv"), 1),
                (feature("GPUSupport"), 1),
            },
        ),
    }


def test_os_version_label() -> None:
    assert os_version('ID=ubuntu\nVERSION_ID="22.04"\n') == "ubuntu 22.04"
    assert os_version("ID=cos\nVERSION=105\nBUILD_ID=17412.1.2\n") == "cos 105-17412.1.2"
    assert os_version("") == ""


def test_display_names_rename_and_select(tmp_path: Path) -> None:
    cpu = {
        "metricsConfigs": {
            "cpu/load_1m": {"displayName": "node/load-1m"},
            "cpu/load_5m": {"displayName": ""},
        }
    }
    mon = monitor(tmp_path, tree(tmp_path), cpu=cpu)
    mon.sample()
    # Only the configured, non-empty display names exist, renamed as upstream's exporter does.
    assert golden(mon.collect()) == {"node_load_1m": ("gauge", {((), 0.5)})}


# -- robustness ------------------------------------------------------------------------------


def test_missing_file_warns_once_and_leaves_only_its_metrics_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tree(tmp_path)
    (root / "proc" / "meminfo").unlink()
    mon = monitor(tmp_path, root, cpu=all_metrics("cpu"), memory=all_metrics("memory"))
    with caplog.at_level(logging.WARNING, logger="npd.monitors.stats"):
        mon.sample()
        mon.sample()
    names = {f.name for f in mon.collect()}
    assert "cpu_load_1m" in names
    assert not {n for n in names if n.startswith("memory_")}
    warnings = [r for r in caplog.records if "meminfo" in r.getMessage()]
    assert len(warnings) == 1


def test_malformed_files_never_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tree(tmp_path)
    proc = root / "proc"
    (proc / "stat").write_text("cpu  1 2 x\nprocesses 7\nintr\n")
    (proc / "loadavg").write_text("garbage\n")
    (proc / "diskstats").write_text("   8 0 sda 1 2\n 253 0 vda " + " ".join(["5"] * 14) + "\n")
    (proc / "net" / "dev").write_text("header|\nheader|\n eth0: 1 2 3\n lo: " + " ".join(["1"] * 16) + "\n")
    (proc / "uptime").write_bytes(b"\xff\xfe\n")
    (proc / "meminfo").write_text("MemTotal: lots\n")
    document = {s: all_metrics(s) for s in ("cpu", "disk", "host", "memory", "net")}
    mon = monitor(tmp_path, root, **document)
    with caplog.at_level(logging.WARNING, logger="npd.monitors.stats"):
        mon.sample()
    got = golden(mon.collect())
    # What parsed is still reported; each broken line or file only takes its own metrics out.
    assert got["system_processes_total"] == ("counter", {((), 7)})
    assert "cpu_usage_time" not in got and "cpu_load_1m" not in got and "host_uptime" not in got
    assert {labels for labels, _ in got["disk_io_time"][1]} == {(("device_name", "vda"),)}
    assert {labels for labels, _ in got["net_rx_bytes"][1]} == {(("interface_name", "lo"),)}
    assert not any(name.startswith("memory_") for name in got)
    assert caplog.records, "malformed input must be warned about"


# -- live ------------------------------------------------------------------------------------

LABELS = {
    "cpu_runnable_task_count": (), "cpu_load_1m": (), "cpu_load_5m": (), "cpu_load_15m": (),
    "cpu_usage_time": ("state",), "system_cpu_stat": ("cpu", "stage"), "system_interrupts_total": (),
    "system_processes_total": (), "system_procs_running": (), "system_procs_blocked": (),
    "disk_io_time": ("device_name",), "disk_weighted_io": ("device_name",),
    "disk_avg_queue_len": ("device_name",),
    "disk_operation_count": ("device_name", "direction"),
    "disk_merged_operation_count": ("device_name", "direction"),
    "disk_operation_bytes_count": ("device_name", "direction"),
    "disk_operation_time": ("device_name", "direction"),
    "disk_bytes_used": ("device_name", "fs_type", "mount_option", "state"),
    "disk_percent_used": ("device_name", "fs_type", "mount_option", "state"),
    "host_uptime": ("kernel_version", "os_version"),
    "memory_bytes_used": ("state",), "memory_percent_used": ("state",), "memory_anonymous_used": ("state",),
    "memory_page_cache_used": ("state",), "memory_dirty_used": ("state",), "memory_unevictable_used": (),
    "system_os_feature": ("os_feature", "value"),
}  # fmt: skip


def check_well_formed(families: list[MetricFamily]) -> dict[str, MetricFamily]:
    by_name = {f.name: f for f in families}
    assert len(by_name) == len(families)
    for family in families:
        net = ("interface_name",) if family.name.startswith("net_") else None
        expected = LABELS.get(family.name, net)
        assert expected is not None, family.name
        assert family.samples, family.name
        for sample in family.samples:
            assert tuple(k for k, _ in sample.labels) == expected, family.name
            if family.type == "counter":
                assert sample.value >= 0, family.name
    return by_name


def test_upstream_config_runs_live_on_this_node() -> None:
    config = load_monitor_config(str(UPSTREAM), MonitorKind.SYSTEM_STATS, lambda _: None)
    assert isinstance(config, SystemStatsConfig)
    clock = Clock()
    mon = SystemStatsMonitor(config, clock=clock)
    mon.sample()
    clock.now += 1.0
    mon.sample()
    by_name = check_well_formed(mon.collect())
    configured = {m.replace("/", "_") for s in config.sections.values() for m in s.metrics}
    assert set(by_name) <= configured
    # Everything /proc always has on Linux is there.
    always = {"cpu_usage_time", "cpu_load_1m", "system_cpu_stat", "memory_bytes_used", "host_uptime"}
    assert always | {"disk_io_time", "system_os_feature"} <= set(by_name)
    assert by_name["host_uptime"].samples[0].value > 0


def test_every_metric_live_on_real_proc(tmp_path: Path) -> None:
    document = {s: all_metrics(s) for s in KNOWN_METRICS}
    config = load(tmp_path, document)
    clock = Clock()
    mon = SystemStatsMonitor(config, clock=clock)
    mon.sample()
    clock.now += 1.0
    mon.sample()
    by_name = check_well_formed(mon.collect())
    assert {"net_rx_bytes", "disk_io_time", "disk_avg_queue_len"} <= set(by_name)


# -- run -------------------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.statuses: list[Status] = []

    def publish(self, status: Status) -> int:
        self.statuses.append(status)
        return len(self.statuses)

    def checkpoint(self, monitor: str, after: int, state: dict[str, Any]) -> None:
        raise AssertionError("the stats monitor keeps no state")


def test_run_publishes_empty_status_samples_periodically_and_cancels(tmp_path: Path) -> None:
    root = tree(tmp_path)
    document = {
        "procPath": str(root / "proc"),
        "invokeInterval": "20ms",
        "host": all_metrics("host"),
        "disk": {"lsblkTimeout": "10ms", "metricsConfigs": {}},
    }
    mon = SystemStatsMonitor(load(tmp_path, document), name="stats")
    sink = Sink()

    def uptime() -> float:
        return next(f for f in mon.collect() if f.name == "host_uptime").samples[0].value

    async def scenario() -> None:
        task = asyncio.create_task(mon.run(sink))
        await mon.sampled.wait()
        assert sink.statuses == [Status(source=SOURCE)]
        assert uptime() == 3600.5
        (root / "proc" / "uptime").write_text("3700.0 1.0\n")
        mon.sampled.clear()
        await mon.sampled.wait()
        assert uptime() == 3700.0
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert sink.statuses == [Status(source=SOURCE)]

    asyncio.run(asyncio.wait_for(scenario(), 10))
