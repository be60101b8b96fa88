"""npd: a node problem detector for Kubernetes, compatible with the upstream Go node-problem-detector."""

__version__ = "0.1.0"
