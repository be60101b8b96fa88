"""Catalog: container runtime problems in the journal of dockerd and containerd (docker-, containerd-monitor).

Lines are the journal's MESSAGE field: logrus text (``time=... level=error msg="..." error="..."``),
or raw stderr for Go crashes and fatal start errors. Wordings come from moby (daemon/graphdriver,
layer/, cmd/dockerd), containerd (core/unpack, pkg/cri, cmd/containerd/server) and the Go runtime
(runtime/panic.go printpanics, runtime.throw), as quoted in public bug reports.
"""

from __future__ import annotations

import pytest

from tests.catalog.harness import bundled, findings, reasons

DOCKER = "docker-monitor.json"
CONTAINERD = "containerd-monitor.json"
TS = 'time="2024-03-01T10:00:00.123456789Z"'

# (lines, expected reasons in order)
DOCKER_CASES: list[tuple[list[str], list[str]]] = [
    # Upstream's CorruptDockerImage wording (moby distribution/pull_v2.go + layer/layer_store.go).
    (
        [
            f'{TS} level=error msg="Error trying v2 registry: failed to register layer: rename /var/lib/'
            "docker/image/overlay2/layerdb/tmp/write-set-091827 /var/lib/docker/image/overlay2/layerdb/"
            'sha256/2ff3a1: directory not empty"'
        ],
        ["CorruptDockerImage"],
    ),
    # ApplyLayer (pkg/chrootarchive) failing half-way through a layer: a truncated blob.
    (
        [
            f'{TS} level=error msg="Not continuing with pull after error: failed to register layer: '
            'ApplyLayer exit status 1 stdout:  stderr: unexpected EOF"'
        ],
        ["CorruptDockerImage"],
    ),
    # moby#38051 (aufs, docker 1.12) and the overlay2 driver's mount failure during registration.
    (
        [
            "failed to register layer: open /var/lib/docker/aufs/layers/"
            "03e95f6f05d4037c285734fc9b12de5e8384528df4e20f80feccd73ba4fa2d53: no such file or directory"
        ],
        ["CorruptDockerImage"],
    ),
    (
        [
            "failed to register layer: error creating overlay mount to /var/lib/docker/overlay2/"
            "51a8bbc4dfd0302dc737f076e1bfbb67de6796cd389b87014d286dd90dd90a44/merged: no such file or "
            "directory"
        ],
        ["CorruptDockerImage"],
    ),
    (
        [
            "failed to register layer: open /var/lib/docker/overlay2/"
            "647ce8b746b9bae99307a823115888d9e5119cd883890eb3ff26ca6049230deb/committed: no such file or "
            "directory"
        ],
        ["CorruptDockerImage"],
    ),
    (
        [
            f'{TS} level=error msg="Handler for GET /v1.41/containers/json returned error: open /var/lib/'
            'docker/image/overlay2/layerdb/mounts/5c3f/mount-id: no such file or directory"'
        ],
        ["CorruptDockerImage"],
    ),
    (
        [
            "filesystem layer verification failed for digest "
            "sha256:8e0d3b0f5c3d1c8a2b7f6e5d4c3b2a190817263544536271809a8b7c6d5e4f3a"
        ],
        ["CorruptDockerImage"],
    ),
    # Upstream's CorruptDockerOverlay2 wording: a broken overlay2/l/ link.
    (
        [
            f'{TS} level=error msg="Handler for POST /v1.40/containers/4f2a/start returned error: readlink /'
            'var/lib/docker/overlay2/l/VX3JRBQ6QLBA2DCKXLJ3HF2PRJ: invalid argument"'
        ],
        ["CorruptDockerOverlay2"],
    ),
    # docker/for-linux#791: the link is gone; the -init layer's lower dirs are gone.
    (
        [
            "Error response from daemon: readlink /var/lib/docker/overlay2/l/4GWADAHD5OC5SYHTIOEPIBN64E: no "
            "such file or directory"
        ],
        ["CorruptDockerOverlay2"],
    ),
    (
        [
            f'{TS} level=error msg="Handler for POST /v1.40/containers/create returned error: error creating '
            "overlay mount to /var/lib/docker/overlay2/"
            "c022c470eecf0ae4f81c289505c6b45815a78caebe11f3cd0a201330b6ad4122-init/merged: no such file or "
            'directory"'
        ],
        ["CorruptDockerOverlay2"],
    ),
    (
        [
            "docker: Error response from daemon: error creating overlay mount to /home/ci/.docker/overlay2/"
            "1f59d9ec9bfb4fb8193fa683c3d3907d17d28f4d63f2619b970dde6acd5404bd-init/merged: no such file or "
            "directory."
        ],
        ["CorruptDockerOverlay2"],
    ),
    # Upstream's DockerContainerStartupFailure (moby daemon/start.go via containerd's task start).
    (
        ["OCI runtime start failed: container process is already dead: unknown"],
        ["DockerContainerStartupFailure"],
    ),
    (
        [
            f'{TS} level=error msg="Handler for POST /v1.41/containers/abc/start returned error: OCI runtime '
            'start failed: container process is already dead: unknown"'
        ],
        ["DockerContainerStartupFailure"],
    ),
    (
        [
            f'{TS} level=error msg="Handler for POST /v1.43/containers/abc/start returned error: OCI runtime '
            'start failed: cannot start a container that has stopped: unknown"'
        ],
        ["DockerContainerStartupFailure"],
    ),
    # cmd/dockerd: 20.10+ prints "failed to start daemon: ..." on stderr; older versions logged
    # "Error starting daemon: ..." at fatal level.
    (
        [
            "failed to start daemon: Error initializing network controller: error obtaining controller "
            "instance: failed to create NAT chain DOCKER: iptables failed: iptables --wait -t nat -N DOCKER: "
            "iptables v1.8.7 (legacy): can't initialize iptables table `nat': Table does not exist"
        ],
        ["DockerStartupFailure"],
    ),
    (
        [
            "failed to start daemon, ensure docker is not running or delete /var/run/docker.pid: process "
            "with PID 1234 is still running"
        ],
        ["DockerStartupFailure"],
    ),
    (
        [
            f'{TS} level=fatal msg="Error starting daemon: error initializing graphdriver: driver not '
            'supported"'
        ],
        ["DockerStartupFailure"],
    ),
    (["failed to start containerd: timeout waiting for containerd to start"], ["DockerStartupFailure"]),
    # Go runtime crashes (runtime/panic.go): one report per crash, the traceback lines stay quiet.
    (
        [
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x55d4c6ee4a5c]",
            "",
            "goroutine 1234 [running]:",
            "github.com/docker/docker/daemon.(*Daemon).ContainerInspect(0xc0004ce000, ...)",
        ],
        ["DockerPanic"],
    ),
    (["fatal error: concurrent map writes", "goroutine 88 [running]:"], ["DockerPanic"]),
    # A re-panic: "panic: a [recovered]" then "\tpanic: b" is one crash.
    (
        [
            "panic: runtime error: index out of range [3] with length 3 [recovered]",
            "\tpanic: runtime error: index out of range [3] with length 3",
            "goroutine 17 [running]:",
        ],
        ["DockerPanic"],
    ),
    # Go 1.23+ prints a re-panic of the same value on one line.
    (["panic: boom [recovered, repanicked]"], ["DockerPanic"]),
    # dockerd's gRPC client to containerd (moby libcontainerd).
    (
        [
            f'{TS} level=warning msg="grpc: addrConn.createTransport failed to connect to {{unix:///run/'
            'containerd/containerd.sock 0  <nil>}. Err :connection error: desc = \\"transport: Error while '
            'dialing dial unix:///run/containerd/containerd.sock: connect: connection refused\\". '
            'Reconnecting..." module=grpc'
        ],
        ["ContainerdUnreachable"],
    ),
    # ENOSPC on the data root, including while applying a layer.
    (
        [
            f'{TS} level=error msg="Handler for POST /v1.41/containers/create returned error: mkdir /var/lib/'
            'docker/overlay2/6f1a9e-init/diff: no space left on device"'
        ],
        ["DockerDiskFull"],
    ),
    (
        [
            f'{TS} level=error msg="Download failed, retrying: write /var/lib/docker/tmp/'
            'GetImageBlob123456789: no space left on device"'
        ],
        ["DockerDiskFull"],
    ),
    (
        [
            "failed to register layer: ApplyLayer exit status 1 stdout:  stderr: write /usr/lib/"
            "x86_64-linux-gnu/libLLVM-15.so.1: no space left on device"
        ],
        ["DockerDiskFull"],
    ),
    # net/http's accept loop (server.go) when dockerd runs out of descriptors.
    (
        [
            "http: Accept error: accept unix /var/run/docker.sock: accept4: too many open files; retrying in "
            "1s"
        ],
        ["DockerTooManyOpenFiles"],
    ),
]

