"""npd and kubelet write the same Node status; neither may lose the other's conditions.

A thread plays kubelet: it keeps writing ``Ready``, ``MemoryPressure``, ``DiskPressure``,
``PIDPressure`` and ``NetworkUnavailable`` with fresh heartbeats, mostly by strategic merge
PATCH of ``nodes/<name>/status`` (today's kubelet) and every few writes by a full PUT of the
status it read, npd's conditions included (older kubelets' read-modify-write, retried on a
conflict). Meanwhile npd raises and clears its condition 20 times. After every change npd
makes, and at the end, the Node must hold kubelet's five conditions from its latest write (or a
later one) and npd's latest state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from lightkube import ApiError, Client
from lightkube.models.core_v1 import NodeCondition
from lightkube.resources.core_v1 import Node

from tests.support.kube import ControlPlane
from tests.support.kubewatch import (
    APP_CONDITIONS,
    LogFile,
    app_config,
    condition_states,
    conditions_of,
    daemon_conditions,
    get_node,
    poll,
    rfc3339_now,
    start_npd,
    wait_synced,
)

KUBELET_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")
CYCLES = 20
#: Every this many writes, the fake kubelet PUTs the whole status instead of patching.
PUT_EVERY = 4
TIMEOUT = 10.0


def kubelet_status(kind: str, seq: int) -> str:
    """What kubelet's write number ``seq`` says about ``kind``: values that change as it goes."""
    if kind == "Ready":
        return "True"
    # Each pressure condition flips at its own pace, so a stale copy shows.
    period = {"MemoryPressure": 2, "DiskPressure": 3, "PIDPressure": 5, "NetworkUnavailable": 7}[kind]
    return "True" if (seq // period) % 2 else "False"


def kubelet_message(seq: int) -> str:
    return f"kubelet write {seq}"


class FakeKubelet(threading.Thread):
    """Writes kubelet's five conditions until stopped; ``done`` is the last write that succeeded."""

    def __init__(self, client: Client, node: str) -> None:
        super().__init__(name="fake-kubelet", daemon=True)
        self.client = client
        self.node = node
        self.done = 0
        self.patches = 0
        self.puts = 0
        self.conflicts = 0
        self.error: BaseException | None = None
        self._halt = threading.Event()
        self._seq = 0
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=TIMEOUT)
        assert not self.is_alive(), "the fake kubelet did not stop"
        if self.error is not None:
            raise AssertionError(f"the fake kubelet failed: {self.error!r}") from self.error

    def wait_writes(self, count: int = 1) -> int:
        """Wait until ``count`` more writes succeeded; returns the last one's number."""
        target = self.done + count
        return poll(lambda: self.done, lambda done: done >= target, timeout=TIMEOUT, what="kubelet writes")

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                self._seq += 1
                if self._seq % PUT_EVERY == 0:
                    self._put(self._seq)
                else:
                    self._patch(self._seq)
                self.done = self._seq
                self._halt.wait(0.01)
        except BaseException as exc:
            self.error = exc

    def _conditions(self, seq: int) -> list[dict[str, str]]:
        now = rfc3339_now()
        return [
            {
                "type": kind,
                "status": kubelet_status(kind, seq),
                "reason": f"Kubelet{kind}",
                "message": kubelet_message(seq),
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            }
            for kind in KUBELET_TYPES
        ]

    def _patch(self, seq: int) -> None:
        self.client.patch(Node.Status, self.node, {"status": {"conditions": self._conditions(seq)}})
        self.patches += 1

    def _put(self, seq: int) -> None:
        mine = [cast(NodeCondition, NodeCondition.from_dict(item)) for item in self._conditions(seq)]
        while True:
            current = self.client.get(Node.Status, self.node)
            assert current.status is not None
            # Read-modify-write: npd's conditions go back as read, kubelet's are replaced.
            others = [c for c in current.status.conditions or [] if c.type not in KUBELET_TYPES]
            current.status.conditions = mine + others
            try:
                self.client.replace(current, self.node)
            except ApiError as exc:
                if exc.status.code != 409:
                    raise
                self.conflicts += 1  # npd wrote in between: read again, as kubelet does
                continue
            self.puts += 1
            return


@dataclass(frozen=True)
class NpdState:
    status: str
    reason: str
    message: str


