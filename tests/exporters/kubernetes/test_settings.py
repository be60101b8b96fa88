"""Where the Kubernetes exporter connects (upstream's ``--apiserver-override`` URIs, ``--kubeconfig``,
in-cluster), for which Node, and when ``npd run`` and ``node-problem-detector`` turn it on."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import npd.daemon.options
from npd.daemon.options import Options, build_options, daemon_flags
from npd.exporters.kubernetes import settings
from npd.exporters.kubernetes.settings import (
    Connection,
    KubeSettingsError,
    choose_connection,
    in_cluster,
    in_cluster_connection,
    node_name,
    override_connection,
)

GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not in a pod: the service address is unset (whatever the machine running the tests has)."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pod's service-account directory (token, ca.crt, namespace) and the service's address."""
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text("eyJ.fake.token")
    (directory / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (directory / "namespace").write_text("kube-system")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return directory


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n")
    return path


def settings_error(call: functools.partial[Connection]) -> str:
    with pytest.raises(KubeSettingsError) as caught:
        call()
    return str(caught.value)


# -- in-cluster ---------------------------------------------------------------------------------


def test_in_cluster_connection_uses_the_service_address_token_and_ca(account: Path) -> None:
    assert in_cluster_connection(str(account)) == Connection(
        server="https://10.0.0.1:443", ca_file=str(account / "ca.crt"), token_file=str(account / "token")
    )


def test_in_cluster_connection_brackets_an_ipv6_service_host(
    account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1")
    assert in_cluster_connection(str(account)).server == "https://[fd00:10:96::1]:443"


def test_in_cluster_connection_without_the_service_address_says_what_to_give(
    account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT")
    message = settings_error(functools.partial(in_cluster_connection, str(account)))
    assert "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset" in message
    assert "--kubeconfig" in message and "--apiserver-override" in message


def test_in_cluster_connection_without_a_token_names_the_missing_file(account: Path) -> None:
    (account / "token").unlink()
    message = settings_error(functools.partial(in_cluster_connection, str(account)))
    assert message == f"no service account token at {account / 'token'}"


def test_in_cluster_needs_both_the_service_address_and_the_token(
    account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert in_cluster(str(account))
    (account / "token").unlink()
    assert not in_cluster(str(account))
    (account / "token").write_text("t")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    assert not in_cluster(str(account))


# -- --apiserver-override, in-cluster forms (inClusterConfig defaults to true) -------------------


def test_override_with_a_server_replaces_only_the_in_cluster_address(account: Path) -> None:
    assert override_connection("https://api.example:6443", str(account)) == Connection(
        server="https://api.example:6443",
        ca_file=str(account / "ca.crt"),
        token_file=str(account / "token"),
    )


@pytest.mark.parametrize("uri", ["", "?inClusterConfig=true", "?inClusterConfig=1"])
def test_override_without_a_server_keeps_the_in_cluster_address(account: Path, uri: str) -> None:
    connection = override_connection(uri, str(account))
    assert connection.server == "https://10.0.0.1:443"
    assert connection.token_file == str(account / "token")


def test_override_in_cluster_with_an_ipv6_service_host(
    account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "::1")
    assert override_connection("?inClusterConfig=true", str(account)).server == "https://[::1]:443"


def test_override_with_an_ipv6_server(account: Path) -> None:
    assert override_connection("https://[fd00::5]:6443", str(account)).server == "https://[fd00::5]:6443"


def test_override_insecure_in_cluster_drops_the_ca(account: Path) -> None:
    # Heapster clears TLSClientConfig.CAFile when insecure: a CA and insecure cannot be combined.
    assert override_connection("https://api.example:6443?insecure=true", str(account)) == Connection(
        server="https://api.example:6443", ca_file="", insecure=True, token_file=str(account / "token")
    )


def test_override_in_cluster_outside_a_cluster_is_an_error(tmp_path: Path, no_cluster: None) -> None:
    message = settings_error(
        functools.partial(override_connection, "https://api.example:6443", str(tmp_path))
    )
    assert "not running in a cluster" in message


# -- --apiserver-override, inClusterConfig=false ------------------------------------------------


def test_override_with_auth_loads_that_kubeconfig(kubeconfig: Path, no_cluster: None) -> None:
    connection = override_connection(f"https://ignored:6443?inClusterConfig=false&auth={kubeconfig}")
    assert connection == Connection(kubeconfig=str(kubeconfig))


def test_override_with_auth_ignores_insecure_as_upstream_does(kubeconfig: Path, no_cluster: None) -> None:
    # Upstream builds the client from the kubeconfig alone; its TLS settings decide.
    connection = override_connection(f"https://h:6443?inClusterConfig=false&auth={kubeconfig}&insecure=true")
    assert connection == Connection(kubeconfig=str(kubeconfig))


def test_override_with_a_missing_auth_file_names_it(tmp_path: Path, no_cluster: None) -> None:
    missing = tmp_path / "absent.kubeconfig"
    uri = f"https://h:6443?inClusterConfig=false&auth={missing}"
    message = settings_error(functools.partial(override_connection, uri))
    assert message == f"--apiserver-override={uri}: auth: no such kubeconfig file: {missing}"


@pytest.mark.parametrize(
    ("uri", "server"),
    [
        ("https://10.1.2.3:6443?inClusterConfig=false&insecure=true", "https://10.1.2.3:6443"),
        ("http://127.0.0.1:8080?inClusterConfig=false&insecure=true", "http://127.0.0.1:8080"),
        ("https://[fd00::1]:6443?inClusterConfig=false&insecure=true", "https://[fd00::1]:6443"),
    ],
)
def test_override_bare_server_insecure(uri: str, server: str, no_cluster: None) -> None:
    assert override_connection(uri) == Connection(server=server, insecure=True)


def test_override_bare_server_verifies_by_default(no_cluster: None) -> None:
    assert override_connection("https://10.1.2.3:6443?inClusterConfig=false") == Connection(
        server="https://10.1.2.3:6443"
    )


def test_override_without_server_or_auth_is_an_invalid_master_url(no_cluster: None) -> None:
    message = settings_error(functools.partial(override_connection, "?inClusterConfig=false"))
    assert message == "--apiserver-override=?inClusterConfig=false: invalid kubernetes master url specified"


def test_override_use_service_account_adds_the_token(account: Path) -> None:
    uri = "https://10.1.2.3:6443?inClusterConfig=false&useServiceAccount=true"
    assert override_connection(uri, str(account)) == Connection(
        server="https://10.1.2.3:6443", token_file=str(account / "token")
    )


def test_override_use_service_account_without_a_token_goes_on_without(tmp_path: Path) -> None:
    # Upstream: "If a readable service account token exists, then use it".
    uri = "https://10.1.2.3:6443?inClusterConfig=false&useServiceAccount=true"
    assert override_connection(uri, str(tmp_path)) == Connection(server="https://10.1.2.3:6443")


@pytest.mark.parametrize("word", GO_TRUE)
def test_override_booleans_take_go_true_spellings(word: str, no_cluster: None) -> None:
    assert override_connection(f"https://h:1?inClusterConfig=false&insecure={word}").insecure


@pytest.mark.parametrize("word", GO_FALSE)
def test_override_booleans_take_go_false_spellings(word: str, kubeconfig: Path, no_cluster: None) -> None:
    # inClusterConfig=<false> is the only way this parses outside a cluster.
    assert override_connection(f"?inClusterConfig={word}&auth={kubeconfig}").kubeconfig == str(kubeconfig)


@pytest.mark.parametrize(
    ("query", "name", "value"),
    [
        ("inClusterConfig=no", "inClusterConfig", "no"),
        ("inClusterConfig=false&insecure=yes", "insecure", "yes"),
        ("inClusterConfig=false&useServiceAccount=2", "useServiceAccount", "2"),
        ("inClusterConfig=false&insecure=tRuE", "insecure", "tRuE"),
        # Go's url.Query keeps an empty value, and strconv.ParseBool refuses it.
        ("inClusterConfig=false&insecure=", "insecure", ""),
    ],
)
def test_override_bad_boolean_is_named(query: str, name: str, value: str, no_cluster: None) -> None:
    uri = f"https://h:6443?{query}"
    message = settings_error(functools.partial(override_connection, uri))
    assert message == f"--apiserver-override={uri}: {name}={value} is not a boolean"


# -- choose_connection ----------------------------------------------------------------------------


def test_choose_kubeconfig(kubeconfig: Path, no_cluster: None) -> None:
    assert choose_connection(str(kubeconfig), "") == Connection(kubeconfig=str(kubeconfig))


def test_choose_missing_kubeconfig_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    message = settings_error(functools.partial(choose_connection, str(missing), ""))
    assert message == f"--kubeconfig={missing}: no such file"


def test_choose_override(no_cluster: None) -> None:
    assert choose_connection("", "https://h:6443?inClusterConfig=false&insecure=true") == Connection(
        server="https://h:6443", insecure=True
    )


def test_choose_both_is_an_error(kubeconfig: Path) -> None:
    message = settings_error(functools.partial(choose_connection, str(kubeconfig), "https://h:6443"))
    assert message == "--kubeconfig and --apiserver-override cannot be used together"


def test_choose_neither_means_in_cluster(account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # choose_connection reads the real service-account directory; point the default there.
    monkeypatch.setattr(
        settings, "in_cluster_connection", functools.partial(in_cluster_connection, str(account))
    )
    assert choose_connection("", "") == Connection(
        server="https://10.0.0.1:443", ca_file=str(account / "ca.crt"), token_file=str(account / "token")
    )


def test_choose_neither_outside_a_cluster_says_what_to_give(no_cluster: None) -> None:
    message = settings_error(functools.partial(choose_connection, "", ""))
    assert "not running in a cluster" in message and "--kubeconfig" in message


# -- node_name -----------------------------------------------------------------------------------


def test_node_name_override_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_NAME", "from-env")
    assert node_name("from-flag") == "from-flag"


def test_node_name_from_env_before_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_NAME", "from-env")
    monkeypatch.setattr(settings.socket, "gethostname", lambda: "host")
    assert node_name("") == "from-env"


def test_node_name_is_the_lower_cased_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NODE_NAME", raising=False)
    monkeypatch.setattr(settings.socket, "gethostname", lambda: "Worker-1.Example")
    assert node_name("") == "worker-1.example"


def test_node_name_override_keeps_its_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NODE_NAME", raising=False)
    assert node_name("Exact-Name") == "Exact-Name"


# -- when the exporter is on ---------------------------------------------------------------------


def options(*argv: str, tool: bool) -> Options:
    program = "npd run" if tool else "node-problem-detector"
    values, _, seen = daemon_flags(program, tool=tool).parse(argv)
    return build_options(values, tool=tool, seen=seen)


@pytest.mark.parametrize(
    ("argv", "enabled"),
    [
        ((), False),
        (("--kubeconfig=/etc/kubeconfig",), True),
        (("--apiserver-override=https://h:6443?inClusterConfig=false",), True),
        (("--enable-k8s-exporter",), True),
        (("--enable-k8s-exporter=true",), True),
        (("--enable-k8s-exporter=false", "--kubeconfig", "/etc/kubeconfig"), False),
        (("--enable-k8s-exporter=false", "--apiserver-override=https://h:6443"), False),
        (("--hostname-override=n1", "--event-namespace=kube-system"), False),
    ],
)
def test_npd_run_exports_only_where_it_can(argv: tuple[str, ...], enabled: bool, no_cluster: None) -> None:
    assert options(*argv, tool=True).enable_k8s_exporter is enabled


def test_npd_run_exports_in_a_cluster(account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(npd.daemon.options, "in_cluster", functools.partial(in_cluster, str(account)))
    assert options(tool=True).enable_k8s_exporter is True
    assert options("--enable-k8s-exporter=false", tool=True).enable_k8s_exporter is False


def test_npd_run_outside_a_cluster_with_only_the_address_stays_off(
    account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (account / "token").unlink()
    monkeypatch.setattr(npd.daemon.options, "in_cluster", functools.partial(in_cluster, str(account)))
    assert options(tool=True).enable_k8s_exporter is False


@pytest.mark.parametrize(
    ("argv", "enabled"),
    [
        ((), True),
        (("--enable-k8s-exporter=false",), False),
        (("--enable-k8s-exporter=0", "--kubeconfig=/k"), False),
    ],
)
def test_node_problem_detector_exports_by_default(
    argv: tuple[str, ...], enabled: bool, no_cluster: None
) -> None:
    assert options(*argv, tool=False).enable_k8s_exporter is enabled


def test_kube_options_carry_the_flags(no_cluster: None) -> None:
    kube = options(
        "--kubeconfig=/k",
        "--event-namespace=kube-system",
        "--k8s-exporter-write-events=false",
        "--k8s-exporter-update-node-conditions=false",
        "--k8s-exporter-heartbeat-period=30s",
        "--kube-api-qps=5",
        "--kube-api-burst=7",
        "--apiserver-wait-timeout=1m",
        "--apiserver-wait-interval=500ms",
        tool=True,
    ).kube
    assert (kube.kubeconfig, kube.event_namespace, kube.write_events, kube.update_conditions) == (
        "/k",
        "kube-system",
        False,
        False,
    )
    assert (kube.heartbeat_period, kube.qps, kube.burst, kube.wait_timeout, kube.wait_interval) == (
        30.0,
        5.0,
        7,
        60.0,
        0.5,
    )
