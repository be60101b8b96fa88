"""Monitor configs and helpers shared by the replay tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from npd.config.loader import load_log_monitor_file
from npd.config.logmonitor import LogMonitorConfig

#: A kmsg monitor: single-line rules, a permanent one, and a rule that spans two lines.
KERNEL_MONITOR: dict[str, Any] = {
    "plugin": "kmsg",
    "source": "kernel-monitor",
    "bufferSize": 5,
    "conditions": [
        {"type": "KernelDeadlock", "reason": "KernelHasNoDeadlock", "message": "kernel has no deadlock"}
    ],
    "rules": [
        {
            "type": "temporary",
            "reason": "OOMKilling",
            "pattern": r"Killed process \d+ \(.+\) total-vm:\d+kB.*",
        },
        {
            "type": "temporary",
            "reason": "TaskHung",
            "pattern": r"task [\S ]+:\w+ blocked for more than \w+ seconds\.",
        },
        {
            "type": "permanent",
            "condition": "KernelDeadlock",
            "reason": "DockerHung",
            "pattern": r"task docker:\w+ blocked for more than \w+ seconds\.",
        },
        {
            "type": "temporary",
            "reason": "MemcgOOM",
            "pattern": r"oom-kill:constraint=CONSTRAINT_MEMCG.*\n"
            r".*Memory cgroup out of memory: Killed process \d+.*",
        },
    ],
}

#: A journald monitor of two identifiers, with a permanent rule that a log line resolves.
RUNTIME_MONITOR: dict[str, Any] = {
    "plugin": "journald",
    "pluginConfig": {"source": ["dockerd", "kubelet"]},
    "source": "runtime-monitor",
    "conditions": [
        {
            "type": "ContainerRuntimeProblem",
            "reason": "ContainerRuntimeIsHealthy",
            "message": "container runtime is healthy",
        }
    ],
    "rules": [
        {
            "type": "temporary",
            "reason": "CorruptDockerImage",
            "pattern": r"Error trying v2 registry: failed to register layer: "
            r"rename /var/lib/docker/image/(.+) /var/lib/docker/image/(.+): directory not empty.*",
        },
        {
            "type": "permanent",
            "condition": "ContainerRuntimeProblem",
            "reason": "PLEGNotHealthy",
            "pattern": "PLEG is not healthy.*",
            "resolve": {"pattern": "PLEG is healthy again"},
        },
    ],
}


def write_config(directory: Path, name: str, document: dict[str, Any]) -> Path:
    """Write a monitor config as JSON; returns its path."""
    path = directory / name
    path.write_text(json.dumps(document))
    return path


def load_config(directory: Path, name: str, document: dict[str, Any]) -> LogMonitorConfig:
    """Write a monitor config and load it as the daemon does."""
    warnings: list[str] = []
    config = load_log_monitor_file(str(write_config(directory, name, document)), warnings.append)
    assert not warnings, warnings
    return config


def kernel_config(directory: Path, **changes: Any) -> LogMonitorConfig:
    """:data:`KERNEL_MONITOR`, with top-level keys replaced by ``changes``."""
    return load_config(directory, "kernel-monitor.json", {**KERNEL_MONITOR, **changes})


def runtime_config(directory: Path, **changes: Any) -> LogMonitorConfig:
    """:data:`RUNTIME_MONITOR`, with top-level keys replaced by ``changes``."""
    return load_config(directory, "runtime-monitor.json", {**RUNTIME_MONITOR, **changes})
