"""``node-problem-detector``: upstream's daemon command line, unchanged."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from npd.cli.daemon import run_daemon_command


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``node-problem-detector`` console script."""
    sys.exit(run_daemon_command("node-problem-detector", sys.argv[1:] if argv is None else argv, tool=False))
