"""Plugin scripts for the custom plugin tests, and /proc probes for process hygiene."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest


def script(path: Path, body: str) -> str:
    """Write an executable ``/bin/sh`` script; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def verdict_script(path: Path, state: Path) -> str:
    """A plugin whose output and exit code are what the test last wrote with :func:`set_verdict`."""
    return script(path, f'cat "{state}/message"\nexit "$(cat "{state}/code")"\n')


def set_verdict(state: Path, code: int, message: str) -> None:
    """Make every later run of a :func:`verdict_script` print ``message`` and exit ``code``."""
    state.mkdir(parents=True, exist_ok=True)
    (state / "message").write_text(message)
    (state / "code").write_text(str(code))


def process_state(pid: int) -> str | None:
    """The state letter of process ``pid`` (``None`` when it no longer exists)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie waiting for its parent)."""
    return process_state(pid) not in (None, "Z", "X")


def zombie_children() -> list[int]:
    """This process's children that have exited and were not reaped."""
    me = os.getpid()
    zombies = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            zombies.append(int(entry.name))
    return zombies


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    """This process's resident set size in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def ends_within(pid: int, seconds: float = 2.0) -> bool:
    """Whether ``pid`` stops running within ``seconds``.

    A process killed with SIGKILL closes its files (so the plugin's pipes reach EOF) a moment
    before it turns into a zombie; nothing can be awaited for a process that is not our child,
    so this polls /proc.
    """
    deadline = time.monotonic() + seconds
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


async def cancel_once_started(task: asyncio.Task[Any], fifo: Path) -> int:
    """Cancel ``task`` once the plugin it runs has written its pid to ``fifo``; assert that the
    cancellation ends promptly and takes the plugin with it. Returns the plugin's pid."""
    pid = int(await asyncio.to_thread(fifo.read_text))  # the plugin has started
    task.cancel()
    # Bounded: a plugin that outlives the cancellation (here by an hour) must not hold it up.
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(30):
            await task
    # Gone while the loop still runs: asyncio.run() at the end would otherwise wait for it.
    assert await asyncio.to_thread(ends_within, pid)
    return pid
