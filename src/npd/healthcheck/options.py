"""The health checker's command line: upstream's flags (pflag rules) and npd's additions, validated."""

from __future__ import annotations

import enum
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from npd.cli.flags import Flag, FlagError, FlagSet, Kind, add_helper_klog_flags
from npd.goregex import GoRegexError, compile_go


class Component(enum.Enum):
    """What is checked."""

    KUBELET = "kubelet"
    KUBE_PROXY = "kube-proxy"
    CRI = "cri"
    DOCKER = "docker"


#: The systemd unit each component runs as, when --service is not given (upstream's defaults).
DEFAULT_SERVICE = {
    Component.KUBELET: "kubelet",
    Component.KUBE_PROXY: "kube-proxy",
    Component.CRI: "containerd",
    Component.DOCKER: "docker",
}

DEFAULT_CRI_SOCKET = "unix:///var/run/containerd/containerd.sock"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_STATE_DIR = "/var/lib/npd/health-checker"
#: Environment variables that change two defaults: the CRI endpoint (crictl's variable) and the state
#: directory (npd's), so a config with upstream's exact arguments can point elsewhere.
CRI_ENDPOINT_ENV = "CONTAINER_RUNTIME_ENDPOINT"
STATE_DIR_ENV = "NPD_HEALTH_CHECKER_STATE_DIR"
#: npd's default repair: a restart (upstream's `systemctl kill` leaves a Restart=on-failure unit dead, #861).
DEFAULT_REPAIR_COMMAND = "systemctl restart {service}"
#: Upstream's limit on every helper command it runs (systemctl, journalctl, ...).
COMMAND_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class LogPattern:
    """``--log-pattern count:pattern``: unhealthy when ``pattern`` is found ``count`` times."""

    count: int
    pattern: str


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the components listen, from the environment as upstream reads it."""

    host: str = "localhost"
    kubelet_port: str = "10248"
    kube_proxy_port: str = "10256"
    docker_host: str = DEFAULT_DOCKER_HOST

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Endpoints:
        """HOST_ADDRESS, KUBELET_PORT, KUBEPROXY_PORT (upstream's) and DOCKER_HOST (the docker CLI's)."""
        given = {
            "host": env.get("HOST_ADDRESS"),
            "kubelet_port": env.get("KUBELET_PORT"),
            "kube_proxy_port": env.get("KUBEPROXY_PORT"),
            "docker_host": env.get("DOCKER_HOST"),
        }
        return cls(**{key: value for key, value in given.items() if value})


@dataclass(frozen=True, slots=True)
class HealthOptions:
    """The command line, validated; durations in seconds."""

    component: Component
    service: str
    enable_repair: bool
    cooldown: float
    loopback: float
    health_check_timeout: float
    cri_socket: str
    cri_timeout: float
    log_patterns: tuple[LogPattern, ...]
    journal_path: str
    repair_command: tuple[str, ...]
    state_dir: str
    endpoints: Endpoints


def flag_set(program: str) -> FlagSet:
    """Every flag the command takes, with upstream's defaults."""
    flags = FlagSet(program)
    flags.add(
        Flag(
            "component", Kind.STRING, "kubelet", "The component to check (kubelet, kube-proxy, cri, docker)."
        )
    )
    flags.add(
        Flag("service", Kind.STRING, "", "The systemd unit of the component (default: the component's).")
    )
    flags.add(
        Flag(
            "systemd-service",
            Kind.STRING,
            "",
            "The systemd unit of the component.",
            dest="service",
            deprecated="use --service instead",
        )
    )
    flags.add(Flag("enable-repair", Kind.BOOL, True, "Restart the component's unit when it is unhealthy."))
    flags.add(Flag("crictl-path", Kind.STRING, "/usr/bin/crictl", "Accepted for upstream's configs; unused."))
    flags.add(Flag("cri-socket-path", Kind.STRING, DEFAULT_CRI_SOCKET, "The CRI runtime's socket."))
    flags.add(Flag("cri-timeout", Kind.DURATION, 2.0, "The timeout of each CRI call."))
    flags.add(
        Flag(
            "cooldown-time",
            Kind.DURATION,
            120.0,
            "No repair until the unit has run (and last repair was) this long.",
        )
    )
    flags.add(
        Flag(
            "loopback-time",
            Kind.DURATION,
            0.0,
            "How far back log patterns are counted (0: since the unit started).",
        )
    )
    flags.add(Flag("health-check-timeout", Kind.DURATION, 10.0, "The timeout of the health check."))
    flags.add(
        Flag(
            "log-pattern",
            Kind.STRINGS,
            [],
            "count:pattern: unhealthy at count matches in the unit's log (repeatable, comma-separated).",
        )
    )
    # npd's additions.
    flags.add(
        Flag("journal-path", Kind.STRING, "", "The journal directory to read (default: the system journal).")
    )
    flags.add(
        Flag(
            "repair-command",
            Kind.STRING,
            DEFAULT_REPAIR_COMMAND,
            "The repair, a command line run without a shell; {service} is the unit.",
        )
    )
    flags.add(Flag("state-dir", Kind.STRING, DEFAULT_STATE_DIR, "Where the time of the last repair is kept."))
    add_helper_klog_flags(flags)
    return flags