CONTAINERD_CASES: list[tuple[list[str], list[str]]] = [
    # pkg/cri image pull -> core/unpack: a layer whose blob is gone or truncated.
    (
        [
            f'{TS} level=error msg="PullImage \\"docker.io/library/nginx:1.25\\" failed" error="failed to '
            'pull and unpack image \\"docker.io/library/nginx:1.25\\": failed to extract layer '
            "sha256:9e2b4d8ffb6a8c1c2c0f1a3b9c5f6e7d8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d: failed to get reader "
            "from content store: content digest "
            'sha256:a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90: not found"'
        ],
        ["CorruptContainerImageLayer"],
    ),
    (
        [
            f'{TS} level=error msg="PullImage \\"registry.k8s.io/pause:3.9\\" failed" error="failed to pull '
            'and unpack image \\"registry.k8s.io/pause:3.9\\": failed to unpack image on snapshotter '
            'overlayfs: unexpected EOF"'
        ],
        ["CorruptContainerImageLayer"],
    ),
    (
        [
            'failed to prepare extraction snapshot "extract-123456789-AbCd sha256:4f1c": parent snapshot '
            "sha256:0a1b2c does not exist: not found"
        ],
        ["CorruptContainerImageLayer"],
    ),
    (
        [
            f'{TS} level=error msg="PullImage \\"quay.io/app:2\\" failed" error="failed to pull and unpack '
            'image \\"quay.io/app:2\\": failed to copy: failed commit on ref \\"layer-sha256:77c1\\": '
            '\\"layer-sha256:77c1\\" failed size validation: 7340032 != 7355433: failed precondition"'
        ],
        ["CorruptContainerImageLayer"],
    ),
    (
        [
            f'{TS} level=error msg="CreateContainer within sandbox \\"e3a1\\" for '
            '&ContainerMetadata{Name:app,Attempt:0,} failed" error="failed to create containerd container: '
            "failed to stat parent: stat /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/"
            'snapshots/123/fs: no such file or directory: unknown"'
        ],
        ["CorruptContainerImageLayer"],
    ),
    # cmd/containerd/server: the CRI plugin failed to load, so kubelet has no runtime.
    (
        [
            f'{TS} level=warning msg="failed to load plugin io.containerd.grpc.v1.cri" error="invalid plugin '
            "config: no corresponding runtime configured in `containerd.runtimes` for `default_runtime_name "
            '= \\"runc\\"`"'
        ],
        ["ContainerdStartupFailure"],
    ),
    # containerd 2.x puts the plugin id in a field.
    (
        [
            f'{TS} level=warning msg="failed to load plugin" error="failed to create CRI service: failed to '
            'find snapshotter \\"overlayfs\\"" id=io.containerd.grpc.v1.cri type=io.containerd.grpc.v1'
        ],
        ["ContainerdStartupFailure"],
    ),
    (
        [
            f'{TS} level=fatal msg="Failed to run CRI service" error="failed to recover state: failed to '
            'reserve sandbox name \\"coredns_kube-system_1\\": name is reserved"'
        ],
        ["ContainerdStartupFailure"],
    ),
    (
        [
            'containerd: failed to load TOML from /etc/containerd/config.toml: invalid plugin key URI "cri" '
            "expect io.containerd.x.vx"
        ],
        ["ContainerdStartupFailure"],
    ),
    # pkg/cri/server/events.go: a task exit that cannot be handled in time (a hung shim).
    (
        [
            f'{TS} level=error msg="failed to handle container TaskExit event &TaskExit{{ContainerID:513f,'
            "ID:513f,Pid:211974,ExitStatus:0,ExitedAt:2023-09-06 07:44:42.439304235 +0000 UTC,"
            'XXX_unrecognized:[],}" error="failed to stop container: context deadline exceeded: unknown"'
        ],
        ["ContainerdTaskTimeout"],
    ),
    (
        [
            f'{TS} level=error msg="Failed to handle backOff event &TaskExit{{ContainerID:513f,ID:513f,'
            'Pid:211974,ExitStatus:255,} for 513f" error="failed to handle container TaskExit event: failed '
            'to stop container: context deadline exceeded: unknown"'
        ],
        ["ContainerdTaskTimeout"],
    ),
    (
        [
            f'{TS} level=error msg="StopContainer for \\"9c1d\\" failed" error="failed to kill container '
            '\\"9c1d\\": an error occurs during waiting for container \\"9c1d\\" to be killed: wait '
            'container \\"9c1d\\": context deadline exceeded"'
        ],
        ["ContainerdTaskTimeout"],
    ),
    (
        [
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x55d1c1e0d0a5]",
            "goroutine 4242 [running]:",
        ],
        ["ContainerdPanic"],
    ),
    (["fatal error: concurrent map iteration and map write"], ["ContainerdPanic"]),
    (
        [
            f'{TS} level=error msg="PullImage \\"busybox:1.36\\" failed" error="failed to pull and unpack '
            'image \\"docker.io/library/busybox:1.36\\": failed to copy: write /var/lib/containerd/'
            'io.containerd.content.v1.content/ingest/3f2a/data: no space left on device"'
        ],
        ["ContainerdDiskFull"],
    ),
    (
        [
            f'{TS} level=error msg="failed to create shim task" error="open /run/containerd/x: too many open '
            'files"'
        ],
        ["ContainerdTooManyOpenFiles"],
    ),
]

