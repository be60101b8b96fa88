"""deploy/: the kustomizations render with the control plane's kubectl, the real API server accepts them,
and the rendered objects say what docs/deploy.md promises.

Rendering uses the kubectl (and so the kustomize) built into ``tests/controlplane``; the server-side dry
run goes through the real kube-apiserver's validation and admission, as admin.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from npd.config.loader import MonitorKind, load_monitor_config
from npd.config.plugin import PluginMonitorConfig
from npd.daemon.build import BUNDLED_LOG_MONITORS, BUNDLED_STATS_MONITORS
from tests.healthcheck.conftest import FakeSystemctl, refused_port, unused_socket_path
from tests.support.daemon import console_script, start_daemon
from tests.support.kube import REPO_ROOT, ControlPlane

DEPLOY = REPO_ROOT / "deploy"
BUNDLED = REPO_ROOT / "src" / "npd" / "config" / "defaults"
UNPRIVILEGED = DEPLOY / "overlays" / "unprivileged"
HEALTH_CHECKER = DEPLOY / "overlays" / "health-checker"
#: Every kustomization a user may apply.
VARIANTS = {"default": DEPLOY, "unprivileged": UNPRIVILEGED, "health-checker": HEALTH_CHECKER}
STATE_DIR = "/var/lib/npd"
MONITOR_FLAG = "--config.system-log-monitor="
STATS_FLAG = "config.system-stats-monitor"
PLUGIN_FLAG = "config.custom-plugin-monitor"
UPSTREAM_CONFIGS = Path("/work/shared/compat/upstream-config")
#: The health-checker overlay's configs, and the host sockets it mounts for them.
HEALTH_CHECKER_CONFIGS = ["health-checker-kubelet.json", "health-checker-containerd.json"]
HOST_SOCKET_DIRS = ["/run/systemd", "/run/dbus", "/run/containerd"]

Obj = dict[str, Any]


def render(control_plane: ControlPlane, directory: Path) -> list[Obj]:
    """``kubectl kustomize DIR`` as parsed objects."""
    output = control_plane.kubectl("kustomize", str(directory)).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def only(objects: list[Obj], kind: str) -> Obj:
    """The one object of ``kind``."""
    found = [obj for obj in objects if obj["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, rendered {[o['metadata']['name'] for o in found]}"
    return found[0]


def container(daemonset: Obj) -> Obj:
    """The DaemonSet's only container."""
    containers = daemonset["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["node-problem-detector"]
    result: Obj = containers[0]
    return result


def command_line(daemonset: Obj) -> list[str]:
    """The container's command followed by its args."""
    entry = container(daemonset)
    return [*entry.get("command", []), *entry.get("args", [])]


def monitor_paths(daemonset: Obj) -> list[str]:
    """The paths ``--config.system-log-monitor`` names, in order."""
    values = [
        arg.removeprefix(MONITOR_FLAG) for arg in command_line(daemonset) if arg.startswith(MONITOR_FLAG)
    ]
    assert len(values) == 1, f"expected one {MONITOR_FLAG} flag: {command_line(daemonset)}"
    return values[0].split(",")


def config_flags(daemonset: Obj) -> dict[str, list[str]]:
    """Each ``--config.<kind>=`` flag's kind → the file names it lists under /config, in order."""
    result: dict[str, list[str]] = {}
    for arg in command_line(daemonset):
        match = re.fullmatch(r"--config\.([a-z-]+)=(.*)", arg)
        if match:
            assert match[1] not in result, f"--config.{match[1]} given twice"
            paths = match[2].split(",")
            assert all(path.startswith("/config/") for path in paths), paths
            result[match[1]] = [path.removeprefix("/config/") for path in paths]
    return result


def flag_value(daemonset: Obj, name: str) -> str:
    """The value of ``--name=value`` on the container's command line."""
    prefix = f"--{name}="
    values = [arg.removeprefix(prefix) for arg in command_line(daemonset) if arg.startswith(prefix)]
    assert len(values) == 1, f"expected one {prefix} flag: {command_line(daemonset)}"
    return values[0]


def mounted_config_map(objects: list[Obj]) -> Obj:
    """The ConfigMap the DaemonSet's ``config`` volume names (the generated name carries a hash)."""
    volumes = {v["name"]: v for v in only(objects, "DaemonSet")["spec"]["template"]["spec"]["volumes"]}
    name = volumes["config"]["configMap"]["name"]
    maps = [obj for obj in objects if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == name]
    assert len(maps) == 1, f"the config volume names {name!r}, which is not rendered once"
    return maps[0]


def host_path_mounts(daemonset: Obj) -> dict[str, tuple[Obj, Obj]]:
    """Host path → (its volume, its mount) for every hostPath volume the container mounts."""
    volumes = {v["name"]: v for v in daemonset["spec"]["template"]["spec"]["volumes"]}
    result = {}
    for mount in container(daemonset)["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "hostPath" in volume:
            result[volume["hostPath"]["path"]] = (volume, mount)
    return result


@pytest.fixture(scope="module")
def rendered(control_plane: ControlPlane) -> dict[str, list[Obj]]:
    """Each variant, rendered once."""
    return {name: render(control_plane, directory) for name, directory in VARIANTS.items()}


@pytest.fixture(scope="module")
def daemonset(rendered: dict[str, list[Obj]]) -> Obj:
    """The default variant's DaemonSet."""
    return only(rendered["default"], "DaemonSet")


# -- rendering and the API server ------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_renders_the_expected_objects(rendered: dict[str, list[Obj]], variant: str) -> None:
    names = sorted((obj["kind"], obj["metadata"]["name"]) for obj in rendered[variant])
    config_maps = [name for kind, name in names if kind == "ConfigMap"]
    # kustomize's generator appends a hash of the content, so a config change rolls the pods.
    assert len(config_maps) == 1 and re.fullmatch(
        r"node-problem-detector-config-[a-z0-9]{10}", config_maps[0]
    )
    assert [(kind, name) for kind, name in names if kind != "ConfigMap"] == [
        ("ClusterRole", "node-problem-detector"),
        ("ClusterRoleBinding", "node-problem-detector-binding"),
        ("DaemonSet", "node-problem-detector"),
        ("ServiceAccount", "node-problem-detector"),
    ]
    namespaced = [
        obj for obj in rendered[variant] if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding")
    ]
    # kube-system exists everywhere; no Namespace object is rendered (`kubectl delete -k` must not delete it).
    assert {obj["metadata"]["namespace"] for obj in namespaced} == {"kube-system"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_api_server_accepts_them(control_plane: ControlPlane, variant: str) -> None:
    result = control_plane.kubectl("apply", "--dry-run=server", "-k", str(VARIANTS[variant]))
    applied = sorted(line.split(" ", 1)[0].split("/", 1)[0] for line in result.stdout.splitlines())
    assert applied == [
        "clusterrole.rbac.authorization.k8s.io",
        "clusterrolebinding.rbac.authorization.k8s.io",
        "configmap",
        "daemonset.apps",
        "serviceaccount",
    ], result.stdout
    assert all(line.endswith("(server dry run)") for line in result.stdout.splitlines()), result.stdout


def test_api_server_rejects_a_broken_daemonset(
    control_plane: ControlPlane, rendered: dict[str, list[Obj]]
) -> None:
    # The dry run above is only worth something if the server really validates what it is sent.
    broken = json.loads(json.dumps(only(rendered["default"], "DaemonSet")))
    broken["spec"]["template"]["metadata"]["labels"] = {"app": "something-else"}  # selector no longer matches
    result = control_plane.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=json.dumps(broken), check=False
    )
    assert result.returncode != 0
    assert "selector" in result.stderr, result.stderr


# -- the ConfigMap and the command line ------------------------------------------------------------


def test_generated_copies_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "generate"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"deploy/generate --check:\n{result.stderr}"


def test_configmap_holds_every_bundled_config_byte_for_byte(rendered: dict[str, list[Obj]]) -> None:
    data = mounted_config_map(rendered["default"])["data"]
    bundled = {path.name: path.read_bytes() for path in BUNDLED.glob("*.json")}
    assert len(bundled) == 10
    assert sorted(data) == sorted(bundled)
    for name, content in bundled.items():
        assert data[name].encode("utf-8") == content, f"{name} differs from src/npd/config/defaults/{name}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_monitor_flag_names_exactly_the_configmap_keys(rendered: dict[str, list[Obj]], variant: str) -> None:
    # Every --config.<kind> flag together names each ConfigMap key once: no config is shipped
    # unused, and none is named that is not mounted.
    objects = rendered[variant]
    daemonset = only(objects, "DaemonSet")
    mounts = {m["name"]: m for m in container(daemonset)["volumeMounts"]}
    assert mounts["config"]["mountPath"] == "/config"
    flags = config_flags(daemonset)
    names = [name for names in flags.values() for name in names]
    assert len(names) == len(set(names)), f"a monitor is named twice: {names}"
    assert sorted(names) == sorted(mounted_config_map(objects)["data"])
    # The bundled monitors in every variant, in the order `npd run` uses.
    assert flags.pop("system-log-monitor") == list(BUNDLED_LOG_MONITORS)
    assert flags.pop("system-stats-monitor") == list(BUNDLED_STATS_MONITORS)
    # Plugin monitors only where the variant adds them.
    expected = (
        {PLUGIN_FLAG.removeprefix("config."): HEALTH_CHECKER_CONFIGS} if variant == "health-checker" else {}
    )
    assert flags == expected


def test_image_default_command_runs_the_same_monitors(daemonset: Obj) -> None:
    cmd = re.search(r"^CMD (\[.*\])$", (REPO_ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert cmd is not None, "Dockerfile has no one-line exec-form CMD"
    image_args = json.loads(cmd.group(1))
    image_paths = [a.removeprefix(MONITOR_FLAG) for a in image_args if a.startswith(MONITOR_FLAG)]
    assert image_paths == [",".join(monitor_paths(daemonset))]
    stats = f"--{STATS_FLAG}="
    image_stats = [a.removeprefix(stats) for a in image_args if a.startswith(stats)]
    assert image_stats == [flag_value(daemonset, STATS_FLAG)]


# -- the DaemonSet -------------------------------------------------------------------------------


def test_daemonset_keeps_upstreams_identity(daemonset: Obj) -> None:
    # Same name, namespace, selector and labels as upstream's deployment, so it updates in place.
    assert daemonset["metadata"]["name"] == "node-problem-detector"
    assert daemonset["metadata"]["namespace"] == "kube-system"
    assert daemonset["spec"]["selector"] == {"matchLabels": {"app": "node-problem-detector"}}
    assert daemonset["spec"]["template"]["metadata"]["labels"]["app"] == "node-problem-detector"
    assert command_line(daemonset)[0] == "node-problem-detector"


def test_daemonset_runs_as_npds_service_account(rendered: dict[str, list[Obj]], daemonset: Obj) -> None:
    account = only(rendered["default"], "ServiceAccount")["metadata"]
    binding = only(rendered["default"], "ClusterRoleBinding")
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == account["name"] == "node-problem-detector"
    assert spec.get("automountServiceAccountToken", True) is True
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]


def test_cluster_role_grants_only_npds_calls(rendered: dict[str, list[Obj]]) -> None:
    role = only(rendered["default"], "ClusterRole")
    binding = only(rendered["default"], "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert role["metadata"]["name"] != "system:node-problem-detector"
    grants = sorted(
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    )
    assert grants == [
        ("", "events", "create"),
        ("", "events", "patch"),
        ("", "nodes", "get"),
        ("", "nodes/status", "patch"),
    ]
    assert all("resourceNames" not in rule and "nonResourceURLs" not in rule for rule in role["rules"])


def test_node_name_comes_from_the_pods_node(daemonset: Obj) -> None:
    env = {e["name"]: e for e in container(daemonset)["env"]}
    assert env["NODE_NAME"] == {
        "name": "NODE_NAME",
        "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
    }


def test_scheduled_on_every_linux_node_whatever_its_taints(daemonset: Obj) -> None:
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert spec["priorityClassName"] == "system-node-critical"
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}
    ]
    assert daemonset["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "10%"},
    }


def test_ports_and_probes(daemonset: Obj) -> None:
    entry = container(daemonset)
    assert {p["name"]: p["containerPort"] for p in entry["ports"]} == {"http": 20256, "metrics": 20257}
    # The ports the daemon is told to serve on, on every address of the pod.
    args = command_line(daemonset)
    assert "--address=0.0.0.0" in args and "--prometheus-address=0.0.0.0" in args
    assert not any(a.startswith(("--port=", "--prometheus-port=")) for a in args)  # defaults 20256, 20257
    readiness, liveness = entry["readinessProbe"], entry["livenessProbe"]
    assert readiness["httpGet"] == {"path": "/healthz", "port": "http"}
    assert liveness["httpGet"]["port"] == "http"
    assert liveness["httpGet"]["path"] != "/healthz"  # a source failure must not restart the pod
    # At least two minutes without an answer before a restart.
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 120


def test_probe_paths_answer_as_the_manifest_assumes(tmp_path: Path, daemonset: Obj) -> None:
    """The real daemon, with a source it cannot read: readiness fails, liveness does not."""
    config = json.loads((BUNDLED / "systemd-monitor.json").read_text())
    config["logPath"] = str(tmp_path / "no-such-journal")
    path = tmp_path / "systemd-monitor.json"
    path.write_text(json.dumps(config))
    readiness = container(daemonset)["readinessProbe"]["httpGet"]["path"]
    liveness = container(daemonset)["livenessProbe"]["httpGet"]["path"]
    with start_daemon(
        ["--enable-k8s-exporter=false", f"{MONITOR_FLAG}{path}"], tool=False, state_dir=tmp_path / "state"
    ) as daemon:
        _, body = daemon.wait_for_page(readiness, lambda status, _: status == 503)
        assert "no-such-journal" in body
        assert daemon.get(liveness)[0] == 200


def test_resources_are_set(daemonset: Obj) -> None:
    resources = container(daemonset)["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"memory"}  # no CPU limit: throttling loses kmsg during floods

    def mib(quantity: str) -> int:
        match = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
        assert match, f"{quantity}: expected a quantity in Mi or Gi"
        return int(match[1]) * {"Mi": 1, "Gi": 1024}[match[2]]

    assert mib(resources["limits"]["memory"]) >= 2 * mib(resources["requests"]["memory"])
    assert mib(resources["limits"]["memory"]) > 80  # upstream's 80Mi OOM-killed it under floods


def test_host_paths(daemonset: Obj) -> None:
    mounts = host_path_mounts(daemonset)
    assert sorted(mounts) == sorted(
        ["/dev/kmsg", "/var/log", "/run/log/journal", "/etc/localtime", STATE_DIR]
    )
    for path, (_, mount) in mounts.items():
        assert mount["mountPath"] == path, "host paths appear at the same path in the container"
        assert mount.get("readOnly", False) is (path != STATE_DIR), f"{path}: only the state dir is writable"
    assert mounts[STATE_DIR][0]["hostPath"]["type"] == "DirectoryOrCreate"
    assert mounts["/dev/kmsg"][0]["hostPath"]["type"] == "CharDevice"
    assert flag_value(daemonset, "state-dir") == STATE_DIR
    other = [m for m in container(daemonset)["volumeMounts"] if m["mountPath"] not in mounts]
    assert [(m["mountPath"], m.get("readOnly")) for m in other] == [("/config", True)]


def test_security_context(daemonset: Obj) -> None:
    context = container(daemonset)["securityContext"]
    assert context == {
        "privileged": True,  # /dev/kmsg: device cgroup and CAP_SYSLOG (see daemonset.yaml)
        "runAsUser": 0,
        "runAsGroup": 0,
        "readOnlyRootFilesystem": True,
    }
    spec = daemonset["spec"]["template"]["spec"]
    assert not any(spec.get(key) for key in ("hostNetwork", "hostPID", "hostIPC"))


# -- the unprivileged overlay ------------------------------------------------------------------------


def test_unprivileged_overlay_drops_kmsg_and_every_privilege(rendered: dict[str, list[Obj]]) -> None:
    daemonset = only(rendered["unprivileged"], "DaemonSet")
    context = container(daemonset)["securityContext"]
    assert context["privileged"] is False
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["readOnlyRootFilesystem"] is True
    assert "/dev/kmsg" not in host_path_mounts(daemonset)
    assert sorted(host_path_mounts(daemonset)) == sorted(
        ["/var/log", "/run/log/journal", "/etc/localtime", STATE_DIR]
    )
    # Everything else is the base's.
    base = only(rendered["default"], "DaemonSet")
    assert command_line(daemonset) == command_line(base)
    assert container(daemonset)["resources"] == container(base)["resources"]


def test_unprivileged_overlay_reads_kernel_messages_from_the_journal(
    rendered: dict[str, list[Obj]], tmp_path: Path
) -> None:
    data = mounted_config_map(rendered["unprivileged"])["data"]
    assert sorted(data) == sorted(path.name for path in BUNDLED.glob("*.json"))
    switched = []
    for name, text in data.items():
        bundled_text = (BUNDLED / name).read_text()
        config, bundled = json.loads(text), json.loads(bundled_text)
        if name in BUNDLED_STATS_MONITORS:
            assert text == bundled_text  # reads /proc, not logs: the same in both variants
            continue
        assert config["plugin"] == "journald", f"{name} still reads {config['plugin']}"
        if bundled["plugin"] == "kmsg":
            switched.append(name)
            assert config["pluginConfig"] == {"source": "kernel"}
            assert config["logPath"] == "/var/log/journal"
            for key in ("plugin", "pluginConfig", "logPath"):
                config.pop(key, None)
                bundled.pop(key, None)
            assert config == bundled, f"{name}: more than the plugin changed"
        else:
            assert text == bundled_text
    assert sorted(switched) == [
        "hardware-monitor.json",
        "kernel-monitor.json",
        "network-monitor.json",
        "storage-monitor.json",
    ]
    # And npd loads them, rule tests included.
    for name, text in data.items():
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "npd"),
            "check-config",
            "--test",
            "--strict",
            *sorted(map(str, tmp_path.glob("*.json"))),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the health-checker overlay ----------------------------------------------------------------------


def test_health_checker_overlay_shares_the_nodes_network(rendered: dict[str, list[Obj]]) -> None:
    daemonset, base = only(rendered["health-checker"], "DaemonSet"), only(rendered["default"], "DaemonSet")
    spec = daemonset["spec"]["template"]["spec"]
    # kubelet's /healthz listens on the node's 127.0.0.1:10248 only.
    assert spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert not spec.get("hostPID") and not spec.get("hostIPC")
    # The base's container otherwise: same privileges, resources and probes, its args plus one flag.
    entry, base_entry = container(daemonset), container(base)
    for key in ("securityContext", "resources", "readinessProbe", "livenessProbe", "ports", "env"):
        assert entry[key] == base_entry[key], key
    plugin_flag = f"--{PLUGIN_FLAG}=" + ",".join(f"/config/{name}" for name in HEALTH_CHECKER_CONFIGS)
    assert command_line(daemonset) == [*command_line(base), plugin_flag]


def test_health_checker_overlay_mounts_the_host_sockets_read_only(rendered: dict[str, list[Obj]]) -> None:
    daemonset = only(rendered["health-checker"], "DaemonSet")
    mounts = host_path_mounts(daemonset)
    base = host_path_mounts(only(rendered["default"], "DaemonSet"))
    assert sorted(mounts) == sorted([*base, *HOST_SOCKET_DIRS])
    for path in HOST_SOCKET_DIRS:
        volume, mount = mounts[path]
        assert mount["mountPath"] == path
        assert mount["readOnly"] is True, f"{path} must be read-only"
        # A node without systemd, D-Bus or containerd still runs npd's other monitors.
        assert volume["hostPath"]["type"] == "DirectoryOrCreate"
    # The only writable host path is still the state directory, where the checker keeps its repairs.
    assert [path for path, (_, mount) in mounts.items() if not mount.get("readOnly")] == [STATE_DIR]


@pytest.mark.parametrize("name", HEALTH_CHECKER_CONFIGS)
def test_health_checker_configs_are_upstreams(
    rendered: dict[str, list[Obj]], name: str, tmp_path: Path
) -> None:
    text = mounted_config_map(rendered["health-checker"])["data"][name]
    assert text == (HEALTH_CHECKER / "config" / name).read_text()
    (tmp_path / name).write_text(text)
    warnings: list[str] = []
    config = load_monitor_config(str(tmp_path / name), MonitorKind.CUSTOM_PLUGIN, warnings.append)
    assert isinstance(config, PluginMonitorConfig)
    # The only remark: the image's path is not on this machine.
    assert warnings == [f"{tmp_path / name}: rules[0].path: /opt/npd/bin/health-checker does not exist here"]
    upstream = json.loads((UPSTREAM_CONFIGS / name).read_text())
    [upstream_rule] = upstream["rules"]
    [rule] = config.rules
    assert rule.path == "/opt/npd/bin/health-checker"  # the image's console script (Dockerfile's venv)
    assert (rule.condition, rule.reason) == (upstream_rule["condition"], upstream_rule["reason"])
    assert [(c.type, c.reason, c.message) for c in config.conditions] == [
        (c["type"], c["reason"], c["message"]) for c in upstream["conditions"]
    ]
    # Upstream's arguments unchanged, then only the state directory, under the base's writable hostPath.
    upstream_args = upstream_rule["args"]
    assert list(rule.args[: len(upstream_args)]) == upstream_args
    assert list(rule.args[len(upstream_args) :]) == [f"--state-dir={STATE_DIR}/health-checker"]
    # Everything else is upstream's, key for key (interval, timeouts, output length, source, metrics).
    ours = json.loads(text)
    for each in (ours, upstream):
        [each_rule] = each["rules"]
        del each_rule["path"], each_rule["args"]
    assert ours == upstream


@pytest.mark.parametrize(
    ("name", "component", "service", "dead"),
    [
        ("health-checker-kubelet.json", "kubelet", "kubelet", ("KUBELET_PORT", refused_port)),
        (
            "health-checker-containerd.json",
            "cri",
            "containerd",
            ("CONTAINER_RUNTIME_ENDPOINT", unused_socket_path),
        ),
    ],
    ids=["kubelet", "containerd"],
)
def test_health_checker_configs_run_the_checker(
    tmp_path: Path, name: str, component: str, service: str, dead: tuple[str, Callable[[], str]]
) -> None:
    """Each overlay config's arguments, run by the real checker against a dead component."""
    [rule] = json.loads((HEALTH_CHECKER / "config" / name).read_text())["rules"]
    state = tmp_path / "state"
    args = [f"--state-dir={state}" if arg.startswith("--state-dir=") else arg for arg in rule["args"]]
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    systemctl = FakeSystemctl(fakebin)  # the unit has been up for an hour: past the cooldown
    systemctl.fail_restart()  # the repair is attempted and fails, harmlessly
    result = subprocess.run(
        [console_script("health-checker"), *args],
        env={
            "PATH": systemctl.path,
            dead[0]: dead[1](),
        },  # a plugin's environment, as npd's plugin monitor sets it
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(f"{component}:{service} was found unhealthy; repair flag : true; "), (
        result.stdout
    )
    assert systemctl.restarts() == [["restart", service]]
    # The attempt is recorded where --state-dir says.
    assert [path.name for path in state.iterdir()] == [f"{component}-{service}.last-repair"]
