"""EventWriter and EventCorrelator against the real API server: create, count, re-create, namespaces."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from lightkube import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event as KubeEvent
from lightkube.resources.core_v1 import Namespace, Node

from npd.exporters.kubernetes.events import EventCorrelator, EventWriter
from npd.problem import Event, Severity
from tests.exporters.kubernetes.live import node_api, samples
from tests.support.kube import ControlPlane

SOURCE = "kernel-monitor"
T0 = datetime.now(UTC).replace(microsecond=0)


def warn(reason: str, message: str, at: datetime = T0) -> Event:
    return Event(Severity.WARN, at, reason, message)


def events_of(plane: ControlPlane, node: str, namespace: str) -> list[KubeEvent]:
    """The Events about ``node`` in ``namespace``."""
    return list(plane.admin().list(KubeEvent, namespace=namespace, fields={"involvedObject.name": node}))


def results(writer: EventWriter) -> dict[str, float]:
    return {
        dict(labels)["result"]: value
        for labels, value in samples(writer.collect(), "npd_kubernetes_events_total").items()
    }


def write_all(
    plane: ControlPlane, node: str, namespace: str, involved_namespace: str, events: list[Event]
) -> EventWriter:
    """Write ``events`` one by one through a fresh writer; returns it for its counts."""

    async def scenario() -> EventWriter:
        api = node_api(plane.admin_kubeconfig)
        correlator = EventCorrelator(node, namespace, involved_namespace)
        correlator.uid = (await api.get_node(node)).metadata.uid or ""  # type: ignore[union-attr]
        writer = EventWriter(api, correlator, namespace)
        try:
            for event in events:
                await writer.write(SOURCE, event)
        finally:
            await api.aclose()
        return writer

    return asyncio.run(scenario())


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A namespace of this test's own (deletion only marks it: no namespace controller runs)."""
    name = f"npd-events-{uuid.uuid4().hex[:8]}"
    control_plane.admin().create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    control_plane.admin().delete(Namespace, name)


def test_event_is_created_then_counted_on_repeat(control_plane: ControlPlane, kube_node: str) -> None:
    uid = control_plane.admin().get(Node, kube_node).metadata.uid  # type: ignore[union-attr]
    later = T0 + timedelta(seconds=30)

    async def scenario() -> tuple[EventWriter, list[KubeEvent], list[KubeEvent]]:
        api = node_api(control_plane.admin_kubeconfig)
        correlator = EventCorrelator(kube_node, "default", "")
        correlator.uid = uid or ""
        writer = EventWriter(api, correlator, "default")
        try:
            await writer.write(
                SOURCE, warn("TaskHung", "task docker:1234 blocked for more than 120 seconds.")
            )
            first = await asyncio.to_thread(events_of, control_plane, kube_node, "default")
            await writer.write(
                SOURCE, warn("TaskHung", "task docker:1234 blocked for more than 120 seconds.", later)
            )
            second = await asyncio.to_thread(events_of, control_plane, kube_node, "default")
        finally:
            await api.aclose()
        return writer, first, second

    writer, first, second = asyncio.run(scenario())
    (created,) = first
    assert created.count == 1
    assert created.type == "Warning" and created.reason == "TaskHung"
    assert created.message == "task docker:1234 blocked for more than 120 seconds."
    assert created.involvedObject.kind == "Node" and created.involvedObject.apiVersion == "v1"
    assert created.involvedObject.name == kube_node and created.involvedObject.uid == uid
    assert created.involvedObject.namespace is None
    assert created.source is not None
    assert (created.source.component, created.source.host) == (SOURCE, kube_node)
    assert (created.reportingComponent, created.reportingInstance) == (SOURCE, kube_node)
    assert created.firstTimestamp == T0 and created.lastTimestamp == T0
    assert created.metadata is not None and created.metadata.name is not None
    assert created.metadata.name.startswith(f"{kube_node}.")
    (updated,) = second
    assert updated.metadata is not None and updated.metadata.name == created.metadata.name
    assert updated.count == 2
    assert updated.firstTimestamp == T0 and updated.lastTimestamp == later
    assert results(writer) == {"created": 1, "updated": 1, "rate_limited": 0, "rejected": 0}


