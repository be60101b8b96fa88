"""Catalog: node problems in the kubelet's journal (kubelet-monitor).

Lines are klog lines as the journal stores them: ``E0301 10:00:00.123456    1234 file.go:123] msg``,
structured (``"Message" key="value"``, kubelet 1.20+) or unstructured (older kubelets). Wordings come
from kubernetes/kubernetes pkg/kubelet (kubelet.go syncLoop and updateRuntimeUp, runtime.go,
pleg/generic.go, nodestatus/setters.go, kubelet_node_status.go, eviction/, images/), cri-client
remote_runtime.go, client-go certificate manager and component-helpers lease controller.
"""

from __future__ import annotations

import pytest

from tests.catalog.harness import bundled, findings, reasons

KUBELET = "kubelet-monitor.json"
ERR = "E0301 10:00:00.123456    1234"
INFO = "I0301 10:00:00.123456    1234"
WARN = "W0301 10:00:00.123456    1234"
FATAL = "F0301 10:00:00.123456    1234"
API = "https://10.0.0.1:6443"

CASES: list[tuple[str, list[str]]] = [
    # pleg/generic.go Healthy(), reported by the syncLoop (kubelet.go) and the Ready condition.
    (
        f'{ERR} kubelet.go:2345] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last '
        'seen active 3m0.5s ago; threshold is 3m0s"',
        ["PLEGNotHealthy"],
    ),
    (
        f"{INFO} kubelet.go:1752] skipping pod synchronization - [PLEG is not healthy: pleg was last seen "
        "active 3m2.742316s ago; threshold is 3m0s]",
        ["PLEGNotHealthy"],
    ),
    # Old (fmt %v of a []string) and new (utilerrors aggregate) lists with the runtime down first.
    (
        f"{INFO} kubelet.go:1779] skipping pod synchronization - [container runtime is down PLEG is not "
        "healthy: pleg was last seen active 3m5.30015447s ago; threshold is 3m0s]",
        ["PLEGNotHealthy"],
    ),
    (
        f'{ERR} kubelet.go:2646] "Skipping pod synchronization" err="[container runtime is down, PLEG is '
        'not healthy: pleg was last seen active 4m12.345s ago; threshold is 3m0s]"',
        ["PLEGNotHealthy"],
    ),
    (
        f'{INFO} setters.go:548] "Node became not ready" node="minikube" condition={{Type:Ready '
        "Status:False LastHeartbeatTime:2023-09-07 21:49:17.170974959 +0000 UTC m=+1962.581166852 "
        "LastTransitionTime:2023-09-07 21:49:17.170974959 +0000 UTC m=+1962.581166852 "
        "Reason:KubeletNotReady Message:PLEG is not healthy: pleg was last seen active 3m1.104514415s ago; "
        "threshold is 3m0s}",
        ["PLEGNotHealthy"],
    ),
    (
        f'{INFO} setters.go:552] "Node became not ready" node="n1" condition={{"type":"Ready",'
        '"status":"False","lastHeartbeatTime":"2024-03-01T10:00:00Z",'
        '"lastTransitionTime":"2024-03-01T10:00:00Z","reason":"KubeletNotReady","message":"PLEG is not '
        'healthy: pleg was last seen active 1h2m3.5s ago; threshold is 3m0s"}',
        ["PLEGNotHealthy"],
    ),
    # runtime.go: the status check stopped succeeding, or the CRI says the runtime is not ready.
    (
        f'{ERR} kubelet.go:2646] "Skipping pod synchronization" err="container runtime is down"',
        ["ContainerRuntimeNotReady"],
    ),
    (
        f"{INFO} kubelet.go:1779] skipping pod synchronization - [container runtime is down]",
        ["ContainerRuntimeNotReady"],
    ),
    (
        f"{ERR} kubelet.go:2103] Container runtime not ready: RuntimeReady=false "
        "reason:DockerDaemonNotReady message:docker: failed to get docker version: Cannot connect to the "
        "Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        ["ContainerRuntimeNotReady"],
    ),
    (
        f'{ERR} kubelet.go:2855] "Container runtime not ready" runtimeReady="RuntimeReady=false '
        'reason:ContainerdNotReady message:containerd is not ready"',
        ["ContainerRuntimeNotReady"],
    ),
    (
        f'{ERR} kubelet.go:2993] "Container runtime sanity check failed" err="rpc error: code = '
        'DeadlineExceeded desc = context deadline exceeded"',
        ["ContainerRuntimeNotReady"],
    ),
    # The runtime error comes after PLEG in the list, so it names the report.
    (
        f'{ERR} kubelet.go:2345] "Skipping pod synchronization" err="[PLEG is not healthy: pleg was last '
        "seen active 3m30s ago; threshold is 3m0s, container runtime not ready: RuntimeReady=false "
        'reason:ContainerdNotReady message:containerd is not ready]"',
        ["ContainerRuntimeNotReady"],
    ),
    # cri-client remote_runtime.go / remote_image.go, pleg/generic.go relist: CRI calls time out.
    (
        f'{ERR} remote_runtime.go:390] "ListPodSandbox with filter from runtime service failed" err="rpc '
        'error: code = DeadlineExceeded desc = context deadline exceeded" filter="nil"',
        ["ContainerRuntimeUnresponsive"],
    ),
    (
        f"{ERR} remote_runtime.go:169] ListPodSandbox with filter nil from runtime service failed: rpc "
        "error: code = Unavailable desc = grpc: the connection is unavailable",
        ["ContainerRuntimeUnresponsive"],
    ),
    (
        f"{ERR} generic.go:205] GenericPLEG: Unable to retrieve pods: rpc error: code = DeadlineExceeded "
        "desc = context deadline exceeded",
        ["ContainerRuntimeUnresponsive"],
    ),
    (
        f'{ERR} remote_runtime.go:453] "ListContainers with filter from runtime service failed" err="rpc '
        "error: code = ResourceExhausted desc = grpc: trying to send message larger than max (16777755 vs. "
        '16777216)" filter="&ContainerFilter{Id:,State:nil,PodSandboxId:,LabelSelector:map[string]string{},'
        '}"',
        ["ContainerRuntimeUnresponsive"],
    ),
    (
        f"{WARN} logging.go:59] [core] [Channel #1 SubChannel #2] grpc: addrConn.createTransport failed to "
        'connect to {Addr: "/run/containerd/containerd.sock", ServerName: '
        '"%2Frun%2Fcontainerd%2Fcontainerd.sock", }. Err: connection error: desc = "transport: Error while '
        'dialing: dial unix /run/containerd/containerd.sock: connect: connection refused"',
        ["ContainerRuntimeUnresponsive"],
    ),
    # kubelet.go updateRuntimeUp: the CNI has not written its config (or its pod is crashing).
    (
        'E0206 11:52:25.334271  123350 kubelet.go:3008] "Container runtime network not ready" '
        'networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns '
        'error: cni plugin not initialized"',
        ["NetworkPluginNotReady"],
    ),
    (
        f"{ERR} kubelet.go:2110] Container runtime network not ready: NetworkReady=false "
        "reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized",
        ["NetworkPluginNotReady"],
    ),
    (
        f'{ERR} pod_workers.go:1298] "Error syncing pod, skipping" err="network is not ready: container '
        "runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin "
        'returns error: cni plugin not initialized" pod="kube-system/coredns-5d78c9869d-x2x4p" podUID=4a1b',
        ["NetworkPluginNotReady"],
    ),
    (
        f'{INFO} setters.go:552] "Node became not ready" node="n1" condition={{Type:Ready Status:False '
        "Reason:KubeletNotReady Message:[container runtime is down, container runtime network not ready: "
        "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin "
        "not initialized]}",
        ["NetworkPluginNotReady"],
    ),
    # cmd/kubelet: the kubelet exits (component-base cli.Run logs "command failed"; older kubelets
    # logged the error at fatal level).
    (
        f'{ERR} run.go:74] "command failed" err="failed to run Kubelet: running with swap on is not '
        "supported, please disable swap! or set --fail-swap-on flag to false. /proc/swaps contained: "
        "[Filename\\t\\t\\t\\tType\\t\\tSize\\t\\tUsed\\t\\tPriority /dev/sda2 "
        'partition\\t1999868\\t0\\t-2]"',
        ["KubeletStartupFailure"],
    ),
    (
        f"{FATAL} server.go:266] failed to run Kubelet: failed to create kubelet: misconfiguration: kubelet "
        'cgroup driver: "cgroupfs" is different from docker cgroup driver: "systemd"',
        ["KubeletStartupFailure"],
    ),
    (
        f'{ERR} run.go:74] "command failed" err="failed to run Kubelet: validate service connection: '
        'validate CRI v1 runtime API for endpoint \\"unix:///run/containerd/containerd.sock\\": rpc error: '
        'code = Unimplemented desc = unknown service runtime.v1.RuntimeService"',
        ["KubeletStartupFailure"],
    ),
    (
        f'{ERR} kubelet.go:1431] "Failed to start ContainerManager" err="failed to initialize top level QOS '
        "containers: root container [kubepods] doesn't exist\"",
        ["KubeletStartupFailure"],
    ),
    (
        f"{FATAL} kubelet.go:1380] Failed to start ContainerManager Cannot set property TasksAccounting, or "
        "unknown property.",
        ["KubeletStartupFailure"],
    ),
    # x509 failures talking to the API server (client-go), certificate rotation (certificate_manager.go)
    # and an expired bootstrap certificate (kubelet/certificate/bootstrap).
    (
        f"{ERR} reflector.go:138] k8s.io/client-go/informers/factory.go:134: Failed to watch *v1.Node: "
        f'failed to list *v1.Node: Get "{API}/api/v1/'
        'nodes?fieldSelector=metadata.name%3Dn1&limit=500&resourceVersion=0": x509: certificate has expired '
        "or is not yet valid: current time 2024-03-01T10:00:00Z is after 2024-02-28T09:00:00Z",
        ["KubeletCertificateProblem"],
    ),
    (
        f'{ERR} controller.go:146] "Failed to ensure lease exists, will retry" err="Get \\"{API}/apis/'
        'coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1?timeout=10s\\": tls: failed to verify '
        "certificate: x509: certificate has expired or is not yet valid: current time 2024-03-01T10:00:00Z "
        'is after 2024-02-28T09:00:00Z" interval="7s"',
        ["KubeletCertificateProblem"],
    ),
    (
        f'{ERR} kubelet_node_status.go:549] "Error updating node status, will retry" err="error getting '
        f'node \\"n1\\": Get \\"{API}/api/v1/nodes/n1?timeout=10s\\": x509: certificate signed by unknown '
        'authority"',
        ["KubeletCertificateProblem"],
    ),
    (
        f"{ERR} certificate_manager.go:488] kubernetes.io/kube-apiserver-client-kubelet: Failed while "
        "requesting a signed certificate from the control plane: cannot create certificate signing request: "
        "Unauthorized",
        ["KubeletCertificateProblem"],
    ),
    (
        f"{ERR} certificate_manager.go:434] Failed while requesting a signed certificate from the master: "
        "cannot create certificate signing request: Unauthorized",
        ["KubeletCertificateProblem"],
    ),
    (
        f'{INFO} bootstrap.go:84] "Part of the existing bootstrap client certificate in /etc/kubernetes/'
        'kubelet.conf is expired" expirationDate="2023-01-01 00:00:00 +0000 UTC"',
        ["KubeletCertificateProblem"],
    ),
    # kubelet_node_status.go and the node lease controller: the API server does not take updates.
    (
        f'{ERR} kubelet_node_status.go:549] "Error updating node status, will retry" err="error getting '
        f'node \\"n1\\": Get \\"{API}/api/v1/nodes/n1?resourceVersion=0&timeout=10s\\": context deadline '
        'exceeded"',
        ["NodeStatusUpdateFailed"],
    ),
    (
        f"{ERR} kubelet_node_status.go:377] Error updating node status, will retry: error getting node "
        f'"n1": Get {API}/api/v1/nodes/n1?timeout=10s: write tcp 10.0.0.5:45678->10.0.0.1:6443: use of '
        "closed network connection",
        ["NodeStatusUpdateFailed"],
    ),
    (
        f"{ERR} kubelet_node_status.go:364] Unable to update node status: update node status exceeds retry "
        "count",
        ["NodeStatusUpdateFailed"],
    ),
    (
        f"{ERR} controller.go:187] failed to update lease, error: Put {API}/apis/coordination.k8s.io/v1/"
        "namespaces/kube-node-lease/leases/n1?timeout=10s: net/http: request canceled (Client.Timeout "
        "exceeded while awaiting headers)",
        ["NodeStatusUpdateFailed"],
    ),
    (
        f'{ERR} controller.go:195] "Failed to update lease" err="Put \\"{API}/apis/coordination.k8s.io/v1/'
        'namespaces/kube-node-lease/leases/n1?timeout=10s\\": dial tcp 10.0.0.1:6443: connect: connection '
        'refused"',
        ["NodeStatusUpdateFailed"],
    ),
    # eviction/eviction_manager.go
    (
        f'{INFO} eviction_manager.go:349] "Eviction manager: attempting to reclaim" '
        'resourceName="ephemeral-storage"',
        ["NodePressureEviction"],
    ),
    (
        f"{WARN} eviction_manager.go:332] eviction manager: attempting to reclaim nodefs",
        ["NodePressureEviction"],
    ),
    (
        f'{ERR} eviction_manager.go:369] "Eviction manager: unable to evict any pods from the node"',
        ["NodePressureEviction"],
    ),
    # kubelet.go StartGarbageCollection, images/image_gc_manager.go
    (
        f'{ERR} kubelet.go:1332] "Image garbage collection failed multiple times in a row" err="failed to '
        "garbage collect required amount of images. Attempted to free 4563423232 bytes, but only found 0 "
        'bytes eligible to free."',
        ["ImageGCFailed"],
    ),
    (
        f"{ERR} kubelet.go:1275] Image garbage collection failed multiple times in a row: failed to garbage "
        "collect required amount of images. Wanted to free 6148857446 bytes, but freed 0 bytes",
        ["ImageGCFailed"],
    ),
]

