"""`npd replay` over a dump of the real /dev/kmsg, taken the way `cat /dev/kmsg` takes one."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.daemon import console_script
from tests.support.kmsg import DEV_KMSG, require_kmsg, write_kmsg

pytestmark = pytest.mark.root


def dump_kmsg() -> bytes:
    """Every record the ring holds now, one read per record, as `cat /dev/kmsg` would save them."""
    fd = os.open(DEV_KMSG, os.O_RDONLY | os.O_NONBLOCK)
    records = []
    try:
        while True:
            try:
                records.append(os.read(fd, 8192))
            except BlockingIOError:
                return b"".join(records)
            except OSError as exc:
                if exc.errno != errno.EPIPE:  # EPIPE: the ring overwrote a record; read on
                    raise
    finally:
        os.close(fd)


def test_a_real_kmsg_dump(tmp_path: Path) -> None:
    require_kmsg()
    marker = uuid.uuid4().hex[:8]
    write_kmsg(f"<3>INFO: task docker:{marker} blocked for more than 120 seconds.")
    dump = tmp_path / "kmsg.dump"
    dump.write_bytes(dump_kmsg())
    # The 1-based line of our record (dictionary lines of other records count as lines too).
    lines = dump.read_bytes().split(b"\n")
    [ours] = [n for n, line in enumerate(lines, start=1) if marker.encode() in line]

    result = subprocess.run(
        [console_script("npd"), "replay", "--format=kmsg", "--output=json", "--no-progress", str(dump)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    mine = [f for f in map(json.loads, result.stdout.splitlines()) if marker in f["message"]]
    assert [(f["reason"], f["first_line"], f["last_line"]) for f in mine] == [
        ("TaskHung", ours, ours),
        ("DockerHung", ours, ours),
    ]
