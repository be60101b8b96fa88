"""Acceptance: `kill -9` and restart with all three sources — no line reported twice, none missed.

One daemon follows the real /dev/kmsg, a journal file written by systemd-journal-remote, and a
log file. Tagged lines are written to all three; once they are reported the daemon is killed
with SIGKILL, more lines are written while it is down, and a new daemon is started on the same
state directory, after which more lines follow. Across both runs every tagged line of every
source must be printed exactly once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.support.daemon import RunningDaemon, start_daemon
from tests.support.journal import JournalFileWriter, journal_remote_available
from tests.support.kmsg import require_kmsg, write_kmsg

pytestmark = pytest.mark.root

BEFORE, WHILE_DOWN, AFTER = 40, 40, 20


def monitor(plugin: str, tag: str, **extra: object) -> dict[str, object]:
    return {
        "plugin": plugin,
        "source": f"{plugin}-monitor",
        "lookback": "0",
        "conditions": [],
        "rules": [{"type": "temporary", "reason": "Tagged", "pattern": f"npd-restart-{tag} \\d+"}],
        **extra,
    }


class Sources:
    """The three logs and how to write a tagged line to each."""

    def __init__(self, tmp_path: Path, tag: str) -> None:
        self.tag = tag
        self.file = tmp_path / "kern.log"
        self.file.write_text("")
        self.journal = JournalFileWriter(tmp_path / "journal" / "npd.journal")
        self.journal.write([self.journal.entry("journal created", identifier="other")])
        self.configs = []
        for plugin, extra in (
            ("kmsg", {"logPath": "/dev/kmsg"}),
            ("journald", {"logPath": str(tmp_path / "journal"), "pluginConfig": {"source": "npdtest"}}),
            (
                "filelog",
                {
                    "logPath": str(self.file),
                    "pluginConfig": {
                        "timestamp": "^.{15}",
                        "message": "kernel: \\[.*\\] (.*)",
                        "timestampFormat": "Jan _2 15:04:05",
                    },
                },
            ),
        ):
            path = tmp_path / f"{plugin}.json"
            path.write_text(json.dumps(monitor(plugin, tag, **extra)))
            self.configs.append(path)

    def write(self, numbers: range) -> None:
        texts = [f"npd-restart-{self.tag} {n}" for n in numbers]
        for text in texts:
            write_kmsg(f"<6>{text}")
        self.journal.write([self.journal.entry(text, identifier="npdtest") for text in texts])
        stamp = time.strftime("%b %e %H:%M:%S")
        with open(self.file, "a") as handle:
            handle.writelines(f"{stamp} node kernel: [ 99.000000] {text}\n" for text in texts)


def reported(daemon: RunningDaemon) -> list[tuple[str, int]]:
    events = (json.loads(line) for line in daemon.stdout_lines())
    return [(e["source"], int(e["message"].rsplit(" ", 1)[1])) for e in events if e.get("reason") == "Tagged"]


def quiescent(daemon: RunningDaemon) -> bool:
    """Every report has been exported (and with it, its checkpoint written)."""
    _, metrics = daemon.get("/metrics")
    queued = [line for line in metrics.splitlines() if line.startswith("npd_exporter_queue_length")]
    return bool(queued) and all(line.endswith(" 0") for line in queued)


def test_kill9_and_restart_reports_every_line_of_every_source_once(tmp_path: Path) -> None:
    require_kmsg()
    reason = journal_remote_available()
    if reason is not None:
        pytest.skip(reason)
    sources = Sources(tmp_path, uuid.uuid4().hex[:12])
    args = ["--log-format=json", *(f"--config.system-log-monitor={path}" for path in sources.configs)]
    state = tmp_path / "state"

    first = start_daemon(args, tool=True, state_dir=state, output_dir=tmp_path / "first")
    with first:
        sources.write(range(BEFORE))
        first.wait_for(lambda: len(reported(first)) >= 3 * BEFORE, timeout=15, what="the first lines")
        first.wait_for(lambda: quiescent(first), what="the exporters to drain")
        assert first.kill9() == -9
        before = reported(first)

    sources.write(range(BEFORE, BEFORE + WHILE_DOWN))

    second = start_daemon(args, tool=True, state_dir=state, output_dir=tmp_path / "second")
    with second:
        sources.write(range(BEFORE + WHILE_DOWN, BEFORE + WHILE_DOWN + AFTER))
        total = BEFORE + WHILE_DOWN + AFTER
        second.wait_for(
            lambda: len(before) + len(reported(second)) >= 3 * total, timeout=20, what="every line"
        )
        after = reported(second)
        assert second.stop() == 0

    counts = Counter(before + after)
    doubled = {key: n for key, n in counts.items() if n > 1}
    assert not doubled, f"reported twice: {sorted(doubled)[:10]}"
    expected = {(f"{plugin}-monitor", n) for plugin in ("kmsg", "journald", "filelog") for n in range(total)}
    assert set(counts) == expected, f"missing: {sorted(expected - set(counts))[:10]}"