# Near-misses: normal runtime lines and workload (not node) problems.
DOCKER_NEAR_MISSES = [
    f'{TS} level=info msg="Loading containers: done."',
    f'{TS} level=info msg="Docker daemon" commit=311b9ff graphdriver=overlay2 version=24.0.7',
    f'{TS} level=info msg="ignoring event" container=4f2a module=libcontainerd namespace=moby topic=/tasks/'
    'delete type="*events.TaskDelete"',
    # A bad tag or a missing image is the workload's problem.
    f'{TS} level=error msg="Not continuing with pull after error: manifest unknown: manifest unknown"',
    f'{TS} level=info msg="Download failed, retrying: unexpected EOF"',
    # A container whose entrypoint is wrong.
    f'{TS} level=error msg="Handler for POST /v1.43/containers/abc/start returned error: failed to create '
    "task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable "
    'to start container process: exec: \\"/app\\": stat /app: no such file or directory: unknown"',
    f'{TS} level=error msg="recovered from panic in handler: boom"',
    f'{TS} level=warning msg="Health check for container 4f2a error: context deadline exceeded"',
    # A memory cgroup ID leak, not a full disk.
    f'{TS} level=error msg="Handler for POST /v1.39/containers/x/start returned error: mkdir /sys/fs/cgroup/'
    'memory/kubepods/burstable/pod1/x: no space left on device"',
    "goroutine 1 [running]:",
]

