"""Writing config files for tests and loading them, collecting the warnings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from npd.config.loader import MonitorConfig, MonitorKind, load_monitor_config


def write_config(directory: Path, content: Any, name: str = "config.json") -> Path:
    """Write ``content`` to ``directory/name``: bytes and str as they are, anything else as JSON."""
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_bytes(content.encode("utf-8", errors="surrogatepass"))
    else:
        path.write_text(json.dumps(content))
    return path


def load(path: Path, kind: MonitorKind) -> tuple[MonitorConfig, list[str]]:
    """Load ``path`` as a ``kind`` config; returns the config and the warnings it produced."""
    warnings: list[str] = []
    config = load_monitor_config(str(path), kind, warnings.append)
    return config, warnings


def load_text(directory: Path, content: Any, kind: MonitorKind) -> tuple[MonitorConfig, list[str]]:
    """Write ``content`` (see :func:`write_config`) and load it as a ``kind`` config."""
    return load(write_config(directory, content), kind)
