"""deploy/'s RBAC objects, applied for real, as npd's own identity meets them.

The control plane's ``npd.kubeconfig`` authenticates as
``system:serviceaccount:kube-system:node-problem-detector``, the ServiceAccount deploy/ creates, so the
ClusterRoleBinding applied here is what authorizes (or not) every call below. npd's exporter makes four
kinds of call (GET its Node, strategic-merge PATCH of ``nodes/<n>/status``, POST and PATCH of core/v1
Events); they succeed, and the neighbouring calls a least-privilege role must not allow are refused with 403.

RBAC changes reach the API server's authorizer through its informers, a moment after the write; the tests
poll the real API (bounded) until a grant or a removal has taken effect.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client
from lightkube.models.core_v1 import Container, EventSource, ObjectReference, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Event, Node, Pod, Secret
from lightkube.resources.events_v1 import Event as EventsV1Event
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding
from lightkube.types import PatchType

from npd.config.loader import MonitorKind, load_monitor_config
from npd.config.stats import SystemStatsConfig
from tests.support.daemon import start_daemon
from tests.support.kube import REPO_ROOT, ControlPlane

#: How long a grant or a removal may take to reach the authorizer.
PROPAGATION_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.1
SERVICE_ACCOUNT = ("kube-system", "node-problem-detector")
EVENT_NAMESPACE = "default"  # npd's default --event-namespace
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")


def now() -> str:
    """An RFC 3339 time, as the API's ``metav1.Time`` takes it."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def forbidden(call: Callable[[], Any]) -> bool:
    """Whether ``call`` is refused with 403 (any other error is re-raised: it is not what is tested)."""
    try:
        call()
    except Exception as exc:
        # lightkube raises ApiError for plain requests, and its transport's HTTP error for a watch.
        response = getattr(exc, "response", None)
        code = exc.status.code if isinstance(exc, ApiError) else getattr(response, "status_code", None)
        if code == 403:
            return True
        raise
    return False


def eventually(predicate: Callable[[], bool], what: str | Callable[[], str]) -> None:
    """Poll the API until ``predicate`` holds, for at most :data:`PROPAGATION_TIMEOUT_S`.

    ``what`` describes the wait in the failure message (a callable is asked only then).
    """
    deadline = time.monotonic() + PROPAGATION_TIMEOUT_S
    while not predicate():
        if time.monotonic() >= deadline:
            description = what() if callable(what) else what
            pytest.fail(f"not within {PROPAGATION_TIMEOUT_S:.0f}s: {description}")
        time.sleep(POLL_INTERVAL_S)


class Rbac:
    """deploy/'s RBAC objects on the control plane: apply them, remove them, say who else grants npd."""

    def __init__(self, control_plane: ControlPlane) -> None:
        self.control_plane = control_plane
        rendered = control_plane.kubectl("kustomize", str(REPO_ROOT / "deploy")).stdout
        self.objects = [doc for doc in yaml.safe_load_all(rendered) if doc and doc["kind"] in RBAC_KINDS]
        assert sorted(obj["kind"] for obj in self.objects) == sorted(RBAC_KINDS)
        names = {obj["kind"]: obj["metadata"]["name"] for obj in self.objects}
        self.role, self.binding = names["ClusterRole"], names["ClusterRoleBinding"]

    def apply(self) -> None:
        self.control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(self.objects))

    def remove(self) -> None:
        self.control_plane.kubectl(
            "delete", "--ignore-not-found", f"clusterrolebinding/{self.binding}", f"clusterrole/{self.role}"
        )

    def present(self) -> bool:
        try:
            self.control_plane.admin().get(ClusterRoleBinding, self.binding)
        except ApiError as exc:
            if exc.status.code == 404:
                return False
            raise
        return True

    def other_grants(self) -> list[str]:
        """Cluster role bindings besides deploy/'s that name npd's ServiceAccount (for failure messages)."""
        namespace, name = SERVICE_ACCOUNT
        return [
            f"{binding.metadata.name} -> {binding.roleRef.name}"
            for binding in self.control_plane.admin().list(ClusterRoleBinding)
            if binding.metadata is not None and binding.metadata.name != self.binding
            for subject in binding.subjects or []
            if subject.kind == "ServiceAccount" and (subject.namespace, subject.name) == (namespace, name)
        ]


