#!/usr/bin/env python3
"""Latency from a log line to the Node condition it changes, as seen through the API.

A real kube-apiserver (``tools/build-controlplane``) and the real daemon
(``node-problem-detector``, a subprocess with a filelog monitor on a file in a temporary
directory) run; a watch on the Node is open. ``--iterations`` times, the benchmark appends a
line that raises a condition, waits until the watch shows it True, then a line that clears it
(npd's ``resolve`` pattern, docs/lifecycle.md), and waits until the watch shows it False. Each
latency is timed from just before the write to the moment the watch event arrives.

Measured in the same run, interleaved with npd's changes: the floor of the measurement, an admin
PATCH of a condition straight to the API (lightkube, the client npd uses) to its watch event. What
npd adds is its latency minus that floor.

Upstream cannot be measured here (its Go binary cannot be built on this machine). Its latency
is computed from its design: its condition manager syncs on a 1 s tick, so a change waits
uniformly 0-1 s for the next tick after upstream's own processing: p50 ≈ 500 ms, p99 ≈ 990 ms,
plus the API's own latency (the floor).

    .venv/bin/python benchmarks/kube_latency.py                  # 200 raise/clear pairs
    .venv/bin/python benchmarks/kube_latency.py --iterations 50  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lightkube import Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from kubecluster import (
    Change,
    ControlPlane,
    NodeWatch,
    kubelet_status,
    machine_busy,
    percentile,
    proc_cpu,
)

BIN = Path(sys.executable).parent
NODE = "bench-latency-node"
CONDITION = "BenchProblem"
FLOOR_CONDITION = "BenchFloor"
GOAL_P99_MS = 200.0
# Upstream's condition manager syncs on a 1 s tick: a change waits U(0, 1 s) for it.
UPSTREAM_TICK_S = 1.0

MONITOR = {
    "plugin": "filelog",
    "logPath": "",
    "lookback": "5m",
    "bufferSize": 10,
    "source": "bench-monitor",
    "pluginConfig": {
        "timestamp": "^.{15}",
        "message": "kernel: \\[.*\\] (.*)",
        "timestampFormat": "Jan _2 15:04:05",
    },
    "conditions": [{"type": CONDITION, "reason": "NoBenchProblem", "message": "no bench problem"}],
    "rules": [
        {
            "type": "permanent",
            "condition": CONDITION,
            "reason": "BenchRaised",
            "pattern": "bench: raise \\d+",
            "resolve": {"pattern": "bench: clear \\d+"},
        }
    ],
}


def log_line(text: str) -> bytes:
    """A syslog kern.log line stamped now, as the filelog config parses it."""
    return f"{time.strftime('%b %e %H:%M:%S')} bench kernel: [{time.monotonic():12.6f}] {text}\n".encode()


class Observer:
    """The watch in a thread; hands the main thread each change of the two conditions."""

    def __init__(self, kubeconfig: Path) -> None:
        self._watch = NodeWatch(kubeconfig, (CONDITION, FLOOR_CONDITION), node=NODE)
        self._watch.open()
        self.changes: queue.Queue[Change] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for change in self._watch.changes():
            self.changes.put(change)

    def wait_for(self, condition: str, status: str, token: str, timeout: float) -> Change:
        """The first change of ``condition`` to ``status`` whose message contains ``token``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                change = self.changes.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{condition}={status} ({token}) not seen within {timeout:.0f}s") from None
            if change.type == condition and change.status == status and token in change.message:
                return change

    def close(self) -> None:
        self._watch.close()
        self._thread.join(5)