def test_event_deleted_on_the_server_is_created_again_on_repeat(
    control_plane: ControlPlane, kube_node: str
) -> None:
    async def scenario() -> tuple[EventWriter, str]:
        api = node_api(control_plane.admin_kubeconfig)
        correlator = EventCorrelator(kube_node, "default", "")
        writer = EventWriter(api, correlator, "default")
        try:
            await writer.write(SOURCE, warn("OOMKilling", "Killed process 42 (java)"))
            await writer.write(SOURCE, warn("OOMKilling", "Killed process 42 (java)"))
            (existing,) = await asyncio.to_thread(events_of, control_plane, kube_node, "default")
            name = existing.metadata.name  # type: ignore[union-attr]
            # Expired (events live an hour) or deleted: the next count PATCH meets a 404.
            await asyncio.to_thread(control_plane.admin().delete, KubeEvent, name, namespace="default")
            await writer.write(SOURCE, warn("OOMKilling", "Killed process 42 (java)"))
        finally:
            await api.aclose()
        return writer, str(name)

    writer, name = asyncio.run(scenario())
    (again,) = events_of(control_plane, kube_node, "default")
    assert again.metadata is not None and again.metadata.name == name
    assert again.count == 3  # the series goes on
    assert again.message == "Killed process 42 (java)" and again.reason == "OOMKilling"
    assert again.source is not None and again.source.component == SOURCE
    assert results(writer) == {"created": 2, "updated": 1, "rate_limited": 0, "rejected": 0}


def test_event_namespace_holds_the_events_and_names_the_involved_object(
    control_plane: ControlPlane, kube_node: str, namespace: str
) -> None:
    writer = write_all(control_plane, kube_node, namespace, namespace, [warn("TaskHung", "blocked")] * 2)
    (event,) = events_of(control_plane, kube_node, namespace)
    assert event.metadata is not None and event.metadata.namespace == namespace
    assert event.involvedObject.namespace == namespace
    assert event.count == 2
    assert events_of(control_plane, kube_node, "default") == []
    assert results(writer) == {"created": 1, "updated": 1, "rate_limited": 0, "rejected": 0}


def test_event_in_a_missing_namespace_is_rejected_without_an_exception(
    control_plane: ControlPlane, kube_node: str
) -> None:
    missing = f"npd-missing-{uuid.uuid4().hex[:8]}"
    writer = write_all(
        control_plane, kube_node, missing, missing, [warn("TaskHung", "blocked"), warn("TaskHung", "blocked")]
    )
    # Refused twice: the repeat tries a fresh create rather than patching an object that never was.
    assert results(writer) == {"created": 0, "updated": 0, "rate_limited": 0, "rejected": 2}
    with pytest.raises(ApiError) as caught:
        control_plane.admin().get(Namespace, missing)
    assert caught.value.status.code == 404


def test_flood_is_held_by_the_spam_filter_and_other_reasons_still_pass(
    control_plane: ControlPlane, kube_node: str
) -> None:
    flood = [warn("OOMKilling", "Killed process 7 (a)")] * 30
    writer = write_all(control_plane, kube_node, "default", "", [*flood, warn("TaskHung", "blocked")])
    by_reason = {event.reason: event for event in events_of(control_plane, kube_node, "default")}
    assert set(by_reason) == {"OOMKilling", "TaskHung"}
    assert by_reason["OOMKilling"].count == 25
    assert by_reason["TaskHung"].count == 1
    assert results(writer) == {"created": 2, "updated": 24, "rate_limited": 5, "rejected": 0}


def test_similar_messages_combine_into_one_event(control_plane: ControlPlane, kube_node: str) -> None:
    messages = [warn("OOMKilling", f"Killed process {pid} (java)") for pid in range(12)]
    write_all(control_plane, kube_node, "default", "", messages)
    found = events_of(control_plane, kube_node, "default")
    singles = sorted(
        event.message or "" for event in found if event.count == 1 and "combined" not in (event.message or "")
    )
    assert singles == sorted(f"Killed process {pid} (java)" for pid in range(9))
    (combined,) = [
        event for event in found if (event.message or "").startswith("(combined from similar events): ")
    ]
    assert combined.message == "(combined from similar events): Killed process 11 (java)"
    assert combined.count == 3
