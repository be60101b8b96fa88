"""Exporters publish problems: Prometheus metrics, stdout, HTTP status pages (Kubernetes later)."""
