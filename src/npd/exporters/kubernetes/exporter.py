"""The Kubernetes exporter: the monitors' conditions on the Node, their events as Events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from lightkube.resources.core_v1 import Node

from npd.exporters.base import Exporter
from npd.exporters.kubernetes.api import ApiRejected, ApiUnavailable, NodeApi
from npd.exporters.kubernetes.conditions import ConditionSync, restorable
from npd.exporters.kubernetes.events import EventCorrelator, EventWriter
from npd.exporters.kubernetes.settings import DEFAULT_EVENT_NAMESPACE
from npd.metrics.model import MetricFamily
from npd.problem import Condition, ProblemDeclaration, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """The exporter's behaviour, from upstream's flags."""

    node: str
    event_namespace: str = ""
    write_events: bool = True
    update_conditions: bool = True
    heartbeat: float = 300.0
    wait_timeout: float = 300.0
    wait_interval: float = 5.0


class KubernetesExporter(Exporter):
    """Writes npd's NodeConditions and Events through the API server."""

    name = "kubernetes"

    def __init__(self, api: NodeApi, settings: ExportSettings) -> None:
        self._api = api
        self._settings = settings
        self._declared: tuple[str, ...] = ()
        namespace = settings.event_namespace or DEFAULT_EVENT_NAMESPACE
        self._conditions = ConditionSync(api, settings.node, heartbeat=settings.heartbeat)
        self._correlator = EventCorrelator(settings.node, namespace, settings.event_namespace)
        self._events = EventWriter(api, self._correlator, namespace)

    def declare(self, declarations: Sequence[ProblemDeclaration]) -> None:
        self._declared = tuple(
            dict.fromkeys(kind for declaration in declarations for kind in declaration.condition_types)
        )
        self._conditions.declare(self._declared)

    async def start(self) -> Sequence[Condition]:
        """Wait for the API server and the Node (upstream's wait), then read npd's earlier state.

        Returns the Node's conditions of npd's types, for the monitors to take up. When the
        Node cannot be read within ``--apiserver-wait-timeout``, npd goes on without them (as
        upstream does) and keeps trying in the background.
        """
        node = await self._wait_for_node()
        if node is None:
            return ()
        self._correlator.uid = (node.metadata.uid if node.metadata else None) or ""
        if not self._settings.update_conditions:
            return ()
        self._conditions.observe_node(node)
        restored = restorable(node, self._declared)
        held = [f"{c.type}={c.status.value}" for c in restored if c.status.value == "True"]
        if held:
            log.info("restored from node %s: %s", self._settings.node, ", ".join(held))
        return restored

    async def _wait_for_node(self) -> Node | None:
        deadline = time.monotonic() + self._settings.wait_timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._api.get_node(self._settings.node)
            except (ApiUnavailable, ApiRejected) as exc:
                detail = str(exc)
            if time.monotonic() >= deadline:
                log.warning(
                    "node %s not readable after %.0fs (%s); going on: conditions are written when "
                    "the API server answers, without restoring earlier ones",
                    self._settings.node,
                    self._settings.wait_timeout,
                    detail,
                )
                return None
            if attempt == 1:
                log.info("waiting for the API server and node %s: %s", self._settings.node, detail)
            await asyncio.sleep(min(self._settings.wait_interval, max(0.0, deadline - time.monotonic())))

    async def run(self) -> None:
        if self._settings.update_conditions:
            await self._conditions.run()

    def observe(self, status: Status) -> None:
        # Conditions go to the Node as soon as they are reported, never behind event writes
        # that wait out an outage: only the latest state matters for them.
        if self._settings.update_conditions:
            self._conditions.update(status.conditions)

    async def export(self, statuses: Sequence[Status]) -> None:
        if not self._settings.write_events:
            return
        self._correlator.uid = self._conditions.node_uid or self._correlator.uid
        for status in statuses:
            for event in status.events:
                await self._events.write(status.source, event)

    def collect(self) -> list[MetricFamily]:
        """The exporter's metrics: requests, condition patches, events."""
        return self._api.collect() + self._conditions.collect() + self._events.collect()

    async def aclose(self) -> None:
        await self._api.aclose()
