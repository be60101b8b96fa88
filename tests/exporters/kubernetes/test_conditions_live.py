"""ConditionSync against the real API server: only npd's types, restore, stale types, heartbeat."""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from lightkube.resources.core_v1 import Node, NodeStatus

from npd.exporters.kubernetes.api import NodeApi, load_config
from npd.exporters.kubernetes.conditions import OWNED_ANNOTATION, ConditionSync, restorable
from npd.exporters.kubernetes.settings import Connection
from npd.problem import Condition, ConditionStatus
from tests.exporters.kubernetes.live import (
    admin_set_conditions,
    annotations_of,
    conditions_of,
    eventually,
    kubelet_condition,
    node_api,
    until,
)
from tests.support.kube import ControlPlane

DECLARED = ("KernelDeadlock", "ReadonlyFilesystem")
TRANSITION = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


class RecordingApi(NodeApi):
    """The real client, keeping a copy of every status patch it sends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patches: list[dict[str, Any]] = []

    async def patch_node_status(self, name: str, patch: dict[str, Any]) -> NodeStatus:
        self.patches.append(copy.deepcopy(patch))
        return await super().patch_node_status(name, patch)


def recording_api(plane: ControlPlane) -> RecordingApi:
    return RecordingApi(load_config(Connection(kubeconfig=str(plane.admin_kubeconfig))), qps=0, burst=1)


def condition(kind: str, status: ConditionStatus, reason: str, message: str = "") -> Condition:
    return Condition(kind, status, TRANSITION, reason, message or f"{reason} message")


@asynccontextmanager
async def running(sync: ConditionSync) -> AsyncIterator[ConditionSync]:
    """``sync.run()`` in a task for the body of the ``async with``."""
    task = asyncio.create_task(sync.run())
    try:
        yield sync
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise AssertionError("ConditionSync.run() failed") from task.exception()


def condition_on(plane: ControlPlane, node: str, kind: str) -> dict[str, Any]:
    """The Node's condition of ``kind``; an ``AssertionError`` while it has none."""
    found = conditions_of(plane, node)
    assert kind in found, f"no {kind} on {node}: {sorted(found)}"
    return found[kind]


def statuses(plane: ControlPlane, node: str) -> Callable[[], dict[str, tuple[str, str]]]:
    """A probe: the Node's conditions as {type: (status, reason)}."""

    def probe() -> dict[str, tuple[str, str]]:
        return {kind: (item["status"], item["reason"]) for kind, item in conditions_of(plane, node).items()}

    return probe


def expect(plane: ControlPlane, node: str, wanted: dict[str, tuple[str, str]]) -> Callable[[], None]:
    probe = statuses(plane, node)

    def check() -> None:
        assert probe() == wanted

    return check


def test_only_declared_types_are_written_and_kubelets_survive(
    control_plane: ControlPlane, kube_node: str
) -> None:
    admin_set_conditions(
        control_plane,
        kube_node,
        [
            kubelet_condition("Ready", "True", "KubeletReady"),
            kubelet_condition("MemoryPressure", "False", "Ok"),
        ],
    )

    async def scenario() -> RecordingApi:
        api = recording_api(control_plane)
        sync = ConditionSync(api, kube_node, heartbeat=3600.0)
        sync.declare(DECLARED)
        sync.update(
            [
                condition("KernelDeadlock", ConditionStatus.FALSE, "KernelHasNoDeadlock"),
                condition("ReadonlyFilesystem", ConditionStatus.FALSE, "FilesystemIsNotReadOnly"),
                condition("NotDeclared", ConditionStatus.TRUE, "Sneaky"),
            ]
        )
        try:
            async with running(sync):
                await eventually(
                    expect(
                        control_plane,
                        kube_node,
                        {
                            "Ready": ("True", "KubeletReady"),
                            "MemoryPressure": ("False", "Ok"),
                            "KernelDeadlock": ("False", "KernelHasNoDeadlock"),
                            "ReadonlyFilesystem": ("False", "FilesystemIsNotReadOnly"),
                        },
                    )
                )
                # kubelet writes in between; npd changes one of its own.
                await asyncio.to_thread(
                    admin_set_conditions,
                    control_plane,
                    kube_node,
                    [
                        kubelet_condition("Ready", "False", "KubeletNotReady"),
                        kubelet_condition("DiskPressure", "False", "Ok"),
                    ],
                )
                sync.update([condition("KernelDeadlock", ConditionStatus.TRUE, "DockerHung")])
                await eventually(
                    expect(
                        control_plane,
                        kube_node,
                        {
                            "Ready": ("False", "KubeletNotReady"),
                            "MemoryPressure": ("False", "Ok"),
                            "DiskPressure": ("False", "Ok"),
                            "KernelDeadlock": ("True", "DockerHung"),
                            "ReadonlyFilesystem": ("False", "FilesystemIsNotReadOnly"),
                        },
                    )
                )
        finally:
            await api.aclose()
        return api

    api = asyncio.run(scenario())
    sent_types = {item["type"] for body in api.patches for item in body["status"]["conditions"]}
    assert sent_types == set(DECLARED)


