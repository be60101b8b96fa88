"""The daemon's options: upstream's command line, plus npd's extensions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from npd.cli.flags import Flag, FlagError, FlagSet, Kind
from npd.exporters.kubernetes.settings import in_cluster

DEFAULT_STATE_DIR = "/var/lib/npd"


@dataclass(frozen=True, slots=True)
class KubeOptions:
    """The Kubernetes exporter's flags (upstream's, plus ``--kubeconfig``)."""

    kubeconfig: str = ""
    apiserver_override: str = ""
    event_namespace: str = ""
    write_events: bool = True
    update_conditions: bool = True
    heartbeat_period: float = 300.0
    qps: float = 500.0
    burst: int = 500
    wait_timeout: float = 300.0
    wait_interval: float = 5.0


@dataclass(frozen=True, slots=True)
class Options:
    """Everything the daemon is told on its command line."""

    system_log_monitors: tuple[str, ...]
    custom_plugin_monitors: tuple[str, ...]
    system_stats_monitors: tuple[str, ...]
    enable_k8s_exporter: bool
    hostname_override: str
    address: str
    port: int
    prometheus_address: str
    prometheus_port: int
    state_dir: str
    verbosity: int
    #: Print problems on stdout ("text" or "json"), or not ("none": upstream's daemon).
    problem_output: str = "none"
    #: Run npd's bundled configs (``npd run`` without any monitor flag).
    bundled_defaults: bool = False
    stackdriver_config: str = ""
    kube: KubeOptions = field(default_factory=KubeOptions)


def _upstream_flags(flags: FlagSet) -> None:
    for kind in ("system-log-monitor", "custom-plugin-monitor", "system-stats-monitor"):
        flags.add(
            Flag(f"config.{kind}", Kind.STRINGS, [], f"Comma separated configurations for {kind} monitor.")
        )
    flags.add(
        Flag(
            "system-log-monitors",
            Kind.STRINGS,
            [],
            "List of paths to system log monitor config files.",
            deprecated="replaced by --config.system-log-monitor.",
        )
    )
    flags.add(
        Flag(
            "custom-plugin-monitors",
            Kind.STRINGS,
            [],
            "List of paths to custom plugin monitor config files.",
            deprecated="replaced by --config.custom-plugin-monitor.",
        )
    )
    flags.add(Flag("enable-k8s-exporter", Kind.BOOL, True, "Enables reporting to Kubernetes API server."))
    flags.add(Flag("event-namespace", Kind.STRING, "", "Namespace for recorded Kubernetes events."))
    flags.add(
        Flag("apiserver-override", Kind.STRING, "", "Custom URI used to connect to Kubernetes ApiServer.")
    )
    flags.add(
        Flag("apiserver-wait-timeout", Kind.DURATION, 300.0, "The timeout on waiting for kube-apiserver.")
    )
    flags.add(
        Flag("apiserver-wait-interval", Kind.DURATION, 5.0, "The interval between kube-apiserver checks.")
    )
    flags.add(
        Flag(
            "k8s-exporter-heartbeat-period",
            Kind.DURATION,
            300.0,
            "The period at which k8s-exporter does forcibly sync with apiserver.",
        )
    )
    flags.add(
        Flag("k8s-exporter-write-events", Kind.BOOL, True, "Whether to write Kubernetes Event objects.")
    )
    flags.add(
        Flag(
            "k8s-exporter-update-node-conditions",
            Kind.BOOL,
            True,
            "Whether to update Kubernetes Node conditions.",
        )
    )
    flags.add(Flag("version", Kind.BOOL, False, "Print version information and quit"))
    flags.add(Flag("hostname-override", Kind.STRING, "", "Custom node name used to override hostname"))
    flags.add(
        Flag("port", Kind.INT, 20256, "The port to bind the node problem detector server. Use 0 to disable.")
    )
    flags.add(
        Flag("address", Kind.STRING, "127.0.0.1", "The address to bind the node problem detector server.")
    )
    flags.add(
        Flag(
            "prometheus-port",
            Kind.INT,
            20257,
            "The port to bind the Prometheus scrape endpoint. Use 0 to disable.",
        )
    )
    flags.add(
        Flag(
            "prometheus-address",
            Kind.STRING,
            "127.0.0.1",
            "The address to bind the Prometheus scrape endpoint.",
        )
    )
    flags.add(Flag("kube-api-qps", Kind.FLOAT, 500.0, "Maximum QPS to use while talking with Kubernetes API"))
    flags.add(
        Flag("kube-api-burst", Kind.INT, 500, "Maximum burst for throttle while talking with Kubernetes API")
    )
    flags.add(
        Flag(
            "exporter.stackdriver",
            Kind.STRING,
            "",
            "Configuration for the Stackdriver exporter (not supported).",
        )
    )
    # klog's flags, which upstream registers; accepted so existing command lines keep working.
    flags.add(Flag("v", Kind.INT, 0, "number for the log level verbosity", hidden=True), shorthand="v")
    for name in (
        "logtostderr",
        "alsologtostderr",
        "skip_headers",
        "skip_log_headers",
        "one_output",
        "add_dir_header",
    ):
        flags.add(Flag(name, Kind.BOOL, name == "logtostderr", "klog flag (accepted)", hidden=True))
    for name in ("vmodule", "log_dir", "log_file", "stderrthreshold", "log_backtrace_at"):
        flags.add(Flag(name, Kind.STRING, "", "klog flag (accepted)", hidden=True))
    flags.add(Flag("log_file_max_size", Kind.INT, 1800, "klog flag (accepted)", hidden=True))


def daemon_flags(program: str, *, tool: bool) -> FlagSet:
    """Upstream's flags, npd's extensions, and for ``npd run`` the problem output format."""
    flags = FlagSet(program)
    _upstream_flags(flags)
    flags.add(
        Flag(
            "state-dir",
            Kind.STRING,
            DEFAULT_STATE_DIR,
            "Directory where source positions and conditions survive restarts (npd). Empty disables.",
        )
    )
    flags.add(
        Flag(
            "kubeconfig",
            Kind.STRING,
            "",
            "Path to a kubeconfig file for the Kubernetes exporter (npd); default: in-cluster config.",
        )
    )
    if tool:
        flags.add(
            Flag(
                "log-format",
                Kind.STRING,
                "text",
                "How problems are printed on stdout: text or json.",
                choices=("text", "json"),
            )
        )
    return flags


def build_options(values: dict[str, Any], *, tool: bool, seen: Sequence[str] = ()) -> Options:
    """Turn parsed flag values into :class:`Options`, applying upstream's rules for deprecated flags.

    ``seen`` names the flags given. ``npd run`` exports to Kubernetes when told to, or else
    when it has somewhere to export: a kubeconfig, an API server override, or a pod's service
    account; ``node-problem-detector`` keeps upstream's default (on).
    """
    log_monitors = list(values["config_system_log_monitor"])
    plugin_monitors = list(values["config_custom_plugin_monitor"])
    for old, new, target in (
        ("system_log_monitors", "--config.system-log-monitor", log_monitors),
        ("custom_plugin_monitors", "--config.custom-plugin-monitor", plugin_monitors),
    ):
        if values[old]:
            if target:
                flag = "--" + old.replace("_", "-")
                raise FlagError(
                    f"{flag} is deprecated in favor of {new}; they cannot be set at the same time"
                )
            target.extend(values[old])
    for flag, key in (("--port", "port"), ("--prometheus-port", "prometheus_port")):
        if not 0 <= values[key] <= 65535:
            raise FlagError(f"{flag}={values[key]}: a port must be between 0 and 65535")
    stats_monitors = list(values["config_system_stats_monitor"])
    configured = bool(log_monitors or plugin_monitors or stats_monitors)
    enable_k8s = values["enable_k8s_exporter"]
    if tool and "enable-k8s-exporter" not in seen:
        enable_k8s = bool(values["kubeconfig"] or values["apiserver_override"] or in_cluster())
    for flag, key in (("--kube-api-qps", "kube_api_qps"), ("--kube-api-burst", "kube_api_burst")):
        if values[key] < 0:
            raise FlagError(f"{flag}={values[key]}: must not be negative")
    kube = KubeOptions(
        kubeconfig=values["kubeconfig"],
        apiserver_override=values["apiserver_override"],
        event_namespace=values["event_namespace"],
        write_events=values["k8s_exporter_write_events"],
        update_conditions=values["k8s_exporter_update_node_conditions"],
        heartbeat_period=values["k8s_exporter_heartbeat_period"],
        qps=values["kube_api_qps"],
        burst=values["kube_api_burst"],
        wait_timeout=values["apiserver_wait_timeout"],
        wait_interval=values["apiserver_wait_interval"],
    )
    return Options(
        system_log_monitors=tuple(_dedupe(log_monitors)),
        custom_plugin_monitors=tuple(_dedupe(plugin_monitors)),
        system_stats_monitors=tuple(_dedupe(stats_monitors)),
        enable_k8s_exporter=enable_k8s,
        hostname_override=values["hostname_override"],
        address=values["address"],
        port=values["port"],
        prometheus_address=values["prometheus_address"],
        prometheus_port=values["prometheus_port"],
        state_dir=values["state_dir"],
        verbosity=values["v"],
        problem_output=values.get("log_format", "none") if tool else "none",
        bundled_defaults=tool and not configured,
        stackdriver_config=values["exporter_stackdriver"],
        kube=kube,
    )


def _dedupe(paths: list[str]) -> list[str]:
    # Upstream skips a config path given twice (with a warning); so does npd.
    return [path for path in dict.fromkeys(path.strip() for path in paths) if path]
