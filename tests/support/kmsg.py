"""Writing to and positioning in the real kernel ring (/dev/kmsg), for end-to-end tests."""

from __future__ import annotations

import errno
import os

import pytest

from npd.sources.kmsg import parse_record

DEV_KMSG = "/dev/kmsg"


def require_kmsg() -> None:
    """Skip unless this process may read and write /dev/kmsg (root on a machine that exposes it)."""
    if os.geteuid() != 0:
        pytest.skip("writing /dev/kmsg needs root")
    if not os.access(DEV_KMSG, os.R_OK | os.W_OK):
        pytest.skip("/dev/kmsg is not readable and writable here")


def write_kmsg(line: str) -> None:
    """Inject one kernel log record (``<level>text``), as ``echo ... > /dev/kmsg`` does.

    The newline matters: the kernel keeps a record without one open for continuation, and
    readers do not see it until another record arrives. A fresh fd per write dodges the
    per-fd write rate limit.
    """
    fd = os.open(DEV_KMSG, os.O_WRONLY)
    try:
        os.write(fd, line.encode() if line.endswith("\n") else f"{line}\n".encode())
    finally:
        os.close(fd)


def last_kmsg_seq() -> int:
    """The sequence number of the newest record in the ring right now."""
    fd = os.open(DEV_KMSG, os.O_RDONLY | os.O_NONBLOCK)
    last = -1
    try:
        while True:
            try:
                raw = os.read(fd, 16384)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    return last
                if exc.errno == errno.EPIPE:
                    continue
                raise
            record = parse_record(raw)
            if record is not None:
                last = record.seq
    finally:
        os.close(fd)
