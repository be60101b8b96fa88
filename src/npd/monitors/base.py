"""The interface between monitors and the detector."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, Protocol

from npd.problem import Condition, ProblemDeclaration, Status


class StatusSink(Protocol):
    """Where a monitor sends its reports (the detector)."""

    def publish(self, status: Status) -> int:
        """Hand over one report without blocking; returns its sequence number."""

    def checkpoint(self, monitor: str, after: int, state: dict[str, Any]) -> None:
        """Save ``state`` for ``monitor`` once every report up to sequence ``after`` is exported."""


class Monitor(abc.ABC):
    """A problem daemon: watches one thing and reports problems until cancelled."""

    #: Identifies the monitor in logs and in the state directory (its config file).
    name: str
    #: The problems it can report, published as zeros before any occurs.
    declaration: ProblemDeclaration

    def adopt(self, conditions: Sequence[Condition]) -> None:  # noqa: B027 - optional hook
        """Before :meth:`run`: take up the state of its condition types kept elsewhere (the Node)."""

    @abc.abstractmethod
    async def run(self, sink: StatusSink) -> None:
        """Report the initial status, then problems as they are found, until cancelled."""
