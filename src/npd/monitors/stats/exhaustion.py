"""Node resource exhaustion conditions: readers of /proc, and a hysteresis tracker per resource.

Pure logic, no asyncio: :class:`ExhaustionWatcher` is given the monotonic time of each sample
and returns the condition changes it causes; the monitor publishes them.

A condition turns True once the resource's value was at or above ``raise`` in every sample for
at least ``minDuration``, and False once it was at or below ``clear`` in every sample for at
least ``minDuration``. A sample on the wrong side restarts the wait, and so does a sample that
cannot be read; between the thresholds nothing changes. A resource that cannot be read (no
conntrack module, no PSI) keeps its condition as it is, logged once; a condition that was never
anything else stays False, with a message saying why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from npd.config.duration import format_go_duration
from npd.config.exhaustion import ExhaustionConfig, Watch
from npd.goregex import compile_go
from npd.metrics.model import MetricFamily
from npd.monitors.base import restorable_conditions, saved_condition
from npd.monitors.stats.base import Paths, Warner, parse_int
from npd.monitors.stats.disk import Usage
from npd.monitors.stats.mounts import MOUNTINFO_CANDIDATES, nodev_filesystems, parse_mountinfo
from npd.problem import Condition, ConditionStatus, Event, condition_change_event, utc_from_timestamp

log = logging.getLogger("npd.monitors.stats")

#: Mount points under these are kernel interfaces, never data (a tmpfs at /sys/fs/cgroup, say).
_PSEUDO_TREES = ("/proc", "/sys")
#: Block file systems that are full by construction (images), so never worth a condition.
_IMAGE_FS = frozenset({"squashfs", "iso9660", "erofs", "cramfs"})
_GIB = 1 << 30
_PSI_NAMES = {"cpu": "CPU", "memory": "memory", "io": "IO"}


def percent_text(value: float) -> str:
    """``96``, ``95.2``: one decimal at most, none when it is zero."""
    return f"{value:.1f}".removesuffix(".0")


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample of a resource: its value in percent (``None`` if unreadable) and what it says."""

    percent: float | None
    text: str
    #: Per instance (a mount point; ``""`` for node-wide resources), the value in percent.
    instances: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Mount:
    """A watched file system: its first mount point, device and type."""

    mountpoint: str
    device: str
    fs_type: str


