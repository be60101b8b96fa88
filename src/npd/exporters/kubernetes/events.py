"""Events on the Node: aggregated like client-go's correlator, rate-limited so floods stay small.

:class:`EventCorrelator` decides, without I/O, what one problem event becomes on the API:

* **similar events combine** (client-go's aggregator): more than 10 events of one source, type
  and reason with different messages within 10 minutes become one event whose message starts
  ``(combined from similar events): ``;
* **repeats aggregate** (client-go's logger): an event seen before (same source, type, reason
  and message; last 4096 kept) PATCHes the existing object's ``count`` and ``lastTimestamp``
  instead of creating another;
* **a spam filter** (client-go's, a token bucket of 25 that refills one every 5 minutes) per
  source and reason: past it, writes are skipped, but repeats keep counting, so the next write
  that passes carries the true count. One flooding reason cannot starve another of the same
  monitor (client-go keys by message, which a flood of distinct messages would defeat).

:class:`EventWriter` sends the decision, retrying what is worth retrying until the API takes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from npd.exporters.kubernetes.api import ApiRejected, ApiUnavailable, NodeApi
from npd.exporters.kubernetes.backoff import REFUSED_CAP_S, Backoff
from npd.exporters.kubernetes.conditions import k8s_time
from npd.metrics.model import MetricFamily
from npd.problem import Event, Severity, truncate_utf8

log = logging.getLogger(__name__)

#: The Events API's limit on a note (events.k8s.io/v1); core/v1 does not enforce it, but an
#: event read through events.k8s.io must stay valid, and a log line can be 64 KiB.
MAX_EVENT_MESSAGE = 1024
COMBINED_PREFIX = "(combined from similar events): "
_TYPE = {Severity.WARN: "Warning", Severity.INFO: "Normal"}


@dataclass(frozen=True, slots=True)
class CorrelatorLimits:
    """client-go's defaults (``record.EventCorrelator``)."""

    cache_size: int = 4096
    similar_max: int = 10
    similar_interval: float = 600.0
    burst: int = 25
    refill_interval: float = 300.0


@dataclass(slots=True)
class _Observed:
    name: str
    count: int
    first: datetime
    last: datetime
    #: Whether the object exists on the server (a skipped first write leaves it uncreated).
    created: bool = False


@dataclass(slots=True)
class _Similar:
    messages: OrderedDict[str, None] = field(default_factory=OrderedDict)
    last: float = 0.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True, slots=True)
class Decision:
    """What to write: a new Event (``create``) or a count update of an existing one."""

    key: tuple[str, ...]
    name: str
    body: dict[str, Any]
    create: bool


class EventCorrelator:
    """Aggregation, combining and the spam filter for one node's events."""

    def __init__(
        self,
        node: str,
        namespace: str,
        involved_namespace: str,
        *,
        limits: CorrelatorLimits = CorrelatorLimits(),
        clock: Callable[[], float] = time.monotonic,
        name_clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._node = node
        self._namespace = namespace
        self._involved_namespace = involved_namespace
        self._limits = limits
        self._clock = clock
        self._name_clock = name_clock
        self._last_name_ns = 0
        self._observed: OrderedDict[tuple[str, ...], _Observed] = OrderedDict()
        self._similar: OrderedDict[tuple[str, str, str], _Similar] = OrderedDict()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.uid = ""

    def observe(self, source: str, event: Event) -> Decision | None:
        """The write one event calls for, or ``None`` when the spam filter holds it back."""
        kind = _TYPE[event.severity]
        message = truncate_utf8(event.message, MAX_EVENT_MESSAGE)
        key, message = self._combine(source, kind, event.reason, message)
        observed = self._observed.get(key)
        if observed is None:
            observed = _Observed(self._new_name(), 0, event.timestamp, event.timestamp)
            self._observed[key] = observed
            while len(self._observed) > self._limits.cache_size:
                self._observed.popitem(last=False)
        else:
            self._observed.move_to_end(key)
        observed.count += 1
        observed.last = max(observed.last, event.timestamp)
        if not self._allow(source, event.reason):
            return None
        if observed.created:
            patch = {"count": observed.count, "lastTimestamp": k8s_time(observed.last), "message": message}
            return Decision(key, observed.name, patch, create=False)
        return Decision(key, observed.name, self._body(observed, source, kind, event.reason, message), True)

    def full_body(self, decision: Decision, source: str, kind: str, reason: str) -> dict[str, Any]:
        """A create body for a decision whose object vanished (expired) on the server."""
        observed = self._observed.get(decision.key)
        assert observed is not None
        message = str(decision.body.get("message", ""))
        return self._body(observed, source, kind, reason, message)

    def written(self, decision: Decision) -> None:
        """The server has the object now: later repeats patch it."""
        observed = self._observed.get(decision.key)
        if observed is not None:
            observed.created = True

    def forget(self, decision: Decision) -> None:
        """The server refused the object: a repeat must create it afresh."""
        self._observed.pop(decision.key, None)

    def _combine(self, source: str, kind: str, reason: str, message: str) -> tuple[tuple[str, ...], str]:
        now = self._clock()
        similar_key = (source, kind, reason)
        record = self._similar.get(similar_key)
        if record is None or now - record.last > self._limits.similar_interval:
            record = _Similar()
            self._similar[similar_key] = record
            while len(self._similar) > self._limits.cache_size:
                self._similar.popitem(last=False)
        record.last = now
        record.messages[message] = None
        record.messages.move_to_end(message)
        if len(record.messages) < self._limits.similar_max:
            return (source, kind, reason, message), message
        while len(record.messages) > self._limits.similar_max:
            record.messages.popitem(last=False)
        return (source, kind, reason), truncate_utf8(COMBINED_PREFIX + message, MAX_EVENT_MESSAGE)

    def _allow(self, source: str, reason: str) -> bool:
        now = self._clock()
        bucket = self._buckets.get((source, reason))
        if bucket is None:
            bucket = self._buckets[(source, reason)] = _Bucket(float(self._limits.burst), now)
        refill = (now - bucket.updated) / self._limits.refill_interval
        bucket.tokens = min(float(self._limits.burst), bucket.tokens + refill)
        bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _new_name(self) -> str:
        # client-go names events <object>.<unix nanoseconds in hex>; strictly increasing here so
        # two events in one clock tick cannot collide.
        stamp = max(self._name_clock(), self._last_name_ns + 1)
        self._last_name_ns = stamp
        return f"{self._node}.{stamp:x}"

    def _body(self, observed: _Observed, source: str, kind: str, reason: str, message: str) -> dict[str, Any]:
        involved: dict[str, str] = {"apiVersion": "v1", "kind": "Node", "name": self._node}
        if self.uid:
            involved["uid"] = self.uid
        if self._involved_namespace:
            involved["namespace"] = self._involved_namespace
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": observed.name, "namespace": self._namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": kind,
            "source": {"component": source, "host": self._node},
            "count": observed.count,
            "firstTimestamp": k8s_time(observed.first),
            "lastTimestamp": k8s_time(observed.last),
            "reportingComponent": source,
            "reportingInstance": self._node,
        }


