"""The daemon as a real subprocess, for end-to-end tests.

:func:`start_daemon` runs ``node-problem-detector`` (or ``npd run``) from the virtualenv the tests
run in, on free ports, with its standard output and standard error captured to files, and returns
once its status endpoint answers. :class:`RunningDaemon` then gives the test HTTP access to the
right port (``/metrics`` is on the Prometheus port, everything else on the main port), the lines
printed so far, a bounded polling wait for anything observable from outside, and shutdown by
SIGTERM or SIGKILL::

    with start_daemon(["--enable-k8s-exporter=false", f"--config.system-log-monitor={config}"],
                      tool=False, state_dir=tmp_path / "state") as daemon:
        daemon.wait_for_page("/conditions", lambda status, body: "KernelDeadlock" in body)
        exit_code = daemon.stop()

Polling is the only way to observe another process; every wait here is bounded by a timeout and
fails with the daemon's recent standard error, so a hung test says what the daemon was doing.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self, TypeVar

T = TypeVar("T")

#: How often waits poll the daemon's pages or output.
POLL_INTERVAL_S = 0.05
#: How long :func:`start_daemon` waits for the status endpoint by default.
READY_TIMEOUT_S = 20.0
#: How long :meth:`RunningDaemon.stop` waits for the daemon to exit after SIGTERM.
STOP_TIMEOUT_S = 15.0
_LOOPBACK = "127.0.0.1"


class DaemonError(AssertionError):
    """The daemon did not start, exited early, or a wait timed out; the message includes its stderr."""


def console_script(name: str) -> str:
    """The path of a console script (``node-problem-detector``, ``npd``) of the tests' virtualenv."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"console script {name!r} is not installed next to {sys.executable} or on PATH"
        )
    return found


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(port: int, path: str, *, timeout: float = 5.0) -> tuple[int, str]:
    """``GET path`` on the loopback interface: the status code and the body as text."""
    connection = http.client.HTTPConnection(_LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()


class RunningDaemon:
    """A daemon subprocess started by :func:`start_daemon`; a context manager that stops it on exit."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        port: int,
        prometheus_port: int,
        output_dir: Path,
        stdout: IO[bytes],
        stderr: IO[bytes],
        owns_output_dir: bool,
    ) -> None:
        self.process = process
        self.port = port
        self.prometheus_port = prometheus_port
        self.output_dir = output_dir
        self.stdout_path = Path(stdout.name)
        self.stderr_path = Path(stderr.name)
        self._stdout = stdout
        self._stderr = stderr
        self._owns_output_dir = owns_output_dir

    # -- observing -------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.process.poll() is None

    def port_for(self, path: str) -> int:
        """The port that serves ``path``: the Prometheus port for ``/metrics``, the main port otherwise."""
        return self.prometheus_port if path.split("?", 1)[0] == "/metrics" else self.port

    def get(self, path: str, *, timeout: float = 5.0) -> tuple[int, str]:
        """``GET path`` on the port that serves it: the status code and the body as text."""
        return http_get(self.port_for(path), path, timeout=timeout)

    def stdout_text(self) -> str:
        """Everything the daemon has written to standard output so far."""
        return self.stdout_path.read_bytes().decode("utf-8", errors="replace")

    def stdout_lines(self) -> list[str]:
        """The complete lines (newline-terminated) written to standard output so far, without newlines."""
        text = self.stdout_text()
        complete = text[: text.rfind("\n") + 1]
        return complete.splitlines()

    def stderr_text(self) -> str:
        """Everything the daemon has written to standard error so far (its log)."""
        return self.stderr_path.read_bytes().decode("utf-8", errors="replace")

    def _describe(self) -> str:
        state = "running" if self.running else f"exited with {self.process.returncode}"
        tail = "\n".join(self.stderr_text().splitlines()[-30:])
        return f"daemon pid {self.pid} ({state}); last stderr lines:\n{tail}"

    # -- waiting ---------------------------------------------------------------------------

    def wait_for(
        self,
        predicate: Callable[[], T | None],
        *,
        timeout: float = 10.0,
        what: str = "condition",
        interval: float = POLL_INTERVAL_S,
    ) -> T:
        """Poll ``predicate`` every ``interval`` until it returns a truthy value, and return that value.

        Fails with :class:`DaemonError` after ``timeout`` seconds, or at once if the daemon exits
        while the predicate is still false.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if not self.running:
                value = predicate()  # the daemon may have produced it just before exiting
                if value:
                    return value
                raise DaemonError(f"daemon exited while waiting for {what}; {self._describe()}")
            if time.monotonic() >= deadline:
                raise DaemonError(f"timed out after {timeout:.1f}s waiting for {what}; {self._describe()}")
            time.sleep(interval)

    def wait_for_page(
        self,
        path: str,
        predicate: Callable[[int, str], bool],
        *,
        timeout: float = 10.0,
    ) -> tuple[int, str]:
        """Poll ``GET path`` until ``predicate(status, body)`` holds; returns that response."""

        def check() -> tuple[int, str] | None:
            try:
                status, body = self.get(path)
            except OSError:
                return None
            return (status, body) if predicate(status, body) else None

        return self.wait_for(check, timeout=timeout, what=f"GET {path} to satisfy the predicate")

    def wait_for_stdout(self, predicate: Callable[[list[str]], bool], *, timeout: float = 10.0) -> list[str]:
        """Poll the complete stdout lines until ``predicate(lines)`` holds; returns those lines."""

        def check() -> list[str] | None:
            lines = self.stdout_lines()
            return lines if predicate(lines) else None

        return self.wait_for(check, timeout=timeout, what="stdout to satisfy the predicate")

    def wait_ready(self, *, path: str = "/healthz", timeout: float = READY_TIMEOUT_S) -> None:
        """Wait until ``path`` answers with any HTTP status (the daemon is listening)."""

        def answered() -> bool:
            try:
                self.get(path, timeout=1.0)
            except OSError:
                return False
            return True

        self.wait_for(answered, timeout=timeout, what=f"{path} to answer on port {self.port_for(path)}")

    # -- stopping --------------------------------------------------------------------------

    def stop(self, *, timeout: float = STOP_TIMEOUT_S) -> int:
        """Send SIGTERM, wait for the exit and return the exit code (SIGKILL and fail if it hangs)."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self._close_files()
                raise DaemonError(
                    f"daemon did not exit within {timeout:.1f}s of SIGTERM; {self._describe()}"
                ) from None
        self._close_files()
        return self.process.returncode

    def kill9(self) -> int:
        """Kill the daemon with SIGKILL (no chance to clean up) and return its exit code (-9)."""
        if self.running:
            self.process.kill()
        self.process.wait()
        self._close_files()
        return self.process.returncode

    def wait_exit(self, *, timeout: float = 10.0) -> int:
        """Wait for the daemon to exit on its own and return the exit code."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DaemonError(f"daemon still running after {timeout:.1f}s; {self._describe()}") from None
        self._close_files()
        return self.process.returncode

    def _close_files(self) -> None:
        for handle in (self._stdout, self._stderr):
            with contextlib.suppress(OSError):
                handle.close()

    def close(self) -> None:
        """Stop the daemon if it still runs (SIGKILL after the SIGTERM timeout) and remove owned output."""
        try:
            if self.running:
                self.stop()
        finally:
            self._close_files()
            if self._owns_output_dir:
                shutil.rmtree(self.output_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _has_flag(args: Sequence[str], name: str) -> bool:
    return any(arg == f"--{name}" or arg.startswith(f"--{name}=") for arg in args)


def start_daemon(
    args: Sequence[str],
    *,
    tool: bool,
    state_dir: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
    wait_ready: bool = True,
) -> RunningDaemon:
    """Start the daemon and wait until ``/healthz`` answers (``/metrics`` if ``args`` disables the main port).

    ``tool`` picks ``npd run`` (true) or ``node-problem-detector`` (false). ``--port`` and
    ``--prometheus-port`` are set to free ports unless ``args`` sets them, and ``--state-dir`` to
    ``state_dir`` (``None`` disables the state directory). ``env`` adds to (and overrides) the
    test's environment. Standard output and error go to ``stdout.log`` and ``stderr.log`` in
    ``output_dir`` (a fresh temporary directory, removed when the daemon is closed, by default).
    """
    ports = {name: free_port() for name in ("port", "prometheus-port") if not _has_flag(args, name)}
    command = [console_script("npd"), "run"] if tool else [console_script("node-problem-detector")]
    command += list(args)
    command += [f"--{name}={port}" for name, port in ports.items()]
    if not _has_flag(args, "state-dir"):
        command.append(f"--state-dir={'' if state_dir is None else os.fspath(state_dir)}")

    owns_output_dir = output_dir is None
    directory = Path(tempfile.mkdtemp(prefix="npd-daemon-") if output_dir is None else output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stdout = open(directory / "stdout.log", "wb")  # noqa: SIM115 - owned by RunningDaemon
    stderr = open(directory / "stderr.log", "wb")  # noqa: SIM115 - owned by RunningDaemon
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=environment
    )
    daemon = RunningDaemon(
        process,
        port=ports.get("port", _flag_int(args, "port")),
        prometheus_port=ports.get("prometheus-port", _flag_int(args, "prometheus-port")),
        output_dir=directory,
        stdout=stdout,
        stderr=stderr,
        owns_output_dir=owns_output_dir,
    )
    # With the main port disabled (--port=0 in args), readiness is /metrics on the Prometheus port.
    ready_path = "/healthz" if daemon.port else "/metrics" if daemon.prometheus_port else None
    if wait_ready and ready_path is not None:
        try:
            daemon.wait_ready(path=ready_path, timeout=ready_timeout)
        except BaseException:
            daemon.close()
            raise
    return daemon


def _flag_int(args: Sequence[str], name: str) -> int:
    """The value of ``--name=N`` or ``--name N`` in ``args`` (0 when absent)."""
    for index, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
        if arg == f"--{name}" and index + 1 < len(args):
            return int(args[index + 1])
    return 0
