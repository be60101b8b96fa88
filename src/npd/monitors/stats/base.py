"""What every stats section shares: file access that warns once, and configured metric families."""

from __future__ import annotations

import abc
import logging
import os
import re
from dataclasses import dataclass

from npd.metrics.model import MetricFamily, MetricType

log = logging.getLogger("npd.monitors.stats")

#: Kernel clock ticks per second in /proc/stat: USER_HZ is fixed at 100 in the kernel's user ABI
#: whatever CONFIG_HZ is, so fixture trees and the live node read the same way.
USER_HZ = 100

_INVALID = re.compile(r"[^a-zA-Z0-9_:]")


def prometheus_name(display_name: str) -> str:
    """A display name as upstream's Prometheus exporter writes it: ``/`` and other invalid chars → ``_``."""
    name = _INVALID.sub("_", display_name)
    return "_" + name if name[:1].isdigit() else name


@dataclass(frozen=True, slots=True)
class Paths:
    """Where a monitor reads: ``procPath``, and /sys and /etc beside it (``/proc`` → ``/sys``, ``/etc``).

    Deriving /sys and /etc from ``procPath`` lets a DaemonSet that mounts the host's root at
    ``/host`` point ``procPath`` at ``/host/proc``, and lets tests use one fixture tree.
    """

    proc: str

    @property
    def root(self) -> str:
        """The directory holding ``proc``."""
        return os.path.dirname(os.path.normpath(os.path.abspath(self.proc)))

    def sys(self, *parts: str) -> str:
        """A path under the /sys beside ``proc``."""
        return os.path.join(self.root, "sys", *parts)

    def etc(self, *parts: str) -> str:
        """A path under the /etc beside ``proc``."""
        return os.path.join(self.root, "etc", *parts)


class Warner:
    """Logs each distinct problem once until it clears, so a missing file does not flood the log."""

    def __init__(self, section: str) -> None:
        self._section = section
        self._active: set[str] = set()

    def warn(self, key: str, message: str) -> None:
        """Log ``message`` unless ``key`` was already reported and has not cleared since."""
        if key not in self._active:
            self._active.add(key)
            log.warning("system stats %s: %s", self._section, message)

    def clear(self, key: str) -> None:
        """``key`` works again: a later failure is logged anew."""
        self._active.discard(key)

    def read(self, path: str) -> str | None:
        """The text of ``path``, or ``None`` (warned once) if it cannot be read."""
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                text = file.read()
        except OSError as exc:
            self.warn(path, f"cannot read {path}: {exc.strerror or exc}; its metrics are left out")
            return None
        self.clear(path)
        return text


class Families:
    """The families of one sample, created only for the metric IDs the config names with a display name."""

    def __init__(self, metrics: dict[str, str]) -> None:
        self._metrics = metrics
        self.families: list[MetricFamily] = []

    def wanted(self, metric_id: str) -> bool:
        """Whether the config asks for ``metric_id`` (upstream skips an empty display name)."""
        return bool(self._metrics.get(metric_id))

    def new(self, metric_id: str, help_text: str, metric_type: MetricType) -> MetricFamily | None:
        """A family named after ``metric_id``'s display name, or ``None`` if it is not wanted."""
        if not self.wanted(metric_id):
            return None
        family = MetricFamily(prometheus_name(self._metrics[metric_id]), help_text, metric_type)
        self.families.append(family)
        return family


class StatsCollector(abc.ABC):
    """One config section (cpu, disk, ...): reads the node when asked and returns its families."""

    #: The config section's key.
    section: str

    def __init__(self, metrics: dict[str, str], paths: Paths) -> None:
        self.metrics = metrics
        self.paths = paths
        self.warner = Warner(self.section)

    @abc.abstractmethod
    def sample(self, now: float) -> list[MetricFamily]:
        """Read the node at monotonic time ``now`` (seconds) and return every wanted family.

        Must not raise for anything the node's files contain: a missing or malformed file is
        warned about and its metrics are left out.
        """


def parse_int(text: str) -> int:
    """A kernel counter; ``ValueError`` on anything else (callers treat that as malformed)."""
    value = int(text)
    if value < 0:
        raise ValueError(f"negative counter {text!r}")
    return value
