#!/usr/bin/env python3
"""One process acting as N node agents against a real API server: writes, latency, CPU.

For each N in ``--nodes`` a fresh control plane (kube-apiserver + etcd, one process; see
kubecluster.py) starts, N Nodes are created with a kubelet-like status (admin, concurrently), and
deploy/'s RBAC is applied. Then N instances of npd's real ``ConditionSync``, ``EventCorrelator``
and ``EventWriter`` (src/npd/exporters/kubernetes/) run in one asyncio loop, one per Node, as
npd's identity (the ServiceAccount of deploy/), sharing one ``NodeApi`` (one connection pool).
Each starts like ``KubernetesExporter.start`` (GET its Node, take up the ownership annotation,
write the default condition) at a random moment within the first heartbeat period, so the
heartbeats are spread as on a real cluster.

Time is compressed by ``300 s / --heartbeat`` (default 30 s: 10 x): each node flips its
condition as a Poisson process with mean ``--change-interval`` (default 60 s: one change per
10 minutes in real time) and writes npd's condition-change Event for it, as a permanent rule's
raise and resolve do. After ``--warmup`` the benchmark measures for ``--window`` seconds:

- API writes per node per hour, by type, from ``NodeApi.requests`` (measured; and divided by the
  compression, i.e. at upstream's real 5 min heartbeat and one change per 10 minutes);
- condition latency: from ``ConditionSync.update()`` to the change arriving through one watch on
  all Nodes (a separate process, ``kubecluster.py watch``);
- CPU of the API server process (etcd included), of this process (the N agents and the
  workload) and of the watcher, in cores, from /proc/<pid>/stat before and after the window;
- the asyncio loop's lag (how late a 100 ms timer fires): the agents' own queueing.

Upstream's write rate is computed from its design, not measured (its Go binary is not available
here): a condition PATCH per change and per heartbeat period (5 min) since the last sync, which
for Poisson changes at rate λ is λ / (1 - e^(-λ·300 s)) per second (12 per hour at rest), plus
one Event POST per change.

Client-side rate limiting (``--kube-api-qps``, client-go's token bucket) is off by default
(0): each real node has its own limiter, so one shared by N agents would measure the limiter.

    .venv/bin/python benchmarks/kube_scale.py                      # --nodes 100,1000
    .venv/bin/python benchmarks/kube_scale.py --nodes 100,1000,5000
    .venv/bin/python benchmarks/kube_scale.py --nodes 5000 --heartbeat 300 --change-interval 600 \
        --window 300                                               # real rates, ~11 minutes

N agents in one heap are not N npd processes: every full garbage collection walks all of them
at once. After the warm-up the benchmark ``gc.freeze()``s what it built (``--no-gc-freeze`` to
see the difference), and it reports its collections and its loop lag so the rest shows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lightkube import AsyncClient, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node, NodeStatus
from lightkube.types import PatchType

from kubecluster import ControlPlane, WatcherProcess, kubelet_status, machine_busy, percentile, proc_cpu
from npd.exporters.kubernetes.api import NodeApi, load_config
from npd.exporters.kubernetes.conditions import ConditionSync
from npd.exporters.kubernetes.events import EventCorrelator, EventWriter
from npd.exporters.kubernetes.settings import DEFAULT_EVENT_NAMESPACE, Connection
from npd.problem import Condition, ConditionStatus, condition_change_event

CONDITION = "BenchProblem"
SOURCE = "bench-monitor"
UPSTREAM_HEARTBEAT_S = 300.0
SEQ = re.compile(r"seq=(\d+)")
LAG_TICK_S = 0.1
#: How long cancelled agents may take to end before the benchmark says which did not.
STOP_TIMEOUT_S = 10.0


def design_writes_per_hour(change_interval: float, heartbeat: float) -> tuple[float, float]:
    """(condition PATCHes, Event POSTs) per node per hour by upstream's design.

    A sync happens on a change and when a heartbeat period has passed since the last one. With
    changes arriving as a Poisson process of rate λ, the time between syncs is min(Exp(λ), H),
    whose mean is (1 - e^(-λH)) / λ.
    """
    if change_interval <= 0:
        return 3600 / heartbeat, 0.0
    rate = 1 / change_interval
    return 3600 * rate / (1 - math.exp(-rate * heartbeat)), 3600 * rate


class TimedNodeApi(NodeApi):
    """npd's NodeApi, timing each status PATCH (queueing in the pool and the server's answer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timing = False
        self.patch_ms: list[float] = []

    async def patch_node_status(self, name: str, patch: dict[str, Any]) -> NodeStatus:
        started = time.monotonic()
        try:
            return await super().patch_node_status(name, patch)
        finally:
            if self.timing:
                self.patch_ms.append((time.monotonic() - started) * 1e3)


