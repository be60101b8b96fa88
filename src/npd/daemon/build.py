"""Assembling the daemon from its options: configs → sources → monitors → detector → exporters."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import npd.config
from npd.config.loader import (
    load_log_monitor_file,
    load_plugin_monitor_file,
    load_system_stats_file,
)
from npd.config.logmonitor import LogMonitorConfig, LogPlugin
from npd.daemon.options import Options
from npd.daemon.selfmetrics import collect_build_info, source_collector, state_collector
from npd.detector.detector import ProblemDetector
from npd.exporters.base import Exporter
from npd.exporters.conditions import ConditionTable
from npd.exporters.http import HttpServer, conditions_page, health_page, metrics_page
from npd.exporters.prometheus import PrometheusExporter
from npd.exporters.stdout import StdoutExporter
from npd.health import HealthReport
from npd.metrics.model import Registry, first_of_each_name, merged
from npd.metrics.process import collect_process
from npd.monitors.base import Monitor
from npd.monitors.logmonitor import SystemLogMonitor
from npd.monitors.pluginmonitor import PluginMonitor, inherited_environment
from npd.monitors.stats import SystemStatsMonitor
from npd.sources.base import LogSource, Position, SourceHealth
from npd.sources.filelog import FileLogSource
from npd.sources.kmsg import KmsgSource
from npd.sources.starttime import start_time
from npd.state import StateStore

if TYPE_CHECKING:
    from npd.exporters.kubernetes.exporter import KubernetesExporter

log = logging.getLogger(__name__)

DEFAULT_KMSG = "/dev/kmsg"
BUNDLED_DIR = os.path.join(os.path.dirname(npd.config.__file__), "defaults")
BUNDLED_LOG_MONITORS = (
    "kernel-monitor.json",
    "storage-monitor.json",
    "hardware-monitor.json",
    "network-monitor.json",
    "docker-monitor.json",
    "containerd-monitor.json",
    "kubelet-monitor.json",
    "systemd-monitor.json",
    "timesync-monitor.json",
)
#: Bundled system stats monitor configs: upstream's metrics plus npd's exhaustion conditions.
BUNDLED_STATS_MONITORS = ("system-stats-monitor.json",)


class StartupError(Exception):
    """The daemon cannot start as configured; the message says why and what to do."""


@dataclass
class Daemon:
    """Everything the running daemon consists of."""

    monitors: list[Monitor]
    detector: ProblemDetector
    state: StateStore
    exporters: list[Exporter]
    servers: list[HttpServer]
    sources: dict[str, SourceHealth] = field(default_factory=dict)
    crashed: dict[str, str] = field(default_factory=dict)

    def health(self) -> list[HealthReport]:
        """Every source's health, and any monitor that stopped on an internal error."""
        reports = [
            HealthReport(component=name, kind=health.kind, alive=health.alive, detail=health.detail)
            for name, health in self.sources.items()
        ]
        reports += [
            HealthReport(component=name, kind="monitor", alive=False, detail=detail)
            for name, detail in self.crashed.items()
        ]
        return reports


def bundled_configs() -> list[str]:
    """Paths of npd's default system log monitor configs."""
    return [os.path.join(BUNDLED_DIR, name) for name in BUNDLED_LOG_MONITORS]


def bundled_stats_configs() -> list[str]:
    """Paths of npd's default system stats monitor configs."""
    return [os.path.join(BUNDLED_DIR, name) for name in BUNDLED_STATS_MONITORS]


def monitor_name(path: str, options: Options) -> str:
    """A monitor's identity in logs and in the state directory."""
    if options.bundled_defaults:
        return f"bundled:{os.path.basename(path)}"
    return os.path.abspath(path)


def build_daemon(options: Options, warn: Callable[[str], None]) -> Daemon:
    """Load and validate every config, then wire the pipeline. Raises ConfigError or StartupError."""
    if options.stackdriver_config:
        warn(
            f"--exporter.stackdriver={options.stackdriver_config}: the Stackdriver exporter is not supported"
        )
    log_paths = bundled_configs() if options.bundled_defaults else list(options.system_log_monitors)
    log_configs = [load_log_monitor_file(path, warn) for path in log_paths]
    plugin_configs = [load_plugin_monitor_file(path, warn) for path in options.custom_plugin_monitors]
    stats_paths = bundled_stats_configs() if options.bundled_defaults else list(options.system_stats_monitors)
    stats_configs = [load_system_stats_file(path, warn) for path in stats_paths]
    if not log_configs and not plugin_configs and not stats_configs:
        raise StartupError("no configuration option for any problem daemon is specified")

    state = StateStore(options.state_dir or None)
    table = ConditionTable()
    prometheus = PrometheusExporter()
    exporters: list[Exporter] = [table, prometheus]
    if options.problem_output != "none":
        exporters.append(StdoutExporter(json_lines=options.problem_output == "json"))
    kubernetes = kubernetes_exporter(options) if options.enable_k8s_exporter else None
    if kubernetes is not None:
        exporters.append(kubernetes)
    detector = ProblemDetector(exporters, state)
    daemon = Daemon(monitors=[], detector=detector, state=state, exporters=exporters, servers=[])
    for config in log_configs:
        name = monitor_name(config.file, options)
        saved = state.load(name) or {}
        health = SourceHealth(kind=config.plugin.value, name=name)
        daemon.sources[name] = health
        if config.unusable:
            health.failed(config.unusable)
            log.error("%s: cannot start this monitor: %s", config.file, config.unusable)
            continue
        source = log_source(config, saved.get("position"), health, warn)
        daemon.monitors.append(
            SystemLogMonitor(config, source, name=name, saved_conditions=saved.get("conditions"))
        )
    for plugin_config in plugin_configs:
        name = monitor_name(plugin_config.file, options)
        saved = state.load(name) or {}
        daemon.monitors.append(
            PluginMonitor(
                plugin_config,
                name=name,
                saved_conditions=saved.get("conditions"),
                env=inherited_environment(os.environ),
            )
        )
    stats_monitors: list[SystemStatsMonitor] = []
    for stats_config in stats_configs:
        name = monitor_name(stats_config.file, options)
        saved = state.load(name) or {}
        stats_monitors.append(
            SystemStatsMonitor(stats_config, name=name, saved_conditions=saved.get("conditions"))
        )
    daemon.monitors += stats_monitors
    for exporter in exporters:
        exporter.declare([monitor.declaration for monitor in daemon.monitors])

    registry = Registry()
    registry.register(prometheus.metrics.collect)
    if kubernetes is not None:
        registry.register(kubernetes.collect)
    registry.register(source_collector(daemon.sources))
    registry.register(detector.collect)
    registry.register(state_collector(state))
    registry.register(collect_build_info)
    if stats_monitors:
        registry.register(first_of_each_name([monitor.collect for monitor in stats_monitors]))
    registry.register(merged(m.collect for m in daemon.monitors if isinstance(m, PluginMonitor)))
    registry.register(collect_process)
    daemon.servers = _servers(options, daemon, table, registry)
    return daemon


