"""The system stats monitor (``--config.system-stats-monitor``): node metrics read from /proc and /sys."""

from npd.monitors.stats.monitor import SystemStatsMonitor

__all__ = ["SystemStatsMonitor"]
