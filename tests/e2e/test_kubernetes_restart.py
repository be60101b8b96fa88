"""npd killed with SIGKILL and started again: the Node's condition never flaps, no Event repeats.

While npd is down and starting again, a watcher thread reads the Node over and over; it must
never see npd's raised condition anything but True. With the state directory kept, the lines
already reported are not reported again. With the state directory lost (and the problem line
rotated out of the log), npd takes the condition up from the Node, so it stays True, and the
next resolving line clears it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from lightkube import ApiError, Client
from lightkube.resources.core_v1 import Event

from tests.support.daemon import RunningDaemon
from tests.support.kube import ControlPlane
from tests.support.kubewatch import (
    APP_CONDITIONS,
    LogFile,
    app_config,
    change_message,
    checkpointed_offset,
    condition_states,
    daemon_conditions,
    event_summary,
    exporter_caught_up,
    get_node,
    metric_sum,
    node_events,
    poll,
    scrape,
    start_npd,
    wait_synced,
)

TIMEOUT = 10.0


class NodeWatcher(threading.Thread):
    """Reads the Node's AppBroken again and again and records every status it saw."""

    def __init__(self, client: Client, node: str) -> None:
        super().__init__(name="node-watcher", daemon=True)
        self.client = client
        self.node = node
        self.seen: list[tuple[float, str | None]] = []
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                try:
                    states = condition_states(get_node(self.client, self.node), ["AppBroken"])
                except ApiError as exc:
                    self.error = exc
                    return
                self.seen.append((time.monotonic(), states.get("AppBroken", (None, ""))[0]))
                self._halt.wait(0.005)
        except BaseException as exc:
            self.error = exc

    def stop(self) -> list[str | None]:
        """Stop watching; the statuses seen, in order."""
        self._halt.set()
        self.join(timeout=TIMEOUT)
        assert not self.is_alive(), "the watcher did not stop"
        assert self.error is None, f"the watcher failed: {self.error!r}"
        return [status for _, status in self.seen]


def wait_broken(admin: Client, node: str, status: str, reason: str) -> None:
    poll(
        lambda: condition_states(get_node(admin, node), ["AppBroken"]),
        lambda states: states.get("AppBroken") == (status, reason),
        timeout=TIMEOUT,
        what=f"AppBroken=({status}, {reason}) on node {node}",
    )


def wait_checkpointed(npd: RunningDaemon, state_dir: Path, log: LogFile) -> None:
    """Wait until npd's checkpoint covers the whole log, so a SIGKILL now repeats nothing.

    npd records a position only after the findings before it were exported, at least once; the
    tests wait for the record rather than race the moment between the two.
    """
    size = log.path.stat().st_size
    npd.wait_for(lambda: checkpointed_offset(state_dir) == size, timeout=TIMEOUT, what="the checkpoint")


def objects(events: list[Event]) -> list[tuple[str, tuple[str, str, str, int]]]:
    """Each Event's name with its type, reason, message and count: the same objects, unchanged."""
    return [
        ((e.metadata.name if e.metadata else None) or "", s)
        for e, s in zip(events, event_summary(events), strict=True)
    ]


def first_patch_done(npd: RunningDaemon) -> bool:
    page = scrape(npd)
    return metric_sum(page, "npd_kubernetes_condition_patches_total", result="ok") >= 1


