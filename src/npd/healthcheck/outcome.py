"""What a check found."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's verdict; ``reason`` says why it is unhealthy (short: it ends up in a condition)."""

    healthy: bool
    reason: str = ""


HEALTHY = Finding(True)


def unhealthy(reason: str) -> Finding:
    """An unhealthy finding with its reason."""
    return Finding(False, reason)


class CheckError(Exception):
    """Nothing could be determined (exit 2): e.g. the journal or the unit's state cannot be read."""