CONTAINERD_NEAR_MISSES = [
    f'{TS} level=info msg="shim disconnected" id=4f2a namespace=k8s.io',
    f'{TS} level=warning msg="cleaning up after shim disconnected" id=4f2a namespace=k8s.io',
    f'{TS} level=warning msg="failed to load plugin io.containerd.snapshotter.v1.devmapper" '
    'error="devmapper not configured"',
    f'{TS} level=info msg="skip loading plugin \\"io.containerd.snapshotter.v1.aufs\\"..." error="aufs is '
    'not supported (modprobe aufs failed: exit status 1 \\"modprobe: FATAL: Module aufs not found\\"): skip '
    'plugin" type=io.containerd.snapshotter.v1',
    f'{TS} level=info msg="loading plugin \\"io.containerd.grpc.v1.cri\\"..." type=io.containerd.grpc.v1',
    # A tag that does not exist, and a kubelet exec probe that timed out: workload problems.
    f'{TS} level=error msg="PullImage \\"nginx:nope\\" failed" error="failed to pull and unpack image '
    '\\"docker.io/library/nginx:nope\\": failed to resolve reference \\"docker.io/library/nginx:nope\\": '
    'docker.io/library/nginx:nope: not found"',
    f'{TS} level=error msg="ExecSync for \\"abc\\" failed" error="rpc error: code = DeadlineExceeded desc = '
    'failed to exec in container: timeout 1s exceeded: context deadline exceeded"',
    f'{TS} level=error msg="CreateContainer within sandbox \\"e3a1\\" failed" error="failed to create '
    'containerd container: get apparmor_parser version: exec: \\"apparmor_parser\\": executable file not '
    'found in $PATH"',
    # Logged on every fresh node until the CNI DaemonSet writes its config (kubelet reports it).
    f'{TS} level=error msg="failed to load cni during init, please check CRI plugin status before setting '
    'up network for pods" error="cni config load failed: no network config found in /etc/cni/net.d: cni '
    'plugin not initialized: failed to load cni config"',
]