class NodeReader:
    """Reads each resource's current value under ``procPath``; never raises for the node's files."""

    def __init__(
        self, paths: Paths, usage: Callable[[str], Usage], *, exclude_mount_point_regexp: str = ""
    ) -> None:
        self.paths = paths
        self.warner = Warner("exhaustion")
        self._usage = usage
        self._exclude: Any = compile_go(exclude_mount_point_regexp) if exclude_mount_point_regexp else None

    # -- files -------------------------------------------------------------------------------

    def _text(self, *parts: str) -> tuple[str | None, str]:
        """A /proc file's text (``None``, warned once, if unreadable) and why it is not there."""
        path = os.path.join(self.paths.proc, *parts)
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                text = file.read()
        except OSError as exc:
            why = f"cannot read {path}: {exc.strerror or exc}"
            self.warner.warn(path, why + "; its exhaustion condition keeps its state")
            return None, why
        self.warner.clear(path)
        return text, ""

    def _integers(self, *parts: str) -> tuple[list[int] | None, str]:
        text, why = self._text(*parts)
        if text is None:
            return None, why
        try:
            return [parse_int(field) for field in text.split()], ""
        except ValueError:
            path = os.path.join(self.paths.proc, *parts)
            self.warner.warn(path + ":parse", f"malformed {path}; its exhaustion condition keeps its state")
            return None, f"malformed {path}"

    @staticmethod
    def _ratio(what: str, used: int, limit: int, unit: str = "") -> Reading:
        percent = used * 100 / limit
        return Reading(
            percent, f"{what} {percent_text(percent)}% used ({used} of {limit}{unit})", (("", percent),)
        )

    # -- node-wide resources -----------------------------------------------------------------

    def file_descriptors(self) -> Reading:
        """Allocated minus unused handles (``sys/fs/file-nr``) against ``sys/fs/file-max``."""
        nr, why = self._integers("sys", "fs", "file-nr")
        if nr is None or len(nr) < 3:
            return Reading(None, why or "malformed sys/fs/file-nr")
        # file-nr's third field is file-max too; the file itself is the documented source.
        has_max = os.path.exists(os.path.join(self.paths.proc, "sys", "fs", "file-max"))
        limit, _ = self._integers("sys", "fs", "file-max") if has_max else (None, "")
        maximum = limit[0] if limit else nr[2]
        if maximum <= 0:
            return Reading(None, "file-max is 0")
        return self._ratio("file descriptors", nr[0] - nr[1], maximum)

    def _tasks(self) -> tuple[int | None, str]:
        """Tasks (threads included) on the node: the total of loadavg's ``running/total`` field."""
        text, why = self._text("loadavg")
        if text is None:
            return None, why
        fields = text.split()
        try:
            return parse_int(fields[3].partition("/")[2]), ""
        except (IndexError, ValueError):
            return None, "malformed loadavg"

    def _tasks_against(self, what: str, limit_file: str) -> Reading:
        tasks, why = self._tasks()
        if tasks is None:
            return Reading(None, why)
        limit, why = self._integers("sys", "kernel", limit_file)
        if not limit or limit[0] <= 0:
            return Reading(None, why or f"malformed sys/kernel/{limit_file}")
        return self._ratio(what, tasks, limit[0], f" {limit_file}")

    def pids(self) -> Reading:
        """Every task holds a PID, so tasks against ``sys/kernel/pid_max``."""
        return self._tasks_against("PIDs", "pid_max")

    def threads(self) -> Reading:
        """Tasks against ``sys/kernel/threads-max``."""
        return self._tasks_against("threads", "threads-max")

    def conntrack(self) -> Reading:
        """``nf_conntrack_count`` against ``nf_conntrack_max``; absent while nf_conntrack is not loaded."""
        count_parts = ("sys", "net", "netfilter", "nf_conntrack_count")
        if not os.path.exists(os.path.join(self.paths.proc, *count_parts)):
            return Reading(None, "conntrack not in use (no nf_conntrack_count: nf_conntrack is not loaded)")
        count, why = self._integers(*count_parts)
        limit, why_max = self._integers("sys", "net", "netfilter", "nf_conntrack_max")
        if not count or not limit or limit[0] <= 0:
            return Reading(None, why or why_max or "malformed nf_conntrack_max")
        return self._ratio("conntrack table", count[0], limit[0], " entries")

    def pressure(self, watch: Watch) -> Reading:
        """The share of time stalled, from ``pressure/<resource>``'s configured line and window."""
        name = watch.resource.psi_file
        what = _PSI_NAMES.get(name, name) + " pressure"
        if not os.path.exists(os.path.join(self.paths.proc, "pressure", name)):
            return Reading(None, f"{what} not measured (no pressure/{name}: the kernel has no PSI)")
        text, why = self._text("pressure", name)
        if text is None:
            # Kernels built with PSI but booted with psi=0 refuse the read (EOPNOTSUPP).
            return Reading(None, f"{what} not measured ({why})")
        for line in text.splitlines():
            fields = line.split()
            if fields[:1] != [watch.psi_line]:
                continue
            values = dict(field.partition("=")[::2] for field in fields[1:])
            try:
                percent = float(values[watch.psi_window])
            except (KeyError, ValueError):
                break
            self.warner.clear(f"pressure/{name}:parse")
            stalled = f"{watch.psi_line} {watch.psi_window} {percent_text(percent)}% of the time stalled"
            return Reading(percent, f"{what}: {stalled}", (("", percent),))
        self.warner.warn(
            f"pressure/{name}:parse",
            f"no {watch.psi_line} {watch.psi_window} in pressure/{name}; its condition keeps its state",
        )
        missing = f"no {watch.psi_line} {watch.psi_window} in pressure/{name}"
        return Reading(None, f"{what} not measured ({missing})")

    # -- file systems ------------------------------------------------------------------------

    def mounts(self) -> list[Mount] | None:
        """Watched file systems: read-write mounts of block-device file systems and tmpfs.

        Read from ``<procPath>/1/mountinfo`` (``self/mountinfo`` as a fallback), one entry per
        device (``major:minor``, so tmpfs instances are told apart), its first mount point.
        """
        text: str | None = None
        for candidate in MOUNTINFO_CANDIDATES:
            text, _ = self._text(candidate)
            if text is not None:
                break
        if text is None:
            return None
        nodev = nodev_filesystems(self._text("filesystems")[0] or "")
        mounts: list[Mount] = []
        seen: set[str] = set()
        points: set[str] = set()
        for entry in parse_mountinfo(text):
            mountpoint = entry.mountpoint
            # A later mount at the same point hides the earlier one (statvfs sees the later).
            if entry.device_id in seen or mountpoint in points or entry.read_only:
                continue
            block = entry.fs_type not in nodev if nodev else entry.source.startswith("/dev/")
            if not (block or entry.fs_type == "tmpfs") or entry.fs_type in _IMAGE_FS:
                continue
            if any(mountpoint == tree or mountpoint.startswith(tree + "/") for tree in _PSEUDO_TREES):
                continue
            if self._exclude is not None and self._exclude.search(mountpoint):
                continue
            seen.add(entry.device_id)
            points.add(mountpoint)
            mounts.append(Mount(mountpoint, entry.source, entry.fs_type))
        return mounts

    def usages(self, mounts: list[Mount]) -> list[tuple[Mount, Usage]]:
        """Each mount's space and inodes; a mount that cannot be statted is left out (warned once)."""
        out: list[tuple[Mount, Usage]] = []
        for mount in mounts:
            # Mount points are as procPath's process sees them: under the root beside procPath.
            path = os.path.join(self.paths.root, mount.mountpoint.lstrip("/"))
            try:
                out.append((mount, self._usage(path)))
                self.warner.clear("statvfs:" + path)
            except OSError as exc:
                self.warner.warn("statvfs:" + path, f"cannot stat {path}: {exc.strerror or exc}")
        return out