def test_condition_fields_on_the_node(control_plane: ControlPlane, kube_node: str) -> None:
    wall = 1_714_564_800.0  # 2024-05-01T12:00:00Z

    async def scenario() -> dict[str, Any]:
        api = node_api(control_plane.admin_kubeconfig)
        sync = ConditionSync(api, kube_node, heartbeat=3600.0, wall_clock=lambda: wall + 0.9)
        sync.declare(DECLARED)
        sync.update(
            [condition("KernelDeadlock", ConditionStatus.TRUE, "DockerHung", "task docker:1 blocked")]
        )
        try:
            async with running(sync):
                return await eventually(lambda: condition_on(control_plane, kube_node, "KernelDeadlock"))
        finally:
            await api.aclose()

    item = asyncio.run(scenario())
    assert item == {
        "type": "KernelDeadlock",
        "status": "True",
        "reason": "DockerHung",
        "message": "task docker:1 blocked",
        "lastHeartbeatTime": "2024-05-01T12:00:00Z",
        "lastTransitionTime": "2024-05-01T12:00:00Z",
    }


def test_restore_reads_the_declared_types_from_the_node(control_plane: ControlPlane, kube_node: str) -> None:
    admin_set_conditions(
        control_plane,
        kube_node,
        [
            {
                **kubelet_condition("KernelDeadlock", "True", "DockerHung"),
                "message": "task docker:1 blocked",
                "lastTransitionTime": "2024-05-01T11:00:00Z",
            },
            kubelet_condition("ReadonlyFilesystem", "False", "FilesystemIsNotReadOnly"),
            kubelet_condition("FrequentKubeletRestart", "Unknown", "NoData"),
            kubelet_condition("Ready", "True", "KubeletReady"),
            kubelet_condition("CorruptDockerOverlay2", "True", "NotDeclaredHere"),
        ],
    )

    async def scenario() -> tuple[Node, ConditionSync]:
        api = node_api(control_plane.admin_kubeconfig)
        try:
            node = await api.get_node(kube_node)
        finally:
            await api.aclose()
        sync = ConditionSync(api, kube_node, heartbeat=3600.0)
        sync.declare((*DECLARED, "FrequentKubeletRestart"))
        sync.observe_node(node)
        return node, sync

    node, sync = asyncio.run(scenario())
    assert sync.node_uid == node.metadata.uid  # type: ignore[union-attr]
    assert sync.node_uid
    restored = {c.type: c for c in restorable(node, (*DECLARED, "FrequentKubeletRestart"))}
    assert set(restored) == {"KernelDeadlock", "ReadonlyFilesystem"}  # Unknown is nothing to keep
    deadlock = restored["KernelDeadlock"]
    assert deadlock == Condition(
        "KernelDeadlock",
        ConditionStatus.TRUE,
        datetime(2024, 5, 1, 11, 0, tzinfo=UTC),
        "DockerHung",
        "task docker:1 blocked",
    )
    assert restored["ReadonlyFilesystem"].status is ConditionStatus.FALSE
    assert restorable(node, ()) == []


def test_stale_owned_types_are_deleted_and_others_kept(control_plane: ControlPlane, kube_node: str) -> None:
    control_plane.admin().patch(
        Node, kube_node, {"metadata": {"annotations": {OWNED_ANNOTATION: "OldCheck,KernelDeadlock"}}}
    )
    admin_set_conditions(
        control_plane,
        kube_node,
        [
            kubelet_condition("OldCheck", "True", "WasOurs"),
            kubelet_condition("LooksLikeOurs", "True", "NeverListed"),
            kubelet_condition("KernelDeadlock", "True", "DockerHung"),
            kubelet_condition("Ready", "True", "KubeletReady"),
        ],
    )

    async def scenario() -> RecordingApi:
        api = recording_api(control_plane)
        sync = ConditionSync(api, kube_node, heartbeat=3600.0)
        sync.declare(DECLARED)
        sync.update([condition("KernelDeadlock", ConditionStatus.FALSE, "KernelHasNoDeadlock")])
        try:
            async with running(sync):
                await eventually(
                    expect(
                        control_plane,
                        kube_node,
                        {
                            "LooksLikeOurs": ("True", "NeverListed"),
                            "KernelDeadlock": ("False", "KernelHasNoDeadlock"),
                            "Ready": ("True", "KubeletReady"),
                        },
                    )
                )
                assert sync.in_sync
        finally:
            await api.aclose()
        return api

    api = asyncio.run(scenario())
    assert annotations_of(control_plane, kube_node)[OWNED_ANNOTATION] == "KernelDeadlock,ReadonlyFilesystem"
    assert {"type": "OldCheck", "$patch": "delete"} in api.patches[0]["status"]["conditions"]
    assert all(
        item.get("type") != "LooksLikeOurs" for body in api.patches for item in body["status"]["conditions"]
    )


