"""Default conditions, shared by the log and plugin monitor formats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from npd.config.jsonfields import Fields
from npd.config.lifecycle import FlapDamping, load_flap_damping
from npd.gotime import GoLayout

_RFC3339 = GoLayout("2006-01-02T15:04:05Z07:00")


@dataclass(frozen=True, slots=True)
class DefaultCondition:
    """A condition the monitor owns, in its healthy state (status False at start)."""

    type: str
    reason: str
    message: str
    #: npd extension: hold the condition True while it flaps.
    flap_damping: FlapDamping | None = None


def load_conditions(top: Fields, warn: Callable[[str], None]) -> tuple[DefaultCondition, ...]:
    """The ``conditions`` array; a type declared twice keeps its first declaration."""
    conditions = []
    seen: set[str] = set()
    for path, item in top.array("conditions"):
        fields = Fields(item, top.file, path, warn)
        condition = DefaultCondition(
            type=fields.string("type"),
            reason=fields.string("reason"),
            message=fields.string("message"),
            flap_damping=load_flap_damping(fields),
        )
        # Upstream's Condition struct also has these; their values are overwritten at start,
        # but Go still decodes them, and a transition must be an RFC 3339 time.
        fields.string("status")
        transition = fields.string("transition")
        if fields.has("transition"):
            try:
                _RFC3339.parse(transition)
            except ValueError as exc:
                raise fields.error("transition", f"not an RFC 3339 time: {exc}") from None
        fields.done()
        if not condition.type:
            warn(f"{top.file}: {path}.type: a condition without a type (upstream accepts it)")
        if condition.type in seen:
            warn(f"{top.file}: {path}.type: condition {condition.type!r} is declared twice; the first wins")
            continue
        seen.add(condition.type)
        conditions.append(condition)
    return tuple(conditions)
