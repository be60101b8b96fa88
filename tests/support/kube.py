"""A real Kubernetes API server for tests: the control plane of ``tests/controlplane``.

:class:`ControlPlane` runs one ``controlplane serve --dir DIR`` subprocess (the official
kube-apiserver on an embedded etcd, see ``tests/controlplane/README.md``), waits until it is
ready, and gives the test kubectl, lightkube clients for the two identities (admin and npd's
ServiceAccount) and Node helpers. Stopping and starting it again on the same directory keeps
the port, certificates, tokens and etcd data, so to a client it looks like an API-server outage.

Fixtures (plain functions here, so that any test directory can register them by importing them
into its ``conftest.py``; see ``tests/kube/conftest.py``):

- ``control_plane`` (session): one API server shared by the whole run; tests must not stop it.
- ``kube_node``: a fresh Node with a unique name, deleted after the test; yields the name.
- ``restartable_control_plane``: a control plane of the test's own, which it may stop and start.

The binary comes from ``tools/build-controlplane`` (cached outside the repository; ``make test``
builds it before pytest starts). A build failure fails the test with the build's output.
"""

from __future__ import annotations

import ctypes
import functools
import json
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import urlsplit

import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node

REPO_ROOT = Path(__file__).resolve().parents[2]
#: How long :meth:`ControlPlane.start` waits for ``DIR/ready`` (a start takes ~3 s on 2 vCPU).
READY_TIMEOUT_S = 90.0
#: How long :meth:`ControlPlane.stop` waits after SIGTERM before it sends SIGKILL.
STOP_TIMEOUT_S = 30.0
#: How long a ``kubectl`` call may take.
KUBECTL_TIMEOUT_S = 60.0
#: How long the build of the binary may take (a cold build is ~4 minutes on 2 vCPU).
BUILD_TIMEOUT_S = 1800.0
POLL_INTERVAL_S = 0.05
_PR_SET_PDEATHSIG = 1


class ControlPlaneError(AssertionError):
    """The control plane did not start, did not stop, or a kubectl call failed; says why."""


