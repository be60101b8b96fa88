"""The CRI check: the runtime's own gRPC API on its socket, as kubelet uses it (no ``crictl``, #683).

Two calls, each within ``--cri-timeout``: ``RuntimeService/Status`` (the ``RuntimeReady`` condition
must be true; ``NetworkReady`` may be false, as on a node before its CNI is installed) and
``RuntimeService/ListPodSandbox`` (what upstream's ``crictl pods --latest`` asks). Requests are empty
messages and responses are read with :mod:`npd.healthcheck.protowire`, so no generated code is needed.
Runtimes that only speak the older ``runtime.v1alpha2`` API are asked again under that name.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import grpc

from npd.healthcheck import protowire
from npd.healthcheck.outcome import HEALTHY, Finding, unhealthy

_SERVICES = ("runtime.v1.RuntimeService", "runtime.v1alpha2.RuntimeService")
RUNTIME_READY = "RuntimeReady"


@dataclass(frozen=True, slots=True)
class Condition:
    """A ``RuntimeCondition`` of the Status response."""

    type: str
    status: bool
    reason: str
    message: str


def status_conditions(response: bytes) -> list[Condition]:
    """The conditions in a ``StatusResponse`` (status = 1 → conditions = 1)."""
    conditions = []
    for status in protowire.submessages(response, 1):
        for raw in protowire.submessages(status, 1):
            conditions.append(
                Condition(
                    type=protowire.text(raw, 1),
                    status=bool(protowire.scalar(raw, 2)),
                    reason=protowire.text(raw, 3),
                    message=protowire.text(raw, 4),
                )
            )
    return conditions


def sandbox_count(response: bytes) -> int:
    """How many pod sandboxes a ``ListPodSandboxResponse`` lists (items = 1)."""
    return len(protowire.submessages(response, 1))


def _describe(error: grpc.RpcError) -> str:
    code = error.code() if hasattr(error, "code") else None
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return "timed out"
    details = str(error.details() if hasattr(error, "details") else "")
    if code is grpc.StatusCode.UNAVAILABLE:
        # gRPC's details here are long ("failed to connect to all addresses; last error: ..."); the
        # plugin monitor keeps 80 bytes of output, so say it in a word.
        return "refused" if "refused" in details.lower() else "unavailable"
    name = code.name.lower() if code is not None else "error"
    return f"{name}: {details[:60]}" if details else name


def _call(channel: grpc.Channel, method: str, timeout: float) -> tuple[str, bytes]:
    """Call ``method`` of the newest RuntimeService the runtime implements: (service, response bytes)."""
    last: grpc.RpcError | None = None
    for service in _SERVICES:
        stub = channel.unary_unary(f"/{service}/{method}")
        try:
            return service, stub(b"", timeout=timeout)
        except grpc.RpcError as error:
            if error.code() is not grpc.StatusCode.UNIMPLEMENTED:
                raise
            last = error
    assert last is not None
    raise last


def check_cri(socket_path: str, cri_timeout: float, overall_timeout: float) -> Finding:
    """The runtime on ``socket_path`` is ready and lists its pods, each call within ``cri_timeout``."""
    deadline = time.monotonic() + overall_timeout
    if not os.path.exists(socket_path):
        return unhealthy("CRI: no socket")
    # The check fails fast when the socket is missing or refuses; it does not wait for it to appear.
    with grpc.insecure_channel(f"unix://{socket_path}") as channel:
        try:
            _, response = _call(channel, "Status", min(cri_timeout, overall_timeout))
        except grpc.RpcError as error:
            return unhealthy(f"CRI Status: {_describe(error)}")
        try:
            conditions = status_conditions(response)
        except protowire.WireError as exc:
            return unhealthy(f"CRI Status: bad response ({exc})")
        ready = next((c for c in conditions if c.type == RUNTIME_READY), None)
        if ready is None:
            return unhealthy("CRI Status: no RuntimeReady condition")
        if not ready.status:
            return unhealthy(f"CRI runtime not ready: {ready.reason or ready.message or 'no reason'}")
        left = deadline - time.monotonic()
        if left <= 0:
            return unhealthy("CRI: timed out")
        try:
            _, response = _call(channel, "ListPodSandbox", min(cri_timeout, left))
            sandbox_count(response)
        except grpc.RpcError as error:
            return unhealthy(f"CRI ListPodSandbox: {_describe(error)}")
        except protowire.WireError as exc:
            return unhealthy(f"CRI ListPodSandbox: bad response ({exc})")
    return HEALTHY
