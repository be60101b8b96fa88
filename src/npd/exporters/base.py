"""The exporter interface."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from npd.problem import Condition, ProblemDeclaration, Status


class Exporter(abc.ABC):
    """Publishes reports somewhere.

    The detector calls :meth:`export` from a task of the exporter's own, with the reports that
    queued up since the last call, so a slow exporter delays only itself.
    """

    name: str

    def declare(self, declarations: Sequence[ProblemDeclaration]) -> None:  # noqa: B027 - optional hook
        """Learn every problem the monitors can report, before the first report."""

    async def start(self) -> Sequence[Condition]:
        """Connect, before the monitors start; returns conditions kept from an earlier run.

        The daemon hands them to the monitors (see :meth:`npd.monitors.base.Monitor.adopt`), so
        a restart without local state does not report a broken node as healthy.
        """
        return ()

    async def run(self) -> None:  # noqa: B027 - optional hook
        """Background work (heartbeats, retries) for as long as the daemon runs; cancelled at the end."""

    def observe(self, status: Status) -> None:  # noqa: B027 - optional hook
        """See a report the moment it is published, before it waits in the exporter's queue.

        For state where only the latest value matters (the Kubernetes exporter's conditions),
        so that it never waits behind slow writes of earlier reports. Must not block.
        """

    @abc.abstractmethod
    async def export(self, statuses: Sequence[Status]) -> None:
        """Publish reports, in order; returns once they are published (or given up on)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources; called once at shutdown after the last export."""
