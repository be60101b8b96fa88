"""The ``net`` section: /proc/net/dev."""

from __future__ import annotations

import os
from typing import Any

from npd.goregex import compile_go
from npd.metrics.model import MetricFamily
from npd.monitors.stats.base import Families, Paths, StatsCollector, parse_int

#: /proc/net/dev columns in order, as metric IDs.
COLUMNS = tuple(
    f"net/{direction}_{name}"
    for direction, names in (
        ("rx", ("bytes", "packets", "errors", "dropped", "fifo", "frame", "compressed", "multicast")),
        ("tx", ("bytes", "packets", "errors", "dropped", "fifo", "collisions", "carrier", "compressed")),
    )
    for name in names
)


class NetCollector(StatsCollector):
    """Per-interface kernel counters, exported as the kernel's cumulative values."""

    section = "net"

    def __init__(self, metrics: dict[str, str], paths: Paths, exclude_interface_regexp: str = "") -> None:
        super().__init__(metrics, paths)
        # Go's MatchString: an unanchored search (the config loader already validated it).
        self._exclude: Any = compile_go(exclude_interface_regexp) if exclude_interface_regexp else None

    def sample(self, now: float) -> list[MetricFamily]:
        """See :meth:`StatsCollector.sample`."""
        path = os.path.join(self.paths.proc, "net", "dev")
        text = self.warner.read(path)
        if text is None:
            return []
        rows: list[tuple[str, list[int]]] = []
        bad: list[str] = []
        for line in text.splitlines():
            name, colon, rest = line.partition(":")
            name = name.strip()
            if not colon or "|" in line:
                continue
            try:
                values = [parse_int(field) for field in rest.split()]
            except ValueError:
                bad.append(name)
                continue
            if len(values) < len(COLUMNS):
                bad.append(name)
                continue
            if self._exclude is not None and self._exclude.search(name):
                continue
            rows.append((name, values))
        if bad:
            self.warner.warn(path + ":parse", f"malformed {path} rows for {bad}; those interfaces left out")
        else:
            self.warner.clear(path + ":parse")
        out = Families(self.metrics)
        for index, metric_id in enumerate(COLUMNS):
            direction, _, what = metric_id.removeprefix("net/").partition("_")
            verb = "received" if direction == "rx" else "transmitted"
            help_text = f"Cumulative count of {what.replace('_', ' ')} {verb} (kernel counter)."
            if rows and (family := out.new(metric_id, help_text, "counter")):
                for name, values in rows:
                    family.add(values[index], interface_name=name)
        return out.families