def test_stale_types_go_even_before_any_monitor_reports(control_plane: ControlPlane, kube_node: str) -> None:
    control_plane.admin().patch(
        Node, kube_node, {"metadata": {"annotations": {OWNED_ANNOTATION: "OldCheck"}}}
    )
    admin_set_conditions(
        control_plane,
        kube_node,
        [
            kubelet_condition("OldCheck", "True", "WasOurs"),
            kubelet_condition("Ready", "True", "KubeletReady"),
        ],
    )

    async def scenario() -> None:
        api = node_api(control_plane.admin_kubeconfig)
        sync = ConditionSync(api, kube_node, heartbeat=3600.0)
        sync.declare(DECLARED)
        sync.observe_node(await api.get_node(kube_node))
        try:
            async with running(sync):
                await eventually(expect(control_plane, kube_node, {"Ready": ("True", "KubeletReady")}))
                await eventually(
                    lambda: assert_equal(
                        annotations_of(control_plane, kube_node).get(OWNED_ANNOTATION),
                        "KernelDeadlock,ReadonlyFilesystem",
                    )
                )
        finally:
            await api.aclose()

    asyncio.run(scenario())


def assert_equal(actual: object, expected: object) -> None:
    assert actual == expected


def test_annotation_written_once_and_heartbeat_resends(control_plane: ControlPlane, kube_node: str) -> None:
    # Each call of the wall clock is a minute later, so every patch carries a new heartbeat time.
    minutes = itertools.count()
    base = time.time()

    def wall_clock() -> float:
        return base + 60.0 * next(minutes)

    async def scenario() -> tuple[RecordingApi, list[str]]:
        api = recording_api(control_plane)
        sync = ConditionSync(api, kube_node, heartbeat=0.2, wall_clock=wall_clock)
        sync.declare(("ReadonlyFilesystem", "KernelDeadlock"))  # the annotation is sorted
        sync.update([condition("KernelDeadlock", ConditionStatus.FALSE, "KernelHasNoDeadlock")])
        heartbeats: list[str] = []

        def new_heartbeat() -> None:
            item = conditions_of(control_plane, kube_node).get("KernelDeadlock")
            assert item is not None
            if not heartbeats or heartbeats[-1] != item["lastHeartbeatTime"]:
                heartbeats.append(item["lastHeartbeatTime"])
            assert len(heartbeats) >= 3
            assert item["lastTransitionTime"] == "2024-05-01T12:00:00Z"

        try:
            async with running(sync):
                await eventually(new_heartbeat)
        finally:
            await api.aclose()
        return api, heartbeats

    api, heartbeats = asyncio.run(scenario())
    assert len(set(heartbeats)) == len(heartbeats) and heartbeats == sorted(heartbeats)
    assert len(api.patches) >= 3  # no update() after the first: the rest are heartbeats
    assert api.patches[0]["metadata"] == {
        "annotations": {OWNED_ANNOTATION: "KernelDeadlock,ReadonlyFilesystem"}
    }
    assert all("metadata" not in body for body in api.patches[1:])
    assert annotations_of(control_plane, kube_node)[OWNED_ANNOTATION] == "KernelDeadlock,ReadonlyFilesystem"


def test_no_heartbeat_without_conditions(control_plane: ControlPlane, kube_node: str) -> None:
    control_plane.admin().patch(
        Node,
        kube_node,
        {"metadata": {"annotations": {OWNED_ANNOTATION: "KernelDeadlock,ReadonlyFilesystem"}}},
    )

    async def scenario() -> RecordingApi:
        api = recording_api(control_plane)
        sync = ConditionSync(api, kube_node, heartbeat=0.01)
        sync.declare(DECLARED)
        sync.observe_node(await api.get_node(kube_node))
        try:
            async with running(sync):
                await asyncio.sleep(0.2)  # twenty heartbeat periods: nothing to send must send nothing
        finally:
            await api.aclose()
        return api

    assert asyncio.run(scenario()).patches == []


