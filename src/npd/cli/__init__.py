"""Command-line entry points: ``node-problem-detector`` (upstream's) and ``npd`` (the operator's tool)."""
