"""Component health as the HTTP endpoints and metrics see it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Whether one component (a log source, a monitor) is working, and if not, why."""

    component: str
    kind: str
    alive: bool
    detail: str