def check_node(admin: Client, node: str, kubelet: FakeKubelet, npd_state: NpdState, step: str) -> None:
    """The Node holds kubelet's latest write (or a later one) and npd's latest state."""
    floor = kubelet.done  # every write up to here has returned before this read
    current = conditions_of(get_node(admin, node))
    missing = [kind for kind in KUBELET_TYPES if kind not in current]
    assert not missing, f"{step}: kubelet's {missing} are gone: {sorted(current)}"
    seqs = {int((current[kind].message or "").rsplit(" ", 1)[-1]) for kind in KUBELET_TYPES}
    assert len(seqs) == 1, f"{step}: kubelet's conditions come from different writes: {seqs}"
    [seq] = seqs
    assert seq >= floor, f"{step}: kubelet's write {seq} is on the Node, but {floor} had returned"
    for kind in KUBELET_TYPES:
        condition = current[kind]
        assert (condition.status, condition.reason) == (kubelet_status(kind, seq), f"Kubelet{kind}"), step
        assert condition.lastHeartbeatTime is not None, step
    broken = current.get("AppBroken")
    assert broken is not None, f"{step}: npd's AppBroken is gone: {sorted(current)}"
    assert (broken.status, broken.reason, broken.message) == (
        npd_state.status,
        npd_state.reason,
        npd_state.message,
    ), step
    stuck = current.get("AppStuck")
    assert stuck is not None and stuck.status == "False", f"{step}: npd's AppStuck: {stuck}"


@pytest.mark.slow
def test_kubelet_and_npd_conditions_survive_each_other(
    control_plane: ControlPlane,
    kube_node: str,
    npd_rbac: ControlPlane,
    tmp_path: Path,
) -> None:
    admin = npd_rbac.admin()
    log = LogFile(tmp_path / "app.log")
    config = app_config(tmp_path, log)
    kubelet = FakeKubelet(control_plane.client_for(control_plane.admin_kubeconfig), kube_node)
    kubelet.start()
    try:
        kubelet.wait_writes(PUT_EVERY)  # the Node has kubelet's conditions before npd starts
        started = time.monotonic()
        with start_npd(
            control_plane,
            kube_node,
            [config],
            state_dir=tmp_path / "state",
            extra=["--k8s-exporter-heartbeat-period=1s"],
        ) as npd:
            wait_synced(admin, kube_node, npd, APP_CONDITIONS)
            healthy = NpdState("False", "AppIsFine", "app is fine")
            check_node(admin, kube_node, kubelet, healthy, "npd started")
            latencies = []
            for cycle in range(CYCLES):
                for line, state in (
                    (f"fatal: cycle {cycle}", NpdState("True", "AppFailed", f"fatal: cycle {cycle}")),
                    (f"recovered: cycle {cycle}", healthy),
                ):
                    written = time.monotonic()
                    log.append(line)
                    poll(
                        lambda: conditions_of(get_node(admin, kube_node)).get("AppBroken"),
                        lambda c, state=state: (
                            c is not None
                            and (c.status, c.reason, c.message) == (state.status, state.reason, state.message)
                        ),
                        timeout=TIMEOUT,
                        what=f"AppBroken after {line!r}",
                    )
                    latencies.append(time.monotonic() - written)
                    check_node(admin, kube_node, kubelet, state, f"after {line!r}")
                    # kubelet writes on (a PUT among them, every PUT_EVERY): npd's state must stay.
                    kubelet.wait_writes(2)
                    check_node(admin, kube_node, kubelet, state, f"kubelet wrote after {line!r}")
            assert daemon_conditions(npd) == condition_states(get_node(admin, kube_node), APP_CONDITIONS)
            kubelet.stop()
            check_node(admin, kube_node, kubelet, healthy, "the end")
            final = conditions_of(get_node(admin, kube_node))
            assert final["Ready"].message == kubelet_message(kubelet.done), "not kubelet's last write"
            assert npd.stop() == 0
    finally:
        if kubelet.is_alive():
            kubelet.stop()
    print(
        f"\n{CYCLES} raise/clear cycles in {time.monotonic() - started:.1f}s; kubelet: "
        f"{kubelet.patches} patches, {kubelet.puts} PUTs, {kubelet.conflicts} conflicts; "
        f"line-to-Node latency: median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    assert kubelet.puts >= CYCLES, "the PUTs of an old kubelet were not exercised"
