"""The health checker (``health-checker``, ``npd health-check``): upstream's helper binary, reimplemented.

It checks one component (kubelet, kube-proxy, the CRI runtime or docker), optionally counts log
patterns in the component's journal, and restarts the component's systemd unit when it is unhealthy
and out of its cooldown. ``docs/health-check.md`` describes it for operators.
"""