@dataclass
class Agent:
    """npd's Kubernetes exporter parts for one node, as ``KubernetesExporter`` wires them."""

    name: str
    sync: ConditionSync
    correlator: EventCorrelator
    writer: EventWriter
    seq: int = 0
    problem: bool = False
    syncing: asyncio.Task[None] | None = None


@dataclass
class Result:
    nodes: int
    create_s: float
    node_bytes: int
    window_s: float
    writes: Counter[tuple[str, str]]
    errors: int
    changes: int
    latencies_ms: list[float]
    superseded: int
    unseen: int
    apiserver_cores: float
    agent_cores: float
    watcher_cores: float
    machine_cores: float
    lag_ms: list[float] = field(default_factory=list)
    patch_ms: list[float] = field(default_factory=list)
    gc_pauses_ms: list[tuple[float, float]] = field(default_factory=list)
    event_results: Counter[str] = field(default_factory=Counter)


async def create_nodes(kubeconfig: Path, names: list[str], concurrency: int) -> int:
    """Create the Nodes and give each a kubelet-like status; returns one Node's JSON size."""
    client = AsyncClient(config=KubeConfig.from_file(kubeconfig), trust_env=False)
    limit = asyncio.Semaphore(concurrency)

    async def create(name: str) -> None:
        async with limit:
            await client.create(Node(metadata=ObjectMeta(name=name, labels={"kubernetes.io/hostname": name})))
            await client.patch(
                Node.Status, name, {"status": kubelet_status(name)}, patch_type=PatchType.STRATEGIC
            )

    try:
        await asyncio.gather(*(create(name) for name in names))
        node = await client.get(Node, names[0])
        return len(json.dumps(node.to_dict()))
    finally:
        await client.close()


async def stop_tasks(tasks: list[asyncio.Task[None]], syncs: list[asyncio.Task[None]]) -> None:
    """Wait (bounded) for cancelled tasks; say where any that ignored its cancellation is."""
    _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
    if not pending:
        return
    running = [task for task in syncs if not task.done()]
    print(
        f"warning: {len(pending)} agent tasks were still running {STOP_TIMEOUT_S:.0f} s after they were "
        f"cancelled ({len(running)} ConditionSync.run tasks); stacks:",
        file=sys.stderr,
    )
    for task in [*running[:1], *list(pending)[:1]]:
        task.print_stack(file=sys.stderr)
    for task in pending | set(running):
        task.cancel()
    await asyncio.wait(pending | set(running), timeout=STOP_TIMEOUT_S)