@pytest.fixture(scope="module")
def rbac(control_plane: ControlPlane) -> Iterator[Rbac]:
    """deploy/'s RBAC; whatever state the session's control plane had before this module, it has after."""
    objects = Rbac(control_plane)
    was_present = objects.present()
    yield objects
    if was_present:
        objects.apply()
    else:
        objects.remove()


@pytest.fixture
def npd(control_plane: ControlPlane) -> Client:
    """A client with npd's identity (the ServiceAccount of deploy/)."""
    return control_plane.client_for(control_plane.npd_kubeconfig)


@pytest.fixture
def granted(rbac: Rbac, npd: Client, kube_node: str) -> str:
    """deploy/'s RBAC applied, and in effect for npd's identity; returns the test's Node name."""
    rbac.apply()
    eventually(lambda: not forbidden(lambda: npd.get(Node, kube_node)), "npd may GET its Node after apply")
    return kube_node


def condition_patch(condition_type: str, status: str, reason: str) -> dict[str, Any]:
    """The shape of npd's status PATCH: its conditions, and the annotation listing the types it owns."""
    stamp = now()
    return {
        "metadata": {"annotations": {"npd.dev/owned-conditions": condition_type}},
        "status": {
            "conditions": [
                {
                    "type": condition_type,
                    "status": status,
                    "reason": reason,
                    "message": f"{reason} (test)",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                }
            ]
        },
    }


def node_event(admin: Client, node: str) -> Event:
    """An Event about ``node`` shaped like npd's: involvedObject with the Node's UID, source and host."""
    uid = admin.get(Node, node).metadata.uid  # type: ignore[union-attr]
    stamp = datetime.datetime.now(datetime.UTC)
    return Event(
        metadata=ObjectMeta(name=f"{node}.{time.time_ns():x}", namespace=EVENT_NAMESPACE),
        involvedObject=ObjectReference(apiVersion="v1", kind="Node", name=node, uid=uid),
        reason="OOMKilling",
        message="Killed process 1234 (stress)",
        type="Warning",
        source=EventSource(component="kernel-monitor", host=node),
        count=1,
        firstTimestamp=stamp,
        lastTimestamp=stamp,
    )


# -- the binding is what grants npd its calls (upstream #720) -------------------------------------------


def test_without_the_binding_npd_cannot_patch_node_status(
    control_plane: ControlPlane, rbac: Rbac, npd: Client, kube_node: str
) -> None:
    rbac.remove()
    patch = condition_patch("KernelDeadlock", "False", "KernelHasNoDeadlock")

    def patch_status() -> Any:
        return npd.patch(Node.Status, kube_node, patch, patch_type=PatchType.STRATEGIC)

    eventually(
        lambda: forbidden(patch_status),
        f"npd is refused PATCH nodes/status without deploy/'s binding (other grants: {rbac.other_grants()})",
    )
    assert forbidden(lambda: npd.get(Node, kube_node))
    assert forbidden(lambda: npd.create(node_event(control_plane.admin(), kube_node)))

    rbac.apply()
    eventually(lambda: not forbidden(patch_status), "npd may PATCH nodes/status once the binding exists")
    node = control_plane.admin().get(Node, kube_node)
    assert [c.type for c in node.status.conditions or []] == ["KernelDeadlock"]  # type: ignore[union-attr]


# -- what npd does is allowed ------------------------------------------------------------------------------


def test_npd_may_get_its_node(npd: Client, granted: str) -> None:
    node = npd.get(Node, granted)
    assert node.metadata is not None and node.metadata.name == granted and node.metadata.uid


def test_npd_may_patch_its_conditions_and_annotation_through_status(
    control_plane: ControlPlane, npd: Client, granted: str
) -> None:
    admin = control_plane.admin()
    # A kubelet-owned condition first: npd's strategic merge patch must leave it alone.
    admin.patch(Node.Status, granted, condition_patch("Ready", "True", "KubeletReady"))

    npd.patch(
        Node.Status,
        granted,
        condition_patch("KernelDeadlock", "True", "DockerHung"),
        patch_type=PatchType.STRATEGIC,
    )

    node = admin.get(Node, granted)
    conditions = {c.type: c for c in node.status.conditions or []}  # type: ignore[union-attr]
    assert sorted(conditions) == ["KernelDeadlock", "Ready"]
    assert (conditions["KernelDeadlock"].status, conditions["KernelDeadlock"].reason) == (
        "True",
        "DockerHung",
    )
    assert conditions["Ready"].reason == "KubeletReady"
    assert node.metadata.annotations["npd.dev/owned-conditions"] == "KernelDeadlock"  # type: ignore[union-attr,index]


