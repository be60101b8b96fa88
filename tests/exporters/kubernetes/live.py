"""Helpers for the exporter's tests against the real API server and a scripted plain-HTTP one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from npd.exporters.kubernetes.api import NodeApi, load_config
from npd.exporters.kubernetes.settings import Connection
from npd.metrics.model import MetricFamily
from tests.support.kube import ControlPlane

T = TypeVar("T")

#: How long a test waits for the API server to show what npd wrote.
CONVERGE_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.02


def node_api(kubeconfig: Path | str, *, qps: float = 0.0, burst: int = 1) -> NodeApi:
    """npd's API client for ``kubeconfig`` (no rate limit unless asked)."""
    return NodeApi(load_config(Connection(kubeconfig=str(kubeconfig))), qps=qps, burst=burst)


async def eventually(check: Callable[[], T], *, within: float = CONVERGE_TIMEOUT_S) -> T:
    """``check()``'s result once it stops raising ``AssertionError``; its last failure after ``within`` s.

    ``check`` runs in a thread (it may use the blocking admin client) so that the event loop
    keeps serving the code under test meanwhile.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            return await asyncio.to_thread(check)
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(POLL_INTERVAL_S)


async def until(predicate: Callable[[], bool], what: str, *, within: float = CONVERGE_TIMEOUT_S) -> None:
    """Until ``predicate()`` holds, for in-process state that no event announces; fails after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        if predicate():
            return
        assert time.monotonic() < deadline, f"not reached within {within}s: {what}"
        await asyncio.sleep(POLL_INTERVAL_S)


def conditions_of(plane: ControlPlane, node: str) -> dict[str, dict[str, Any]]:
    """The Node's conditions by type, as the API server has them (admin's view, JSON shape)."""
    found = plane.admin().get(Node, node)
    items = (found.status.conditions if found.status else None) or []
    return {item.type: item.to_dict() for item in items}


def annotations_of(plane: ControlPlane, node: str) -> dict[str, str]:
    """The Node's annotations."""
    found = plane.admin().get(Node, node)
    return dict((found.metadata.annotations if found.metadata else None) or {})


def admin_set_conditions(plane: ControlPlane, node: str, conditions: list[dict[str, Any]]) -> None:
    """Write conditions the way kubelet does: a strategic merge patch of ``nodes/<name>/status``."""
    plane.admin().patch(
        Node.Status, node, {"status": {"conditions": conditions}}, patch_type=PatchType.STRATEGIC
    )


def kubelet_condition(kind: str, status: str, reason: str) -> dict[str, Any]:
    """A condition as kubelet writes it, with whole-second times."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": f"kubelet says {reason}",
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
    }


def samples(families: list[MetricFamily], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """One family's samples by label set."""
    for family in families:
        if family.name == name:
            return {sample.labels: sample.value for sample in family.samples}
    raise AssertionError(f"no metric family {name} in {[family.name for family in families]}")


# -- a scripted plain-HTTP API server ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """One request the fake API server got."""

    method: str
    path: str
    body: Any
    at: float


@dataclass(frozen=True, slots=True)
class Reply:
    """A canned answer: status, headers and a JSON body."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


def status_reply(code: int, reason: str, *, retry_after: str | None = None) -> Reply:
    """A ``metav1.Status`` failure, as the API server sends one."""
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"scripted {code}",
        "reason": reason,
        "code": code,
    }
    return Reply(code, body, headers)


def node_reply(name: str, conditions: list[dict[str, Any]] | None = None) -> Reply:
    """A Node object, as a GET or a PATCH answers it."""
    body = {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {"name": name, "uid": "00000000-0000-0000-0000-000000000001", "resourceVersion": "1"},
        "status": {"conditions": conditions or []},
    }
    return Reply(200, body)


_REASONS = {
    200: "OK",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class ScriptedApiServer:
    """Just enough of the API server over plain HTTP: answers each request with the next scripted reply.

    ``answer(method, path)`` picks the reply; every request is recorded in ``received`` and
    announced through ``arrived`` (an :class:`asyncio.Condition`), so a test awaits requests
    instead of sleeping. Each reply closes its connection, which the client handles by
    reconnecting: that keeps the parser to one request per connection.
    """

    answer: Callable[[str, str], Reply]
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> ScriptedApiServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def wait_for(self, predicate: Callable[[list[Received]], bool], *, within: float = 10.0) -> None:
        """Until the requests received so far satisfy ``predicate``."""
        async with asyncio.timeout(within), self.arrived:
            await self.arrived.wait_for(lambda: predicate(self.received))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        body = json.loads(raw) if raw else None
        at = time.monotonic()
        reply = self.answer(method, path)
        payload = json.dumps(reply.body).encode()
        response = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            "Connection: close",
            *(f"{key}: {value}" for key, value in reply.headers),
        ]
        writer.write(("\r\n".join(response) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        writer.close()
        async with self.arrived:
            self.received.append(Received(method, path, body, at))
            self.arrived.notify_all()
