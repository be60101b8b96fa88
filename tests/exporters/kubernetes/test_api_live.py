"""NodeApi against the real API server, and its failure split and retries against a scripted one."""

from __future__ import annotations

import asyncio
import email.utils
import json
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lightkube.resources.core_v1 import Event, Node

from npd.exporters.kubernetes.api import ApiRejected, ApiUnavailable, NodeApi, load_config
from npd.exporters.kubernetes.conditions import OWNED_ANNOTATION, ConditionSync
from npd.exporters.kubernetes.settings import Connection
from npd.problem import Condition, ConditionStatus
from tests.exporters.kubernetes.live import (
    Reply,
    ScriptedApiServer,
    node_api,
    node_reply,
    samples,
    status_reply,
    until,
)
from tests.support.kube import ControlPlane

REQUESTS = "npd_kubernetes_requests_total"


def request_counts(api: NodeApi) -> dict[tuple[str, str, str], float]:
    """``npd_kubernetes_requests_total`` by (verb, resource, code)."""
    by_labels = samples(api.collect(), REQUESTS)
    return {
        (dict(labels)["verb"], dict(labels)["resource"], dict(labels)["code"]): value
        for labels, value in by_labels.items()
    }


def event_body(node: str, name: str, namespace: str = "default") -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Node", "name": node},
        "reason": "TaskHung",
        "message": "task docker:1234 blocked for more than 120 seconds.",
        "type": "Warning",
        "source": {"component": "kernel-monitor", "host": node},
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
    }


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def kubeconfig_with_user(plane: ControlPlane, path: Path, user: dict[str, str]) -> Path:
    """The admin kubeconfig (same server and CA) with another user's credentials."""
    config = json.loads(plane.admin_kubeconfig.read_text())
    config["users"][0]["user"] = user
    path.write_text(json.dumps(config))
    return path


def stranger_kubeconfig(plane: ControlPlane, directory: Path) -> Path:
    """A client certificate from the cluster's CA for a user no RBAC rule names: authenticated, 403.

    npd's own identity cannot serve here: whether it is forbidden depends on whether another
    test of the session has applied deploy/'s RBAC already.
    """
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to issue a client certificate")
    key, csr, crt = directory / "stranger.key", directory / "stranger.csr", directory / "stranger.crt"
    for command in (
        [
            "openssl",
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-subj",
            "/CN=npd-test-stranger",
            "-out",
            str(csr),
        ],
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(plane.dir / "pki" / "ca.crt"),
            "-CAkey",
            str(plane.dir / "pki" / "ca.key"),
            "-set_serial",
            str(time.time_ns()),
            "-days",
            "1",
            "-out",
            str(crt),
        ],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    return kubeconfig_with_user(
        plane, directory / "stranger.kubeconfig", {"client-certificate": str(crt), "client-key": str(key)}
    )


# -- the real API server ------------------------------------------------------------------------


def test_get_node(control_plane: ControlPlane, kube_node: str) -> None:
    async def scenario() -> Node:
        api = node_api(control_plane.admin_kubeconfig)
        try:
            return await api.get_node(kube_node)
        finally:
            await api.aclose()

    node = asyncio.run(scenario())
    assert node.metadata is not None
    assert node.metadata.name == kube_node
    assert node.metadata.uid == control_plane.admin().get(Node, kube_node).metadata.uid  # type: ignore[union-attr]


def test_patch_node_status_merges_by_type(control_plane: ControlPlane, kube_node: str) -> None:
    condition = {"type": "KernelDeadlock", "status": "True", "reason": "DockerHung", "message": "hung"}

    async def scenario() -> tuple[Any, dict[tuple[str, str, str], float]]:
        api = node_api(control_plane.admin_kubeconfig)
        try:
            await api.patch_node_status(
                kube_node, {"status": {"conditions": [{"type": "Other", "status": "False"}]}}
            )
            patched = await api.patch_node_status(kube_node, {"status": {"conditions": [condition]}})
            return patched, request_counts(api)
        finally:
            await api.aclose()

    patched, counts = asyncio.run(scenario())
    returned = {item.type: item.status for item in patched.status.conditions}
    assert returned == {"Other": "False", "KernelDeadlock": "True"}
    stored = control_plane.admin().get(Node, kube_node)
    assert {item.type for item in stored.status.conditions} == {"Other", "KernelDeadlock"}  # type: ignore[union-attr]
    assert counts == {("patch", "nodes/status", "200"): 2}


def test_create_and_patch_event(control_plane: ControlPlane, kube_node: str) -> None:
    name = f"{kube_node}.{time.time_ns():x}"

    async def scenario() -> tuple[Event, Event]:
        api = node_api(control_plane.admin_kubeconfig)
        try:
            created = await api.create_event(event_body(kube_node, name))
            patched = await api.patch_event(
                "default", name, {"count": 2, "lastTimestamp": "2030-01-01T00:00:00Z"}
            )
            return created, patched
        finally:
            await api.aclose()

    created, patched = asyncio.run(scenario())
    assert created.metadata is not None and created.metadata.name == name and created.count == 1
    assert patched.count == 2
    stored = control_plane.admin().get(Event, name, namespace="default")
    assert stored.count == 2
    assert stored.lastTimestamp == datetime(2030, 1, 1, tzinfo=UTC)
    assert stored.reason == "TaskHung" and stored.source is not None
    assert stored.source.component == "kernel-monitor"


