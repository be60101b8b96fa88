"""Fixtures for the health checker: a fake ``systemctl``, local HTTP servers, and a real containerd.

systemd cannot run as PID 1 here, so ``systemctl`` is a script put first on PATH: it records every
call (one line per call, arguments separated by tabs), answers ``show`` with the unit's start on the
monotonic clock, and exits with a chosen status for ``restart``. Everything else is real: the
kubelet/kube-proxy endpoints are HTTP servers on ephemeral ports, Docker's API an HTTP server on a
unix socket for the one answer a real dockerd cannot be made to give (an error status); containerd
and dockerd are Debian's, started per test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingUnixStreamServer
from typing import Any

import pytest

from npd.sources.plugin import DEFAULT_PATH
from tests.support.daemon import console_script

_SYSTEMCTL = """#!/bin/sh
# A fake systemctl (tests/healthcheck/conftest.py): records its arguments, answers show and restart.
dir='{dir}'
{{ for arg in "$@"; do printf '%s\\t' "$arg"; done; printf '\\n'; }} >> "$dir/calls"
case "$1" in
show)
    if [ -f "$dir/show-fails" ]; then
        echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2
        exit 1
    fi
    printf 'InactiveExitTimestampMonotonic=%s\\n' "$(cat "$dir/started")"
    ;;
restart)
    exit "$(cat "$dir/restart-exit")"
    ;;
esac
"""


class FakeSystemctl:
    """The fake ``systemctl`` in ``directory``: set the unit's uptime, read the calls it got."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        script = directory / "systemctl"
        script.write_text(_SYSTEMCTL.format(dir=directory))
        script.chmod(0o755)
        (directory / "calls").write_text("")
        (directory / "restart-exit").write_text("0")
        self.set_uptime(3600)

    def set_uptime(self, seconds: float) -> None:
        """The unit started ``seconds`` ago (on the monotonic clock, as systemd reports it)."""
        started = time.clock_gettime(time.CLOCK_MONOTONIC) - seconds
        (self.directory / "started").write_text(str(max(0, int(started * 1_000_000))))

    def fail_show(self) -> None:
        """``systemctl show`` fails as it does without systemd."""
        (self.directory / "show-fails").write_text("")

    def fail_restart(self, code: int = 1) -> None:
        """``systemctl restart`` exits with ``code``."""
        (self.directory / "restart-exit").write_text(str(code))

    def calls(self) -> list[list[str]]:
        """Every call's arguments, in order."""
        lines = (self.directory / "calls").read_text().splitlines()
        return [line.rstrip("\t").split("\t") for line in lines]

    def restarts(self) -> list[list[str]]:
        """The ``restart`` calls."""
        return [call for call in self.calls() if call[:1] == ["restart"]]

    @property
    def path(self) -> str:
        """A PATH with this fake first."""
        return f"{self.directory}:{DEFAULT_PATH}"


@pytest.fixture
def systemctl(tmp_path: Path) -> FakeSystemctl:
    """A fake systemctl; its unit has been up for an hour."""
    directory = tmp_path / "fakebin"
    directory.mkdir()
    return FakeSystemctl(directory)


class Endpoint:
    """An HTTP server answering every GET with ``status`` (or never, when ``hang``); records paths."""

    def __init__(self) -> None:
        self.server: ThreadingHTTPServer | ThreadingUnixStreamServer | None = None
        self.status = 200
        self.hang = False
        self.paths: list[str] = []
        self.released = threading.Event()

    @property
    def port(self) -> str:
        """The TCP port, as the environment variables take it."""
        assert self.server is not None
        address: Any = self.server.server_address
        return str(address[1])


