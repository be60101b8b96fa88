"""Exhaustion conditions of the system stats monitor: fixture /proc trees, an injected clock, hysteresis."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from npd.config.errors import ConfigError
from npd.config.exhaustion import RESOURCES, RESOURCES_BY_KEY
from npd.config.loader import MonitorKind, load_monitor_config
from npd.config.stats import SystemStatsConfig
from npd.daemon.build import BUNDLED_DIR, BUNDLED_STATS_MONITORS
from npd.monitors.stats import SystemStatsMonitor
from npd.monitors.stats.disk import Usage
from npd.monitors.stats.monitor import SOURCE
from npd.problem import Condition, ConditionStatus, Severity, Status

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
27 1 253:1 / / rw,relatime - ext4 /dev/vda1 rw
28 27 253:1 /var/lib /var/lib rw,nosuid - ext4 /dev/vda1 rw
29 27 253:16 / /var/lib/kubelet rw,relatime - xfs /dev/vdb rw
30 27 0:30 / /run rw,nosuid - tmpfs tmpfs rw
31 27 7:0 / /snap/core/1 ro,nodev - squashfs /dev/loop0 ro
32 27 253:2 / /boot ro,relatime - ext4 /dev/vda2 ro
33 27 0:40 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw
"""
FILESYSTEMS = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\toverlay\n\text4\n\txfs\n\tsquashfs\n"
WATCHED = ("/", "/var/lib/kubelet", "/run")


def psi(some: float = 0.0, full: float = 0.0, window: str = "avg60") -> str:
    def line(kind: str, value: float) -> str:
        values = {"avg10": 0.0, "avg60": 0.0, "avg300": 0.0, window: value}
        return f"{kind} " + " ".join(f"{k}={v:.2f}" for k, v in values.items()) + " total=12345\n"

    return line("some", some) + line("full", full)


