"""The Kubernetes exporter against the real API server: conditions, events and their options.

Each test runs ``node-problem-detector`` as npd's ServiceAccount (RBAC from ``deploy/``) for a
Node of its own, monitoring a log file the test appends to (:func:`app_config`), and looks at
what it wrote with the admin client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Event, Node

from tests.support.daemon import RunningDaemon
from tests.support.kube import ControlPlane
from tests.support.kubewatch import (
    APP_CONDITIONS,
    APP_SOURCE,
    OWNED_ANNOTATION,
    LogFile,
    app_config,
    change_message,
    condition_states,
    conditions_of,
    daemon_conditions,
    event_summary,
    events_with_reason,
    exporter_caught_up,
    get_node,
    metric_sum,
    node_events,
    owned_annotation,
    poll,
    scrape,
    start_npd,
    wait_synced,
)

TIMEOUT = 10.0


@pytest.fixture
def admin(npd_rbac: ControlPlane) -> Client:
    """The admin client of the shared control plane (with npd's RBAC applied)."""
    return npd_rbac.admin()


@pytest.fixture
def log(tmp_path: Path) -> LogFile:
    return LogFile(tmp_path / "app.log")


@pytest.fixture
def config(tmp_path: Path, log: LogFile) -> Path:
    return app_config(tmp_path, log)


def run_npd(plane: ControlPlane, node: str, config: Path, tmp_path: Path, *extra: str) -> RunningDaemon:
    return start_npd(plane, node, [config], state_dir=tmp_path / "state", extra=extra)


def wait_condition(admin: Client, node: str, kind: str, status: str) -> Node:
    return poll(
        lambda: get_node(admin, node),
        lambda n: kind in conditions_of(n) and conditions_of(n)[kind].status == status,
        timeout=TIMEOUT,
        what=f"{kind}={status} on node {node}",
    )


def wait_events(
    admin: Client, node: str, reason: str, total_count: int, namespace: str = "default"
) -> list[Event]:
    """The Events of ``reason`` once their counts add up to ``total_count`` (at least)."""
    return poll(
        lambda: events_with_reason(node_events(admin, node, namespace), reason),
        lambda events: sum(e.count or 0 for e in events) >= total_count,
        timeout=TIMEOUT,
        what=f"events {reason} with a total count of {total_count} in {namespace}",
    )


def assert_recent(moment: datetime | None, what: str) -> None:
    assert moment is not None, f"{what} is not set"
    now = datetime.now(UTC)
    assert now - timedelta(minutes=2) <= moment <= now + timedelta(seconds=5), f"{what}: {moment}"


def test_problem_line_sets_condition_and_writes_warning_event(
    control_plane: ControlPlane,
    kube_node: str,
    admin: Client,
    log: LogFile,
    config: Path,
    tmp_path: Path,
) -> None:
    with run_npd(control_plane, kube_node, config, tmp_path) as npd:
        before = wait_synced(admin, kube_node, npd, APP_CONDITIONS)
        assert condition_states(before, APP_CONDITIONS) == {
            "AppBroken": ("False", "AppIsFine"),
            "AppStuck": ("False", "AppIsMoving"),
        }
        # The annotation lists exactly the config's condition types, nothing else.
        assert owned_annotation(before) == "AppBroken,AppStuck"

        log.append("fatal: cannot open database")
        node = wait_condition(admin, kube_node, "AppBroken", "True")
        condition = conditions_of(node)["AppBroken"]
        assert (condition.type, condition.status, condition.reason, condition.message) == (
            "AppBroken",
            "True",
            "AppFailed",
            "fatal: cannot open database",
        )
        assert_recent(condition.lastTransitionTime, "lastTransitionTime")
        assert_recent(condition.lastHeartbeatTime, "lastHeartbeatTime")
        assert conditions_of(node)["AppStuck"].status == "False"

        [event] = wait_events(admin, kube_node, "AppFailed", 1)
        assert event.type == "Warning"
        assert event.message == change_message(
            "AppBroken", "True", "AppFailed", "fatal: cannot open database"
        )
        assert event.count == 1
        involved = event.involvedObject
        assert node.metadata is not None and node.metadata.uid
        assert (involved.apiVersion, involved.kind, involved.name, involved.uid) == (
            "v1",
            "Node",
            kube_node,
            node.metadata.uid,
        )
        assert event.source is not None
        assert (event.source.component, event.source.host) == (APP_SOURCE, kube_node)
        assert event.metadata is not None and event.metadata.namespace == "default"
        assert_recent(event.firstTimestamp, "firstTimestamp")
        assert_recent(event.lastTimestamp, "lastTimestamp")

        # /conditions and the Node agree on npd's conditions.
        assert daemon_conditions(npd) == condition_states(get_node(admin, kube_node), APP_CONDITIONS)
        assert owned_annotation(get_node(admin, kube_node)) == "AppBroken,AppStuck"
        assert npd.stop() == 0


def test_temporary_rule_writes_only_an_event_and_a_repeat_counts(
    control_plane: ControlPlane,
    kube_node: str,
    admin: Client,
    log: LogFile,
    config: Path,
    tmp_path: Path,
) -> None:
    with run_npd(control_plane, kube_node, config, tmp_path) as npd:
        wait_synced(admin, kube_node, npd, APP_CONDITIONS)
        log.append("slow: request took 12s")
        [event] = wait_events(admin, kube_node, "AppSlow", 1)
        assert (event.type, event.message, event.count) == ("Warning", "slow: request took 12s", 1)
        assert event.source is not None and event.source.component == APP_SOURCE
        # A temporary problem changes no condition.
        assert condition_states(get_node(admin, kube_node), APP_CONDITIONS) == {
            "AppBroken": ("False", "AppIsFine"),
            "AppStuck": ("False", "AppIsMoving"),
        }

        # The same line again: the same object, count 2 (client-go's aggregation), not a second one.
        log.append("slow: request took 12s")
        events = wait_events(admin, kube_node, "AppSlow", 2)
        assert event_summary(events) == [("Warning", "AppSlow", "slow: request took 12s", 2)]
        assert events[0].metadata is not None and event.metadata is not None
        assert events[0].metadata.name == event.metadata.name
        assert events[0].lastTimestamp is not None and event.firstTimestamp is not None
        assert events[0].firstTimestamp == event.firstTimestamp
        assert metric_sum(scrape(npd), "npd_kubernetes_events_total", result="updated") == 1
        assert [e.reason for e in node_events(admin, kube_node)] == ["AppSlow"]


def test_event_namespace_puts_events_there(
    control_plane: ControlPlane,
    kube_node: str,
    admin: Client,
    log: LogFile,
    config: Path,
    tmp_path: Path,
) -> None:
    with run_npd(control_plane, kube_node, config, tmp_path, "--event-namespace=kube-system") as npd:
        wait_synced(admin, kube_node, npd, APP_CONDITIONS)
        log.append("slow: in kube-system")
        [event] = wait_events(admin, kube_node, "AppSlow", 1, namespace="kube-system")
        assert event.metadata is not None and event.metadata.namespace == "kube-system"
        assert event.message == "slow: in kube-system"
        exporter_caught_up(npd)
        assert node_events(admin, kube_node, "default") == []


def test_write_events_false_writes_conditions_only(
    control_plane: ControlPlane,
    kube_node: str,
    admin: Client,
    log: LogFile,
    config: Path,
    tmp_path: Path,
) -> None:
    with run_npd(control_plane, kube_node, config, tmp_path, "--k8s-exporter-write-events=false") as npd:
        wait_synced(admin, kube_node, npd, APP_CONDITIONS)
        log.append("slow: not an event", "fatal: but a condition")
        wait_condition(admin, kube_node, "AppBroken", "True")
        npd.wait_for_page("/conditions", lambda _, body: '"True"' in body)
        page = exporter_caught_up(npd)  # the exporter has handled both lines' reports
        assert node_events(admin, kube_node) == []
        assert metric_sum(page, "npd_kubernetes_requests_total", resource="events") == 0


def test_update_node_conditions_false_writes_events_only(
    control_plane: ControlPlane,
    kube_node: str,
    admin: Client,
    log: LogFile,
    config: Path,
    tmp_path: Path,
) -> None:
    with run_npd(
        control_plane, kube_node, config, tmp_path, "--k8s-exporter-update-node-conditions=false"
    ) as npd:
        log.append("fatal: an event but no condition")
        [event] = wait_events(admin, kube_node, "AppFailed", 1)
        assert event.message == change_message(
            "AppBroken", "True", "AppFailed", "fatal: an event but no condition"
        )
        page = exporter_caught_up(npd)
        node = get_node(admin, kube_node)
        assert conditions_of(node) == {}
        assert owned_annotation(node) is None
        assert metric_sum(page, "npd_kubernetes_requests_total", resource="nodes/status") == 0
        assert daemon_conditions(npd)["AppBroken"] == ("True", "AppFailed")


def test_stale_owned_condition_is_deleted_and_foreign_one_kept(
    control_plane: ControlPlane,
    kube_node: str,
    admin: Client,
    config: Path,
    tmp_path: Path,
) -> None:
    # As if an earlier npd, whose config had OldThing, owned it; SomeoneElses was never npd's.
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def condition(kind: str, reason: str) -> dict[str, str]:
        return {
            "type": kind,
            "status": "True",
            "reason": reason,
            "message": f"{kind} set before npd started",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }

    admin.patch(
        Node.Status,
        kube_node,
        {
            "metadata": {"annotations": {OWNED_ANNOTATION: "AppBroken,OldThing"}},
            "status": {"conditions": [condition("OldThing", "Old"), condition("SomeoneElses", "Theirs")]},
        },
    )
    assert set(conditions_of(get_node(admin, kube_node))) == {"OldThing", "SomeoneElses"}

    with run_npd(control_plane, kube_node, config, tmp_path) as npd:
        node = poll(
            lambda: get_node(admin, kube_node),
            lambda n: "OldThing" not in conditions_of(n),
            timeout=TIMEOUT,
            what="npd to delete the stale OldThing",
        )
        node = wait_synced(admin, kube_node, npd, APP_CONDITIONS)
        assert set(conditions_of(node)) == {"SomeoneElses", "AppBroken", "AppStuck"}
        theirs = conditions_of(node)["SomeoneElses"]
        assert (theirs.status, theirs.reason, theirs.message) == (
            "True",
            "Theirs",
            "SomeoneElses set before npd started",
        )
        assert owned_annotation(node) == "AppBroken,AppStuck"


def test_flood_of_distinct_lines_is_combined_and_rate_limited(
    control_plane: ControlPlane,
    kube_node: str,
    admin: Client,
    log: LogFile,
    config: Path,
    tmp_path: Path,
) -> None:
    lines = 200
    with run_npd(control_plane, kube_node, config, tmp_path) as npd:
        wait_synced(admin, kube_node, npd, APP_CONDITIONS)
        log.append(*(f"flood: item {number} failed" for number in range(lines)))

        def handled(page: str) -> bool:
            return metric_sum(page, "npd_kubernetes_events_total") >= lines

        page = poll(lambda: scrape(npd), handled, timeout=TIMEOUT, what=f"{lines} events handled")
        exporter_caught_up(npd)
        events = events_with_reason(node_events(admin, kube_node), "AppFlood")
        summary = event_summary(events)
        assert 1 <= len(events) <= 26, summary
        assert len(events) < lines // 4, summary
        combined = [e for e in events if (e.message or "").startswith("(combined from similar events): ")]
        assert combined, summary
        assert max(e.count or 0 for e in combined) > 1, summary
        assert metric_sum(page, "npd_kubernetes_events_total", result="rate_limited") > 0
        written = metric_sum(page, "npd_kubernetes_events_total", result="created") + metric_sum(
            page, "npd_kubernetes_events_total", result="updated"
        )
        assert written <= 25, page
        assert npd.running
