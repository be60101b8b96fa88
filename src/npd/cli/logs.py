"""Daemon logging: one line per record on stderr, verbosity from klog's ``--v``."""

from __future__ import annotations

import logging
import sys
import time


class _Formatter(logging.Formatter):
    """UTC timestamps in RFC 3339 with milliseconds."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def setup_logging(verbosity: int) -> None:
    """Log to stderr: INFO and above, DEBUG from ``--v=4`` (klog's debug level) up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbosity >= 4 else logging.INFO)
    # The HTTP client logs every request at INFO: a line per Event and heartbeat. npd counts
    # them in npd_kubernetes_requests_total instead; klog's --v=6 shows requests, so does this.
    for name in ("httpx2", "httpcore2"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 6 else logging.WARNING)