def filesystem_reading(
    kind: str, usages: Sequence[tuple[Mount, Usage]] | None, watch: Watch, why: str = ""
) -> Reading:
    """The fullest watched file system's space (``kind`` "space") or inodes ("inodes").

    The text names every file system at or above the raise threshold, or else the fullest one.
    """
    what = "filesystem space" if kind == "space" else "filesystem inodes"
    if usages is None:
        return Reading(None, f"{what} not measured ({why})")
    rows: list[tuple[float, str, str]] = []
    for mount, usage in usages:
        if kind == "space":
            total = usage.used + usage.free
            if total <= 0:
                continue
            percent = usage.percent_used
            detail = f"{percent_text(percent)}% used ({usage.used / _GIB:.2f} of {total / _GIB:.2f} GiB)"
        else:
            if usage.inodes_total <= 0:
                continue  # no fixed inode table
            used = usage.inodes_total - usage.inodes_free
            percent = used * 100 / usage.inodes_total
            detail = f"{percent_text(percent)}% of inodes used ({used} of {usage.inodes_total})"
        rows.append((percent, mount.mountpoint, f"{mount.mountpoint} {detail}"))
    if not rows:
        return Reading(None, f"{what} not measured (no watched file system)")
    instances = tuple((mountpoint, percent) for percent, mountpoint, _ in rows)
    rows.sort(key=lambda row: -row[0])
    over = [text for percent, _, text in rows if percent >= watch.raise_at]
    text = f"{what}: " + "; ".join(over) if over else f"{what}: fullest {rows[0][2]} ({len(rows)} watched)"
    return Reading(rows[0][0], text, instances)


class Hysteresis:
    """Whether a resource counts as exhausted, moved only by ``minDuration`` of samples beyond a threshold."""

    def __init__(self, watch: Watch, exhausted: bool = False) -> None:
        self.watch = watch
        self.exhausted = exhausted
        #: When the current run of samples beyond the threshold that would flip the state began.
        self._since: float | None = None

    def update(self, percent: float | None, now: float) -> bool:
        """Feed one sample (``None``: unreadable); returns whether the state flipped."""
        if percent is None:
            self._since = None
            return False
        beyond = percent <= self.watch.clear_at if self.exhausted else percent >= self.watch.raise_at
        if not beyond:
            self._since = None
            return False
        if self._since is None:
            self._since = now
        if now - self._since >= self.watch.min_duration:
            self.exhausted = not self.exhausted
            self._since = None
            return True
        return False


@dataclass(frozen=True, slots=True)
class Change:
    """What one sample did: the condition change events, and whether any condition changed at all."""

    events: tuple[Event, ...] = ()
    changed: bool = False


