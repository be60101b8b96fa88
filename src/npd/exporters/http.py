"""The HTTP endpoints: ``/healthz`` and ``/conditions`` (``--address:--port``), ``/metrics``
(``--prometheus-address:--prometheus-port``).

A deliberately small asyncio HTTP/1.1 server (GET and HEAD, keep-alive, bounded request size
and time): a full framework would cost more memory than the rest of the daemon's endpoints
need (measurements in ../shared/reference/libraries.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Callable, Sequence

from npd.exporters.conditions import ConditionTable
from npd.health import HealthReport
from npd.metrics.exposition import CONTENT_TYPE as METRICS_CONTENT_TYPE
from npd.metrics.exposition import render
from npd.metrics.model import Registry

log = logging.getLogger(__name__)

#: A page: returns (status code, content type, body).
Page = Callable[[], tuple[int, str, bytes]]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}
_MAX_HEADER_BYTES = 16 << 10
_HEADER_TIMEOUT = 10.0
_IDLE_TIMEOUT = 60.0


class HttpServer:
    """Serves a fixed set of pages on one address."""

    def __init__(self, name: str, host: str, port: int, pages: dict[str, Page]) -> None:
        self.name = name
        self._host = host
        self._port = port
        self._pages = pages
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful when constructed with port 0 in tests)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind and start serving; raises ``OSError`` when the address cannot be bound."""
        self._server = await asyncio.start_server(self._serve, self._host, self._port, reuse_address=True)
        log.info("%s endpoint listening on %s:%d", self.name, self._host, self.port)

    async def aclose(self) -> None:
        """Stop accepting, close open connections."""
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Without this a multi-write response waits on delayed ACKs (~40 ms per request).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            keep_alive = True
            first = True
            while keep_alive:
                timeout = _HEADER_TIMEOUT if first else _IDLE_TIMEOUT
                first = False
                try:
                    async with asyncio.timeout(timeout):
                        head = await reader.readuntil(b"\r\n\r\n")
                except (
                    TimeoutError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                    ConnectionError,
                ):
                    return
                if len(head) > _MAX_HEADER_BYTES:
                    await self._respond(writer, 400, "text/plain", b"request too large\n", False, False)
                    return
                keep_alive = await self._handle(head, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await self._respond(writer, 400, "text/plain", b"bad request\n", False, False)
            return False
        method, target, version = parts
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        keep_alive = headers.get("connection") != "close" and (
            version == "HTTP/1.1" or headers.get("connection") == "keep-alive"
        )
        if method not in ("GET", "HEAD"):
            await self._respond(writer, 405, "text/plain", b"method not allowed\n", keep_alive, False)
            return keep_alive
        page = self._pages.get(target.split("?", 1)[0])
        if page is None:
            await self._respond(
                writer, 404, "text/plain", b"404 page not found\n", keep_alive, method == "HEAD"
            )
            return keep_alive
        try:
            status, content_type, body = page()
        except Exception:
            log.exception("%s: page %s failed", self.name, target)
            status, content_type, body = 503, "text/plain", b"internal error\n"
        await self._respond(writer, status, content_type, body, keep_alive, method == "HEAD")
        return keep_alive

    @staticmethod
    async def _respond(
        writer: asyncio.StreamWriter,
        status: int,
        content_type: str,
        body: bytes,
        keep_alive: bool,
        head_only: bool,
    ) -> None:
        header = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        ).encode("latin-1")
        writer.write(header if head_only else header + body)
        await writer.drain()


def health_page(reports: Callable[[], Sequence[HealthReport]]) -> Page:
    """``/healthz``: ``200 ok`` while every component works, else ``503`` and a JSON list of the failures."""

    def page() -> tuple[int, str, bytes]:
        failed = [report for report in reports() if not report.alive]
        if not failed:
            return 200, "text/plain; charset=utf-8", b"ok"
        body = {
            "status": "unhealthy",
            "failed": [{"component": r.component, "kind": r.kind, "detail": r.detail} for r in failed],
        }
        return 503, "application/json", json.dumps(body).encode("utf-8")

    return page


def conditions_page(table: ConditionTable) -> Page:
    """``/conditions``: the current conditions in upstream's JSON shape."""

    def page() -> tuple[int, str, bytes]:
        conditions = [condition.to_json() for condition in table.conditions()]
        body = json.dumps(conditions, separators=(",", ":"))
        return 200, "application/json", body.encode("utf-8")

    return page


def metrics_page(registry: Registry) -> Page:
    """``/metrics``: every registered metric family in the Prometheus text format."""

    def page() -> tuple[int, str, bytes]:
        return 200, METRICS_CONTENT_TYPE, render(registry.collect())

    return page
