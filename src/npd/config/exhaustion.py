"""The ``exhaustion`` key of a system stats config (an npd extension): node resource conditions.

Absent, the monitor adds no conditions (upstream configs keep behaving as upstream). Present,
every resource below is watched with its defaults unless the config turns it off
(``"conntrack": {"enabled": false}`` or ``"conntrack": false``). Unknown keys are errors rather
than warnings: no upstream file has this key, and a misspelt resource would otherwise silently
run with defaults the operator meant to change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from npd.config.duration import parse_go_duration
from npd.config.errors import ConfigError
from npd.config.jsonfields import Fields, JSONObject, go_fold, join_path, json_type_name
from npd.goregex import GoRegexError, compile_go

#: Applies to every resource that does not set its own ``minDuration``.
DEFAULT_MIN_DURATION = "1m"
PSI_LINES = ("some", "full")
PSI_WINDOWS = ("avg10", "avg60", "avg300")


@dataclass(frozen=True, slots=True)
class Resource:
    """What npd knows about one watchable resource: its condition and default thresholds."""

    key: str
    condition: str
    #: Reason while the condition is True, and while it is False.
    exhausted_reason: str
    available_reason: str
    raise_at: float
    clear_at: float
    #: ``/proc/pressure/<file>`` for the PSI resources, else empty.
    psi_file: str = ""
    psi_line: str = ""
    psi_window: str = ""


#: Every resource, in the order conditions are reported.
RESOURCES = (
    Resource("fileDescriptors", "FileDescriptorExhaustion", "FileDescriptorsNearlyExhausted",
             "FileDescriptorsAvailable", 90, 80),
    Resource("pids", "PIDExhaustion", "PIDsNearlyExhausted", "PIDsAvailable", 90, 80),
    Resource("threads", "ThreadExhaustion", "ThreadsNearlyExhausted", "ThreadsAvailable", 90, 80),
    Resource("conntrack", "ConntrackExhaustion", "ConntrackTableNearlyFull", "ConntrackTableHasRoom", 90, 80),
    Resource("filesystemSpace", "FilesystemSpaceExhaustion", "FilesystemSpaceNearlyExhausted",
             "FilesystemSpaceAvailable", 95, 90),
    Resource("inodes", "InodeExhaustion", "InodesNearlyExhausted", "InodesAvailable", 95, 90),
    Resource("cpuPressure", "CPUPressureStall", "CPUStallHigh", "CPUStallNormal", 90, 70,
             psi_file="cpu", psi_line="some", psi_window="avg60"),
    Resource("memoryPressure", "MemoryPressureStall", "MemoryStallHigh", "MemoryStallNormal", 10, 5,
             psi_file="memory", psi_line="full", psi_window="avg60"),
    Resource("ioPressure", "IOPressureStall", "IOStallHigh", "IOStallNormal", 30, 15,
             psi_file="io", psi_line="full", psi_window="avg60"),
)  # fmt: skip
RESOURCES_BY_KEY = {resource.key: resource for resource in RESOURCES}

_TOP_KEYS = ("minDuration", "excludeMountPointRegexp", *RESOURCES_BY_KEY)
_RESOURCE_KEYS = ("enabled", "raise", "clear", "minDuration")
_PSI_KEYS = (*_RESOURCE_KEYS, "line", "window")


@dataclass(frozen=True, slots=True)
class Watch:
    """One enabled resource with its effective settings; percentages, seconds."""

    resource: Resource
    raise_at: float
    clear_at: float
    min_duration: float
    psi_line: str = ""
    psi_window: str = ""


@dataclass(frozen=True, slots=True)
class ExhaustionConfig:
    """The enabled resources, and which mounts the file system checks leave out."""

    watches: tuple[Watch, ...]
    exclude_mount_point_regexp: str = ""


def _strict(value: Any, file: str, path: str, known: tuple[str, ...], warn: Callable[[str], None]) -> Fields:
    """``value`` as an object whose keys must all be ``known`` (matched as Go matches struct fields)."""
    if value is None:
        value = JSONObject()
    if not isinstance(value, JSONObject):
        raise ConfigError(file, path, f"expected an object, got {json_type_name(value)}")
    folded = {go_fold(key) for key in known}
    for key, _ in value:
        if go_fold(key) not in folded:
            raise ConfigError(file, join_path(path, key), f"unknown key (known: {', '.join(known)})")
    return Fields(value, file, path, warn)


def _percent(fields: Fields, key: str, default: float) -> float:
    """A threshold in percent: a JSON number from 0 to 100."""
    value = fields.number(key, default)
    if not 0 <= value <= 100:
        raise fields.error(key, f"{value:g} is not a percentage from 0 to 100")
    return value


def _min_duration(fields: Fields, default: float) -> float:
    if not fields.has("minDuration"):
        return default
    value = fields.duration("minDuration", DEFAULT_MIN_DURATION)
    if value < 0:
        raise fields.error("minDuration", "must not be negative")
    return value


def _choice(fields: Fields, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = fields.string(key, default) or default
    if value not in choices:
        raise fields.error(key, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _watch(resource: Resource, fields: Fields, min_duration: float) -> Watch | None:
    if not fields.boolean("enabled", True):
        return None
    raise_at = _percent(fields, "raise", resource.raise_at)
    clear_at = _percent(fields, "clear", resource.clear_at)
    if raise_at <= 0:
        raise fields.error("raise", "must be greater than zero")
    if clear_at >= raise_at:
        # Named by the field the file set (either may come from the defaults).
        key = "clear" if fields.has("clear") or not fields.has("raise") else "raise"
        raise fields.error(key, f"clear ({clear_at:g}) must be below raise ({raise_at:g})")
    line = window = ""
    if resource.psi_file:
        line = _choice(fields, "line", resource.psi_line, PSI_LINES)
        window = _choice(fields, "window", resource.psi_window, PSI_WINDOWS)
    return Watch(resource, raise_at, clear_at, _min_duration(fields, min_duration), line, window)


def load_exhaustion(top: Fields, warn: Callable[[str], None]) -> ExhaustionConfig | None:
    """The ``exhaustion`` key of ``top`` (a system stats config), or ``None`` when it is absent."""
    if not top.has("exhaustion"):
        return None
    pairs = top.mapping("exhaustion")
    section = _strict(JSONObject(pairs), top.file, "exhaustion", _TOP_KEYS, warn)
    min_duration = _min_duration(section, parse_go_duration(DEFAULT_MIN_DURATION))
    exclude = section.string("excludeMountPointRegexp")
    if exclude:
        try:
            compile_go(exclude)
        except GoRegexError as exc:
            raise section.error("excludeMountPointRegexp", str(exc)) from None
    watches: list[Watch] = []
    raw = {go_fold(key): value for key, value in pairs}
    for resource in RESOURCES:
        value = raw.get(go_fold(resource.key))
        path = join_path("exhaustion", resource.key)
        if value is False:
            continue  # the short form of {"enabled": false}
        if value is True:
            value = None  # the short form of {}: the defaults
        known = _PSI_KEYS if resource.psi_file else _RESOURCE_KEYS
        fields = _strict(value, top.file, path, known, warn)
        watch = _watch(resource, fields, min_duration)
        if watch is not None:
            watches.append(watch)
    return ExhaustionConfig(tuple(watches), exclude)