def test_missing_objects_are_rejected_with_404(control_plane: ControlPlane) -> None:
    async def scenario() -> tuple[list[int], dict[tuple[str, str, str], float]]:
        api = node_api(control_plane.admin_kubeconfig)
        codes = []
        try:
            for call in (
                api.get_node("npd-test-no-such-node"),
                api.patch_node_status("npd-test-no-such-node", {"status": {"conditions": []}}),
                api.patch_event("default", "npd-test-no-such-event", {"count": 2}),
            ):
                with pytest.raises(ApiRejected) as caught:
                    await call
                codes.append(caught.value.code)
            return codes, request_counts(api)
        finally:
            await api.aclose()

    codes, counts = asyncio.run(scenario())
    assert codes == [404, 404, 404]
    assert counts == {
        ("get", "nodes", "404"): 1,
        ("patch", "nodes/status", "404"): 1,
        ("patch", "events", "404"): 1,
    }


def test_a_wrong_token_is_rejected_with_401(control_plane: ControlPlane, tmp_path: Path) -> None:
    kubeconfig = kubeconfig_with_user(control_plane, tmp_path / "wrong.kubeconfig", {"token": "not-a-token"})

    async def scenario() -> int:
        api = node_api(kubeconfig)
        try:
            with pytest.raises(ApiRejected) as caught:
                await api.get_node("anything")
            return caught.value.code
        finally:
            await api.aclose()

    assert asyncio.run(scenario()) == 401


def test_an_identity_without_rbac_is_rejected_with_403(
    control_plane: ControlPlane, kube_node: str, tmp_path: Path
) -> None:
    kubeconfig = stranger_kubeconfig(control_plane, tmp_path)

    async def scenario() -> tuple[list[int], dict[tuple[str, str, str], float]]:
        api = node_api(kubeconfig)
        codes = []
        try:
            for call in (
                api.get_node(kube_node),
                api.patch_node_status(kube_node, {"status": {"conditions": []}}),
                api.create_event(event_body(kube_node, f"{kube_node}.{time.time_ns():x}")),
            ):
                with pytest.raises(ApiRejected) as caught:
                    await call
                codes.append(caught.value.code)
            return codes, request_counts(api)
        finally:
            await api.aclose()

    codes, counts = asyncio.run(scenario())
    assert codes == [403, 403, 403]
    assert counts == {
        ("get", "nodes", "403"): 1,
        ("patch", "nodes/status", "403"): 1,
        ("create", "events", "403"): 1,
    }


def test_connection_refused_is_unavailable(tmp_path: Path) -> None:
    connection = Connection(server=f"https://127.0.0.1:{closed_port()}", insecure=True)

    async def scenario() -> tuple[ApiUnavailable, dict[tuple[str, str, str], float]]:
        api = NodeApi(load_config(connection), qps=0, burst=1)
        try:
            with pytest.raises(ApiUnavailable) as caught:
                await api.get_node("n")
            return caught.value, request_counts(api)
        finally:
            await api.aclose()

    error, counts = asyncio.run(scenario())
    assert error.retry_after is None
    assert "get nodes" in str(error)
    assert counts == {("get", "nodes", "error"): 1}


# -- a scripted plain-HTTP API server: the retryable answers -------------------------------------


def scripted(replies: list[Reply], default: Reply) -> ScriptedApiServer:
    queue = list(replies)
    return ScriptedApiServer(lambda method, path: queue.pop(0) if queue else default)


@pytest.mark.parametrize(
    ("reply", "retry_after"),
    [
        (status_reply(429, "TooManyRequests", retry_after="1"), 1.0),
        (status_reply(503, "ServiceUnavailable", retry_after="1"), 1.0),
        (status_reply(500, "InternalError"), None),
        (status_reply(503, "ServiceUnavailable", retry_after="3600"), 60.0),  # capped
        (status_reply(429, "TooManyRequests", retry_after="soon"), None),  # unparsable: ignored
    ],
)
def test_retryable_answers_are_unavailable_with_retry_after(reply: Reply, retry_after: float | None) -> None:
    async def scenario() -> tuple[ApiUnavailable, dict[tuple[str, str, str], float]]:
        async with scripted([reply], node_reply("n")) as server:
            api = NodeApi(load_config(Connection(server=server.url)), qps=0, burst=1)
            try:
                with pytest.raises(ApiUnavailable) as caught:
                    await api.patch_node_status("n", {"status": {"conditions": []}})
                return caught.value, request_counts(api)
            finally:
                await api.aclose()

    error, counts = asyncio.run(scenario())
    assert error.retry_after == retry_after
    assert str(reply.status) in str(error)
    assert counts == {("patch", "nodes/status", str(reply.status)): 1}