def start_daemon(workdir: Path, kubeconfig: Path, config: Path, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    command = [
        str(BIN / "node-problem-detector"),
        f"--kubeconfig={kubeconfig}",
        f"--hostname-override={NODE}",
        f"--config.system-log-monitor={config}",
        "--port=0",
        "--prometheus-port=0",
        f"--state-dir={workdir / 'state'}",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)


def summary(name: str, values_ms: list[float]) -> str:
    return (
        f"{name:<34} p50 {percentile(values_ms, 50):7.1f}   p90 {percentile(values_ms, 90):7.1f}   "
        f"p99 {percentile(values_ms, 99):7.1f}   max {max(values_ms):7.1f} ms   (n={len(values_ms)})"
    )


@dataclass
class Measured:
    """Latencies in milliseconds, and CPU in cores over the measurement."""

    raises: list[float] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    npd_cores: float = 0.0
    apiserver_cores: float = 0.0
    machine_cores: float = 0.0


def measure(args: argparse.Namespace, workdir: Path) -> Measured:
    """npd's raise and clear latencies and the floor's, interleaved, and the CPU they took."""
    with ControlPlane(workdir / "controlplane") as plane:
        plane.grant_npd_rbac()
        admin = Client(config=KubeConfig.from_file(plane.admin_kubeconfig), trust_env=False)
        admin.create(Node(metadata=ObjectMeta(name=NODE, labels={"kubernetes.io/hostname": NODE})))
        admin.patch(Node.Status, NODE, {"status": kubelet_status(NODE)}, patch_type=PatchType.STRATEGIC)

        log = workdir / "kern.log"
        log.touch()
        config = workdir / "bench-monitor.json"
        config.write_text(json.dumps({**MONITOR, "logPath": str(log)}))
        kubeconfig = plane.npd_kubeconfig if args.identity == "npd" else plane.admin_kubeconfig

        observer = Observer(plane.admin_kubeconfig)
        stderr_path = workdir / "npd.stderr"
        with stderr_path.open("wb") as stderr, log.open("ab", buffering=0) as out:
            daemon = start_daemon(workdir, kubeconfig, config, stderr)
            try:
                # Started: npd wrote its condition's default state to the Node.
                observer.wait_for(CONDITION, "False", "", args.timeout)
                measured = Measured()
                raises, clears, floor = measured.raises, measured.clears, measured.floor
                pids = (daemon.pid, plane.pid)
                cpu = (*(proc_cpu(pid) for pid in pids), machine_busy(), time.monotonic())

                def timed(condition: str, status: str, token: str, act: Callable[[], object]) -> float:
                    start = time.monotonic()
                    act()
                    change = observer.wait_for(condition, status, token, args.timeout)
                    time.sleep(args.gap)  # let npd's event writes for this change finish
                    return (change.at - start) * 1e3

                def floor_patch(status: str, message: str) -> Callable[[], object]:
                    item = {"type": FLOOR_CONDITION, "status": status, "reason": "Bench", "message": message}
                    return lambda: admin.patch(
                        Node.Status, NODE, {"status": {"conditions": [item]}}, patch_type=PatchType.STRATEGIC
                    )

                for number in range(args.iterations):
                    raise_line = log_line(f"bench: raise {number}")
                    raises.append(
                        timed(CONDITION, "True", f"raise {number}", lambda line=raise_line: out.write(line))
                    )
                    clear_line = log_line(f"bench: clear {number}")
                    clears.append(timed(CONDITION, "False", "", lambda line=clear_line: out.write(line)))
                    floor.append(
                        timed(FLOOR_CONDITION, "True", f"up {number}", floor_patch("True", f"up {number}"))
                    )
                    floor.append(
                        timed(
                            FLOOR_CONDITION, "False", f"down {number}", floor_patch("False", f"down {number}")
                        )
                    )
                    if daemon.poll() is not None:
                        raise RuntimeError(f"npd exited with {daemon.returncode}")
                after = (*(proc_cpu(pid) for pid in pids), machine_busy(), time.monotonic())
                elapsed = after[3] - cpu[3]
                measured.npd_cores = (after[0] - cpu[0]) / elapsed
                measured.apiserver_cores = (after[1] - cpu[1]) / elapsed
                measured.machine_cores = (after[2] - cpu[2]) / elapsed
            except BaseException:
                sys.stderr.write(stderr_path.read_text(errors="replace")[-3000:])
                raise
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(15)
                observer.close()
                admin.close()
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=200, help="raise/clear pairs (default 200)")
    parser.add_argument(
        "--gap", type=float, default=0.1, help="pause after each observed change, in seconds (default 0.1)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="longest wait for one change")
    parser.add_argument(
        "--identity",
        choices=("npd", "admin"),
        default="npd",
        help="npd's ServiceAccount with deploy/'s RBAC (default), or system:masters",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="npd-kube-latency-"))
    try:
        measured = measure(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    raises, clears, floor = measured.raises, measured.clears, measured.floor
    npd = raises + clears
    npd50, npd99 = percentile(npd, 50), percentile(npd, 99)
    floor50, floor99 = percentile(floor, 50), percentile(floor, 99)
    up50 = UPSTREAM_TICK_S * 1e3 / 2 + floor50
    up99 = UPSTREAM_TICK_S * 1e3 * 0.99 + floor99
    print(f"log line → condition on the Node, seen through a watch ({args.iterations} raise/clear pairs)")
    print(summary("npd, raise (log line → True)", raises))
    print(summary("npd, clear (resolve line → False)", clears))
    print(summary("npd, all", npd))
    print(summary("floor: admin PATCH → watch event", floor))
    print(
        f"npd minus floor                    p50 {npd50 - floor50:7.1f}   p99 {npd99 - floor99:7.1f} ms   "
        f"(npd / floor: p50 {npd50 / floor50:.1f} x, p99 {npd99 / floor99:.1f} x)"
    )
    verdict = "met" if npd99 <= GOAL_P99_MS else "NOT met"
    print(f"goal p99 ≤ {GOAL_P99_MS:.0f} ms: {verdict} ({npd99:.1f} ms)")
    print(
        "upstream, computed from its 1 s sync tick, not measured (its Go binary is not available here):\n"
        f"  p50 ≈ {up50:.0f} ms, p99 ≈ {up99:.0f} ms (tick wait 500 / 990 ms + this run's floor); "
        f"npd is {up50 / npd50:.0f} x lower at p50, {up99 / npd99:.0f} x at p99"
    )
    print(
        f"CPU during the measurement: npd {measured.npd_cores:.3f} cores, API server + etcd "
        f"{measured.apiserver_cores:.3f}; machine {measured.machine_cores:.2f} of {os.cpu_count()} cores busy"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