def _handler(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            endpoint.paths.append(self.path)
            if endpoint.hang:
                endpoint.released.wait(30)
                return
            body = b"ok" if endpoint.status == 200 else b"unhealthy"
            self.send_response(endpoint.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def address_string(self) -> str:  # unix sockets have no client address
            return "test"

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _serve(endpoint: Endpoint) -> Iterator[Endpoint]:
    assert endpoint.server is not None
    thread = threading.Thread(target=endpoint.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.released.set()
        endpoint.server.shutdown()
        endpoint.server.server_close()
        thread.join(10)


def _http_endpoint() -> Iterator[Endpoint]:
    endpoint = Endpoint()
    endpoint.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(endpoint))
    endpoint.server.daemon_threads = True
    yield from _serve(endpoint)


@pytest.fixture
def kubelet() -> Iterator[Endpoint]:
    """A kubelet health endpoint on an ephemeral port."""
    yield from _http_endpoint()


@pytest.fixture
def kube_proxy() -> Iterator[Endpoint]:
    """A kube-proxy health endpoint on an ephemeral port."""
    yield from _http_endpoint()


class _UnixHTTPServer(ThreadingUnixStreamServer):
    daemon_threads = True


@pytest.fixture
def docker_api() -> Iterator[Endpoint]:
    """An HTTP server on a unix socket, as dockerd's API, for error statuses (``DOCKER_HOST=unix://<socket>``)."""
    directory = tempfile.mkdtemp(prefix="npd-docker-")
    endpoint = Endpoint()
    endpoint.server = _UnixHTTPServer(os.path.join(directory, "docker.sock"), _handler(endpoint))
    try:
        yield from _serve(endpoint)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def docker_host(endpoint: Endpoint) -> str:
    """DOCKER_HOST for ``endpoint``."""
    assert endpoint.server is not None
    return f"unix://{endpoint.server.server_address}"


# containerd.

CONTAINERD_CONFIG = """\
version = 2
root = "{dir}/root"
state = "{dir}/state"
# Only what the CRI plugin needs: no btrfs/zfs/devmapper/aufs snapshotters to probe.
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
]
[grpc]
  address = "{dir}/containerd.sock"
[ttrpc]
  address = "{dir}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    # native works on any filesystem (overlayfs may not on the test's tmpfs).
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    # No CNI config: the runtime is ready, its network is not, as on a node before its CNI is set up.
    bin_dir = "{dir}/cni/bin"
    conf_dir = "{dir}/cni/conf"
"""


class Daemon:
    """A daemon the tests started (containerd, dockerd), with its own directory and socket."""

    def __init__(
        self, directory: str, socket_name: str, process: subprocess.Popen[str], log: list[str]
    ) -> None:
        self.directory = directory
        self.socket = os.path.join(directory, socket_name)
        self.process = process
        self.log = log

    def pause(self) -> None:
        """SIGSTOP: the socket still accepts connections, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def stop(self) -> None:
        """SIGCONT (in case it was paused), SIGTERM, and wait."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(20)


@contextlib.contextmanager
def _daemon(argv: list[str], directory: str, socket_name: str, ready: str) -> Iterator[Daemon]:
    """Start ``argv``, wait for its log (stderr) to say ``ready``, stop it at the end."""
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    log: list[str] = []
    booted = threading.Event()

    def read(stream: Any) -> None:
        for line in stream:
            log.append(line)
            if ready in line:
                booted.set()
        booted.set()  # it exited: the wait below ends and says so

    reader = threading.Thread(target=read, args=(process.stderr,), daemon=True)
    reader.start()
    daemon = Daemon(directory, socket_name, process, log)
    try:
        if not booted.wait(60) or process.poll() is not None:
            pytest.fail(f"{argv[0]} did not start:\n" + "".join(log[-20:]))
        yield daemon
    finally:
        daemon.stop()
        reader.join(10)
        shutil.rmtree(directory, ignore_errors=True)


def unavailable(program: str, package: str) -> str | None:
    if shutil.which(program) is None:
        return f"{program} is not installed (Debian package {package}; tools/install-test-deps)"
    if os.geteuid() != 0:
        return f"{program} needs root"
    return None


@pytest.fixture
def containerd() -> Iterator[Daemon]:
    """Debian's containerd with its CRI plugin loaded, on a private root, state and socket."""
    reason = unavailable("containerd", "containerd")
    if reason is not None:
        pytest.skip(reason)
    # Under /tmp directly: a unix socket path must fit in 108 bytes.
    directory = tempfile.mkdtemp(prefix="npd-ctd-")
    config = Path(directory, "config.toml")
    config.write_text(CONTAINERD_CONFIG.format(dir=directory))
    with _daemon(
        ["containerd", "--config", str(config)],
        directory,
        "containerd.sock",
        "containerd successfully booted",
    ) as daemon:
        if not any('loading plugin \\"io.containerd.grpc.v1.cri\\"' in line for line in daemon.log) or any(
            "failed to load plugin io.containerd.grpc.v1.cri" in line for line in daemon.log
        ):
            pytest.fail("containerd's CRI plugin did not load:\n" + "".join(daemon.log[-20:]))
        yield daemon


@pytest.fixture
def dockerd() -> Iterator[Daemon]:
    """Debian's dockerd (docker.io) on a private data root and socket, with no networking to set up."""
    reason = unavailable("dockerd", "docker.io")
    if reason is not None:
        pytest.skip(reason)
    directory = tempfile.mkdtemp(prefix="npd-dockerd-")
    argv = [
        "dockerd",
        f"--host=unix://{directory}/docker.sock",
        f"--data-root={directory}/root",
        f"--exec-root={directory}/exec",
        f"--pidfile={directory}/dockerd.pid",
        # No iptables rules or bridge on the test machine; vfs works on any filesystem.
        "--iptables=false",
        "--ip-masq=false",
        "--bridge=none",
        "--storage-driver=vfs",
    ]
    with _daemon(argv, directory, "docker.sock", "API listen on") as daemon:
        yield daemon


# Running the checker.


def health_checker(
    *args: str,
    env: dict[str, str] | None = None,
    via_npd: bool = False,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``health-checker`` (or ``npd health-check``) as a plugin is run: a minimal environment."""
    command = [console_script("npd"), "health-check"] if via_npd else [console_script("health-checker")]
    environment = {"PATH": DEFAULT_PATH, **(env or {})}
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, check=False, env=environment
    )


def unused_socket_path() -> str:
    """A unix socket path nothing listens on."""
    with tempfile.NamedTemporaryFile(prefix="npd-none-", suffix=".sock") as handle:
        path = handle.name
    return path


def refused_port() -> str:
    """A TCP port on 127.0.0.1 that refuses connections (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def stale_socket(directory: Path) -> str:
    """A unix socket file nothing listens on (bound, then closed): connections are refused."""
    path = str(directory / "stale.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(path)
    return path
