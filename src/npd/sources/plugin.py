"""Running one custom plugin: a program whose exit code is a check's verdict.

Upstream semantics (``pkg/custompluginmonitor/plugin/plugin.go``): exit 0 is OK, 1 is NonOK,
anything else (another code, a signal, a timeout, a program that cannot start) is Unknown. The
message is the plugin's stdout with surrounding white space trimmed, cut to ``max_output``
bytes; on a timeout it is ``Timeout when running plugin "<path>": state - <state>. output -
"<stdout>"``, cut the same way. stderr is only logged.

Process hygiene is where npd differs from upstream (docs/plugins.md):

* no shell: the program is executed directly, with stdin on ``/dev/null``;
* its own session and process group (``setsid``), so it and everything it starts can be
  signalled together and none of it gets the daemon's terminal or signals;
* a minimal environment (:data:`DEFAULT_PATH` and what the caller passes, nothing inherited)
  and working directory ``/``; a relative plugin path is resolved against the daemon's working
  directory first, as upstream (which runs plugins there) resolves it;
* stdout and stderr are read as they come, each kept up to a cap and the rest discarded, so a
  plugin writing megabytes never blocks on a full pipe and never costs more than the cap;
* on timeout: SIGTERM to the whole group, a grace period, then SIGKILL to the group;
* once the plugin has exited, output still coming (from a process it left behind holding the
  pipe) is read for a short while, then the group is killed and reading stops: a grandchild
  cannot hang the check, and nothing of the plugin outlives it;
* the process is always reaped and both pipes always closed, even when the run is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from npd.problem import go_quote

log = logging.getLogger(__name__)

#: The whole environment of a plugin, unless the caller adds variables.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Bytes of stdout and of stderr kept (upstream's ``maxCustomPluginBufferBytes``); the rest is
#: read and discarded. stdout keeps more when ``max_output`` asks for more.
PIPE_CAP = 4096

#: After SIGTERM on timeout, how long the plugin gets to exit before SIGKILL.
TERM_GRACE = 1.0

#: After the plugin exits, how long output from processes it left behind is still read.
DRAIN_AFTER_EXIT = 0.25

#: After SIGKILL, how long to wait for the process and the pipes before giving up on them: a
#: process in uninterruptible sleep (upstream #1050) cannot die until its I/O completes.
KILL_WAIT = 1.0


class PluginStatus(enum.Enum):
    """A plugin's verdict (upstream's ``cpmtypes.Status``)."""

    OK = "OK"
    NON_OK = "NonOK"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class PluginResult:
    """The outcome of one plugin run."""

    status: PluginStatus
    #: The exit code; ``None`` when the plugin did not start or was killed by a signal.
    exit_code: int | None
    #: The message: trimmed stdout (or the reason it could not run), at most ``max_output`` bytes.
    output: str
    #: Whether the plugin overran its timeout (and was killed).
    timed_out: bool = False
    #: The signal that ended the plugin, if one did.
    signal: int | None = None
    #: Seconds from start to the end of the run (process reaped, pipes closed).
    duration: float = 0.0
    #: The start of stderr (for the log; upstream never reports it).
    stderr: str = ""
    #: The kept stdout (the first ``max(4096, max_output)`` bytes), neither trimmed nor cut to
    #: ``max_output``: what the Nagios protocol reads its message and performance data from.
    stdout: str = ""
    #: Whether the plugin wrote more stdout than was kept.
    stdout_truncated: bool = False


class _Collector(asyncio.SubprocessProtocol):
    """Keeps the first bytes of stdout and stderr, discards the rest, and signals the ends."""

    def __init__(self, caps: Mapping[int, int], loop: asyncio.AbstractEventLoop) -> None:
        self.caps = caps
        self.kept = {fd: bytearray() for fd in caps}
        self.overflowed: set[int] = set()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pipes_closed: asyncio.Future[None] = loop.create_future()
        self._open = set(caps)

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        kept = self.kept[fd]
        room = self.caps[fd] - len(kept)
        if room > 0:
            kept += data[:room]
        if len(data) > room:
            self.overflowed.add(fd)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open.discard(fd)
        if not self._open and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


async def run_plugin(
    path: str,
    args: Sequence[str],
    *,
    timeout: float,  # noqa: ASYNC109 - a plugin's timeout is part of what is run, not of the call
    max_output: int,
    env: Mapping[str, str] | None = None,
    cwd: str = "/",
    term_grace: float = TERM_GRACE,
    drain_after_exit: float = DRAIN_AFTER_EXIT,
) -> PluginResult:
    """Run ``path`` with ``args`` and judge it as upstream does; never raises for the plugin's faults.

    ``env`` is added to the minimal environment (``PATH`` only); ``cwd`` is the plugin's working
    directory. Cancelling the call kills the plugin's process group and reaps the plugin.
    """
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    environment = {"PATH": DEFAULT_PATH, **(env or {})}
    # Upstream runs plugins in its own working directory, where a relative path is resolved.
    executable = os.path.abspath(path) if os.sep in path else path  # noqa: ASYNC240 - getcwd only
    collector = _Collector({1: max(PIPE_CAP, max_output), 2: PIPE_CAP}, loop)
    starting = asyncio.ensure_future(
        loop.subprocess_exec(
            lambda: collector,
            executable,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=environment,
            cwd=cwd,
        )
    )
    try:
        # Shielded: a cancellation while the pipes are being connected would otherwise leave a
        # started plugin to asyncio, which kills only the leader and waits for its pipes, i.e.
        # for whatever the plugin started (a `sleep 60`) to end by itself.
        transport, _ = await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(OSError):
            orphan, _ = await starting
            _signal_group(orphan.get_pid(), signal.SIGKILL)
            orphan.close()
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        log.warning("cannot start plugin %s: %s", path, reason)
        # The reason first: max_output (80 bytes by default) would cut it off after a long path.
        message = f"Error in starting plugin ({reason}): {go_quote(path)}"
        return PluginResult(
            PluginStatus.UNKNOWN, None, _cut(message, max_output), duration=time.monotonic() - started
        )

    group = transport.get_pid()
    timed_out = False
    try:
        if not await _within(collector.exited, timeout):
            timed_out = True
            _signal_group(group, signal.SIGTERM)
            await _within(collector.exited, term_grace)
        # Output may still come from processes the plugin left behind; read it for a while.
        await _within(collector.pipes_closed, drain_after_exit)
    finally:
        # Whatever is left of the plugin goes: a grandchild holding the pipes, a leader that
        # ignored SIGTERM, or everything when this run is cancelled.
        _signal_group(group, signal.SIGKILL)
        with contextlib.suppress(asyncio.CancelledError):
            await _within(asyncio.gather(collector.exited, collector.pipes_closed), KILL_WAIT)
        # Closes both pipes whatever holds their other ends. A process that still has not
        # exited (uninterruptible sleep) is reaped by asyncio's child watcher when it does.
        transport.close()

    code = transport.get_returncode()
    raw_stdout = collector.kept[1].decode("utf-8", errors="replace")
    stdout = raw_stdout.strip()
    stderr = collector.kept[2].decode("utf-8", errors="replace")
    if stderr.strip():
        log.debug("plugin %s stderr: %s", path, stderr.strip())
    killed_by = -code if code is not None and code < 0 else None
    if timed_out:
        state = _process_state(code)
        stdout = f"Timeout when running plugin {go_quote(path)}: state - {state}. output - {go_quote(stdout)}"
        log.warning("plugin %s timed out after %gs", path, timeout)
    if code == 0 and not timed_out:
        status = PluginStatus.OK
    elif code == 1 and not timed_out:
        status = PluginStatus.NON_OK
    else:
        status = PluginStatus.UNKNOWN
    return PluginResult(
        status=status,
        exit_code=code if code is not None and code >= 0 else None,
        output=_cut(stdout, max_output),
        timed_out=timed_out,
        signal=killed_by,
        duration=time.monotonic() - started,
        stderr=stderr,
        stdout=raw_stdout,
        stdout_truncated=1 in collector.overflowed,
    )


async def _within(waited: asyncio.Future[Any], seconds: float) -> bool:
    """Wait for ``waited`` up to ``seconds`` without cancelling it; whether it finished."""
    if not waited.done():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await asyncio.shield(waited)
    return waited.done()


def _signal_group(group: int | None, signum: int) -> None:
    """Signal the plugin's process group; it may be gone already.

    The group's id cannot be reused while any member lives (the kernel keeps the id allocated
    while a process refers to it), so this never reaches an unrelated process group.
    """
    if group is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _process_state(code: int | None) -> str:
    """Go's ``ProcessState.String()`` for a wait status."""
    if code is None:
        return "running"
    if code < 0:
        return f"signal: {signal.strsignal(-code) or -code}".lower()
    return f"exit status {code}"


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes on a character boundary (upstream cuts bytes)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: max(0, limit)].decode("utf-8", errors="ignore")
