"""The Kubernetes exporter: NodeConditions and Events through the API server (lightkube)."""