async def measure(n: int, args: argparse.Namespace, plane: ControlPlane) -> Result:
    names = [f"node-{index:05d}" for index in range(n)]
    started = time.monotonic()
    node_bytes = await create_nodes(plane.admin_kubeconfig, names, args.create_concurrency)
    create_s = time.monotonic() - started
    print(f"  {n:,} Nodes created in {create_s:.1f} s ({node_bytes:,} bytes of JSON each)", flush=True)

    watcher = WatcherProcess(plane.admin_kubeconfig, CONDITION)
    kubeconfig = plane.npd_kubeconfig if args.identity == "npd" else plane.admin_kubeconfig
    api = TimedNodeApi(
        load_config(Connection(kubeconfig=str(kubeconfig))), qps=args.kube_api_qps, burst=args.kube_api_burst
    )
    agents = []
    for name in names:
        sync = ConditionSync(api, name, heartbeat=args.heartbeat)
        correlator = EventCorrelator(name, DEFAULT_EVENT_NAMESPACE, "")
        agents.append(Agent(name, sync, correlator, EventWriter(api, correlator, DEFAULT_EVENT_NAMESPACE)))
    rng = random.Random(args.seed)
    updates: list[tuple[float, str, int]] = []  # (monotonic time of update(), node, seq)
    lags: list[float] = []
    gc_pauses: list[tuple[float, float]] = []  # (wall, CPU) ms: the difference is time descheduled
    gc_started = [0.0, 0.0]

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[:] = time.perf_counter(), time.thread_time()
        elif measuring:
            wall, cpu = time.perf_counter() - gc_started[0], time.thread_time() - gc_started[1]
            gc_pauses.append((wall * 1e3, cpu * 1e3))

    measuring = False

    def report(agent: Agent) -> Condition:
        status = ConditionStatus.TRUE if agent.problem else ConditionStatus.FALSE
        reason = "BenchRaised" if agent.problem else "NoBenchProblem"
        message = f"bench problem seq={agent.seq}" if agent.problem else f"no bench problem seq={agent.seq}"
        condition = Condition(CONDITION, status, datetime.now(UTC), reason, message)
        updates.append((time.monotonic(), agent.name, agent.seq))
        agent.sync.update([condition])
        return condition

    async def run_agent(agent: Agent, offset: float) -> None:
        await asyncio.sleep(offset)
        # KubernetesExporter.start: read the Node (its UID, npd's earlier ownership), then sync.
        node = await api.get_node(agent.name)
        agent.sync.declare([CONDITION])
        agent.sync.observe_node(node)
        agent.correlator.uid = (node.metadata.uid if node.metadata else None) or ""
        del node  # the exporter keeps nothing of it either (N parsed Nodes would weigh on the GC)
        report(agent)
        syncing = agent.syncing = asyncio.create_task(agent.sync.run())
        try:
            if args.change_interval <= 0:
                await syncing  # at rest: heartbeats only, until cancelled
            while True:
                await asyncio.sleep(rng.expovariate(1 / args.change_interval))
                agent.seq += 1
                agent.problem = not agent.problem
                condition = report(agent)
                # As KubernetesExporter.export: the condition patch goes out before the event.
                await asyncio.sleep(0)
                event = condition_change_event(
                    CONDITION, condition.status, condition.reason, condition.message, condition.transition
                )
                await agent.writer.write(SOURCE, event)
        finally:
            syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncing

    async def lag_probe() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_TICK_S)
            if measuring:
                lags.append((time.monotonic() - before - LAG_TICK_S) * 1e3)

    tasks = [asyncio.create_task(run_agent(agent, rng.uniform(0, args.heartbeat))) for agent in agents]
    probe = asyncio.create_task(lag_probe())
    try:
        await asyncio.sleep(args.warmup)
        failed = [task for task in tasks if task.done()]
        if failed:
            raise RuntimeError(f"{len(failed)} agents stopped during warm-up: {failed[0].exception()!r}")
        if args.gc_freeze:
            # N agents' state in one heap makes every full collection walk all of it, pausing all
            # N agents at once; a real npd process holds one node's. Freezing what the warm-up
            # built keeps the full collections to what the window allocates.
            gc.collect()
            gc.freeze()
        gc.callbacks.append(gc_timer)
        before_requests = dict(api.requests)
        before_events: Counter[str] = Counter()
        for agent in agents:
            before_events.update(agent.writer.results)
        pids = (plane.pid, os.getpid(), watcher.process.pid)
        cpu = (*(proc_cpu(pid) for pid in pids), machine_busy())
        window_start = time.monotonic()
        measuring = api.timing = True
        await asyncio.sleep(args.window)
        measuring = api.timing = False
        window_end = time.monotonic()
        cpu_after = (*(proc_cpu(pid) for pid in pids), machine_busy())
        after_requests = dict(api.requests)
        after_events: Counter[str] = Counter()
        for agent in agents:
            after_events.update(agent.writer.results)
        # Let the window's last changes reach the Node (bounded), then one more beat for the watch.
        settle_deadline = time.monotonic() + 30
        # ConditionSync has no "in sync" event to await; polling its property is all there is.
        while not all(a.sync.in_sync for a in agents) and time.monotonic() < settle_deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
    finally:
        if gc_timer in gc.callbacks:
            gc.callbacks.remove(gc_timer)
        gc.unfreeze()
        probe.cancel()
        for task in tasks:
            task.cancel()
        await stop_tasks([*tasks, probe], [agent.syncing for agent in agents if agent.syncing])
        await api.aclose()
        seen = watcher.stop()

    elapsed = window_end - window_start
    writes: Counter[tuple[str, str]] = Counter()
    errors = 0
    for key, count in after_requests.items():
        verb, resource, code = key
        delta = count - before_requests.get(key, 0)
        writes[(verb, resource)] += delta
        if code != "200":
            errors += delta

    first_seen: dict[tuple[str, int], float] = {}
    for change in seen:
        match = SEQ.search(change.message)
        if match:
            first_seen.setdefault((change.node, int(match.group(1))), change.at)
    last_seq: dict[str, int] = {}
    for _, node, seq in updates:
        last_seq[node] = max(seq, last_seq.get(node, 0))
    latencies, superseded, unseen = [], 0, 0
    window_updates = [u for u in updates if window_start <= u[0] < window_end]
    for at, node, seq in window_updates:
        observed = first_seen.get((node, seq))
        if observed is not None:
            latencies.append((observed - at) * 1e3)
        elif any((node, later) in first_seen for later in range(seq + 1, last_seq[node] + 1)):
            superseded += 1  # a newer state went out first: the latest state wins, by design
        else:
            unseen += 1
    return Result(
        nodes=n,
        create_s=create_s,
        node_bytes=node_bytes,
        window_s=elapsed,
        writes=writes,
        errors=errors,
        changes=len(window_updates),
        latencies_ms=latencies,
        superseded=superseded,
        unseen=unseen,
        apiserver_cores=(cpu_after[0] - cpu[0]) / elapsed,
        machine_cores=(cpu_after[3] - cpu[3]) / elapsed,
        agent_cores=(cpu_after[1] - cpu[1]) / elapsed,
        watcher_cores=(cpu_after[2] - cpu[2]) / elapsed,
        lag_ms=lags,
        patch_ms=api.patch_ms,
        gc_pauses_ms=gc_pauses,
        event_results=after_events - before_events,
    )


