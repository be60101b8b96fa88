"""Default conditions, shared by the log and plugin monitor formats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from npd.config.jsonfields import Fields


@dataclass(frozen=True, slots=True)
class DefaultCondition:
    """A condition the monitor owns, in its healthy state (status False at start)."""

    type: str
    reason: str
    message: str


def load_conditions(top: Fields, warn: Callable[[str], None]) -> tuple[DefaultCondition, ...]:
    """The ``conditions`` array; a type declared twice keeps its first declaration."""
    conditions = []
    seen: set[str] = set()
    for path, item in top.array("conditions"):
        fields = Fields(item, top.file, path, warn)
        condition = DefaultCondition(
            type=fields.string("type"), reason=fields.string("reason"), message=fields.string("message")
        )
        # Upstream's Condition struct also has these; their values are overwritten at start.
        fields.string("status")
        fields.string("transition")
        fields.done()
        if not condition.type:
            raise fields.error("type", "a condition needs a type")
        if condition.type in seen:
            warn(f"{top.file}: {path}.type: condition {condition.type!r} is declared twice; the first wins")
            continue
        seen.add(condition.type)
        conditions.append(condition)
    return tuple(conditions)