def test_npd_may_create_an_event_and_patch_its_count(
    control_plane: ControlPlane, npd: Client, granted: str
) -> None:
    event = node_event(control_plane.admin(), granted)
    created = npd.create(event)
    name = created.metadata.name  # type: ignore[union-attr]
    npd.patch(
        Event,
        name,  # type: ignore[arg-type]
        {"count": 2, "lastTimestamp": now()},
        namespace=EVENT_NAMESPACE,
        patch_type=PatchType.STRATEGIC,
    )
    stored = control_plane.admin().get(Event, name, namespace=EVENT_NAMESPACE)  # type: ignore[arg-type]
    assert stored.count == 2
    assert stored.involvedObject.kind == "Node" and stored.involvedObject.name == granted
    assert stored.source is not None and stored.source.component == "kernel-monitor"


# -- and nothing else ---------------------------------------------------------------------------------


def _secret(admin: Client) -> str:
    name = f"npd-rbac-test-{time.time_ns():x}"
    admin.create(Secret(metadata=ObjectMeta(name=name, namespace=EVENT_NAMESPACE), stringData={"k": "v"}))
    return name


def _stored_event(admin: Client, node: str) -> Event:
    return admin.create(node_event(admin, node))


REFUSED: dict[str, Callable[[Client, Client, str], Any]] = {
    # The Node object itself: npd writes only its status subresource.
    "patch node labels": lambda npd, admin, node: npd.patch(
        Node, node, {"metadata": {"labels": {"npd": "x"}}}
    ),
    "patch node spec": lambda npd, admin, node: npd.patch(Node, node, {"spec": {"unschedulable": True}}),
    "patch node taints": lambda npd, admin, node: npd.patch(
        Node, node, {"spec": {"taints": [{"key": "npd", "effect": "NoSchedule"}]}}
    ),
    "delete node": lambda npd, admin, node: npd.delete(Node, node),
    "create node": lambda npd, admin, node: npd.create(Node(metadata=ObjectMeta(name=f"{node}-other"))),
    # Other Nodes and their status, in bulk.
    "list nodes": lambda npd, admin, node: list(npd.list(Node)),
    "watch nodes": lambda npd, admin, node: next(iter(npd.watch(Node, server_timeout=1)), None),
    # Status: PATCH only; no PUT (which would replace kubelet's conditions) and no GET.
    "update (PUT) node status": lambda npd, admin, node: npd.replace(admin.get(Node.Status, node)),
    "get node status": lambda npd, admin, node: npd.get(Node.Status, node),
    # Secrets and workloads.
    "get a secret": lambda npd, admin, node: npd.get(Secret, _secret(admin), namespace=EVENT_NAMESPACE),
    "list secrets in kube-system": lambda npd, admin, node: list(npd.list(Secret, namespace="kube-system")),
    "list secrets everywhere": lambda npd, admin, node: list(npd.list(Secret, namespace="*")),
    "list configmaps": lambda npd, admin, node: list(npd.list(ConfigMap, namespace="kube-system")),
    "create a pod": lambda npd, admin, node: npd.create(
        Pod(
            metadata=ObjectMeta(name=f"npd-rbac-{time.time_ns():x}", namespace=EVENT_NAMESPACE),
            spec=PodSpec(containers=[Container(name="c", image="busybox")]),
        )
    ),
    # Events: create and patch only, core/v1 only.
    "update (PUT) an event": lambda npd, admin, node: npd.replace(_stored_event(admin, node)),
    "delete an event": lambda npd, admin, node: npd.delete(
        Event,
        _stored_event(admin, node).metadata.name,  # type: ignore[union-attr,arg-type]
        namespace=EVENT_NAMESPACE,
    ),
    "list events": lambda npd, admin, node: list(npd.list(Event, namespace=EVENT_NAMESPACE)),
    "create an events.k8s.io event": lambda npd, admin, node: npd.create(
        EventsV1Event(
            metadata=ObjectMeta(name=f"{node}.{time.time_ns():x}", namespace=EVENT_NAMESPACE),
            eventTime=datetime.datetime.now(datetime.UTC),
            reportingController="npd.dev/test",
            reportingInstance=node,
            action="Detected",
            reason="OOMKilling",
            type="Warning",
        )
    ),
    # The RBAC objects themselves: npd cannot widen its own grants.
    "patch its cluster role": lambda npd, admin, node: npd.patch(
        ClusterRole,
        "node-problem-detector",
        {"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
    ),
}


@pytest.mark.parametrize("call", sorted(REFUSED))
def test_npd_is_refused(control_plane: ControlPlane, npd: Client, granted: str, call: str) -> None:
    admin = control_plane.admin()
    before = admin.get(Node, granted)
    assert forbidden(lambda: REFUSED[call](npd, admin, granted)), f"npd was allowed to {call}"
    after = admin.get(Node, granted)
    assert after.metadata.labels == before.metadata.labels  # type: ignore[union-attr]
    assert after.spec == before.spec


# -- the whole deployment, minus the container -------------------------------------------------------


def stats_condition_types(args: list[str]) -> set[str]:
    """The exhaustion conditions of the system stats configs ``args`` names (not in any ``conditions``)."""
    flag = "--config.system-stats-monitor="
    types: set[str] = set()
    for arg in args:
        if not arg.startswith(flag):
            continue
        for path in arg.removeprefix(flag).split(","):
            config = load_monitor_config(path, MonitorKind.SYSTEM_STATS, lambda _: None)
            assert isinstance(config, SystemStatsConfig) and config.exhaustion is not None
            types |= {watch.resource.condition for watch in config.exhaustion.watches}
    assert types, "the DaemonSet runs no exhaustion conditions"
    return types


def test_daemon_with_the_manifests_command_line_reports_as_npd(
    control_plane: ControlPlane, granted: str, tmp_path: Path
) -> None:
    """The DaemonSet's command line and ConfigMap, run as npd's identity: the Node gets npd's conditions."""
    rendered = [
        doc
        for doc in yaml.safe_load_all(control_plane.kubectl("kustomize", str(REPO_ROOT / "deploy")).stdout)
        if doc
    ]
    daemonset = next(doc for doc in rendered if doc["kind"] == "DaemonSet")
    (entry,) = daemonset["spec"]["template"]["spec"]["containers"]
    config_map_name = next(
        v["configMap"]["name"]
        for v in daemonset["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "config"
    )
    config_map = next(doc for doc in rendered if doc["kind"] == "ConfigMap")
    assert config_map["metadata"]["name"] == config_map_name
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for key, text in config_map["data"].items():
        (config_dir / key).write_text(text)
    # The container's paths mapped onto this machine; listening on loopback only (start_daemon picks ports).
    replacements = {
        "/config/": f"{config_dir}/",
        "--state-dir=/var/lib/npd": f"--state-dir={tmp_path / 'state'}",
        "--address=0.0.0.0": "--address=127.0.0.1",
        "--prometheus-address=0.0.0.0": "--prometheus-address=127.0.0.1",
    }
    args = []
    for original in entry["args"]:
        arg = original
        for old, new in replacements.items():
            arg = arg.replace(old, new)
        args.append(arg)
    assert entry["command"] == ["node-problem-detector"]
    expected = sorted(
        {c["type"] for text in config_map["data"].values() for c in json.loads(text).get("conditions", [])}
        | stats_condition_types(args)
    )

    with start_daemon(
        [*args, f"--kubeconfig={control_plane.npd_kubeconfig}"],
        tool=False,
        state_dir=None,
        env={"NODE_NAME": granted},
    ) as daemon:

        def reported() -> bool:
            node = control_plane.admin().get(Node, granted)
            return sorted(c.type for c in node.status.conditions or []) == expected  # type: ignore[union-attr]

        eventually(
            reported, lambda: f"npd's conditions on the Node; daemon log:\n{daemon.stderr_text()[-3000:]}"
        )
        # And it fits the memory it asks for (the measurements: deploy/base/daemonset.yaml).
        match = re.search(
            r"^VmRSS:\s+(\d+) kB$", Path(f"/proc/{daemon.pid}/status").read_text(), re.MULTILINE
        )
        assert match is not None
        request = entry["resources"]["requests"]["memory"]
        assert request.endswith("Mi")
        assert int(match[1]) / 1024 < int(request.removesuffix("Mi")), (
            f"npd uses {int(match[1]) / 1024:.1f} MiB with its exporter, more than the request of {request}"
        )
