#!/usr/bin/env python3
"""A real Kubernetes API server and a Node watch, for the Kubernetes benchmarks.

:class:`ControlPlane` runs ``controlplane serve --dir DIR`` (the official kube-apiserver on an
embedded etcd, one process; see ``tests/controlplane/README.md``) from ``tools/build-controlplane``.
It is a small copy of ``tests/support/kube.py``'s class without pytest, which benchmarks must not
need.

:class:`NodeWatch` is the observer both benchmarks time against: one ``watch`` of Nodes over a
plain HTTPS connection (stdlib ``http.client``, JSON lines), which reports every change of the
status, reason or message of the condition types it tracks, stamped with ``time.monotonic()`` the
moment the event's line has arrived (before it is parsed). ``time.monotonic`` is
``CLOCK_MONOTONIC``, one clock for every process of the machine, so a stamp taken in the watcher
process compares with one taken in the process that made the change. A raw watch keeps the
observer cheap: 5,000 Nodes heart-beating is hundreds of events a second, and parsing each into
lightkube's models would cost more CPU than the agents being measured.

Run as a script it is the watcher process of ``kube_scale.py``::

    kubecluster.py watch --kubeconfig K --condition T --out FILE

prints ``ready`` once the watch is open, then appends one JSON line per change to FILE until
SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import functools
import http.client
import json
import math
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from lightkube import KubeConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
RBAC = REPO_ROOT / "deploy" / "base" / "rbac.yaml"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1


@functools.cache
def controlplane_binary() -> Path:
    """The control-plane binary (built by ``tools/build-controlplane`` on first use: ~4 minutes)."""
    result = subprocess.run(
        [str(REPO_ROOT / "tools" / "build-controlplane")], capture_output=True, text=True, check=False
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        raise RuntimeError(f"tools/build-controlplane failed ({result.returncode}):\n{result.stderr}")
    return Path(lines[-1])


@functools.cache
def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    # An interrupted benchmark must not leave a 300 MB API server behind.
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds all processors of the machine have spent busy (not idle, not waiting for I/O)."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (q in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class ControlPlane:
    """One ``controlplane serve --dir DIR`` process; a context manager that stops it on exit."""

    def __init__(self, dir: Path) -> None:
        self.dir = dir
        self.binary = controlplane_binary()
        self.admin_kubeconfig = dir / "admin.kubeconfig"
        self.npd_kubeconfig = dir / "npd.kubeconfig"
        self.server = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id: kube-apiserver and etcd both run in it."""
        assert self._process is not None, "not started"
        return self._process.pid

    def start(self) -> None:
        """Start the server and return once it wrote ``DIR/ready`` (``/readyz`` answered 200)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        ready = self.dir / "ready"
        ready.unlink(missing_ok=True)
        self._log = (self.dir / "controlplane.log").open("ab")
        self._process = subprocess.Popen(
            [str(self.binary), "serve", "--dir", str(self.dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (only a prctl before exec)
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                info = json.loads(ready.read_text())
                if info.get("pid") == self._process.pid:
                    self.server = str(info["server"])
                    return
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the control plane did not start; see {self.dir / 'controlplane.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 30 s) and wait."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kubectl(self, *args: str, input: str | None = None) -> str:
        """Run the bundled kubectl as admin; raises with its output on failure."""
        result = subprocess.run(
            [str(self.binary), "kubectl", "--kubeconfig", str(self.admin_kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr}{result.stdout}")
        return result.stdout

    def grant_npd_rbac(self) -> None:
        """Apply deploy/'s RBAC (ServiceAccount, ClusterRole, binding) so npd.kubeconfig works."""
        self.kubectl("apply", "--namespace", "kube-system", "-f", str(RBAC))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def kubelet_status(name: str, images: int = 20) -> dict[str, Any]:
    """A Node status like a kubelet's: its four conditions, addresses, capacity, node info, images.

    Every PATCH of ``nodes/<n>/status`` rewrites the whole object in etcd and sends it to every
    watcher, so the benchmark's Nodes should be about a real Node's size (5-10 KB of JSON), not a
    bare name.
    """
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conditions = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    resources = {"cpu": "8", "memory": "32856364Ki", "pods": "110", "ephemeral-storage": "101430960Ki"}
    return {
        "conditions": [
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            }
            for kind, status, reason, message in conditions
        ],
        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": name}],
        "capacity": resources,
        "allocatable": resources,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "0" * 32,
            "systemUUID": "00000000-0000-0000-0000-000000000000",
            "bootID": "00000000-0000-0000-0000-000000000000",
            "kernelVersion": "6.8.0-1015-gcp",
            "osImage": "Ubuntu 24.04.1 LTS",
            "containerRuntimeVersion": "containerd://1.7.22",
            "kubeletVersion": "v1.36.3",
            "kubeProxyVersion": "v1.36.3",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
        "images": [
            {
                "names": [
                    f"registry.example.com/team/service-{index}@sha256:{index:064x}",
                    f"registry.example.com/team/service-{index}:v1.{index}.0",
                ],
                "sizeBytes": 50_000_000 + index,
            }
            for index in range(images)
        ],
    }


@dataclass(frozen=True, slots=True)
class Change:
    """A tracked condition of a Node as a watch event showed it, different from before."""

    at: float  # time.monotonic() when the event's line had arrived
    node: str
    type: str
    status: str
    reason: str
    message: str


