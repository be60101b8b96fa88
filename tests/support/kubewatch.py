"""Helpers for end-to-end tests of the Kubernetes exporter against the real API server.

The daemon runs as a subprocess with npd's own identity (``npd.kubeconfig``, bound by the RBAC of
``deploy/``) and reads a log file the test appends to, so the tests depend on nothing of the
machine. What the daemon wrote is observed the way a cluster user would: through the admin
client, by polling the Node and listing Events with bounded deadlines (the only way to watch
another process; every wait fails with what it saw last).

Fixtures (import them into a test module, like those of :mod:`tests.support.kube`):

- ``npd_rbac`` (session): the RBAC documents of ``kubectl kustomize deploy/`` applied to the
  shared ``control_plane`` once.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from lightkube import ApiError, Client
from lightkube.models.core_v1 import NodeCondition
from lightkube.resources.core_v1 import Event, Node

from tests.support.daemon import RunningDaemon, start_daemon
from tests.support.kube import REPO_ROOT, ControlPlane

T = TypeVar("T")

OWNED_ANNOTATION = "npd.dev/owned-conditions"
#: The kinds of ``deploy/`` that give npd's identity its rights.
RBAC_KINDS = frozenset({"ServiceAccount", "ClusterRole", "ClusterRoleBinding"})
POLL_INTERVAL_S = 0.05


# -- RBAC ------------------------------------------------------------------------------------


def npd_rbac_documents(plane: ControlPlane) -> list[dict[str, Any]]:
    """The ServiceAccount, ClusterRole and ClusterRoleBinding that ``kubectl kustomize deploy/`` renders."""
    rendered = plane.kubectl("kustomize", str(REPO_ROOT / "deploy")).stdout
    documents = [doc for doc in yaml.safe_load_all(rendered) if isinstance(doc, dict)]
    chosen = [doc for doc in documents if doc.get("kind") in RBAC_KINDS]
    kinds = {doc["kind"] for doc in chosen}
    assert kinds == RBAC_KINDS, f"deploy/ renders {sorted(kinds)} of the RBAC kinds {sorted(RBAC_KINDS)}"
    return chosen


def apply_npd_rbac(plane: ControlPlane) -> None:
    """Apply deploy/'s RBAC with the admin identity, so ``npd.kubeconfig`` can do its job."""
    listing = {"apiVersion": "v1", "kind": "List", "items": npd_rbac_documents(plane)}
    plane.kubectl("apply", "-f", "-", input=json.dumps(listing))


@pytest.fixture(scope="session")
def npd_rbac(control_plane: ControlPlane) -> ControlPlane:
    """The shared control plane with deploy/'s RBAC applied (once per session)."""
    apply_npd_rbac(control_plane)
    return control_plane


# -- waiting ---------------------------------------------------------------------------------