NEAR_MISSES = [
    # Every kubelet start, before the first relist and runtime status check.
    f'{ERR} kubelet.go:2412] "Skipping pod synchronization" err="[container runtime status check may not '
    'have completed yet, PLEG is not healthy: pleg has yet to be successful]"',
    # Kubelets before 1.10 at start: the zero time's age is the longest Go duration.
    f"{INFO} kubelet.go:1779] skipping pod synchronization - [container runtime is down PLEG is not "
    "healthy: pleg was last seen active 2562047h47m16.854775807s ago; threshold is 3m0s]",
    f'{ERR} kubelet.go:1343] "Image garbage collection failed once. Stats initialization may not have '
    'completed yet" err="failed to get imageFs info: unable to find data in memory cache"',
    f'{ERR} kubelet.go:2448] "Error getting node" err="node \\"n1\\" not found"',
    f'{INFO} kubelet_node_status.go:70] "Attempting to register node" node="n1"',
    f'{INFO} setters.go:552] "Node became not ready" node="n1" condition={{"type":"Ready","status":"False",'
    '"reason":"KubeletNotReady","message":"node is shutting down"}',
    # One pod's problems are the workload's, not the node's.
    f'{ERR} pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for '
    '\\"app\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container=app '
    'pod=app-7d9_default(4a1b)\\"" pod="default/app-7d9" podUID=4a1b',
    f'{ERR} pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for '
    '\\"app\\" with ErrImagePull: \\"rpc error: code = Unknown desc = failed to pull and unpack image '
    '\\\\\\"registry.example.com/app:1\\\\\\": failed to resolve reference: failed to do request: Head '
    '\\\\\\"https://registry.example.com/v2/app/manifests/1\\\\\\": x509: certificate signed by unknown '
    'authority\\"" pod="default/app-1" podUID=9f0e',
    f'{ERR} remote_runtime.go:432] "ContainerStatus from runtime service failed" err="rpc error: code = '
    'NotFound desc = an error occurred when try to find container \\"abc\\": not found" containerID="abc"',
    # Optimistic concurrency on the lease: the next renewal succeeds.
    f'{ERR} controller.go:193] "Failed to update lease" err="Operation cannot be fulfilled on '
    'leases.coordination.k8s.io \\"n1\\": the object has been modified; please apply your changes to the '
    'latest version and try again"',
    f'{INFO} certificate_manager.go:356] "Certificate rotation deadline determined" logger="kubernetes.io/'
    'kube-apiserver-client-kubelet" expiration="2025-03-01 10:00:00 +0000 UTC" deadline="2024-12-20 '
    '07:00:00 +0000 UTC"',
    f'{INFO} eviction_manager.go:292] "Eviction manager: synchronize pod status" pod="default/app"',
]


@pytest.mark.parametrize(("line", "expected"), CASES, ids=lambda value: str(value)[:70])
def test_kubelet_problem_lines_report_once(line: str, expected: list[str]) -> None:
    assert reasons(KUBELET, [line]) == expected


@pytest.mark.parametrize("line", NEAR_MISSES, ids=lambda value: value[35:95])
def test_kubelet_near_misses_stay_quiet(line: str) -> None:
    assert findings(KUBELET, [line]) == []


def test_every_rule_has_a_positive_case() -> None:
    covered = {reason for _, expected in CASES for reason in expected}
    assert {rule.reason for rule in bundled(KUBELET).rules} <= covered
