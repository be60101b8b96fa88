"""The ``host`` section: uptime, labelled with the kernel and OS versions."""

from __future__ import annotations

import os

from npd.metrics.model import MetricFamily
from npd.monitors.stats.base import Families, StatsCollector


def os_version(os_release: str) -> str:
    """Upstream's ``os_version`` label from /etc/os-release text.

    COS is ``"<ID> <VERSION>-<BUILD_ID>"``; every other distro ``"<ID> <VERSION_ID>"`` (upstream
    refuses distros outside its list and leaves the label empty; naming them is more useful).
    """
    values: dict[str, str] = {}
    for line in os_release.splitlines():
        key, eq, value = line.partition("=")
        if eq and not key.lstrip().startswith("#"):
            values[key.strip()] = value.strip().strip("'\"")
    distro = values.get("ID", "")
    if not distro:
        return ""
    if distro == "cos":
        return f"{distro} {values.get('VERSION', '')}-{values.get('BUILD_ID', '')}"
    return f"{distro} {values.get('VERSION_ID', '')}".strip()


class HostCollector(StatsCollector):
    """``host_uptime{kernel_version,os_version}`` in seconds, from /proc/uptime."""

    section = "host"

    def sample(self, now: float) -> list[MetricFamily]:
        """See :meth:`StatsCollector.sample`."""
        out = Families(self.metrics)
        if not out.wanted("host/uptime"):
            return []
        path = os.path.join(self.paths.proc, "uptime")
        text = self.warner.read(path)
        if text is None:
            return []
        try:
            uptime = float(text.split()[0])
        except (ValueError, IndexError):
            self.warner.warn(path + ":parse", f"malformed {path}; host_uptime left out")
            return []
        self.warner.clear(path + ":parse")
        kernel = self.warner.read(os.path.join(self.paths.proc, "sys", "kernel", "osrelease")) or ""
        release = ""
        for candidate in (self.paths.etc("os-release"), os.path.join(self.paths.root, "usr/lib/os-release")):
            if os.path.exists(candidate):
                release = self.warner.read(candidate) or ""
                break
        family = out.new("host/uptime", "The uptime of the operating system, in seconds.", "gauge")
        if family is not None:
            family.add(uptime, kernel_version=kernel.strip(), os_version=os_version(release))
        return out.families
