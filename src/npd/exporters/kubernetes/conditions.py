"""npd's conditions on the Node: restored at start, patched at once on change, and on a heartbeat.

Only npd's condition types are ever written, with a strategic merge patch of
``nodes/<name>/status`` keyed by ``type`` (never an update of the whole status), so kubelet's
``Ready``, ``MemoryPressure`` and the rest are untouched whatever either side writes when.

Ownership is recorded on the Node itself, in the annotation :data:`OWNED_ANNOTATION` (written
through the status subresource, which is all npd's RBAC allows): the condition types npd's
monitors declare. At start, types listed there that no monitor declares any more were npd's and
are deleted; types npd never listed are never touched, even if they look like npd's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from lightkube.resources.core_v1 import Node

from npd.aio import wait_event
from npd.exporters.kubernetes.api import ApiRejected, ApiUnavailable, NodeApi
from npd.exporters.kubernetes.backoff import REFUSED_CAP_S, Backoff
from npd.metrics.model import MetricFamily
from npd.problem import Condition, ConditionStatus, truncate_utf8

log = logging.getLogger(__name__)

OWNED_ANNOTATION = "npd.dev/owned-conditions"
#: Condition messages are cut to this many bytes: the Node object is watched by every kubelet,
#: controller and scheduler, so a 64 KiB log line must not be copied into it.
MAX_CONDITION_MESSAGE = 1024


def k8s_time(moment: datetime) -> str:
    """A ``metav1.Time``: RFC 3339 in UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def owned_types(node: Node) -> set[str]:
    """The condition types a Node's annotation says npd owns."""
    annotations = (node.metadata.annotations if node.metadata else None) or {}
    listed = annotations.get(OWNED_ANNOTATION, "")
    return {item.strip() for item in listed.split(",") if item.strip()}


def node_conditions(node: Node, types: Iterable[str]) -> list[Condition]:
    """The Node's conditions of ``types``, as the problem model has them."""
    wanted = set(types)
    found = []
    for item in (node.status.conditions if node.status else None) or []:
        if item.type not in wanted:
            continue
        try:
            status = ConditionStatus(item.status)
        except ValueError:
            continue
        transition = item.lastTransitionTime or datetime.now(UTC)
        found.append(Condition(item.type, status, transition, item.reason or "", item.message or ""))
    return found