@pytest.mark.slow
def test_kill9_and_restart_with_state_keeps_condition_and_repeats_no_event(
    control_plane: ControlPlane,
    kube_node: str,
    npd_rbac: ControlPlane,
    tmp_path: Path,
) -> None:
    admin = npd_rbac.admin()
    log = LogFile(tmp_path / "app.log")
    config = app_config(tmp_path, log)
    state = tmp_path / "state"
    with start_npd(control_plane, kube_node, [config], state_dir=state) as npd:
        wait_synced(admin, kube_node, npd, APP_CONDITIONS)
        log.append("fatal: cannot open database", "slow: request took 12s")
        wait_broken(admin, kube_node, "True", "AppFailed")
        before = poll(
            lambda: node_events(admin, kube_node),
            lambda events: sorted(e.reason or "" for e in events) == ["AppFailed", "AppSlow"],
            timeout=TIMEOUT,
            what="the two events",
        )
        wait_checkpointed(npd, state, log)
        watcher = NodeWatcher(control_plane.client_for(control_plane.admin_kubeconfig), kube_node)
        watcher.start()
        assert npd.kill9() == -9

    killed_at = time.monotonic()
    with start_npd(control_plane, kube_node, [config], state_dir=state) as npd:
        npd.wait_for(lambda: first_patch_done(npd), timeout=TIMEOUT, what="the new npd's first patch")
        restart_s = time.monotonic() - killed_at
        # Keep watching a little past the first patch: a late stale write would show here.
        patched_reads = len(watcher.seen)
        poll(lambda: len(watcher.seen), lambda n: n >= patched_reads + 20, timeout=TIMEOUT, what="reads")
        seen = watcher.stop()
        assert seen, "the watcher never read the Node"
        assert set(seen) == {"True"}, f"AppBroken was not always True during the restart: {set(seen)}"
        assert daemon_conditions(npd)["AppBroken"] == ("True", "AppFailed")

        # The lines reported before the kill are not reported again.
        exporter_caught_up(npd)
        assert objects(node_events(admin, kube_node)) == objects(before)

        # A line written after the restart is reported, once.
        log.append("slow: after the restart")
        poll(
            lambda: node_events(admin, kube_node),
            lambda events: len(events) > len(before),
            timeout=TIMEOUT,
            what="the new event",
        )
        exporter_caught_up(npd)
        after = node_events(admin, kube_node)
        assert objects(after)[: len(before)] == objects(before)
        assert event_summary(after) == [
            *event_summary(before),
            ("Warning", "AppSlow", "slow: after the restart", 1),
        ]
        assert condition_states(get_node(admin, kube_node), ["AppBroken"]) == {
            "AppBroken": ("True", "AppFailed")
        }
        assert npd.stop() == 0
    print(
        f"\nrestart window (kill -9 to the new npd's first patch): {restart_s:.2f}s, "
        f"{len(seen)} reads of the Node, all True"
    )


@pytest.mark.slow
def test_restart_with_state_lost_takes_the_condition_up_from_the_node(
    control_plane: ControlPlane,
    kube_node: str,
    npd_rbac: ControlPlane,
    tmp_path: Path,
) -> None:
    admin = npd_rbac.admin()
    log = LogFile(tmp_path / "app.log")
    config = app_config(tmp_path, log)
    with start_npd(control_plane, kube_node, [config], state_dir=tmp_path / "state-1") as npd:
        wait_synced(admin, kube_node, npd, APP_CONDITIONS)
        log.append("fatal: cannot open database")
        wait_broken(admin, kube_node, "True", "AppFailed")
        exporter_caught_up(npd)
        events_before = objects(node_events(admin, kube_node))
        watcher = NodeWatcher(control_plane.client_for(control_plane.admin_kubeconfig), kube_node)
        watcher.start()
        assert npd.kill9() == -9

    # The state is lost and the problem line is no longer in the log: only the Node knows.
    log.rotate()
    with start_npd(control_plane, kube_node, [config], state_dir=tmp_path / "state-2") as npd:
        npd.wait_for(lambda: first_patch_done(npd), timeout=TIMEOUT, what="the new npd's first patch")
        patched_reads = len(watcher.seen)
        poll(lambda: len(watcher.seen), lambda n: n >= patched_reads + 20, timeout=TIMEOUT, what="reads")
        seen = watcher.stop()
        assert set(seen) == {"True"}, f"AppBroken was not always True during the restart: {set(seen)}"
        assert daemon_conditions(npd)["AppBroken"] == ("True", "AppFailed")
        exporter_caught_up(npd)
        assert objects(node_events(admin, kube_node)) == events_before

        log.append("recovered: database reachable again")
        wait_broken(admin, kube_node, "False", "AppIsFine")
        assert daemon_conditions(npd)["AppBroken"] == ("False", "AppIsFine")
        poll(
            lambda: event_summary(node_events(admin, kube_node)),
            lambda summary: (
                ("Normal", "AppIsFine", change_message("AppBroken", "False", "AppIsFine", "app is fine"), 1)
                in summary
            ),
            timeout=TIMEOUT,
            what="the event of the clear",
        )
        assert npd.stop() == 0