@functools.cache
def controlplane_binary() -> Path:
    """The control-plane binary, built by ``tools/build-controlplane`` if it is not cached yet.

    A failed build fails the calling test (or fixture) with the build's output: the suite must
    show it, never skip.
    """
    result = subprocess.run(
        [str(REPO_ROOT / "tools" / "build-controlplane")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    path = Path(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None
    if result.returncode != 0 or path is None or not path.is_file():
        pytest.fail(
            f"tools/build-controlplane failed (exit {result.returncode});\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}",
            pytrace=False,
        )
    return path


@functools.cache
def _libc() -> Any:
    # Loaded in the parent: the child of a fork should only make the one prctl call.
    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the test process dies, even by SIGKILL.

    A killed pytest would otherwise leave API servers (~300 MB each) behind.
    """
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ControlPlane:
    """One ``controlplane serve --dir DIR`` subprocess; a context manager that stops it on exit.

    ``dir`` keeps all state (see ``tests/controlplane/README.md``); the server's log is appended
    to ``dir/controlplane.log``. :meth:`start` again after :meth:`stop` serves the same data on
    the same address.
    """

    def __init__(self, dir: Path, *, binary: Path | None = None) -> None:
        self.dir = dir
        self.binary = binary if binary is not None else controlplane_binary()
        self.admin_kubeconfig = dir / "admin.kubeconfig"
        self.npd_kubeconfig = dir / "npd.kubeconfig"
        self.log_path = dir / "controlplane.log"
        self._server: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._admin: Client | None = None
        self._clients: list[Client] = []

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server process has been started and has not exited."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        """The server's process id (while started)."""
        if self._process is None:
            raise ControlPlaneError("the control plane is not started")
        return self._process.pid

    @property
    def server(self) -> str:
        """The API server's URL, ``https://127.0.0.1:PORT`` (known once started the first time)."""
        if self._server is None:
            raise ControlPlaneError("the control plane has not been started yet")
        return self._server

    @property
    def port(self) -> int:
        """The API server's TCP port on 127.0.0.1."""
        port = urlsplit(self.server).port
        assert port is not None, self.server
        return port

    def start(self, *, timeout: float = READY_TIMEOUT_S) -> None:
        """Starts the server and returns once it has written ``DIR/ready`` (``/readyz`` was 200).

        Fails with the last log lines when it exits first or is not ready within ``timeout``.
        """
        if self.running:
            raise ControlPlaneError(f"the control plane in {self.dir} is already running")
        self.dir.mkdir(parents=True, exist_ok=True)
        ready = self.dir / "ready"
        # A server killed by SIGKILL leaves a stale ready file; never mistake it for this one's.
        ready.unlink(missing_ok=True)
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [str(self.binary), "serve", "--dir", str(self.dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Only a prctl call before exec, from the main thread that runs fixtures.
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        deadline = time.monotonic() + timeout
        while True:
            info = self._read_ready(ready)
            if info is not None and info.get("pid") == self._process.pid:
                self._server = str(info["server"])
                return
            if self._process.poll() is not None:
                code = self._process.returncode
                self._close_log()
                self._process = None
                raise ControlPlaneError(
                    f"the control plane exited with {code} before it was ready; {self._tail()}"
                )
            if time.monotonic() >= deadline:
                self.stop()
                raise ControlPlaneError(
                    f"the control plane was not ready after {timeout:.0f}s; {self._tail()}"
                )
            time.sleep(POLL_INTERVAL_S)

    def stop(self, *, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """Stops the server (SIGTERM; SIGKILL after ``timeout``) and returns its exit status.

        When this returns the process is gone, so its port refuses connections. Clients made
        by :meth:`admin` and :meth:`client_for` stay usable and reconnect after :meth:`start`.
        ``None`` when it was not running.
        """
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self._process = None
        self._close_log()
        return process.returncode

    def close(self) -> None:
        """Stops the server and closes every client this object made."""
        try:
            self.stop()
        finally:
            for client in self._clients:
                client.close()
            self._clients.clear()
            self._admin = None

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- clients ---------------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        input: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Runs the bundled kubectl as admin (or as the identity of ``kubeconfig``).

        With ``check`` a non-zero exit fails with kubectl's output.
        """
        command = [
            str(self.binary),
            "kubectl",
            "--kubeconfig",
            str(kubeconfig if kubeconfig is not None else self.admin_kubeconfig),
            *args,
        ]
        result = subprocess.run(
            command, input=input, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT_S, check=False
        )
        if check and result.returncode != 0:
            raise ControlPlaneError(
                f"kubectl {' '.join(args)} exited with {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def admin(self) -> Client:
        """A lightkube client with the admin identity (``system:masters``); one per control plane."""
        if self._admin is None:
            self._admin = self.client_for(self.admin_kubeconfig)
        return self._admin

    def client_for(self, kubeconfig: Path) -> Client:
        """A new lightkube client for ``kubeconfig`` (e.g. ``npd_kubeconfig``); closed by :meth:`close`."""
        # trust_env=False: a proxy from the environment must not carry loopback traffic.
        client = Client(config=KubeConfig.from_file(kubeconfig), trust_env=False)
        self._clients.append(client)
        return client

    # -- nodes -----------------------------------------------------------------------------

    def create_node(self, name: str, labels: dict[str, str] | None = None) -> Node:
        """Creates a Node object (no kubelet: it has no status until someone writes one)."""
        return self.admin().create(Node(metadata=ObjectMeta(name=name, labels=labels)))

    def delete_node(self, name: str, *, missing_ok: bool = False) -> None:
        """Deletes the Node ``name``; a missing one is an error unless ``missing_ok``."""
        try:
            self.admin().delete(Node, name)
        except ApiError as exc:
            if not (missing_ok and exc.status.code == 404):
                raise

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _read_ready(path: Path) -> dict[str, Any] | None:
        try:
            info = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            # Not there yet, or caught half-written.
            return None
        return info if isinstance(info, dict) else None

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"last lines of {self.log_path}:\n{tail}"


def unique_node_name(hint: str) -> str:
    """A Node name (a DNS-1123 subdomain) unique to this call, readable after ``hint``."""
    stem = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40].strip("-") or "node"
    return f"{stem}-{uuid.uuid4().hex[:8]}"


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """The API server shared by the whole session (started once, ~3 s). Do not stop it."""
    with ControlPlane(tmp_path_factory.mktemp("controlplane")) as plane:
        yield plane


@pytest.fixture
def kube_node(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """A Node on ``control_plane`` made for this test alone; yields its name, deletes it after."""
    name = unique_node_name(request.node.name)
    control_plane.create_node(name, labels={"kubernetes.io/hostname": name})
    try:
        yield name
    finally:
        control_plane.delete_node(name, missing_ok=True)


@pytest.fixture
def restartable_control_plane(tmp_path: Path) -> Iterator[ControlPlane]:
    """A control plane of this test's own (~3 s to start), which it may stop and start at will."""
    with ControlPlane(tmp_path / "restartable-controlplane") as plane:
        yield plane


__all__ = [
    "REPO_ROOT",
    "ControlPlane",
    "ControlPlaneError",
    "control_plane",
    "controlplane_binary",
    "kube_node",
    "restartable_control_plane",
    "unique_node_name",
]