class ConditionSync:
    """Keeps npd's conditions on one Node equal to what the monitors report."""

    def __init__(
        self,
        api: NodeApi,
        node: str,
        *,
        heartbeat: float,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._node = node
        self._heartbeat = heartbeat
        self._wall_clock = wall_clock
        self._clock = clock
        self._declared: tuple[str, ...] = ()
        self._desired: dict[str, Condition] = {}
        self._sent: dict[str, Condition] = {}
        self._stale: set[str] = set()
        self._annotation: str | None = None  # as last seen on the Node; None: not known yet
        self.node_uid = ""
        self._last_success = float("-inf")
        self._retry_at = float("-inf")
        self._backoff = Backoff()
        self._wake = asyncio.Event()
        self.patches = 0
        self.failures = 0
        self.last_sync = 0.0

    def declare(self, condition_types: Iterable[str]) -> None:
        """The condition types npd's monitors own: the only ones it writes."""
        self._declared = tuple(dict.fromkeys(condition_types))

    def observe_node(self, node: Node) -> None:
        """Learn the Node's ownership annotation (first sight only): what npd owned before."""
        if self._annotation is not None:
            return
        self.node_uid = (node.metadata.uid if node.metadata else None) or ""
        annotations = (node.metadata.annotations if node.metadata else None) or {}
        self._annotation = annotations.get(OWNED_ANNOTATION, "")
        self._stale = owned_types(node) - set(self._declared)
        if self._stale:
            log.info(
                "removing conditions npd set earlier that no monitor configures now: %s",
                ", ".join(sorted(self._stale)),
            )
            self._wake.set()

    def update(self, conditions: Iterable[Condition]) -> None:
        """The monitors' latest conditions; a change is sent at once, the latest state wins."""
        for condition in conditions:
            if condition.type in self._declared or not self._declared:
                self._desired[condition.type] = condition
        if self._desired != self._sent:
            self._wake.set()

    @property
    def in_sync(self) -> bool:
        """Whether the Node holds what the monitors last reported."""
        return self._desired == self._sent and not self._stale

    async def run(self) -> None:
        """Patch on change, on the heartbeat, and again after failures, until cancelled."""
        while True:
            now = self._clock()
            if now < self._retry_at:
                await asyncio.sleep(self._retry_at - now)  # changes meanwhile go in the next try
                continue
            self._wake.clear()
            heartbeat_due = self._last_success + self._heartbeat
            if not self.in_sync or self._annotation_outdated() or (self._desired and now >= heartbeat_due):
                await self._sync()
                continue
            timeout = max(0.0, heartbeat_due - now) if self._desired else None
            await wait_event(self._wake, timeout)

    def _wanted_annotation(self) -> str:
        return ",".join(sorted(self._declared))

    def _annotation_outdated(self) -> bool:
        return bool(self._declared) and self._annotation != self._wanted_annotation()

    def patch_body(self) -> dict[str, Any]:
        """The strategic merge patch that makes the Node hold the desired state."""
        heartbeat = k8s_time(datetime.fromtimestamp(self._wall_clock(), UTC))
        items: list[dict[str, Any]] = [
            {
                "type": condition.type,
                "status": condition.status.value,
                "reason": condition.reason,
                "message": truncate_utf8(condition.message, MAX_CONDITION_MESSAGE),
                "lastHeartbeatTime": heartbeat,
                "lastTransitionTime": k8s_time(condition.transition),
            }
            for condition in self._desired.values()
        ]
        items += [{"type": stale, "$patch": "delete"} for stale in sorted(self._stale)]
        body: dict[str, Any] = {"status": {"conditions": items}}
        if self._annotation_outdated():
            body["metadata"] = {"annotations": {OWNED_ANNOTATION: self._wanted_annotation()}}
        return body

    async def _sync(self) -> None:
        try:
            if self._annotation is None:
                # What npd owned before must be read before the annotation is rewritten.
                self.observe_node(await self._api.get_node(self._node))
            sending = dict(self._desired)
            stale = set(self._stale)
            body = self.patch_body()
            await self._api.patch_node_status(self._node, body)
        except ApiUnavailable as exc:
            self._failed(self._backoff.next_delay(exc.retry_after), str(exc))
            return
        except ApiRejected as exc:
            if exc.code == 404:
                # The Node was deleted (and may come back as a new object): read its uid and
                # annotation afresh before writing to it again.
                self._annotation = None
            self._failed(self._backoff.next_delay(cap=REFUSED_CAP_S), str(exc))
            return
        if self.failures and self._backoff.failures:
            log.info("node conditions of %s are in sync again", self._node)
        self._backoff.reset()
        self.patches += 1
        self.last_sync = self._wall_clock()
        self._last_success = self._clock()
        self._sent = sending
        self._stale -= stale
        if "metadata" in body:
            self._annotation = body["metadata"]["annotations"][OWNED_ANNOTATION]

    def _failed(self, delay: float, detail: str) -> None:
        self.failures += 1
        if self._backoff.failures == 1:
            log.warning("failed to update node conditions of %s (will retry): %s", self._node, detail)
        self._retry_at = self._clock() + delay

    def collect(self) -> list[MetricFamily]:
        """Patch counts and the time of the last successful one."""
        patches = MetricFamily(
            "npd_kubernetes_condition_patches_total", "Node status patches, by result.", "counter"
        )
        patches.add(self.patches, result="ok")
        patches.add(self.failures, result="failed")
        last = MetricFamily(
            "npd_kubernetes_condition_last_sync_timestamp_seconds",
            "When npd's conditions were last written to the Node (0: never).",
            "gauge",
        )
        last.add(self.last_sync)
        return [patches, last]


def restorable(node: Node, declared: Sequence[str]) -> list[Condition]:
    """Conditions on the Node of the types npd's monitors declare: the state to take up at start.

    Types npd never recorded as its own are taken up too: a node moving from upstream's NPD
    (which keeps no annotation) keeps a ``KernelDeadlock=True`` it had.
    """
    return [c for c in node_conditions(node, declared) if c.status is not ConditionStatus.UNKNOWN]