class NodeWatch:
    """A watch of Nodes (all, or one by name) that yields the changes of some condition types."""

    def __init__(self, kubeconfig: Path, condition_types: Sequence[str], node: str = "") -> None:
        server, self._context, self._token = _connection(kubeconfig)
        parsed = urllib.parse.urlsplit(server)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 443
        self._types = tuple(condition_types)
        self._selector = f"metadata.name={node}" if node else ""
        self._seen: dict[tuple[str, str], tuple[str, str, str]] = {}
        self._connection: http.client.HTTPSConnection | None = None
        self._response: http.client.HTTPResponse | None = None

    def _get(self, query: dict[str, str], timeout: float | None) -> http.client.HTTPResponse:
        if self._selector:
            query = {**query, "fieldSelector": self._selector}
        connection = http.client.HTTPSConnection(
            self._host, self._port, context=self._context, timeout=timeout
        )
        connection.request(
            "GET",
            "/api/v1/nodes?" + urllib.parse.urlencode(query),
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
        )
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET nodes {query}: {response.status} {response.read()[:300]!r}")
        self._connection = connection
        return response

    def open(self) -> None:
        """List (to learn the current state), then open the watch from that list's version.

        When this returns the server has answered the watch request, so every later write is seen.
        """
        listing = json.loads(self._get({}, 60).read())
        for item in listing["items"]:
            self._diff(item, 0.0)
        version = listing["metadata"]["resourceVersion"]
        assert self._connection is not None
        self._connection.close()
        self._response = self._get(
            {"watch": "1", "resourceVersion": version, "timeoutSeconds": "86400"}, timeout=None
        )

    def current(self, node: str, condition_type: str) -> tuple[str, str, str] | None:
        """The last (status, reason, message) seen of a condition."""
        return self._seen.get((node, condition_type))

    def changes(self) -> Iterator[Change]:
        """Changes as they arrive, until the stream ends or :meth:`close` is called."""
        assert self._response is not None, "open() first"
        response = self._response
        while True:
            try:
                line = response.readline()
            except (OSError, ValueError, http.client.HTTPException):
                line = b""  # shut down by close()
            at = time.monotonic()
            if not line:
                if self._connection is not None:
                    self._connection.close()
                return
            event = json.loads(line)
            if event["type"] == "ERROR":
                raise RuntimeError(f"watch error: {event['object']}")
            if event["type"] in ("ADDED", "MODIFIED"):
                yield from self._diff(event["object"], at)

    def _diff(self, node: dict[str, Any], at: float) -> list[Change]:
        name = node["metadata"]["name"]
        found = []
        for condition in node.get("status", {}).get("conditions") or ():
            kind = condition["type"]
            if kind not in self._types:
                continue
            state = (condition["status"], condition.get("reason", ""), condition.get("message", ""))
            if self._seen.get((name, kind)) != state:
                self._seen[(name, kind)] = state
                found.append(Change(at, name, kind, *state))
        return found

    def close(self) -> None:
        """End the watch (also from another thread: a blocked :meth:`changes` returns)."""
        sock = self._connection.sock if self._connection is not None else None
        if sock is not None:
            # Only the socket: closing the connection under a reading thread races with it.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _connection(kubeconfig: Path) -> tuple[str, ssl.SSLContext, str]:
    """Server URL, TLS context and bearer token of a kubeconfig's current context."""
    config = KubeConfig.from_file(kubeconfig).get()
    assert config is not None and config.user is not None, kubeconfig
    cluster, user = config.cluster, config.user
    if cluster.certificate_auth:
        context = ssl.create_default_context(cafile=str(cluster.certificate_auth))
    elif cluster.certificate_auth_data:
        pem = base64.b64decode(cluster.certificate_auth_data).decode()
        context = ssl.create_default_context(cadata=pem)
    else:
        context = ssl.create_default_context()
    if not user.token:
        raise RuntimeError(f"{kubeconfig}: the watch needs a bearer token")
    return str(cluster.server), context, str(user.token)


def _watch_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="kubecluster.py watch")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--condition", action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    watch = NodeWatch(args.kubeconfig, args.condition)
    watch.open()
    with args.out.open("w", encoding="utf-8") as out:
        print("ready", flush=True)
        try:
            for change in watch.changes():
                out.write(json.dumps([change.at, change.node, change.type, change.status, change.message]))
                out.write("\n")
        finally:
            out.flush()
    return 0


class WatcherProcess:
    """``kubecluster.py watch`` as a subprocess: records every change of a condition type to a file."""

    def __init__(self, kubeconfig: Path, condition_type: str) -> None:
        self._file = Path(tempfile.mkstemp(prefix="npd-watch-", suffix=".jsonl")[1])
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "watch",
                f"--kubeconfig={kubeconfig}",
                f"--condition={condition_type}",
                f"--out={self._file}",
            ],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (only a prctl before exec)
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            self.process.kill()
            raise RuntimeError("the watcher did not start")

    def stop(self) -> list[Change]:
        """Stop the watcher and return what it saw."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        changes = []
        with self._file.open(encoding="utf-8") as handle:
            for line in handle:
                at, node, kind, status, message = json.loads(line)
                changes.append(Change(at, node, kind, status, "", message))
        self._file.unlink()
        return changes


if __name__ == "__main__":
    if sys.argv[1:2] == ["watch"]:
        sys.exit(_watch_main(sys.argv[2:]))
    sys.exit(f"usage: {sys.argv[0]} watch --kubeconfig K --condition T --out FILE")