def test_retry_after_as_an_http_date() -> None:
    in_30s = email.utils.formatdate(time.time() + 30, usegmt=True)

    async def scenario() -> ApiUnavailable:
        async with scripted(
            [status_reply(503, "ServiceUnavailable", retry_after=in_30s)], node_reply("n")
        ) as server:
            api = NodeApi(load_config(Connection(server=server.url)), qps=0, burst=1)
            try:
                with pytest.raises(ApiUnavailable) as caught:
                    await api.get_node("n")
                return caught.value
            finally:
                await api.aclose()

    error = asyncio.run(scenario())
    assert error.retry_after is not None and 27.0 <= error.retry_after <= 31.0


@pytest.mark.parametrize("code", [400, 404, 409, 422])
def test_other_client_errors_are_rejected(code: int) -> None:
    async def scenario() -> int:
        async with scripted([status_reply(code, "Scripted")], node_reply("n")) as server:
            api = NodeApi(load_config(Connection(server=server.url)), qps=0, burst=1)
            try:
                with pytest.raises(ApiRejected) as caught:
                    await api.patch_node_status("n", {})
                return caught.value.code
            finally:
                await api.aclose()

    assert asyncio.run(scenario()) == code


def condition(kind: str, status: ConditionStatus, reason: str) -> Condition:
    return Condition(kind, status, datetime(2024, 5, 1, 12, 0, tzinfo=UTC), reason, f"{reason} message")


def test_condition_sync_retries_until_accepted_and_sends_the_latest_state() -> None:
    """429 with Retry-After: 1, then 503, then 200: three PATCHes, the last with the newest state."""
    patch_replies = [
        status_reply(429, "TooManyRequests", retry_after="1"),
        status_reply(503, "ServiceUnavailable"),
    ]

    def answer(method: str, path: str) -> Reply:
        if method == "PATCH" and patch_replies:
            return patch_replies.pop(0)
        return node_reply("n1")

    def patches(received: list[Any]) -> list[Any]:
        return [request for request in received if request.method == "PATCH"]

    async def scenario() -> tuple[list[Any], ConditionSync, NodeApi]:
        async with ScriptedApiServer(answer) as server:
            api = NodeApi(load_config(Connection(server=server.url)), qps=0, burst=1)
            sync = ConditionSync(api, "n1", heartbeat=3600.0)
            sync.declare(["KernelDeadlock", "ReadonlyFilesystem"])
            sync.update([condition("KernelDeadlock", ConditionStatus.FALSE, "KernelHasNoDeadlock")])
            task = asyncio.create_task(sync.run())
            try:
                await server.wait_for(lambda received: len(patches(received)) >= 1)
                # While the first answer says "come back in a second", the state moves on.
                sync.update([condition("KernelDeadlock", ConditionStatus.TRUE, "DockerHung")])
                await server.wait_for(lambda received: len(patches(received)) >= 3)
                await until(lambda: sync.in_sync, "the accepted patch is taken as sent")
                return list(server.received), sync, api
            finally:
                task.cancel()
                await api.aclose()

    received, sync, api = asyncio.run(scenario())
    assert sync.in_sync
    assert [request.method for request in received][:4] == ["GET", "PATCH", "PATCH", "PATCH"]
    assert received[0].path == "/api/v1/nodes/n1"
    sent = patches(received)
    assert all(request.path == "/api/v1/nodes/n1/status" for request in sent)

    def kernel_deadlock(body: Any) -> tuple[str, str]:
        (item,) = [item for item in body["status"]["conditions"] if item["type"] == "KernelDeadlock"]
        return item["status"], item["reason"]

    assert kernel_deadlock(sent[0].body) == ("False", "KernelHasNoDeadlock")
    assert kernel_deadlock(sent[1].body) == ("True", "DockerHung")
    assert kernel_deadlock(sent[2].body) == ("True", "DockerHung")  # latest wins
    assert sent[2].body["metadata"] == {
        "annotations": {OWNED_ANNOTATION: "KernelDeadlock,ReadonlyFilesystem"}
    }
    # Retry-After is a floor: the second try waited at least the second the server asked for.
    assert sent[1].at - sent[0].at >= 1.0
    assert sent[2].at - sent[1].at >= 0.25
    assert request_counts(api) == {
        ("get", "nodes", "200"): 1,
        ("patch", "nodes/status", "200"): 1,
        ("patch", "nodes/status", "429"): 1,
        ("patch", "nodes/status", "503"): 1,
    }
    results = samples(sync.collect(), "npd_kubernetes_condition_patches_total")
    assert results == {(("result", "ok"),): 1, (("result", "failed"),): 2}
    (last_sync,) = samples(sync.collect(), "npd_kubernetes_condition_last_sync_timestamp_seconds").values()
    assert abs(last_sync - time.time()) < 60