class EventWriter:
    """Writes correlated events, waiting out outages (the detector's queue bounds the backlog)."""

    def __init__(self, api: NodeApi, correlator: EventCorrelator, namespace: str) -> None:
        self._api = api
        self._correlator = correlator
        self._namespace = namespace
        self._backoff = Backoff()
        #: Event writes by result: created, updated, rate_limited, rejected.
        self.results: dict[str, int] = {}

    def _count(self, result: str) -> None:
        self.results[result] = self.results.get(result, 0) + 1

    async def write(self, source: str, event: Event) -> None:
        """Record one event; returns once the API has it, or it was filtered or refused."""
        decision = self._correlator.observe(source, event)
        if decision is None:
            self._count("rate_limited")
            return
        while True:
            try:
                await self._send(decision, source, event)
                self._backoff.reset()
                return
            except ApiUnavailable as exc:
                delay = self._backoff.next_delay(exc.retry_after)
                if self._backoff.failures == 1:
                    log.warning("cannot write events (will retry until the API server is back): %s", exc)
                await asyncio.sleep(delay)
            except ApiRejected as exc:
                if exc.code not in (401, 403):
                    self._count("rejected")
                    self._correlator.forget(decision)
                    log.error("the API server refused event %s/%s: %s", source, event.reason, exc)
                    return
                # Not allowed (yet): RBAC that is being fixed, or an API server that has just
                # restarted and refuses until its authorizer's caches sync. Keep the event.
                delay = self._backoff.next_delay(cap=REFUSED_CAP_S)
                if self._backoff.failures == 1:
                    log.warning("not allowed to write events (will retry): %s", exc)
                await asyncio.sleep(delay)

    async def _send(self, decision: Decision, source: str, event: Event) -> None:
        if decision.create:
            await self._api.create_event(decision.body)
            self._count("created")
        else:
            try:
                await self._api.patch_event(self._namespace, decision.name, decision.body)
                self._count("updated")
            except ApiRejected as exc:
                if exc.code != 404:
                    raise
                # Events expire (1 h by default): start the series again, as client-go does.
                body = self._correlator.full_body(decision, source, _TYPE[event.severity], event.reason)
                await self._api.create_event(body)
                self._count("created")
        self._correlator.written(decision)

    def collect(self) -> list[MetricFamily]:
        """``npd_kubernetes_events_total{result}``."""
        family = MetricFamily(
            "npd_kubernetes_events_total",
            "Events handed to the Kubernetes exporter, by what became of them "
            "(created, updated: a repeat's count, rate_limited: held back by the spam filter, "
            "rejected: refused by the API server).",
            "counter",
        )
        for result in ("created", "updated", "rate_limited", "rejected"):
            family.add(self.results.get(result, 0), result=result)
        return [family]