class Node:
    """A fixture node: /proc files written by the test, statvfs answered from a table."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "node"
        self.proc = self.root / "proc"
        self.space: dict[str, Usage] = {point: Usage(free=900, used=100) for point in WATCHED}
        self.write("sys/fs/file-nr", "100\t0\t1000\n")
        self.write("sys/fs/file-max", "1000\n")
        self.write("loadavg", "0.10 0.20 0.30 2/100 4242\n")
        self.write("sys/kernel/pid_max", "1000\n")
        self.write("sys/kernel/threads-max", "1000\n")
        self.write("sys/net/netfilter/nf_conntrack_count", "10\n")
        self.write("sys/net/netfilter/nf_conntrack_max", "1000\n")
        for name in ("cpu", "memory", "io"):
            self.write(f"pressure/{name}", psi())
        self.write("1/mountinfo", MOUNTINFO)
        self.write("filesystems", FILESYSTEMS)

    def write(self, relative: str, text: str) -> None:
        path = self.proc / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def remove(self, relative: str) -> None:
        (self.proc / relative).unlink()

    def usage(self, path: str) -> Usage:
        # Mount points are looked up under the root beside procPath.
        point = "/" + str(Path(path).relative_to(self.root)).removeprefix(".")
        if point not in self.space:
            raise FileNotFoundError(2, "No such file or directory")
        return self.space[point]

    def set(self, resource: str, percent: int) -> None:
        """Make ``resource`` read ``percent`` (of a limit of 1000, or of time for PSI)."""
        used = percent * 10
        if resource == "fileDescriptors":
            self.write("sys/fs/file-nr", f"{used + 5}\t5\t1000\n")  # allocated minus unused
        elif resource in ("pids", "threads"):
            other = "threads-max" if resource == "pids" else "pid_max"
            self.write(f"sys/kernel/{other}", "4000000\n")  # keep the other one low
            self.write("loadavg", f"0.10 0.20 0.30 2/{used} 4242\n")
        elif resource == "conntrack":
            self.write("sys/net/netfilter/nf_conntrack_count", f"{used}\n")
        elif resource in ("filesystemSpace", "inodes"):
            usage = self.space["/var/lib/kubelet"]
            if resource == "filesystemSpace":
                self.space["/var/lib/kubelet"] = Usage(free=1000 - used, used=used)
            else:
                self.space["/var/lib/kubelet"] = Usage(usage.free, usage.used, 1000, 1000 - used)
        else:
            name = RESOURCES_BY_KEY[resource].psi_file
            line = RESOURCES_BY_KEY[resource].psi_line
            text = psi(some=percent) if line == "some" else psi(full=percent)
            self.write(f"pressure/{name}", text)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write_config(tmp_path: Path, document: dict[str, Any]) -> Path:
    file = tmp_path / "stats.json"
    file.write_text(json.dumps(document))
    return file


def load(tmp_path: Path, document: dict[str, Any], warn: Callable[[str], None] = lambda _: None) -> Any:
    config = load_monitor_config(str(write_config(tmp_path, document)), MonitorKind.SYSTEM_STATS, warn)
    assert isinstance(config, SystemStatsConfig)
    return config


def monitor(
    tmp_path: Path,
    node: Node,
    exhaustion: dict[str, Any] | None,
    clock: Clock,
    saved: list[dict[str, Any]] | None = None,
) -> SystemStatsMonitor:
    document: dict[str, Any] = {"procPath": str(node.proc)}
    if exhaustion is not None:
        document["exhaustion"] = exhaustion
    return SystemStatsMonitor(
        load(tmp_path, document),
        clock=clock,
        wall_clock=lambda: 1_700_000_000.0 + clock.now,
        disk_usage=node.usage,
        saved_conditions=saved,
    )


def condition(mon: SystemStatsMonitor, kind: str) -> Condition:
    [found] = [c for c in mon.conditions if c.type == kind]
    return found


# -- hysteresis, per resource -------------------------------------------------------------------------


@pytest.mark.parametrize("resource", [r.key for r in RESOURCES])
def test_raises_after_min_duration_holds_between_thresholds_and_clears_after_min_duration(
    tmp_path: Path, resource: str
) -> None:
    spec = RESOURCES_BY_KEY[resource]
    node, clock = Node(tmp_path), Clock()
    mon = monitor(tmp_path, node, {"minDuration": "1m"}, clock)
    kind = spec.condition
    first = mon.sample()
    assert first.changed and not first.events
    assert condition(mon, kind).status is ConditionStatus.FALSE
    assert condition(mon, kind).reason == spec.available_reason

    high = int(spec.raise_at) + 1
    node.set(resource, high)
    for step in (0, 30, 59):  # above raise, but not yet for a minute
        clock.now = 2000.0 + step
        assert mon.sample().events == (), step
        assert condition(mon, kind).status is ConditionStatus.FALSE
    clock.now = 2060.0
    change = mon.sample()
    raised = condition(mon, kind)
    assert (raised.status, raised.reason) == (ConditionStatus.TRUE, spec.exhausted_reason)
    assert raised.transition == datetime.fromtimestamp(1_700_000_000.0 + 2060.0, UTC)
    assert f"{high}% " in raised.message and "at or above" in raised.message, raised.message
    [event] = change.events
    assert event.severity is Severity.WARN and event.reason == spec.exhausted_reason
    assert event.message.startswith(f"Node condition {kind} is now: True")

    # Between the thresholds: nothing changes, however long.
    middle = int((spec.raise_at + spec.clear_at) / 2)
    node.set(resource, middle)
    for step in range(1, 11):
        clock.now = 2060.0 + step * 60
        assert mon.sample().events == ()
        assert condition(mon, kind) == raised

    low = int(spec.clear_at)  # at the clear threshold counts as clear
    node.set(resource, low)
    clock.now = 3000.0
    assert mon.sample().events == ()
    clock.now = 3059.0
    assert mon.sample().events == ()
    assert condition(mon, kind).status is ConditionStatus.TRUE
    clock.now = 3060.0
    [event] = mon.sample().events
    cleared = condition(mon, kind)
    assert (cleared.status, cleared.reason) == (ConditionStatus.FALSE, spec.available_reason)
    assert f"{low}% " in cleared.message and "at or below" in cleared.message, cleared.message
    assert event.severity is Severity.INFO


def test_a_sample_below_raise_restarts_the_wait(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    mon = monitor(tmp_path, node, {"minDuration": "60s"}, clock)
    node.set("fileDescriptors", 95)
    mon.sample()  # t=1000: the wait starts
    clock.now = 1050.0
    node.set("fileDescriptors", 89)  # a dip below raise (still above clear)
    mon.sample()
    node.set("fileDescriptors", 95)
    clock.now = 1070.0
    mon.sample()  # the wait starts again here
    clock.now = 1120.0
    mon.sample()
    assert condition(mon, "FileDescriptorExhaustion").status is ConditionStatus.FALSE
    clock.now = 1130.0
    mon.sample()
    assert condition(mon, "FileDescriptorExhaustion").status is ConditionStatus.TRUE


def test_zero_min_duration_raises_on_the_first_sample_above(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    node.set("conntrack", 99)
    mon = monitor(tmp_path, node, {"minDuration": "0s"}, clock)
    [event] = mon.sample().events
    raised = condition(mon, "ConntrackExhaustion")
    assert raised.status is ConditionStatus.TRUE
    assert raised.message == "conntrack table 99% used (990 of 1000 entries); at or above 90% for 0s"
    assert event.reason == "ConntrackTableNearlyFull"


# -- messages ----------------------------------------------------------------------------------------


def test_first_sample_messages_carry_the_numbers(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    mon = monitor(tmp_path, node, {}, clock)
    mon.sample()
    messages = {c.type: c.message for c in mon.conditions}
    assert all(c.status is ConditionStatus.FALSE for c in mon.conditions)
    assert messages == {
        "FileDescriptorExhaustion": "file descriptors 10% used (100 of 1000)",
        "PIDExhaustion": "PIDs 10% used (100 of 1000 pid_max)",
        "ThreadExhaustion": "threads 10% used (100 of 1000 threads-max)",
        "ConntrackExhaustion": "conntrack table 1% used (10 of 1000 entries)",
        "FilesystemSpaceExhaustion": "filesystem space: fullest / 10% used (0.00 of 0.00 GiB) (3 watched)",
        "InodeExhaustion": "filesystem inodes not measured (no watched file system)",
        "CPUPressureStall": "CPU pressure: some avg60 0% of the time stalled",
        "MemoryPressureStall": "memory pressure: full avg60 0% of the time stalled",
        "IOPressureStall": "IO pressure: full avg60 0% of the time stalled",
    }


def test_filesystem_conditions_name_the_mount_points_above_the_threshold(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    gib = 1 << 30
    node.space["/"] = Usage(free=3 * gib, used=97 * gib)
    node.space["/var/lib/kubelet"] = Usage(free=4 * gib, used=96 * gib, inodes_total=1000, inodes_free=20)
    node.space["/run"] = Usage(free=50, used=50, inodes_total=1000, inodes_free=900)
    mon = monitor(tmp_path, node, {"minDuration": "0s"}, clock)
    mon.sample()
    space = condition(mon, "FilesystemSpaceExhaustion")
    assert space.status is ConditionStatus.TRUE
    assert space.message == (
        "filesystem space: / 97% used (97.00 of 100.00 GiB); "
        "/var/lib/kubelet 96% used (96.00 of 100.00 GiB); at or above 95% for 0s"
    )
    inodes = condition(mon, "InodeExhaustion")
    assert inodes.status is ConditionStatus.TRUE
    assert inodes.message.startswith("filesystem inodes: /var/lib/kubelet 98% of inodes used (980 of 1000)")
    ratios = {
        (dict(s.labels)["resource"], dict(s.labels)["instance"]): s.value
        for f in mon.collect()
        if f.name == "npd_resource_usage_ratio"
        for s in f.samples
    }
    # Read-only, image, pseudo and overlay mounts are not watched; /var/lib is /'s device again.
    assert {i for r, i in ratios if r == "filesystemSpace"} == set(WATCHED)
    assert ratios[("filesystemSpace", "/")] == pytest.approx(0.97)
    assert ratios[("fileDescriptors", "")] == pytest.approx(0.1)


def test_exclude_mount_point_regexp(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    node.space["/run"] = Usage(free=1, used=99)
    mon = monitor(tmp_path, node, {"minDuration": "0s", "excludeMountPointRegexp": "^/run$"}, clock)
    mon.sample()
    space = condition(mon, "FilesystemSpaceExhaustion")
    assert space.status is ConditionStatus.FALSE
    assert "/run" not in space.message and "(2 watched)" in space.message


# -- what cannot be read ------------------------------------------------------------------------------


def test_no_conntrack_and_no_psi_stay_false_with_a_message_and_warn_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    node, clock = Node(tmp_path), Clock()
    node.remove("sys/net/netfilter/nf_conntrack_count")
    node.remove("sys/net/netfilter/nf_conntrack_max")
    for name in ("cpu", "memory", "io"):
        node.remove(f"pressure/{name}")
    mon = monitor(tmp_path, node, {"minDuration": "0s"}, clock)
    with caplog.at_level(logging.WARNING, logger="npd.monitors.stats"):
        for _ in range(5):
            clock.now += 10
            assert mon.sample().events == ()
    conntrack = condition(mon, "ConntrackExhaustion")
    assert conntrack.status is ConditionStatus.FALSE
    assert conntrack.message == "conntrack not in use (no nf_conntrack_count: nf_conntrack is not loaded)"
    cpu = condition(mon, "CPUPressureStall")
    assert cpu.status is ConditionStatus.FALSE
    assert cpu.message == "CPU pressure not measured (no pressure/cpu: the kernel has no PSI)"
    # An absent feature is not a fault: nothing to warn about, and never per sample.
    assert len(caplog.records) == 0
    assert not [f for f in mon.collect() for s in f.samples if dict(s.labels)["resource"] == "conntrack"]


def test_an_unreadable_file_keeps_the_state_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    node, clock = Node(tmp_path), Clock()
    node.set("fileDescriptors", 95)
    mon = monitor(tmp_path, node, {"minDuration": "0s"}, clock)
    mon.sample()
    raised = condition(mon, "FileDescriptorExhaustion")
    assert raised.status is ConditionStatus.TRUE
    node.remove("sys/fs/file-nr")
    with caplog.at_level(logging.WARNING, logger="npd.monitors.stats"):
        for _ in range(3):
            clock.now += 10
            assert mon.sample().events == ()
    assert condition(mon, "FileDescriptorExhaustion") == raised
    assert len([r for r in caplog.records if "file-nr" in r.getMessage()]) == 1


def test_malformed_psi_line_keeps_the_state(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    node.write("pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")  # no "full" line
    mon = monitor(tmp_path, node, {"minDuration": "0s"}, clock)
    mon.sample()
    memory = condition(mon, "MemoryPressureStall")
    assert memory.status is ConditionStatus.FALSE
    assert memory.message == "memory pressure not measured (no full avg60 in pressure/memory)"


# -- configuration ------------------------------------------------------------------------------------


def test_without_the_key_there_are_no_conditions(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    mon = monitor(tmp_path, node, None, clock)
    assert mon.sample().changed is False
    assert mon.conditions == ()
    assert mon.declaration.condition_types == () and mon.declaration.gauges == ()
    assert not [f for f in mon.collect() if f.name == "npd_resource_usage_ratio"]


def test_defaults_and_overrides(tmp_path: Path) -> None:
    node = Node(tmp_path)
    config = load(
        tmp_path,
        {
            "procPath": str(node.proc),
            "exhaustion": {
                "minDuration": "2m",
                "conntrack": {"enabled": False},
                "threads": False,
                "pids": True,
                "fileDescriptors": {"raise": 85.5, "clear": 60, "minDuration": "30s"},
                "cpuPressure": {"line": "full", "window": "avg10"},
            },
        },
    )
    watches = {w.resource.key: w for w in config.exhaustion.watches}
    assert "conntrack" not in watches and "threads" not in watches
    assert len(watches) == len(RESOURCES) - 2
    fd = watches["fileDescriptors"]
    assert (fd.raise_at, fd.clear_at, fd.min_duration) == (85.5, 60.0, 30.0)
    assert (watches["pids"].raise_at, watches["pids"].clear_at, watches["pids"].min_duration) == (90, 80, 120)
    assert (watches["cpuPressure"].psi_line, watches["cpuPressure"].psi_window) == ("full", "avg10")
    memory = watches["memoryPressure"]
    assert (memory.raise_at, memory.clear_at, memory.psi_line, memory.psi_window) == (10, 5, "full", "avg60")
    assert (watches["filesystemSpace"].raise_at, watches["inodes"].clear_at) == (95, 90)


def test_default_min_duration_is_a_minute(tmp_path: Path) -> None:
    config = load(tmp_path, {"exhaustion": {}})
    assert {w.min_duration for w in config.exhaustion.watches} == {60.0}


@pytest.mark.parametrize(
    ("exhaustion", "where", "problem"),
    [
        ({"fileDescriptors": {"raise": 80, "clear": 80}}, "exhaustion.fileDescriptors.clear",
         "clear (80) must be below raise (80)"),
        ({"inodes": {"raise": 85}}, "exhaustion.inodes.raise", "clear (90) must be below raise (85)"),
        ({"pids": {"clear": 120}}, "exhaustion.pids.clear", "120 is not a percentage from 0 to 100"),
        ({"pids": {"raise": "90%"}}, "exhaustion.pids.raise", "expected a number, got string"),
        ({"minDuration": "1 minute"}, "exhaustion.minDuration", 'in duration "1 minute"'),
        ({"conntrack": {"minDuration": "-1s"}}, "exhaustion.conntrack.minDuration", "must not be negative"),
        ({"fileDescriptor": {}}, "exhaustion.fileDescriptor", "unknown key (known: "),
        ({"pids": {"raise": 95, "treshold": 1}}, "exhaustion.pids.treshold", "unknown key (known: "),
        ({"ioPressure": {"window": "avg5"}}, "exhaustion.ioPressure.window",
         "'avg5' is not one of avg10, avg60, avg300"),
        ({"ioPressure": {"line": "all"}}, "exhaustion.ioPressure.line", "'all' is not one of some, full"),
        ({"pids": {"line": "some"}}, "exhaustion.pids.line", "unknown key"),
        ({"excludeMountPointRegexp": "(?!x)"}, "exhaustion.excludeMountPointRegexp", ""),
        ({"pids": []}, "exhaustion.pids", "expected an object, got array"),
    ],
)  # fmt: skip
def test_invalid_settings_are_one_line_errors_naming_file_and_field(
    tmp_path: Path, exhaustion: dict[str, Any], where: str, problem: str
) -> None:
    file = write_config(tmp_path, {"exhaustion": exhaustion})
    with pytest.raises(ConfigError) as caught:
        load_monitor_config(str(file), MonitorKind.SYSTEM_STATS, lambda _: None)
    error = caught.value
    assert error.path == where
    assert problem in error.problem
    line = error.line()
    assert "\n" not in line and line.startswith(f"{file}: {where}: ")


def test_bundled_config_loads_with_every_condition(tmp_path: Path) -> None:
    warnings: list[str] = []
    [name] = BUNDLED_STATS_MONITORS
    config = load_monitor_config(f"{BUNDLED_DIR}/{name}", MonitorKind.SYSTEM_STATS, warnings.append)
    assert isinstance(config, SystemStatsConfig)
    assert warnings == []
    assert config.exhaustion is not None
    assert [w.resource.condition for w in config.exhaustion.watches] == [r.condition for r in RESOURCES]
    # Several samples fit in the shortest minDuration, so one odd sample cannot raise a condition.
    assert config.invoke_interval * 4 <= min(w.min_duration for w in config.exhaustion.watches)
    # Upstream's sections and display names (upstream's file has no net section).
    assert set(config.sections) == {"cpu", "disk", "host", "memory", "osFeature"}
    assert all(name == display for s in config.sections.values() for name, display in s.metrics.items())
    kubelet = {"MemoryPressure", "DiskPressure", "PIDPressure", "Ready", "NetworkUnavailable"}
    assert not kubelet & {w.resource.condition for w in config.exhaustion.watches}


# -- restart ------------------------------------------------------------------------------------------


def test_a_saved_true_condition_is_restored_without_flapping(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    node.set("pids", 95)
    first = monitor(tmp_path, node, {"minDuration": "1m"}, clock)
    first.sample()
    clock.now += 60
    assert first.sample().events
    raised = condition(first, "PIDExhaustion")
    assert raised.status is ConditionStatus.TRUE
    saved = json.loads(json.dumps(first._exhaustion.snapshot()))  # type: ignore[union-attr]

    # Restarted while the value is back between the thresholds, then below clear: True holds
    # until a full minDuration at or below clear, with its original transition time.
    node.set("pids", 85)
    clock.now += 600
    second = monitor(tmp_path, node, {"minDuration": "1m"}, clock, saved=saved)
    assert second.sample().events == ()
    assert condition(second, "PIDExhaustion") == raised
    node.set("pids", 10)
    clock.now += 30
    assert second.sample().events == ()
    assert condition(second, "PIDExhaustion") == raised
    clock.now += 60
    second.sample()
    assert condition(second, "PIDExhaustion").status is ConditionStatus.FALSE


def test_adopts_the_nodes_true_condition_when_nothing_was_saved(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    mon = monitor(tmp_path, node, {"minDuration": "1m"}, clock)
    on_node = Condition(
        "InodeExhaustion",
        ConditionStatus.TRUE,
        datetime(2026, 1, 1, tzinfo=UTC),
        "InodesNearlyExhausted",
        "x",
    )
    other = Condition("KernelDeadlock", ConditionStatus.TRUE, datetime(2026, 1, 1, tzinfo=UTC), "R", "m")
    mon.adopt([on_node, other])
    mon.sample()
    assert condition(mon, "InodeExhaustion") == on_node
    assert "KernelDeadlock" not in {c.type for c in mon.conditions}


def test_declaration_names_every_condition_and_gauge(tmp_path: Path) -> None:
    node, clock = Node(tmp_path), Clock()
    mon = monitor(tmp_path, node, {"ioPressure": {"enabled": False}}, clock)
    declared = mon.declaration
    assert declared.source == SOURCE
    assert declared.condition_types == tuple(r.condition for r in RESOURCES if r.key != "ioPressure")
    assert ("FileDescriptorExhaustion", "FileDescriptorsNearlyExhausted") in declared.gauges
    assert "IOStallHigh" not in declared.reasons and "CPUStallHigh" in declared.reasons


# -- run ----------------------------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.statuses: list[Status] = []
        self.checkpoints: list[tuple[str, int, dict[str, Any]]] = []

    def publish(self, status: Status) -> int:
        self.statuses.append(status)
        return len(self.statuses)

    def checkpoint(self, monitor: str, after: int, state: dict[str, Any]) -> None:
        self.checkpoints.append((monitor, after, state))


def test_run_publishes_conditions_on_start_and_on_change_and_checkpoints(tmp_path: Path) -> None:
    node = Node(tmp_path)
    document = {
        "procPath": str(node.proc),
        "invokeInterval": "20ms",
        "disk": {"lsblkTimeout": "10ms"},
        "exhaustion": {"minDuration": "0s"},
    }
    mon = SystemStatsMonitor(load(tmp_path, document), name="stats", disk_usage=node.usage)
    sink = Sink()

    async def scenario() -> None:
        task = asyncio.create_task(mon.run(sink))
        await mon.sampled.wait()
        [initial] = sink.statuses
        assert initial.source == SOURCE and initial.events == ()
        assert {c.type for c in initial.conditions} == {r.condition for r in RESOURCES}
        assert len(sink.checkpoints) == 1
        for _ in range(3):  # unchanged samples publish nothing
            mon.sampled.clear()
            await mon.sampled.wait()
        assert len(sink.statuses) == 1
        node.set("threads", 97)
        mon.sampled.clear()
        await mon.sampled.wait()
        [_, changed] = sink.statuses
        [event] = changed.events
        assert event.reason == "ThreadsNearlyExhausted"
        assert {c.type: c.status for c in changed.conditions}["ThreadExhaustion"] is ConditionStatus.TRUE
        monitor_name, after, state = sink.checkpoints[-1]
        assert (monitor_name, after) == ("stats", 2)
        saved = {item["type"]: item["status"] for item in state["conditions"]}
        assert saved["ThreadExhaustion"] == "True" and saved["PIDExhaustion"] == "False"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(scenario(), 10))


# -- live ---------------------------------------------------------------------------------------------


def test_live_node_reports_every_condition_with_numbers(tmp_path: Path) -> None:
    mon = SystemStatsMonitor(load(tmp_path, {"exhaustion": {}}))
    mon.sample()
    conditions = {c.type: c for c in mon.conditions}
    assert set(conditions) == {r.condition for r in RESOURCES}
    for kind in (
        "FileDescriptorExhaustion",
        "PIDExhaustion",
        "ThreadExhaustion",
        "FilesystemSpaceExhaustion",
    ):
        assert "% used (" in conditions[kind].message, conditions[kind].message
    for item in conditions.values():
        # One sample cannot raise with the default minDuration, whatever this machine's state.
        assert item.status is ConditionStatus.FALSE, item
        assert item.message and item.message != "not sampled", item
        assert "%" in item.message or "not " in item.message, item