def poll(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    interval: float = POLL_INTERVAL_S,
) -> T:
    """Call ``probe`` until ``done(value)`` holds and return that value; fail after ``timeout``.

    A probe that raises :class:`ApiError` or :class:`OSError` (the API server is restarting)
    counts as not done. The failure message shows the last value seen.
    """
    deadline = time.monotonic() + timeout
    last: object = "nothing (no probe answered)"
    while True:
        try:
            value = probe()
        except (ApiError, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if done(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


# -- the Node and its Events -----------------------------------------------------------------


def get_node(client: Client, name: str) -> Node:
    """The Node as stored now (a quorum read, not the watch cache)."""
    return client.get(Node, name)


def conditions_of(node: Node) -> dict[str, NodeCondition]:
    """The Node's conditions by type."""
    return {c.type: c for c in ((node.status.conditions if node.status else None) or [])}


def condition_states(node: Node, types: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
    """``{type: (status, reason)}`` of the Node's conditions (of ``types`` only, when given)."""
    wanted = None if types is None else set(types)
    return {
        kind: (c.status, c.reason or "")
        for kind, c in conditions_of(node).items()
        if wanted is None or kind in wanted
    }


def owned_annotation(node: Node) -> str | None:
    """The value of npd's ownership annotation on the Node (``None`` when absent)."""
    return ((node.metadata.annotations if node.metadata else None) or {}).get(OWNED_ANNOTATION)


def node_events(client: Client, node: str, namespace: str = "default") -> list[Event]:
    """The Events about Node ``node`` in ``namespace``, oldest name first."""
    events = client.list(Event, namespace=namespace, fields={"involvedObject.name": node})
    return sorted(events, key=lambda event: (event.metadata.name if event.metadata else None) or "")


def event_summary(events: Iterable[Event]) -> list[tuple[str, str, str, int]]:
    """``(type, reason, message, count)`` of each Event, for comparisons and failure messages."""
    return [(e.type or "", e.reason or "", e.message or "", e.count or 0) for e in events]


def events_with_reason(events: Iterable[Event], reason: str) -> list[Event]:
    """The Events of one reason."""
    return [event for event in events if event.reason == reason]


# -- the monitored log -----------------------------------------------------------------------


def rfc3339_now() -> str:
    """Now, as the log lines' timestamp (the config's ``timestampFormat``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LogFile:
    """A log file the daemon tails: ``<RFC 3339 time> <message>`` lines, appended and flushed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def append(self, *messages: str) -> None:
        """Append one line per message, stamped now, in one write."""
        stamp = rfc3339_now()
        with self.path.open("a") as handle:
            handle.write("".join(f"{stamp} {message}\n" for message in messages))

    def rotate(self) -> None:
        """Move the file away (``.1``) and start an empty one, as logrotate's ``create`` does."""
        os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        self.path.touch()


def monitor_config(
    path: Path,
    log: LogFile,
    *,
    source: str,
    conditions: Sequence[Mapping[str, str]],
    rules: Sequence[Mapping[str, Any]],
) -> Path:
    """Write a filelog monitor config for ``log`` (RFC 3339 stamped lines) and return its path."""
    config = {
        "plugin": "filelog",
        "pluginConfig": {
            "timestamp": r"^\S+",
            "message": r"^\S+ (.*)",
            "timestampFormat": "2006-01-02T15:04:05Z07:00",
        },
        "logPath": str(log.path),
        "lookback": "1h",
        "source": source,
        "conditions": list(conditions),
        "rules": list(rules),
    }
    path.write_text(json.dumps(config, indent=2))
    return path


#: The source of :func:`app_config`'s monitor: the Events' ``source.component``.
APP_SOURCE = "app-monitor"
#: The condition types :func:`app_config` declares, with their healthy reasons.
APP_CONDITIONS = {"AppBroken": "AppIsFine", "AppStuck": "AppIsMoving"}


def app_config(directory: Path, log: LogFile, *, name: str = "app-monitor.json") -> Path:
    """A monitor of ``log`` with two conditions that raise and clear, and two temporary rules.

    ``fatal: …`` raises AppBroken (reason AppFailed), ``recovered: …`` clears it; ``hung: …``
    raises AppStuck (AppHung), ``unstuck: …`` clears it; ``slow: …`` is a Warning Event
    AppSlow, ``flood: …`` one AppFlood.
    """
    return monitor_config(
        directory / name,
        log,
        source=APP_SOURCE,
        conditions=[
            {"type": "AppBroken", "reason": "AppIsFine", "message": "app is fine"},
            {"type": "AppStuck", "reason": "AppIsMoving", "message": "app is moving"},
        ],
        rules=[
            {"type": "temporary", "reason": "AppSlow", "pattern": "slow: .*"},
            {"type": "temporary", "reason": "AppFlood", "pattern": "flood: .*"},
            {
                "type": "permanent",
                "condition": "AppBroken",
                "reason": "AppFailed",
                "pattern": "fatal: .*",
                "resolve": {"pattern": "recovered: .*"},
            },
            {
                "type": "permanent",
                "condition": "AppStuck",
                "reason": "AppHung",
                "pattern": "hung: .*",
                "resolve": {"pattern": "unstuck: .*"},
            },
        ],
    )


def change_message(condition: str, status: str, reason: str, message: str) -> str:
    """The message of the Event npd writes when a condition changes (upstream's wording)."""
    quoted = json.dumps(message, ensure_ascii=False)
    return f"Node condition {condition} is now: {status}, reason: {reason}, message: {quoted}"


def checkpointed_offset(state_dir: Path) -> int | None:
    """The log offset the state directory's only checkpoint records (``None``: none yet)."""
    files = sorted((state_dir / "monitors").glob("*.json"))
    if len(files) != 1:
        return None
    try:
        document = json.loads(files[0].read_text())
    except (OSError, json.JSONDecodeError):
        return None
    offset = document.get("state", {}).get("position", {}).get("offset")
    return offset if isinstance(offset, int) else None


# -- the daemon ------------------------------------------------------------------------------


def start_npd(
    plane: ControlPlane,
    node: str,
    configs: Sequence[Path],
    *,
    state_dir: Path | None,
    extra: Sequence[str] = (),
    output_dir: Path | None = None,
    kubeconfig: Path | None = None,
) -> RunningDaemon:
    """``node-problem-detector`` as npd's ServiceAccount for ``node``, monitoring ``configs``.

    Returns once its HTTP endpoint answers (which is before it has reached the API server).
    """
    args = [
        f"--kubeconfig={kubeconfig or plane.npd_kubeconfig}",
        f"--hostname-override={node}",
        f"--config.system-log-monitor={','.join(str(c) for c in configs)}",
        "--apiserver-wait-interval=200ms",
        *extra,
    ]
    return start_daemon(args, tool=False, state_dir=state_dir, output_dir=output_dir)


def wait_synced(
    client: Client,
    node: str,
    daemon: RunningDaemon,
    types: Iterable[str],
    *,
    timeout: float = 20.0,
) -> Node:
    """Wait until the Node carries the ownership annotation and a condition of every type in ``types``.

    npd writes them only after it reached the API server and its monitors reported, so from
    then on a line appended to the log is seen by a running monitor.
    """
    wanted = set(types)
    annotation = ",".join(sorted(wanted))

    def synced() -> Node | None:
        current = get_node(client, node)
        if owned_annotation(current) == annotation and wanted <= set(conditions_of(current)):
            return current
        return None

    return daemon.wait_for(
        synced, timeout=timeout, what=f"node {node} to hold npd's conditions {sorted(wanted)}"
    )


def daemon_conditions(daemon: RunningDaemon) -> dict[str, tuple[str, str]]:
    """``{type: (status, reason)}`` from the daemon's ``/conditions``."""
    status, body = daemon.get("/conditions")
    assert status == 200, (status, body)
    return {c["type"]: (c["status"], c["reason"]) for c in json.loads(body)}


# -- metrics ---------------------------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of metric ``name`` in a Prometheus text page: ``(labels, value)`` pairs."""
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match["name"] != name:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        samples.append((labels, float(match["value"])))
    return samples


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(
        value
        for sample_labels, value in metric_samples(text, name)
        if all(sample_labels.get(key) == wanted for key, wanted in labels.items())
    )


def scrape(daemon: RunningDaemon) -> str:
    """The daemon's ``/metrics`` page."""
    status, body = daemon.get("/metrics")
    assert status == 200, (status, body[:500])
    return body


def exporter_caught_up(daemon: RunningDaemon, *, timeout: float = 15.0) -> str:
    """Wait until the Kubernetes exporter has handled every report the ``/conditions`` table has.

    Both exporters get the same reports in the same order, and the table handles each at once,
    so once the Kubernetes exporter's count reaches the table's, every API call for what the
    table shows has returned. Returns that ``/metrics`` page.
    """

    def caught_up() -> str | None:
        page = scrape(daemon)
        table = metric_sum(page, "npd_exporter_reports_total", exporter="conditions")
        kubernetes = metric_sum(page, "npd_exporter_reports_total", exporter="kubernetes")
        return page if table > 0 and kubernetes >= table else None

    return daemon.wait_for(caught_up, timeout=timeout, what="the Kubernetes exporter to catch up")


__all__ = [
    "APP_CONDITIONS",
    "APP_SOURCE",
    "OWNED_ANNOTATION",
    "RBAC_KINDS",
    "LogFile",
    "app_config",
    "apply_npd_rbac",
    "change_message",
    "checkpointed_offset",
    "condition_states",
    "conditions_of",
    "daemon_conditions",
    "event_summary",
    "events_with_reason",
    "exporter_caught_up",
    "get_node",
    "metric_samples",
    "metric_sum",
    "monitor_config",
    "node_events",
    "npd_rbac",
    "npd_rbac_documents",
    "owned_annotation",
    "poll",
    "rfc3339_now",
    "scrape",
    "start_npd",
    "wait_synced",
]
