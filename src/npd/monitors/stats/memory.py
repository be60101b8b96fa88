"""The ``memory`` section: /proc/meminfo."""

from __future__ import annotations

import os

from npd.metrics.model import MetricFamily
from npd.monitors.stats.base import Families, StatsCollector


class MemoryCollector(StatsCollector):
    """Memory use in bytes by state, as upstream splits /proc/meminfo."""

    section = "memory"

    def sample(self, now: float) -> list[MetricFamily]:
        """See :meth:`StatsCollector.sample`."""
        out = Families(self.metrics)
        path = os.path.join(self.paths.proc, "meminfo")
        text = self.warner.read(path)
        if text is None:
            return []
        kib: dict[str, int] = {}
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            fields = rest.split()
            if fields and fields[0].isdigit():
                kib[key.strip()] = int(fields[0])

        def have(*keys: str) -> bool:
            missing = [k for k in keys if k not in kib]
            if missing:
                self.warner.warn(f"{path}:{missing}", f"{path} lacks {missing}; dependent metrics left out")
            return not missing

        def b(key: str) -> int:
            return kib[key] * 1024

        if have("MemTotal", "MemFree", "Buffers", "Cached", "Slab"):
            used = b("MemTotal") - b("MemFree") - b("Buffers") - b("Cached") - b("Slab")
            if family := out.new("memory/bytes_used", "Memory usage by state, in bytes.", "gauge"):
                family.add(b("MemFree"), state="free")
                family.add(used, state="used")
                family.add(b("Buffers"), state="buffered")
                family.add(b("Cached"), state="cached")
                family.add(b("Slab"), state="slab")
            if b("MemTotal") > 0 and (
                family := out.new("memory/percent_used", "Percentage of memory used.", "gauge")
            ):
                family.add(used * 100 / b("MemTotal"), state="used")
        pairs = (
            ("memory/dirty_used", "Dirty pages usage, in bytes.",
             ("Dirty", "dirty"), ("Writeback", "writeback")),
            ("memory/anonymous_used", "Anonymous memory usage, in bytes.",
             ("Active(anon)", "active"), ("Inactive(anon)", "inactive")),
            ("memory/page_cache_used", "Page cache memory usage, in bytes.",
             ("Active(file)", "active"), ("Inactive(file)", "inactive")),
        )  # fmt: skip
        for metric_id, help_text, (key1, state1), (key2, state2) in pairs:
            if (
                out.wanted(metric_id)
                and have(key1, key2)
                and (family := out.new(metric_id, help_text, "gauge"))
            ):
                family.add(b(key1), state=state1)
                family.add(b(key2), state=state2)
        if (
            out.wanted("memory/unevictable_used")
            and have("Unevictable")
            and (family := out.new("memory/unevictable_used", "Unevictable memory usage, in bytes.", "gauge"))
        ):
            family.add(b("Unevictable"))
        return out.families
