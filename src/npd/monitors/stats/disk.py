"""The ``disk`` section: /proc/diskstats, /sys/block and the mount table."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from npd.metrics.model import MetricFamily
from npd.monitors.stats.base import Families, Paths, StatsCollector, parse_int
from npd.monitors.stats.mounts import MOUNTINFO_CANDIDATES, nodev_filesystems, parse_mountinfo

#: /proc/diskstats counts 512-byte sectors whatever the device's sector size.
SECTOR_BYTES = 512


@dataclass(frozen=True, slots=True)
class Usage:
    """A file system's space, as ``df`` (and gopsutil) count it, and its inodes as ``df -i`` does."""

    free: int
    used: int
    #: Inodes in all and free; 0 in all where the file system has no fixed inode table (btrfs).
    inodes_total: int = 0
    inodes_free: int = 0

    @property
    def percent_used(self) -> float:
        """Used share of the space a non-root user can see, in percent."""
        total = self.used + self.free
        return self.used * 100 / total if total else 0.0


def statvfs_usage(mountpoint: str) -> Usage:
    """The space of the file system mounted at ``mountpoint`` (``OSError`` if it cannot be read)."""
    st = os.statvfs(mountpoint)
    return Usage(
        free=st.f_bavail * st.f_frsize,
        used=(st.f_blocks - st.f_bfree) * st.f_frsize,
        inodes_total=st.f_files,
        inodes_free=st.f_ffree,
    )


@dataclass(frozen=True, slots=True)
class _Mount:
    device: str
    mountpoint: str
    fs_type: str
    options: str


@dataclass(frozen=True, slots=True)
class _IO:
    reads: int
    reads_merged: int
    read_bytes: int
    read_ms: int
    writes: int
    writes_merged: int
    write_bytes: int
    write_ms: int
    io_ms: int
    weighted_ms: int


