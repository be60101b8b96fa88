"""The exporter interface."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from npd.problem import ProblemDeclaration, Status


class Exporter(abc.ABC):
    """Publishes reports somewhere.

    The detector calls :meth:`export` from a task of the exporter's own, with the reports that
    queued up since the last call, so a slow exporter delays only itself.
    """

    name: str

    def declare(self, declarations: Sequence[ProblemDeclaration]) -> None:  # noqa: B027 - optional hook
        """Learn every problem the monitors can report, before the first report."""

    @abc.abstractmethod
    async def export(self, statuses: Sequence[Status]) -> None:
        """Publish reports, in order; returns once they are published (or given up on)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources; called once at shutdown after the last export."""