@pytest.mark.parametrize(("lines", "expected"), DOCKER_CASES, ids=lambda value: str(value)[:60])
def test_docker_problem_lines_report_once(lines: list[str], expected: list[str]) -> None:
    assert reasons(DOCKER, lines) == expected


@pytest.mark.parametrize(("lines", "expected"), CONTAINERD_CASES, ids=lambda value: str(value)[:60])
def test_containerd_problem_lines_report_once(lines: list[str], expected: list[str]) -> None:
    assert reasons(CONTAINERD, lines) == expected


@pytest.mark.parametrize("line", DOCKER_NEAR_MISSES)
def test_docker_near_misses_stay_quiet(line: str) -> None:
    assert findings(DOCKER, [line]) == []


@pytest.mark.parametrize("line", CONTAINERD_NEAR_MISSES)
def test_containerd_near_misses_stay_quiet(line: str) -> None:
    assert findings(CONTAINERD, [line]) == []


def test_overlay2_corruption_sets_the_upstream_condition() -> None:
    found = findings(
        DOCKER,
        [
            f'{TS} level=error msg="Handler for POST /v1.40/containers/4f2a/start returned error: readlink /'
            'var/lib/docker/overlay2/l/VX3JRBQ6QLBA2DCKXLJ3HF2PRJ: invalid argument"'
        ],
    )
    assert [(f.reason, f.condition) for f in found] == [("CorruptDockerOverlay2", "CorruptDockerOverlay2")]


@pytest.mark.parametrize(
    ("config", "cases"),
    [(DOCKER, DOCKER_CASES), (CONTAINERD, CONTAINERD_CASES)],
    ids=["docker", "containerd"],
)
def test_every_rule_has_a_positive_case(config: str, cases: list[tuple[list[str], list[str]]]) -> None:
    covered = {reason for _, expected in cases for reason in expected}
    assert {rule.reason for rule in bundled(config).rules} <= covered
