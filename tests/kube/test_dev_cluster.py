"""The test control plane itself: ``tools/dev-cluster`` end to end, and the pytest fixtures.

Everything here talks to the real kube-apiserver of ``tests/controlplane``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
from lightkube import ApiError
from lightkube.resources.core_v1 import ConfigMap, Node, Secret

from tests.support.kube import REPO_ROOT, ControlPlane, ControlPlaneError, unique_node_name

DEV_CLUSTER = REPO_ROOT / "tools" / "dev-cluster"


def _run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], capture_output=True, text=True, timeout=180, env=env, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{result.args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(5)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


def test_dev_cluster_up_status_down_and_up_again_with_the_same_data(tmp_path: Path) -> None:
    cluster = tmp_path / "dc"
    node = unique_node_name("dev-cluster")
    env = {**os.environ, "NODE_NAME": node}
    kubectl: list[str | Path] = [cluster / "bin" / "kubectl", "--kubeconfig", cluster / "admin.kubeconfig"]
    try:
        _ok(_run(DEV_CLUSTER, "up", cluster, env=env))
        assert f"node/{node}" in _ok(_run(*kubectl, "get", "nodes", "-o", "name")).split()
        uid = _ok(_run(*kubectl, "get", "node", node, "-o", "jsonpath={.metadata.uid}"))
        assert uid
        assert _ok(_run(DEV_CLUSTER, "status", cluster)).startswith("dev-cluster: running")
        pid = int((cluster / "controlplane.pid").read_text())
        server = json.loads((cluster / "ready").read_text())["server"]
        port = int(server.rsplit(":", 1)[1])

        _ok(_run(DEV_CLUSTER, "down", cluster))
        assert not _alive(pid)
        assert _refuses_connections(port)
        assert _run(DEV_CLUSTER, "status", cluster).returncode == 1

        _ok(_run(DEV_CLUSTER, "up", cluster, env=env))
        assert json.loads((cluster / "ready").read_text())["server"] == server
        # The same uid: the Node came back from etcd, `up` did not just create it again.
        assert _ok(_run(*kubectl, "get", "node", node, "-o", "jsonpath={.metadata.uid}")) == uid
        assert _run(DEV_CLUSTER, "status", cluster).returncode == 0
    finally:
        _run(DEV_CLUSTER, "down", cluster)
    assert _run(DEV_CLUSTER, "status", cluster).returncode == 1


def test_admin_creates_gets_and_deletes_a_node(control_plane: ControlPlane) -> None:
    name = unique_node_name("smoke")
    created = control_plane.create_node(name, labels={"npd.dev/test": "smoke"})
    assert created.metadata is not None and created.metadata.uid
    fetched = control_plane.admin().get(Node, name)
    assert fetched.metadata is not None
    assert fetched.metadata.uid == created.metadata.uid
    assert fetched.metadata.labels == {"npd.dev/test": "smoke"}

    control_plane.delete_node(name)
    with pytest.raises(ApiError) as excinfo:
        control_plane.admin().get(Node, name)
    assert excinfo.value.status.code == 404
    with pytest.raises(ApiError):
        control_plane.delete_node(name)
    control_plane.delete_node(name, missing_ok=True)


def test_kube_node_is_a_fresh_node_of_the_shared_control_plane(
    control_plane: ControlPlane, kube_node: str
) -> None:
    node = control_plane.admin().get(Node, kube_node)
    assert node.metadata is not None
    assert node.metadata.labels == {"kubernetes.io/hostname": kube_node}
    # No kubelet: nobody has written a status yet.
    assert node.status is None or not node.status.conditions
    assert control_plane.kubectl("get", "node", kube_node, "-o", "name").stdout.strip() == f"node/{kube_node}"


def test_npd_identity_authenticates_but_may_not_read_secrets(control_plane: ControlPlane) -> None:
    npd_kubeconfig = control_plane.npd_kubeconfig
    whoami = control_plane.kubectl(
        "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}", kubeconfig=npd_kubeconfig
    )
    assert whoami.stdout == "system:serviceaccount:kube-system:node-problem-detector"

    npd = control_plane.client_for(npd_kubeconfig)
    with pytest.raises(ApiError) as excinfo:
        list(npd.list(Secret, namespace="kube-system"))
    assert excinfo.value.status.code == 403
    # The admin identity in the same server may (so the 403 is about RBAC, not the server).
    assert isinstance(list(control_plane.admin().list(Secret, namespace="kube-system")), list)


def test_kubectl_reads_stdin_and_reports_failures(control_plane: ControlPlane) -> None:
    name = unique_node_name("kubectl")
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}
    control_plane.kubectl("apply", "-n", "default", "-f", "-", input=json.dumps(manifest))
    try:
        assert control_plane.admin().get(ConfigMap, name, namespace="default").data == {"k": "v"}
    finally:
        control_plane.kubectl("delete", "configmap", name, "-n", "default")

    missing = control_plane.kubectl("get", "configmap", name, "-n", "default", check=False)
    assert missing.returncode != 0
    assert "NotFound" in missing.stderr
    with pytest.raises(ControlPlaneError, match="NotFound"):
        control_plane.kubectl("get", "configmap", name, "-n", "default")


def test_restartable_control_plane_keeps_its_data_across_an_outage(
    restartable_control_plane: ControlPlane, control_plane: ControlPlane
) -> None:
    plane = restartable_control_plane
    assert plane.server != control_plane.server
    admin = plane.admin()
    uid = plane.create_node("survivor").metadata.uid  # type: ignore[union-attr]
    server = plane.server

    plane.stop()
    assert not plane.running
    assert _refuses_connections(plane.port)
    # The shared control plane still answers (a 404 is an answer) and never had that Node.
    with pytest.raises(ApiError) as excinfo:
        control_plane.admin().get(Node, "survivor")
    assert excinfo.value.status.code == 404

    plane.start()
    assert plane.server == server
    # The client made before the outage reconnects, and the Node came back from etcd.
    node = admin.get(Node, "survivor")
    assert node.metadata is not None
    assert node.metadata.uid == uid


def test_start_fails_with_the_log_when_the_server_exits_early(tmp_path: Path) -> None:
    fake = tmp_path / "fake-controlplane"
    fake.write_text("#!/bin/sh\necho 'listen tcp 127.0.0.1:1: bind: permission denied'\nexit 3\n")
    fake.chmod(0o755)
    plane = ControlPlane(tmp_path / "dir", binary=fake)
    with pytest.raises(ControlPlaneError, match=r"(?s)exited with 3 before it was ready.*permission denied"):
        plane.start()
    assert not plane.running


def test_start_gives_up_after_its_deadline_and_stops_the_server(tmp_path: Path) -> None:
    fake = tmp_path / "fake-controlplane"
    pid_file = tmp_path / "pid"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\necho 'waiting for etcd'\nexec sleep 60\n")
    fake.chmod(0o755)
    plane = ControlPlane(tmp_path / "dir", binary=fake)
    with pytest.raises(ControlPlaneError, match=r"(?s)not ready after 1s.*waiting for etcd"):
        plane.start(timeout=1)
    assert not plane.running
    assert not _alive(int(pid_file.read_text()))
