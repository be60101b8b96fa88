"""The few API calls npd makes, with client-go's rate limit and a clear split of failures.

Every call either returns the object, raises :class:`ApiUnavailable` (worth retrying: no
connection, a timeout, 5xx, 429 with its ``Retry-After``) or raises :class:`ApiRejected` (the
server said no: 403, 404, 422…). Callers own their retry policy (:mod:`.backoff`), because
what is worth waiting for differs: a condition patch always sends the latest state, an event
is sent once.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import httpx2
import msgspec
from lightkube import ApiError, AsyncClient, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.core.exceptions import ConfigError as LightkubeConfigError
from lightkube.resources.core_v1 import Event, Node, NodeStatus
from lightkube.types import PatchType

from npd.exporters.kubernetes.settings import Connection, KubeSettingsError
from npd.metrics.model import MetricFamily

T = TypeVar("T")

#: Per-request timeout: long enough for a loaded API server, short enough to notice an outage.
REQUEST_TIMEOUT_S = 10.0
#: The longest ``Retry-After`` honoured; a server asking for more is asked again sooner.
MAX_RETRY_AFTER_S = 60.0


class ApiUnavailable(Exception):
    """The call may succeed later: the server is unreachable, overloaded or failing."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ApiRejected(Exception):
    """The server refused the call; repeating it unchanged will not help."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class TokenBucket:
    """client-go's request limiter (``--kube-api-qps``, ``--kube-api-burst``)."""

    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = qps
        self._burst = max(1, burst)
        self._tokens = float(self._burst)
        self._clock = clock
        self._updated = clock()

    async def acquire(self) -> None:
        """Wait until a request may go out."""
        if self._rate <= 0:
            return  # client-go: a non-positive QPS disables the limit
        while True:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self._rate)


def load_config(connection: Connection) -> KubeConfig:
    """A lightkube config for ``connection``; raises :class:`KubeSettingsError` for a bad kubeconfig."""
    try:
        if connection.kubeconfig:
            loaded = KubeConfig.from_file(connection.kubeconfig).get()
            if loaded is None:
                raise KubeSettingsError(f"{connection.kubeconfig}: no current context")
            cluster, user = loaded.cluster, loaded.user
        else:
            cluster = Cluster(server=connection.server, certificate_auth=connection.ca_file or None)
            user = User()
    except LightkubeConfigError as exc:
        raise KubeSettingsError(f"{connection.describe()}: {exc}") from None
    except Exception as exc:  # a hand-written file can break the parser in any way: name the file
        raise KubeSettingsError(f"{connection.kubeconfig}: not a usable kubeconfig: {exc}") from None
    if connection.insecure:
        cluster = msgspec.structs.replace(
            cluster, insecure=True, certificate_auth=None, certificate_auth_data=None
        )
    if connection.token_file:
        user = User(token_file=connection.token_file)
    return KubeConfig.from_one(cluster=cluster, user=user)


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class NodeApi:
    """GET and PATCH one Node's status, create and patch Events, counting every request."""

    def __init__(self, config: KubeConfig, *, qps: float, burst: int) -> None:
        self._client = AsyncClient(config, timeout=httpx2.Timeout(REQUEST_TIMEOUT_S), trust_env=False)
        self._limiter = TokenBucket(qps, burst)
        #: Requests by (verb, resource, HTTP code or "error").
        self.requests: dict[tuple[str, str, str], int] = {}

    async def get_node(self, name: str) -> Node:
        """The Node, read from the API server's cache like upstream (``resourceVersion=0``)."""
        return await self._call("get", "nodes", lambda: self._client.get(Node, name))

    async def patch_node_status(self, name: str, patch: dict[str, Any]) -> NodeStatus:
        """A strategic merge patch of ``nodes/<name>/status``; returns the Node as patched."""
        return await self._call(
            "patch",
            "nodes/status",
            lambda: self._client.patch(Node.Status, name, patch, patch_type=PatchType.STRATEGIC),
        )

    async def create_event(self, body: dict[str, Any]) -> Event:
        """Create a core/v1 Event (in the namespace its metadata names)."""
        event = cast(Event, Event.from_dict(body))
        return await self._call("create", "events", lambda: self._client.create(event))

    async def patch_event(self, namespace: str, name: str, patch: dict[str, Any]) -> Event:
        """Update an Event's count and times (client-go's aggregation writes)."""
        return await self._call(
            "patch",
            "events",
            lambda: self._client.patch(
                Event, name, patch, namespace=namespace, patch_type=PatchType.STRATEGIC
            ),
        )

    async def _call(self, verb: str, resource: str, request: Callable[[], Awaitable[T]]) -> T:
        await self._limiter.acquire()
        code = "error"
        try:
            result = await request()
            code = "200"
            return result
        except ApiError as exc:
            code = str(exc.response.status_code if exc.response is not None else exc.status.code)
            raise self._classify(int(code), exc.status.message or str(exc), exc.response) from None
        except httpx2.HTTPStatusError as exc:
            code = str(exc.response.status_code)
            raise self._classify(int(code), exc.response.text[:200], exc.response) from None
        except (httpx2.TransportError, OSError) as exc:
            raise ApiUnavailable(f"{verb} {resource}: {type(exc).__name__}: {exc}") from None
        except LightkubeConfigError as exc:  # e.g. the service account token vanished
            raise ApiUnavailable(f"{verb} {resource}: {exc}") from None
        finally:
            key = (verb, resource, code)
            self.requests[key] = self.requests.get(key, 0) + 1

    @staticmethod
    def _classify(code: int, message: str, response: httpx2.Response | None) -> Exception:
        if code == 429 or code >= 500:
            retry_after = _retry_after(response) if response is not None else None
            return ApiUnavailable(f"HTTP {code}: {message}", retry_after)
        return ApiRejected(code, message)

    def collect(self) -> list[MetricFamily]:
        """``npd_kubernetes_requests_total{verb,resource,code}``."""
        family = MetricFamily(
            "npd_kubernetes_requests_total",
            "Requests to the Kubernetes API server, by verb, resource and outcome "
            '(code "200": succeeded; a refusal\'s HTTP status; "error": no response).',
            "counter",
        )
        for (verb, resource, code), count in sorted(self.requests.items()):
            family.add(count, verb=verb, resource=resource, code=code)
        return [family]

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.close()
