"""The HTTP endpoints, served by the real server over real sockets."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from npd.exporters.conditions import ConditionTable
from npd.exporters.http import HttpServer, conditions_page, health_page, metrics_page
from npd.health import HealthReport
from npd.metrics.model import MetricFamily, Registry
from npd.problem import Condition, ConditionStatus, Status


async def request(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


def split(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_pages_status_codes_and_keep_alive() -> None:
    reports = [HealthReport("kernel", "kmsg", True, "reading")]
    table = ConditionTable()
    transition = datetime(2026, 11, 25, 18, 0, 0, 123400, tzinfo=UTC)
    asyncio.run(
        table.export(
            [
                Status(
                    "k",
                    (),
                    (Condition("KernelDeadlock", ConditionStatus.TRUE, transition, "DockerHung", "x"),),
                )
            ]
        )
    )
    registry = Registry()

    def collect() -> list[MetricFamily]:
        family = MetricFamily("problem_counter", "h", "counter")
        family.add(3, reason="DockerHung")
        return [family]

    registry.register(collect)

    async def scenario() -> None:
        server = HttpServer(
            "test",
            "127.0.0.1",
            0,
            {
                "/healthz": health_page(lambda: reports),
                "/conditions": conditions_page(table),
                "/metrics": metrics_page(registry),
            },
        )
        await server.start()
        try:
            status, _, body = split(await request(server.port, b"GET /healthz HTTP/1.0\r\n\r\n"))
            assert (status, body) == (200, b"ok")

            reports[0] = HealthReport("kernel", "kmsg", False, "cannot open /dev/kmsg: permission denied")
            status, headers, body = split(await request(server.port, b"GET /healthz HTTP/1.0\r\n\r\n"))
            assert status == 503 and headers["content-type"] == "application/json"
            assert json.loads(body)["failed"] == [
                {"component": "kernel", "kind": "kmsg", "detail": "cannot open /dev/kmsg: permission denied"}
            ]

            status, _, body = split(await request(server.port, b"GET /conditions HTTP/1.0\r\n\r\n"))
            assert status == 200
            assert json.loads(body) == [
                {
                    "type": "KernelDeadlock",
                    "status": "True",
                    "transition": "2026-11-25T18:00:00.1234Z",
                    "reason": "DockerHung",
                    "message": "x",
                }
            ]

            # Two requests on one keep-alive connection, then an explicit close.
            two = (
                b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /nope?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            raw = await request(server.port, two)
            first, rest = raw.split(b"HTTP/1.1 404", 1)
            status, headers, body = split(first)
            assert status == 200 and headers["connection"] == "keep-alive"
            assert headers["content-type"].startswith("text/plain; version=0.0.4")
            assert b'problem_counter{reason="DockerHung"} 3\n' in body
            assert b"Connection: close" in rest

            status, _, body = split(await request(server.port, b"HEAD /healthz HTTP/1.0\r\n\r\n"))
            assert status == 503 and body == b""
            status, _, _ = split(await request(server.port, b"POST /healthz HTTP/1.0\r\n\r\n"))
            assert status == 405
            assert (await request(server.port, b"garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")
        finally:
            await server.aclose()

    asyncio.run(scenario())


def test_a_failing_page_answers_503_and_the_server_keeps_serving() -> None:
    def broken() -> tuple[int, str, bytes]:
        raise RuntimeError("bug")

    async def scenario() -> None:
        server = HttpServer("test", "127.0.0.1", 0, {"/x": broken, "/healthz": health_page(lambda: [])})
        await server.start()
        try:
            assert split(await request(server.port, b"GET /x HTTP/1.0\r\n\r\n"))[0] == 503
            assert split(await request(server.port, b"GET /healthz HTTP/1.0\r\n\r\n"))[0] == 200
        finally:
            await server.aclose()

    asyncio.run(scenario())