def kubernetes_exporter(options: Options) -> KubernetesExporter:
    """The Kubernetes exporter the flags ask for; raises StartupError when it cannot be configured."""
    # Imported on use: the API client costs ~20 MiB that a standalone npd does not need.
    from npd.exporters.kubernetes.api import NodeApi, load_config  # noqa: PLC0415
    from npd.exporters.kubernetes.exporter import ExportSettings, KubernetesExporter  # noqa: PLC0415
    from npd.exporters.kubernetes.settings import (  # noqa: PLC0415
        KubeSettingsError,
        choose_connection,
        node_name,
    )

    kube = options.kube
    try:
        connection = choose_connection(kube.kubeconfig, kube.apiserver_override)
        config = load_config(connection)
    except KubeSettingsError as exc:
        raise StartupError(
            f"Kubernetes exporter: {exc} (to run without a cluster: --enable-k8s-exporter=false)"
        ) from None
    settings = ExportSettings(
        node=node_name(options.hostname_override),
        event_namespace=kube.event_namespace,
        write_events=kube.write_events,
        update_conditions=kube.update_conditions,
        heartbeat=kube.heartbeat_period,
        wait_timeout=kube.wait_timeout,
        wait_interval=kube.wait_interval,
    )
    log.info("Kubernetes exporter: node %s via %s", settings.node, connection.describe())
    return KubernetesExporter(NodeApi(config, qps=kube.qps, burst=kube.burst), settings)


def _servers(options: Options, daemon: Daemon, table: ConditionTable, registry: Registry) -> list[HttpServer]:
    status_pages = {"/healthz": health_page(daemon.health), "/conditions": conditions_page(table)}
    metric_pages = {"/metrics": metrics_page(registry)}
    main = (options.address, options.port)
    prom = (options.prometheus_address, options.prometheus_port)
    if options.port and options.prometheus_port and main == prom:
        return [HttpServer("npd", options.address, options.port, status_pages | metric_pages)]
    servers = []
    if options.port:
        servers.append(HttpServer("npd", options.address, options.port, status_pages))
    if options.prometheus_port:
        servers.append(
            HttpServer("prometheus", options.prometheus_address, options.prometheus_port, metric_pages)
        )
    return servers


def kmsg_path(config: LogMonitorConfig, warn: Callable[[str], None]) -> str:
    """The kmsg device or test stand-in to read.

    Upstream ignores ``logPath`` for kmsg; npd honours it when it names a character device,
    FIFO or regular file (tests point it at one), and otherwise falls back to /dev/kmsg, so
    configs that say e.g. ``/var/log/journal`` for kmsg keep working as they did upstream.
    """
    path = config.log_path
    if not path or path == DEFAULT_KMSG:
        return DEFAULT_KMSG
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISREG(mode):
        return path
    warn(f"{config.file}: logPath: {path} is not a kmsg device, FIFO or file; reading {DEFAULT_KMSG}")
    return DEFAULT_KMSG


def log_source(
    config: LogMonitorConfig, position: Position | None, health: SourceHealth, warn: Callable[[str], None]
) -> LogSource:
    """The source a system log monitor reads, resuming at ``position`` when there is one."""
    start = start_time(config.lookback, config.delay)
    if config.plugin is LogPlugin.KMSG:
        return KmsgSource(log_path=kmsg_path(config, warn), start=start, position=position, health=health)
    if config.plugin is LogPlugin.JOURNALD:
        # Imported on first use: cysystemd and its bundled libsystemd cost several MiB of RSS.
        from npd.sources.journald import JournaldSource  # noqa: PLC0415

        return JournaldSource(
            identifiers=config.journald_identifiers,
            log_path=config.log_path,
            start=start,
            position=position,
            health=health,
        )
    assert config.filelog is not None
    return FileLogSource(
        path=config.log_path,
        fmt=config.filelog,
        skip_list=config.skip_list,
        start=start,
        position=position,
        health=health,
    )
