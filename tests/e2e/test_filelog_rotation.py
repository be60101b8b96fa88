"""Acceptance: the whole daemon on a kern.log that is rotated while it is written.

A writer appends 30,000 numbered kernel lines at more than 10,000 lines/s while the file is
rotated three ways (rename, copytruncate, delete-and-recreate). Every line matches a temporary
rule, so `npd run --log-format json` prints one event per line: each number must appear
exactly once. Then a docker hung line written after the rotations must turn KernelDeadlock True.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

from tests.support.daemon import start_daemon

LINES = 30_000
MIN_RATE = 10_000
#: The writer paces itself to about this rate, so that rotations are a realistic half second
#: apart rather than microseconds (which no rotation tool does).
TARGET_RATE = 15_000


def kernel_line(text: str) -> str:
    stamp = time.strftime("%b %e %H:%M:%S", time.localtime())
    return f"{stamp} node kernel: [ 1234.567890] {text}\n"


def config(log: Path) -> dict[str, object]:
    return {
        "plugin": "filelog",
        "pluginConfig": {
            "timestamp": "^.{15}",
            "message": "kernel: \\[.*\\] (.*)",
            "timestampFormat": "Jan _2 15:04:05",
        },
        "logPath": str(log),
        "lookback": "1h",
        "bufferSize": 10,
        "source": "kernel-monitor",
        "conditions": [{"type": "KernelDeadlock", "reason": "KernelHasNoDeadlock", "message": "no deadlock"}],
        "rules": [
            {"type": "temporary", "reason": "Numbered", "pattern": "npd-e2e-line \\d+"},
            {
                "type": "permanent",
                "condition": "KernelDeadlock",
                "reason": "DockerHung",
                "pattern": "task docker:\\w+ blocked for more than \\w+ seconds\\.",
            },
        ],
    }


class RotatingWriter(threading.Thread):
    """Writes numbered lines in small flushed batches and rotates the file at three points."""

    def __init__(self, log: Path) -> None:
        super().__init__(daemon=True)
        self.log = log
        self.elapsed = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._write()
        except BaseException as exc:
            self.error = exc

    def _write(self) -> None:
        handle = open(self.log, "a")  # noqa: SIM115 - reopened across rotations
        rotations = {LINES // 4: "rename", LINES // 2: "copytruncate", 3 * LINES // 4: "delete"}
        started = time.perf_counter()
        for number in range(LINES):
            style = rotations.get(number)
            if style == "rename":
                os.rename(self.log, f"{self.log}.1")
                for late in range(number, number + 500):  # the old writer keeps going a little
                    handle.write(kernel_line(f"npd-e2e-line {late}"))
                handle.close()
                handle = open(self.log, "a")  # noqa: SIM115
            elif style == "copytruncate":
                handle.flush()
                shutil.copyfile(self.log, f"{self.log}.2")
                os.truncate(self.log, 0)
                handle.seek(0)
            elif style == "delete":
                handle.close()
                os.unlink(self.log)
                handle = open(self.log, "a")  # noqa: SIM115
            if LINES // 4 <= number < LINES // 4 + 500:
                continue  # written to the renamed file above
            handle.write(kernel_line(f"npd-e2e-line {number}"))
            if number % 50 == 0:
                handle.flush()
                ahead = number / TARGET_RATE - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
        handle.close()
        self.elapsed = time.perf_counter() - started


def test_rotated_kern_log_loses_and_doubles_nothing(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    log.write_text("")
    config_path = tmp_path / "kernel-filelog.json"
    config_path.write_text(json.dumps(config(log)))
    args = ["--log-format=json", f"--config.system-log-monitor={config_path}"]
    with start_daemon(args, tool=True, state_dir=tmp_path / "state") as daemon:
        writer = RotatingWriter(log)
        writer.start()
        writer.join(timeout=60)
        assert writer.error is None, writer.error
        rate = LINES / writer.elapsed
        assert rate >= MIN_RATE, f"the writer managed only {rate:.0f} lines/s"

        def numbered(lines: list[str]) -> list[int]:
            events = (json.loads(line) for line in lines)
            return [int(e["message"].rsplit(" ", 1)[1]) for e in events if e.get("reason") == "Numbered"]

        lines = daemon.wait_for_stdout(lambda out: len(numbered(out)) >= LINES, timeout=30)
        seen = numbered(lines)
        assert len(seen) == len(set(seen)), "a line was reported twice"
        assert set(seen) == set(range(LINES))

        with open(log, "a") as handle:
            handle.write(kernel_line("INFO: task docker:12 blocked for more than 120 seconds."))
        _, body = daemon.wait_for_page(
            "/conditions", lambda s, b: any(c["status"] == "True" for c in json.loads(b)), timeout=5
        )
        [condition] = json.loads(body)
        assert (condition["type"], condition["reason"]) == ("KernelDeadlock", "DockerHung")
        assert daemon.stop() == 0
