"""Where the Kubernetes exporter connects, as whom, and for which Node.

Three ways to reach the API server, as upstream and kubectl users expect:

* in-cluster: the pod's service account (``KUBERNETES_SERVICE_HOST``/``_PORT`` and the token
  and CA mounted at ``/var/run/secrets/kubernetes.io/serviceaccount``);
* ``--kubeconfig PATH`` (npd's addition; upstream has only the override below);
* ``--apiserver-override URI``: upstream's Heapster-style URI,
  ``https://host:port?inClusterConfig=false&auth=/path/kubeconfig&insecure=true&useServiceAccount=true``.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from dataclasses import dataclass

from npd.gostrconv import parse_bool

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_EVENT_NAMESPACE = "default"


class KubeSettingsError(Exception):
    """The Kubernetes connection cannot be configured as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach the API server: a kubeconfig file, or a server with optional credentials."""

    #: A kubeconfig file to load (its current context); empty when ``server`` is given.
    kubeconfig: str = ""
    #: The API server's URL, when not taken from a kubeconfig.
    server: str = ""
    #: A CA bundle to verify the server with (empty: the system's).
    ca_file: str = ""
    #: Skip verifying the server's certificate (upstream's ``insecure=true``).
    insecure: bool = False
    #: A bearer token file, re-read when the server rejects the token (service-account rotation).
    token_file: str = ""

    def describe(self) -> str:
        """For logs: where this connects."""
        return f"kubeconfig {self.kubeconfig}" if self.kubeconfig else f"API server {self.server}"


def in_cluster(account_dir: str = SERVICE_ACCOUNT_DIR) -> bool:
    """Whether this process runs in a pod with a service account (the API server's address in env)."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(
        os.path.join(account_dir, "token")
    )


def in_cluster_connection(account_dir: str = SERVICE_ACCOUNT_DIR) -> Connection:
    """The pod's service account, as client-go's ``rest.InClusterConfig`` reads it."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise KubeSettingsError(
            "not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset): "
            "give --kubeconfig or --apiserver-override"
        )
    token = os.path.join(account_dir, "token")
    if not os.path.exists(token):
        raise KubeSettingsError(f"no service account token at {token}")
    if ":" in host:
        host = f"[{host}]"
    return Connection(
        server=f"https://{host}:{port}", ca_file=os.path.join(account_dir, "ca.crt"), token_file=token
    )


def _flag(query: dict[str, list[str]], name: str, default: bool, uri: str) -> bool:
    values = query.get(name)
    if not values:
        return default
    value = values[0]
    try:
        return parse_bool(value)  # as upstream parses these options
    except ValueError:
        raise KubeSettingsError(f"--apiserver-override={uri}: {name}={value} is not a boolean") from None


def override_connection(uri: str, account_dir: str = SERVICE_ACCOUNT_DIR) -> Connection:
    """Upstream's ``--apiserver-override`` URI (Heapster's ``GetKubeClientConfig``).

    * ``inClusterConfig`` (default true): start from the in-cluster config, with the URI's
      ``scheme://host`` (when given) replacing the server;
    * else ``auth=PATH`` loads that kubeconfig, or without it the URI's server is used bare;
    * ``insecure=true`` skips certificate verification; ``useServiceAccount=true`` adds the
      service account's token.
    """
    parsed = urllib.parse.urlsplit(uri)
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    server = f"{parsed.scheme}://{parsed.netloc}" if parsed.scheme and parsed.netloc else ""
    insecure = _flag(query, "insecure", False, uri)
    use_service_account = _flag(query, "useServiceAccount", False, uri)
    token_file = os.path.join(account_dir, "token") if use_service_account else ""
    if token_file and not os.path.exists(token_file):
        token_file = ""  # upstream uses the token only "if a readable service account token exists"
    if _flag(query, "inClusterConfig", True, uri):
        base = in_cluster_connection(account_dir)
        return Connection(
            server=server or base.server,
            ca_file="" if insecure else base.ca_file,
            insecure=insecure,
            token_file=token_file or base.token_file,
        )
    auth = query.get("auth", [""])[0]
    if auth:
        if not os.path.isfile(auth):
            raise KubeSettingsError(f"--apiserver-override={uri}: auth: no such kubeconfig file: {auth}")
        # As upstream: the kubeconfig decides about TLS; ``insecure`` applies to a bare server.
        return Connection(kubeconfig=auth, token_file=token_file)
    if not server:
        raise KubeSettingsError(f"--apiserver-override={uri}: invalid kubernetes master url specified")
    return Connection(server=server, insecure=insecure, token_file=token_file)


def choose_connection(kubeconfig: str, apiserver_override: str) -> Connection:
    """``--kubeconfig``, else ``--apiserver-override``, else the in-cluster service account."""
    if kubeconfig and apiserver_override:
        raise KubeSettingsError("--kubeconfig and --apiserver-override cannot be used together")
    if kubeconfig:
        if not os.path.isfile(kubeconfig):
            raise KubeSettingsError(f"--kubeconfig={kubeconfig}: no such file")
        return Connection(kubeconfig=kubeconfig)
    if apiserver_override:
        return override_connection(apiserver_override)
    return in_cluster_connection()


def node_name(hostname_override: str) -> str:
    """The Node to report on: ``--hostname-override``, then ``$NODE_NAME``, then the hostname.

    Upstream takes the hostname as it is; kubelet lower-cases it when it registers the Node,
    so npd does too, or a host named ``Worker-1`` would wait forever for a Node ``Worker-1``.
    """
    if hostname_override:
        return hostname_override
    from_env = os.environ.get("NODE_NAME", "")
    if from_env:
        return from_env
    return socket.gethostname().lower()