def print_result(result: Result, args: argparse.Namespace) -> None:
    n, hours = result.nodes, result.window_s / 3600
    scale = UPSTREAM_HEARTBEAT_S / args.heartbeat

    def per_node_hour(count: float) -> float:
        return count / n / hours

    patches = result.writes[("patch", "nodes/status")]
    posts = result.writes[("create", "events")]
    event_patches = result.writes[("patch", "events")]
    gets = result.writes[("get", "nodes")]
    total = patches + posts + event_patches
    real_interval = args.change_interval * scale
    design_cond, design_events = design_writes_per_hour(real_interval, UPSTREAM_HEARTBEAT_S)
    measured_total = per_node_hour(total)
    print(
        f"N = {n:,}: window {result.window_s:.1f} s, {result.changes:,} condition changes, "
        f"{patches:,} PATCH nodes/status, {posts:,} POST events, {event_patches:,} PATCH events, "
        f"{gets:,} GET nodes, {result.errors:,} failed requests"
    )
    changing = args.change_interval > 0
    changes = f"a change every {args.change_interval:g} s" if changing else "no changes"
    print(
        f"  writes per node per hour, measured (heartbeat {args.heartbeat:g} s, {changes}): "
        f"{measured_total:6.1f}  (conditions {per_node_hour(patches):.1f}, "
        f"events {per_node_hour(posts + event_patches):.1f})"
    )
    print(
        f"  scaled ÷{scale:g} to a 5 min heartbeat and "
        f"{f'a change every {real_interval / 60:g} min' if changing else 'no changes'}: "
        f"{measured_total / scale:6.1f}  (conditions {per_node_hour(patches) / scale:.2f}, "
        f"events {per_node_hour(posts + event_patches) / scale:.2f})"
    )
    design = design_cond + design_events
    print(
        f"  upstream's design, computed (not measured): {design:6.1f}  (conditions {design_cond:.2f}, "
        f"events {design_events:.2f}; 12.00 conditions at rest)   npd / upstream: "
        f"{measured_total / scale / design:.2f}"
    )
    lat = result.latencies_ms
    if lat:
        print(
            f"  condition latency, update() → watch: p50 {percentile(lat, 50):.1f} ms, p99 "
            f"{percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms (n={len(lat):,}; superseded "
            f"{result.superseded}, never seen {result.unseen})"
        )
        print(
            f"  of which the PATCH round trip (connection pool + API server): p50 "
            f"{percentile(result.patch_ms, 50):.1f} ms, p99 {percentile(result.patch_ms, 99):.1f} ms"
        )
    print(
        f"  CPU: API server + etcd {result.apiserver_cores:.3f} cores, agents {result.agent_cores:.3f} cores "
        f"({result.agent_cores / n * 1e3:.3f} ms per node-second), watcher {result.watcher_cores:.3f} cores"
    )
    ours = result.apiserver_cores + result.agent_cores + result.watcher_cores
    print(
        f"  machine: {result.machine_cores:.2f} of {os.cpu_count()} cores busy, "
        f"{max(0.0, result.machine_cores - ours):.2f} of them not this benchmark's"
    )
    longest = max(result.gc_pauses_ms, default=(0.0, 0.0))
    if result.lag_ms:
        print(
            f"  agent loop lag: p50 {percentile(result.lag_ms, 50):.1f} ms, p99 "
            f"{percentile(result.lag_ms, 99):.1f} ms; garbage collections {len(result.gc_pauses_ms)}, "
            f"longest {longest[0]:.1f} ms ({longest[1]:.1f} ms of it on CPU)"
        )
        print(f"  events: {dict(result.event_results)}")
    print(flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--nodes", default="100,1000", help="comma-separated node counts, one run each (default 100,1000)"
    )
    parser.add_argument("--heartbeat", type=float, default=30.0, help="heartbeat period, s (default 30)")
    parser.add_argument(
        "--change-interval",
        type=float,
        default=60.0,
        help="mean seconds between a node's condition changes (Poisson; 0: none; default 60)",
    )
    parser.add_argument("--warmup", type=float, help="seconds before the window (default heartbeat + 10)")
    parser.add_argument("--window", type=float, default=60.0, help="measured seconds (default 60)")
    parser.add_argument("--kube-api-qps", type=float, default=0.0, help="client-side QPS limit (0: off)")
    parser.add_argument("--kube-api-burst", type=int, default=500)
    parser.add_argument("--create-concurrency", type=int, default=50)
    parser.add_argument("--identity", choices=("npd", "admin"), default="npd")
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="do not gc.freeze() the agents' state after the warm-up (shows the one-heap artifact)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = args.heartbeat + 10
    counts = [int(item) for item in args.nodes.split(",") if item]

    print(
        f"{os.cpu_count()} CPUs (shared by the API server, the agents and the watcher); heartbeat "
        f"{args.heartbeat:g} s, mean change interval {args.change_interval:g} s, warm-up {args.warmup:g} s, "
        f"window {args.window:g} s, identity {args.identity}, client QPS limit {args.kube_api_qps:g}\n",
        flush=True,
    )
    for n in counts:
        workdir = Path(tempfile.mkdtemp(prefix=f"npd-kube-scale-{n}-"))
        try:
            with ControlPlane(workdir / "controlplane") as plane:
                plane.grant_npd_rbac()
                result = asyncio.run(measure(n, args, plane))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        print_result(result, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
