"""The node's current conditions as reported, served on ``/conditions``."""

from __future__ import annotations

from collections.abc import Sequence

from npd.exporters.base import Exporter
from npd.problem import Condition, Status


class ConditionTable(Exporter):
    """The latest state of every condition type any monitor reported (upstream's condition manager)."""

    name = "conditions"

    def __init__(self) -> None:
        self._conditions: dict[str, Condition] = {}

    async def export(self, statuses: Sequence[Status]) -> None:
        for status in statuses:
            for condition in status.conditions:
                self._conditions[condition.type] = condition

    def conditions(self) -> list[Condition]:
        """Every condition, in the order types were first reported."""
        return list(self._conditions.values())