class DiskCollector(StatsCollector):
    """Block device IO counters (cumulative, from /proc/diskstats) and file system usage.

    Devices: every /proc/diskstats row unless ``includeRootBlk`` or ``includeAllAttachedBlk``
    is set; then only the union of whole disks (/sys/block, as ``lsblk -d``, RAM disks left out)
    and the devices of mounted block file systems respectively. /sys is read instead of running
    ``lsblk``, so ``lsblkTimeout`` has nothing to bound.
    """

    section = "disk"

    def __init__(
        self,
        metrics: dict[str, str],
        paths: Paths,
        *,
        include_root_blk: bool = False,
        include_all_attached_blk: bool = False,
        usage: Callable[[str], Usage] = statvfs_usage,
    ) -> None:
        super().__init__(metrics, paths)
        self._root_blk = include_root_blk
        self._attached_blk = include_all_attached_blk
        self._usage = usage
        self._last: tuple[float, dict[str, int]] | None = None

    def sample(self, now: float) -> list[MetricFamily]:
        """See :meth:`StatsCollector.sample`."""
        out = Families(self.metrics)
        mounts = self._mounts()
        self._io(out, now, mounts)
        self._space(out, mounts)
        return out.families

    # -- IO counters -----------------------------------------------------------------------

    def _devices(self, mounts: list[_Mount]) -> set[str] | None:
        """The device names to report, or ``None`` for all of /proc/diskstats."""
        if not (self._root_blk or self._attached_blk):
            return None
        names: set[str] = set()
        if self._root_blk:
            try:
                names.update(d for d in os.listdir(self.paths.sys("block")) if not d.startswith("ram"))
                self.warner.clear("sys/block")
            except OSError as exc:
                self.warner.warn("sys/block", f"cannot list {self.paths.sys('block')}: {exc.strerror}")
        if self._attached_blk:
            # Upstream passed "/dev/sda1" where diskstats says "sda1", so it matched nothing.
            names.update(os.path.basename(os.path.realpath(m.device)) for m in mounts)
        return names

    def _read_io(self) -> dict[str, _IO] | None:
        path = os.path.join(self.paths.proc, "diskstats")
        text = self.warner.read(path)
        if text is None:
            return None
        rows: dict[str, _IO] = {}
        bad: list[str] = []
        for line in text.splitlines():
            fields = line.split()
            if not fields:
                continue
            try:
                v = [parse_int(f) for f in fields[3:14]]
                if len(v) < 11:
                    raise ValueError("short row")
            except ValueError:
                bad.append(fields[2] if len(fields) > 2 else line)
                continue
            rows[fields[2]] = _IO(
                reads=v[0], reads_merged=v[1], read_bytes=v[2] * SECTOR_BYTES, read_ms=v[3],
                writes=v[4], writes_merged=v[5], write_bytes=v[6] * SECTOR_BYTES, write_ms=v[7],
                io_ms=v[9], weighted_ms=v[10],
            )  # fmt: skip
        if bad:
            self.warner.warn(path + ":parse", f"malformed {path} rows {bad}; those devices left out")
        else:
            self.warner.clear(path + ":parse")
        return rows

    def _io(self, out: Families, now: float, mounts: list[_Mount]) -> None:
        rows = self._read_io()
        if rows is None:
            return
        wanted = self._devices(mounts)
        devices = [name for name in rows if wanted is None or name in wanted]
        if not devices:
            return
        last = self._last
        self._last = (now, {name: rows[name].weighted_ms for name in devices})
        if family := out.new("disk/io_time", "The IO time spent on the disk, in ms.", "counter"):
            for name in devices:
                family.add(rows[name].io_ms, device_name=name)
        if family := out.new("disk/weighted_io", "The weighted IO on the disk, in ms.", "counter"):
            for name in devices:
                family.add(rows[name].weighted_ms, device_name=name)
        # A rate needs two samples: the first sample has no queue length.
        if last is not None and now > last[0]:
            elapsed_ms = (now - last[0]) * 1000
            previous = last[1]
            if family := out.new(
                "disk/avg_queue_len", "The average queue length on the disk since the last sample.", "gauge"
            ):
                for name in devices:
                    before = previous.get(name)
                    if before is not None and rows[name].weighted_ms >= before:
                        family.add((rows[name].weighted_ms - before) / elapsed_ms, device_name=name)
        for metric_id, help_text, read_attr, write_attr in (
            ("disk/operation_count", "Disk operations count.", "reads", "writes"),
            ("disk/merged_operation_count", "Disk merged operations count.", "reads_merged", "writes_merged"),
            (
                "disk/operation_bytes_count",
                "Bytes transferred in disk operations.",
                "read_bytes",
                "write_bytes",
            ),
            ("disk/operation_time", "Time spent in disk operations, in ms.", "read_ms", "write_ms"),
        ):
            if family := out.new(metric_id, help_text, "counter"):
                for name in devices:
                    family.add(getattr(rows[name], read_attr), device_name=name, direction="read")
                    family.add(getattr(rows[name], write_attr), device_name=name, direction="write")

    # -- file system space -----------------------------------------------------------------

    def _mounts(self) -> list[_Mount]:
        """Mounted block-device file systems, first mount of each device (gopsutil ``Partitions(false)``)."""
        if not (
            self._attached_blk or self.metrics.get("disk/bytes_used") or self.metrics.get("disk/percent_used")
        ):
            return []
        text = None
        for candidate in MOUNTINFO_CANDIDATES:
            path = os.path.join(self.paths.proc, candidate)
            if os.path.exists(path):
                text = self.warner.read(path)
                break
        if text is None:
            self.warner.warn(
                "mountinfo", f"no readable mountinfo under {self.paths.proc}; disk space left out"
            )
            return []
        self.warner.clear("mountinfo")
        nodev = nodev_filesystems(self.warner.read(os.path.join(self.paths.proc, "filesystems")) or "")
        mounts: list[_Mount] = []
        seen: set[str] = set()
        for entry in parse_mountinfo(text):
            device = entry.source
            if entry.fs_type in nodev or not device.startswith("/dev/") or device in seen:
                continue
            seen.add(device)
            mounts.append(_Mount(device, entry.mountpoint, entry.fs_type, entry.options))
        return mounts

    def _space(self, out: Families, mounts: list[_Mount]) -> None:
        usages: list[tuple[_Mount, Usage]] = []
        for mount in mounts:
            try:
                usages.append((mount, self._usage(mount.mountpoint)))
                self.warner.clear("statvfs:" + mount.mountpoint)
            except OSError as exc:
                self.warner.warn(
                    "statvfs:" + mount.mountpoint, f"cannot stat {mount.mountpoint}: {exc.strerror}"
                )
        if not usages:
            return
        used = out.new("disk/bytes_used", "Disk bytes used, in bytes.", "gauge")
        percent = out.new("disk/percent_used", "Disk utilization percentage.", "gauge")
        for mount, usage in usages:
            labels = {
                "device_name": mount.device.removeprefix("/dev/"),
                "fs_type": mount.fs_type,
                "mount_option": mount.options,
            }
            if used is not None:
                used.add(usage.free, **labels, state="free")
                used.add(usage.used, **labels, state="used")
            if percent is not None:
                percent.add(100 - usage.percent_used, **labels, state="free")
                percent.add(usage.percent_used, **labels, state="used")