def test_long_message_is_cut_to_1024_bytes(control_plane: ControlPlane, kube_node: str) -> None:
    message = "x" + "é" * 2000

    async def scenario() -> str:
        api = node_api(control_plane.admin_kubeconfig)
        sync = ConditionSync(api, kube_node, heartbeat=3600.0)
        sync.declare(DECLARED)
        sync.update([condition("KernelDeadlock", ConditionStatus.TRUE, "DockerHung", message)])
        try:
            async with running(sync):
                item = await eventually(lambda: condition_on(control_plane, kube_node, "KernelDeadlock"))
                return str(item["message"])
        finally:
            await api.aclose()

    stored = asyncio.run(scenario())
    assert len(stored.encode()) <= 1024
    assert stored == "x" + "é" * 510 + "…"


def test_sync_recovers_after_the_node_is_recreated(control_plane: ControlPlane, kube_node: str) -> None:
    async def scenario() -> ConditionSync:
        api = node_api(control_plane.admin_kubeconfig)
        sync = ConditionSync(api, kube_node, heartbeat=3600.0)
        sync.declare(DECLARED)
        sync.update([condition("KernelDeadlock", ConditionStatus.FALSE, "KernelHasNoDeadlock")])
        try:
            async with running(sync):
                await eventually(
                    expect(control_plane, kube_node, {"KernelDeadlock": ("False", "KernelHasNoDeadlock")})
                )
                await asyncio.to_thread(control_plane.delete_node, kube_node)
                sync.update([condition("KernelDeadlock", ConditionStatus.TRUE, "DockerHung")])
                await until(lambda: sync.failures >= 1, "the patch meets the 404")
                assert not sync.in_sync
                await asyncio.to_thread(control_plane.create_node, kube_node)
                await eventually(expect(control_plane, kube_node, {"KernelDeadlock": ("True", "DockerHung")}))
                await until(lambda: sync.in_sync, "in sync again")
        finally:
            await api.aclose()
        return sync

    sync = asyncio.run(scenario())
    assert sync.failures >= 1 and sync.patches >= 2


async def _recreate(plane: ControlPlane, node: str) -> ConditionSync:
    """Sync, delete the Node, change a condition (the patch meets 404), re-create it, converge."""
    api = node_api(plane.admin_kubeconfig)
    sync = ConditionSync(api, node, heartbeat=3600.0)
    sync.declare(DECLARED)
    sync.update([condition("KernelDeadlock", ConditionStatus.FALSE, "KernelHasNoDeadlock")])
    try:
        async with running(sync):
            await eventually(expect(plane, node, {"KernelDeadlock": ("False", "KernelHasNoDeadlock")}))
            assert annotations_of(plane, node).get(OWNED_ANNOTATION) == "KernelDeadlock,ReadonlyFilesystem"
            await asyncio.to_thread(plane.delete_node, node)
            sync.update([condition("KernelDeadlock", ConditionStatus.TRUE, "DockerHung")])
            await until(lambda: sync.failures >= 1, "the patch meets the 404")
            await asyncio.to_thread(plane.create_node, node)
            await eventually(expect(plane, node, {"KernelDeadlock": ("True", "DockerHung")}))
            await until(lambda: sync.in_sync, "in sync again")
    finally:
        await api.aclose()
    return sync


def test_recreated_node_gets_the_ownership_annotation(control_plane: ControlPlane, kube_node: str) -> None:
    """A Node deleted and registered again is a new object: the patch that puts npd's conditions
    on it must record what npd owns there too, or a later config change cannot remove them."""
    asyncio.run(_recreate(control_plane, kube_node))
    assert (
        annotations_of(control_plane, kube_node).get(OWNED_ANNOTATION) == "KernelDeadlock,ReadonlyFilesystem"
    )


def test_recreated_node_uid_is_learnt(control_plane: ControlPlane, kube_node: str) -> None:
    """Events name the Node by uid (kubectl describe selects them by it): after the Node is
    re-created, the uid npd knows must be the new Node's."""
    old_uid = control_plane.admin().get(Node, kube_node).metadata.uid  # type: ignore[union-attr]
    sync = asyncio.run(_recreate(control_plane, kube_node))
    new_uid = control_plane.admin().get(Node, kube_node).metadata.uid  # type: ignore[union-attr]
    assert new_uid != old_uid
    assert sync.node_uid == new_uid
