"""The running daemon survives junk in its logs and keeps detecting.

Binary junk, invalid UTF-8, NUL bytes, a 1 MB line, a 20 MB line without a newline, kmsg records
with absurd headers and lines of nothing but newlines go into a followed log file and a kmsg
FIFO. Afterwards the daemon must still be running, must not have logged a traceback, and must
still turn a real problem line into a condition.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

from npd.daemon.build import BUNDLED_DIR
from tests.support.daemon import start_daemon

DOCKER_HUNG = "INFO: task docker:9 blocked for more than 120 seconds."


def junk_blobs(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    blobs = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4096))) for _ in range(50)]
    blobs += [
        b"\xff\xfe\xfd invalid utf-8 \xc3\x28 \xed\xa0\x80\n",
        b"\x00" * 1000 + b"\n",
        b"x" * (1 << 20) + b"\n",
        b"\n" * 10_000,
        b"Nov 31 99:99:99 node kernel: [1.0] impossible date\n",
        b"\xef\xbb\xbf" + b"Jan  1 00:00:00 bom kernel: [1.0] bom\n",
    ]
    return blobs


def kmsg_junk(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    records = [
        b"6," + b"9" * 400 + b",1,-;absurd sequence number\n",
        b"6,1," + b"9" * 400 + b",-;absurd timestamp\n",
        b"6,2,99999999999999999999,-;a timestamp beyond the year 9999\n",
        b"no header at all\n",
        b" continuation without a record\n",
        b"6,3,100,-;" + b"y" * (1 << 20) + b"\n",
    ]
    records += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 512))) + b"\n" for _ in range(50)]
    return records


def test_junk_in_every_log_leaves_the_daemon_running_and_detecting(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    log.write_bytes(b"")
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    kernel = json.loads(Path(BUNDLED_DIR, "kernel-monitor.json").read_text())
    filelog = {
        **kernel,
        "plugin": "filelog",
        "logPath": str(log),
        "lookback": "240h",
        "pluginConfig": {
            "timestamp": "^.{15}",
            "message": "kernel: \\[.*\\] (.*)",
            "timestampFormat": "Jan _2 15:04:05",
        },
    }
    kmsg = {
        **kernel,
        "source": "kmsg-monitor",
        "logPath": str(fifo),
        "conditions": [],
        "rules": kernel["rules"][:2],
    }
    (tmp_path / "filelog.json").write_text(json.dumps(filelog))
    (tmp_path / "kmsg.json").write_text(json.dumps(kmsg))
    args = [
        "--enable-k8s-exporter=false",
        f"--config.system-log-monitor={tmp_path / 'filelog.json'},{tmp_path / 'kmsg.json'}",
    ]
    with start_daemon(args, tool=False, state_dir=tmp_path / "state") as daemon:
        writer_fd = os.open(fifo, os.O_WRONLY)  # the daemon holds the read end open
        feeder = threading.Thread(target=lambda: [os.write(writer_fd, r) for r in kmsg_junk(1)], daemon=True)
        feeder.start()
        with open(log, "ab") as handle:
            for blob in junk_blobs(2):
                handle.write(blob)
            handle.write(b"z" * (20 << 20))  # no newline: held, then cut at the cap
            handle.write(b"\n")
            stamp = time.strftime("%b %e %H:%M:%S").encode()
            handle.write(stamp + b" node kernel: [ 1.000000] " + DOCKER_HUNG.encode() + b"\n")
        feeder.join(timeout=30)
        uptime_usec = int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1e6)
        os.write(writer_fd, f"6,4,{uptime_usec},-;{DOCKER_HUNG}\n".encode())

        daemon.wait_for_page(
            "/conditions",
            lambda s, b: any(c["type"] == "KernelDeadlock" and c["status"] == "True" for c in json.loads(b)),
            timeout=30,
        )
        daemon.wait_for(
            lambda: 'problem_counter{reason="TaskHung"} 2' in daemon.get("/metrics")[1].splitlines(),
            what="a TaskHung from both sources",
        )
        assert daemon.running
        assert daemon.get("/healthz")[0] == 200
        os.close(writer_fd)
        assert daemon.stop() == 0
        assert "Traceback" not in daemon.stderr_text()
