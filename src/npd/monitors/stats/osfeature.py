"""The ``osFeature`` section: features read from /proc/cmdline and /proc/modules."""

from __future__ import annotations

import json
import os

from npd.metrics.model import MetricFamily, Sample
from npd.monitors.stats.base import Families, Paths, StatsCollector

_TRUE = ("true", "yes", "on", "y")


def _feature(family: MetricFamily, enabled: int, feature: str, value: str = "") -> None:
    # Not MetricFamily.add: its first parameter is also called ``value``.
    family.samples.append(Sample((("os_feature", feature), ("value", value)), enabled))


def _flag(value: str) -> int:
    """A kernel command line flag as 0/1; upstream parses integers only, so ``=true`` read as 0 there."""
    try:
        return 1 if int(value) else 0
    except ValueError:
        return 1 if value.lower() in _TRUE else 0


class OsFeatureCollector(StatsCollector):
    """``system_os_feature{os_feature,value}``: 1 if a feature is enabled, else 0."""

    section = "osFeature"

    def __init__(self, metrics: dict[str, str], paths: Paths, known_modules_path: str = "") -> None:
        super().__init__(metrics, paths)
        self._known_modules_path = known_modules_path

    def sample(self, now: float) -> list[MetricFamily]:
        """See :meth:`StatsCollector.sample`."""
        out = Families(self.metrics)
        if not out.wanted("system/os_feature"):
            return []
        cmdline = self.warner.read(os.path.join(self.paths.proc, "cmdline"))
        modules = self.warner.read(os.path.join(self.paths.proc, "modules"))
        if cmdline is None and modules is None:
            return []
        family = out.new(
            "system/os_feature",
            "OS features like GPU support, KTD kernel, third party modules as unknown modules. "
            "1 if the feature is enabled and 0, if disabled.",
            "gauge",
        )
        if family is None:
            return []
        if cmdline is not None:
            args: dict[str, str] = {}
            for arg in cmdline.replace("\0", " ").split():
                key, _, value = arg.partition("=")
                args[key] = value
            _feature(family, _flag(args.get("csm.enabled", "0")), "KTD")
            _feature(
                family, _flag(args.get("systemd.unified_cgroup_hierarchy", "0")), "UnifiedCgroupHierarchy"
            )
            integrity = _flag(args.get("module.sig_enforce", "0")) and _flag(args.get("loadpin.enabled", "0"))
            _feature(family, integrity, "KernelModuleIntegrity")
        if modules is not None:
            known = self._known_modules()
            gpu = 0
            unknown: list[str] = []
            for line in modules.splitlines():
                fields = line.split()
                if not fields:
                    continue
                name = fields[0]
                # Taint flags end the line in parentheses: O out-of-tree, P proprietary.
                taints = fields[-1] if fields[-1].startswith("(") else ""
                if "nvidia" in name:
                    gpu = 1
                elif ("O" in taints or "P" in taints) and name not in known:
                    unknown.append(name)
            _feature(family, 1 if unknown else 0, "UnknownModules", ",".join(unknown))
            _feature(family, gpu, "GPUSupport")
        return out.families

    def _known_modules(self) -> set[str]:
        """Module names in ``knownModulesConfigPath`` (none if unset or unreadable, as upstream)."""
        if not self._known_modules_path:
            return set()
        text = self.warner.read(self._known_modules_path)
        if text is None:
            return set()
        try:
            entries = json.loads(text)
            return {str(entry["moduleName"]) for entry in entries}
        except (ValueError, TypeError, KeyError) as exc:
            self.warner.warn(self._known_modules_path + ":parse", f"malformed known modules file: {exc}")
            return set()
