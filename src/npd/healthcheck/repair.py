"""Repair: run the repair command outside the cooldown, remember when, and say so as an ``npd-event:`` line.

The cooldown counts from the later of the unit's start and the last repair attempt (kept in a small
state file), so a unit that does not come back is not restarted on every run. Each attempt prints one
``npd-event: <Reason>: <message>`` line on stderr, which npd's custom plugin monitor turns into a Node
event and a ``problem_counter`` increment.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from npd.healthcheck.options import HealthOptions
from npd.healthcheck.service import CommandResult, ServiceError, run_command, unit_uptime

EVENT_PREFIX = "npd-event: "


@dataclass(slots=True)
class RepairReport:
    """What the repair step did: a note for stdout, event lines and warnings for stderr."""

    note: str = ""
    events: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def camel_case(service: str) -> str:
    """``kube-proxy`` → ``KubeProxy``, ``containerd.service`` → ``Containerd``: an event reason's stem."""
    stem = service.removesuffix(".service")
    words = [word for word in re.split(r"[^A-Za-z0-9]+", stem) if word]
    name = "".join(word[0].upper() + word[1:] for word in words)
    return name if name[:1].isalpha() else f"Service{name}"


def state_file(options: HealthOptions) -> str:
    """Where the last repair of this component and unit is recorded."""
    safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", options.service)
    return os.path.join(options.state_dir, f"{options.component.value}-{safe}.last-repair")


def last_repair(path: str, now: float) -> float | None:
    """Seconds since the recorded repair; None without a record (or one in the future: the clock moved)."""
    try:
        with open(path, encoding="ascii") as handle:
            when = float(handle.read().strip())
    except (OSError, ValueError):
        return None
    return now - when if when <= now else None


def record_repair(path: str, now: float) -> str | None:
    """Record a repair at ``now``; returns a warning when the state cannot be written."""
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        # Written whole and renamed, so a concurrent reader never sees a partial time.
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".last-repair.")
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(f"{now:.3f}\n")
        os.replace(temporary, path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return (
            f"cannot record the repair in {directory}: {reason}; cooldown counts from the unit's start only"
        )
    return None


def _command_text(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def repair(options: HealthOptions, why: str, *, now: float | None = None) -> RepairReport:
    """Repair the unhealthy component unless it is in its cooldown."""
    report = RepairReport()
    now = time.time() if now is None else now
    path = state_file(options)
    ages: list[float] = []
    try:
        ages.append(unit_uptime(options.service))
    except ServiceError as exc:
        # Without the unit's start, the last repair alone bounds how often it is repaired.
        report.warnings.append(f"{exc}; the cooldown counts from the last repair only")
    since_repair = last_repair(path, now)
    if since_repair is not None:
        ages.append(since_repair)
    age = min(ages) if ages else None
    if age is not None and age < options.cooldown:
        report.note = f"repair skipped: cooldown, {options.cooldown - age:.0f}s left"
        return report
    # Upstream first sends dockerd SIGUSR1 (a goroutine dump in its log) for docker; npd does not: the
    # repair command is the whole repair, and it can be any command line.
    command = options.repair_command
    result: CommandResult = run_command(command)
    warning = record_repair(path, now)
    if warning:
        report.warnings.append(warning)
    stem = camel_case(options.service)
    verb = "restarted" if command[:2] == ("systemctl", "restart") else "repaired"
    if result.ok:
        report.note = verb
        report.events.append(
            f"{EVENT_PREFIX}{stem}Repaired: {verb} {options.service} ({_command_text(command)}): {why}"
        )
    else:
        report.note = f"repair failed: {result.detail}"
        report.events.append(
            f"{EVENT_PREFIX}{stem}RepairFailed: repair of {options.service} failed "
            f"({_command_text(command)}: {result.detail}): {why}"
        )
    return report
