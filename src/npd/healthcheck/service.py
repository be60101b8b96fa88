"""The component's systemd unit: how long it has run, and running the repair command.

The uptime comes from ``systemctl show --property=InactiveExitTimestampMonotonic`` (upstream's
property, in its monotonic form) against this machine's monotonic clock: no wall-clock parsing,
no time zones, and a clock step cannot make a unit look older or younger than it is (#548).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from npd.healthcheck.options import COMMAND_TIMEOUT_S

_PROPERTY = "InactiveExitTimestampMonotonic"


class ServiceError(Exception):
    """The unit's state cannot be read; ``str(exc)`` says why."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How a helper command ended: ``ok``, and a short detail (its error, when it failed)."""

    ok: bool
    detail: str


def run_command(argv: Sequence[str], timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
    """Run ``argv`` (no shell) with stdin closed; output is captured, never passed through."""
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        return CommandResult(False, f"{argv[0]}: not found")
    except PermissionError:
        return CommandResult(False, f"{argv[0]}: permission denied")
    except subprocess.TimeoutExpired:
        return CommandResult(False, f"timed out after {timeout:g}s")
    except OSError as exc:
        return CommandResult(False, f"{argv[0]}: {exc.strerror or exc}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1][:80]
        return CommandResult(False, f"exit {done.returncode}" + (f": {last}" if last else ""))
    return CommandResult(True, done.stdout)


def unit_uptime(service: str, *, now_monotonic: float | None = None) -> float:
    """Seconds since the unit last left the inactive state (was started).

    A unit never started since boot counts as up since boot. Raises :class:`ServiceError`.
    """
    result = run_command(["systemctl", "show", service, f"--property={_PROPERTY}"])
    if not result.ok:
        raise ServiceError(f"systemctl show {service}: {result.detail}")
    values = dict(line.partition("=")[::2] for line in result.detail.splitlines() if "=" in line)
    text = values.get(_PROPERTY, "").strip()
    if not text.isdigit():
        raise ServiceError(f"systemctl show {service}: no {_PROPERTY}")
    now = time.clock_gettime(time.CLOCK_MONOTONIC) if now_monotonic is None else now_monotonic
    return max(0.0, now - int(text) / 1e6)