def _log_patterns(values: Sequence[str]) -> tuple[LogPattern, ...]:
    patterns = []
    for value in values:
        count_text, colon, pattern = value.partition(":")
        try:
            count = int(count_text)
        except ValueError:
            count = 0
        if not colon or count == 0:
            raise FlagError(f"--log-pattern {value!r}: want count:pattern with a non-zero count")
        try:
            compile_go(pattern)
        except GoRegexError as exc:
            raise FlagError(f"--log-pattern {value!r}: {exc}") from None
        patterns.append(LogPattern(count, pattern))
    return tuple(patterns)


def _repair_command(text: str, service: str) -> tuple[str, ...]:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise FlagError(f"--repair-command {text!r}: {exc}") from None
    if not words:
        raise FlagError("--repair-command must not be empty")
    return tuple(word.replace("{service}", service) for word in words)


def parse_options(
    program: str, argv: Sequence[str], env: Mapping[str, str] | None = None
) -> tuple[HealthOptions, list[str]]:
    """Validate the command line: the options and pflag's deprecation notices.

    Raises :class:`FlagError` (``FlagError("help")`` for --help).
    """
    env = os.environ if env is None else env
    flags = flag_set(program)
    values, positional, seen = flags.parse(argv)
    if positional:
        raise FlagError(f"unexpected argument: {positional[0]}")
    try:
        component = Component(values["component"])
    except ValueError:
        supported = ", ".join(member.value for member in Component)
        raise FlagError(f"--component={values['component']}: not supported (one of {supported})") from None
    service = values["service"] or DEFAULT_SERVICE[component]
    for name in ("cri_timeout", "health_check_timeout"):
        if values[name] <= 0:
            raise FlagError(f"--{name.replace('_', '-')} must be positive")
    for name in ("cooldown_time", "loopback_time"):
        if values[name] < 0:
            raise FlagError(f"--{name.replace('_', '-')} must not be negative")
    options = HealthOptions(
        component=component,
        service=service,
        enable_repair=values["enable_repair"],
        cooldown=values["cooldown_time"],
        loopback=values["loopback_time"],
        health_check_timeout=values["health_check_timeout"],
        cri_socket=_cri_socket(values["cri_socket_path"], "cri-socket-path" in seen, env),
        cri_timeout=values["cri_timeout"],
        log_patterns=_log_patterns(values["log_pattern"]),
        journal_path=values["journal_path"],
        repair_command=_repair_command(values["repair_command"], service),
        state_dir=values["state_dir"] if "state-dir" in seen else env.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR,
        endpoints=Endpoints.from_env(env),
    )
    if component is Component.DOCKER:
        socket_path(options.endpoints.docker_host, "DOCKER_HOST")
    return options, flags.deprecations(seen)


def _cri_socket(flag_value: str, given: bool, env: Mapping[str, str]) -> str:
    """The flag when given, else CONTAINER_RUNTIME_ENDPOINT (as crictl), else upstream's default."""
    if not given and env.get(CRI_ENDPOINT_ENV):
        return socket_path(env[CRI_ENDPOINT_ENV], CRI_ENDPOINT_ENV)
    return socket_path(flag_value, "--cri-socket-path")


def socket_path(address: str, what: str) -> str:
    """The filesystem path of a ``unix://`` address (or a plain path); other schemes are refused."""
    if address.startswith("unix://"):
        path = address.removeprefix("unix://")
    elif address.startswith("unix:"):
        path = address.removeprefix("unix:")
    elif "://" not in address:
        path = address
    else:
        raise FlagError(f"{what}={address}: only unix sockets are supported")
    if not path.startswith("/"):
        raise FlagError(f"{what}={address}: the socket path must be absolute")
    return path
