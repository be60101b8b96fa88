"""kubelet's /healthz, kube-proxy's /livez and the Docker Engine API, over a minimal HTTP/1.0 client.

The stdlib's socket module is all that is needed: one GET, the status line, a deadline over the whole
exchange (``http.client``'s timeout is per socket operation, so a server trickling bytes could hold
it far past ``--health-check-timeout``), over TCP or a unix socket (Docker's). No HTTP library is
imported on this path, so the checker starts fast every 10 s.
"""

from __future__ import annotations

import socket
import time

from npd.healthcheck.options import Endpoints, socket_path
from npd.healthcheck.outcome import HEALTHY, Finding, unhealthy


class HttpError(Exception):
    """The request did not produce a status line; ``str(exc)`` says why, briefly."""


def _reason(exc: OSError) -> str:
    # Short words: the plugin monitor keeps 80 bytes of output, and upstream's prefix takes 57.
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, FileNotFoundError):
        return "no socket"
    return (exc.strerror or str(exc)).lower()


def get_status(address: tuple[str, int] | str, target: str, host: str, timeout: float) -> int:
    """GET ``target`` from ``address`` (host and port, or a unix socket path); returns the status code.

    Raises :class:`HttpError` when there is no status line within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    try:
        if isinstance(address, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(remaining())
            try:
                sock.connect(address)
            except OSError:
                sock.close()
                raise
        else:
            sock = socket.create_connection(address, timeout=remaining())
        with sock:
            request = f"GET {target} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: npd-health-checker\r\n\r\n"
            sock.sendall(request.encode())
            head = b""
            while b"\r\n" not in head:
                sock.settimeout(remaining())
                chunk = sock.recv(4096)
                if not chunk:
                    raise HttpError("connection closed without a response")
                head += chunk
                if len(head) > 65536:
                    raise HttpError("no HTTP status line")
    except OSError as exc:
        raise HttpError(_reason(exc)) from None
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP response: {status_line[:40]!r}")
    return int(parts[1])


def _host_header(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_endpoint(host: str, port: str, path: str, timeout: float) -> Finding:
    """``GET http://host:port/path`` answers 200 within ``timeout``."""
    try:
        status = get_status((host, int(port)), path, _host_header(host, port), timeout)
    except ValueError:
        return unhealthy(f"{path}: bad port {port!r}")
    except HttpError as exc:
        return unhealthy(f"{path}: {exc}")
    return HEALTHY if status == 200 else unhealthy(f"{path}: HTTP {status}")


def check_kubelet(endpoints: Endpoints, timeout: float) -> Finding:
    """kubelet's health endpoint, as upstream checks it."""
    return check_endpoint(endpoints.host, endpoints.kubelet_port, "/healthz", timeout)


def check_kube_proxy(endpoints: Endpoints, timeout: float) -> Finding:
    """kube-proxy's liveness endpoint: /livez, which (unlike /healthz) ignores the scale-down taint."""
    return check_endpoint(endpoints.host, endpoints.kube_proxy_port, "/livez", timeout)


def check_docker(endpoints: Endpoints, timeout: float) -> Finding:
    """dockerd answers ``/_ping`` and lists containers (what ``docker ps`` asks) within ``timeout``."""
    path = socket_path(endpoints.docker_host, "DOCKER_HOST")
    deadline = time.monotonic() + timeout
    for target in ("/_ping", "/containers/json"):
        try:
            status = get_status(path, target, "docker", max(deadline - time.monotonic(), 0.001))
        except HttpError as exc:
            return unhealthy(f"docker {target}: {exc}")
        if status != 200:
            return unhealthy(f"docker {target}: HTTP {status}")
    return HEALTHY
