"""The daemon's lifecycle: start endpoints and monitors, stop cleanly on SIGTERM/SIGINT.

Every task is owned by one TaskGroup. On a signal, monitors are cancelled first (sources
close their files), then the exporters get a few seconds to drain what was already reported,
then the last checkpoints are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from npd.daemon.build import Daemon
from npd.monitors.base import Monitor
from npd.problem import Condition

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 5.0


async def serve(daemon: Daemon, *, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set or a termination signal arrives; returns the exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        for server in daemon.servers:
            await server.start()
    except OSError as exc:
        log.error("cannot listen: %s", exc)
        await _close_servers(daemon)
        return 1
    try:
        restored = await _start_exporters(daemon, stop)
        if restored is None:
            return 0  # stopped while waiting for the API server
        for monitor in daemon.monitors:
            monitor.adopt(restored)
        async with asyncio.TaskGroup() as group:
            background = [
                group.create_task(daemon.detector.run(), name="detector"),
                group.create_task(daemon.state.run(), name="state"),
            ]
            background += [
                group.create_task(exporter.run(), name=f"exporter-{exporter.name}-background")
                for exporter in daemon.exporters
            ]
            monitors = [
                group.create_task(_supervise(daemon, m), name=f"monitor-{m.name}") for m in daemon.monitors
            ]
            log.info("npd started: %d monitor(s)", len(monitors))
            await stop.wait()
            log.info("stopping")
            for task in monitors:
                task.cancel()
            await asyncio.gather(*monitors, return_exceptions=True)
            try:
                async with asyncio.timeout(DRAIN_TIMEOUT):
                    await daemon.detector.drain()
            except TimeoutError:
                log.warning(
                    "exporters did not finish within %.0fs; unexported reports are lost", DRAIN_TIMEOUT
                )
            daemon.state.flush(force=True)
            for task in background:
                task.cancel()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        await _close_servers(daemon)
        for exporter in daemon.exporters:
            await exporter.aclose()
    return 0


async def _start_exporters(daemon: Daemon, stop: asyncio.Event) -> list[Condition] | None:
    """Let every exporter connect (the Kubernetes one waits for the API server, as upstream does).

    Returns the conditions they restored, or ``None`` when ``stop`` came first.
    """
    starting = asyncio.ensure_future(asyncio.gather(*(exporter.start() for exporter in daemon.exporters)))
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for future in (starting, stopping):
            if not future.done():
                future.cancel()
        await asyncio.gather(starting, stopping, return_exceptions=True)
    if stop.is_set() or starting.cancelled():
        return None
    return [condition for conditions in starting.result() for condition in conditions]


async def _supervise(daemon: Daemon, monitor: Monitor) -> None:
    """Run one monitor; a bug in it is logged and shown on /healthz, and the others carry on."""
    try:
        await monitor.run(daemon.detector)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("monitor %s stopped on an internal error", monitor.name)
        daemon.crashed[monitor.name] = f"internal error: {exc!r}"


async def _close_servers(daemon: Daemon) -> None:
    for server in daemon.servers:
        await server.aclose()