class ExhaustionWatcher:
    """Every enabled resource's condition, driven by samples of the node."""

    def __init__(
        self,
        config: ExhaustionConfig,
        paths: Paths,
        usage: Callable[[str], Usage],
        *,
        wall_clock: Callable[[], float],
        saved_conditions: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.config = config
        self._reader = NodeReader(paths, usage, exclude_mount_point_regexp=config.exclude_mount_point_regexp)
        self._wall_clock = wall_clock
        self._watches = {watch.resource.condition: watch for watch in config.watches}
        self._trackers = {kind: Hysteresis(watch) for kind, watch in self._watches.items()}
        start = utc_from_timestamp(wall_clock())
        self._conditions = {
            kind: Condition(kind, ConditionStatus.FALSE, start, w.resource.available_reason, "not sampled")
            for kind, w in self._watches.items()
        }
        #: Types whose condition came from elsewhere (state directory, Node) or a sample.
        self._settled: set[str] = set()
        self._restored = self.restore(saved_conditions)
        self._readings: dict[str, Reading] = {}

    @property
    def condition_types(self) -> tuple[str, ...]:
        """The condition types this watcher owns."""
        return tuple(self._watches)

    @property
    def gauges(self) -> tuple[tuple[str, str], ...]:
        """``problem_gauge`` series (type, True reason), declared as zeros up front."""
        return tuple((kind, watch.resource.exhausted_reason) for kind, watch in self._watches.items())

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The current state of every condition, in the configured order."""
        return tuple(self._conditions.values())

    def restore(self, saved: Sequence[dict[str, Any]]) -> set[str]:
        """Take up saved True/False conditions of our types, so a restart does not flap them."""
        restored: set[str] = set()
        for condition, _ in restorable_conditions(saved, self._watches, "system stats exhaustion"):
            self._conditions[condition.type] = condition
            self._trackers[condition.type] = Hysteresis(
                self._watches[condition.type], exhausted=condition.status is ConditionStatus.TRUE
            )
            self._settled.add(condition.type)
            restored.add(condition.type)
        return restored

    def adopt(self, conditions: Sequence[Condition]) -> None:
        """Take up the Node's conditions of our types that the state directory did not restore."""
        self._restored |= self.restore(
            [saved_condition(c) for c in conditions if c.type not in self._restored]
        )

    def snapshot(self) -> list[dict[str, Any]]:
        """The conditions, for the state directory."""
        return [saved_condition(condition) for condition in self._conditions.values()]

    def _read(self) -> dict[str, Reading]:
        reader = self._reader
        readings: dict[str, Reading] = {}
        mounts: list[Mount] | None = None
        usages: list[tuple[Mount, Usage]] | None = None
        if any(w.resource.key in ("filesystemSpace", "inodes") for w in self._watches.values()):
            mounts = reader.mounts()
            usages = reader.usages(mounts) if mounts is not None else None
        for kind, watch in self._watches.items():
            key = watch.resource.key
            if key == "fileDescriptors":
                readings[kind] = reader.file_descriptors()
            elif key == "pids":
                readings[kind] = reader.pids()
            elif key == "threads":
                readings[kind] = reader.threads()
            elif key == "conntrack":
                readings[kind] = reader.conntrack()
            elif key in ("filesystemSpace", "inodes"):
                fs_kind = "space" if key == "filesystemSpace" else "inodes"
                readings[kind] = filesystem_reading(fs_kind, usages, watch, "no readable mountinfo")
            else:
                readings[kind] = reader.pressure(watch)
        return readings

    def evaluate(self, now: float) -> Change:
        """Sample every resource at monotonic time ``now`` and apply the thresholds."""
        self._readings = self._read()
        events: list[Event] = []
        changed = False
        for kind, reading in self._readings.items():
            watch = self._watches[kind]
            tracker = self._trackers[kind]
            current = self._conditions[kind]
            if tracker.update(reading.percent, now):
                timestamp = utc_from_timestamp(self._wall_clock())
                if tracker.exhausted:
                    status, reason = ConditionStatus.TRUE, watch.resource.exhausted_reason
                    rule = f"at or above {percent_text(watch.raise_at)}%"
                else:
                    status, reason = ConditionStatus.FALSE, watch.resource.available_reason
                    rule = f"at or below {percent_text(watch.clear_at)}%"
                message = f"{reading.text}; {rule} for {format_go_duration(watch.min_duration)}"
                self._conditions[kind] = Condition(kind, status, timestamp, reason, message)
                events.append(condition_change_event(kind, status, reason, message, timestamp))
                self._settled.add(kind)
                changed = True
            elif kind not in self._settled:
                # The first sample describes the node; it is no transition, so no event.
                self._conditions[kind] = Condition(
                    kind, current.status, current.transition, current.reason, reading.text
                )
                self._settled.add(kind)
                changed = True
        return Change(tuple(events), changed)

    def collect(self) -> list[MetricFamily]:
        """``npd_resource_usage_ratio{resource,instance}`` of the latest sample (0–1)."""
        family = MetricFamily(
            "npd_resource_usage_ratio",
            "Share of a node resource in use (PSI: of time stalled) at the latest sample, 0 to 1.",
            "gauge",
        )
        for kind, reading in self._readings.items():
            for instance, percent in reading.instances:
                family.add(percent / 100, resource=self._watches[kind].resource.key, instance=instance)
        return [family] if family.samples else []
