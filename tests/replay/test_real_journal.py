"""`npd replay` over what the real `journalctl` prints for a real journal file.

The journal is written by ``systemd-journal-remote``; ``journalctl --file`` renders it as
``-o json`` and ``-o export``; the bundled monitors run over both, and every finding must name
the input lines of its entry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import console_script
from tests.support.journal import JournalFileWriter

HUNG = "INFO: task dockerd:1234 blocked for more than 120 seconds."
PLEG = (
    'E1125 19:20:00.123456    1234 kubelet.go:2345] "Skipping pod synchronization" '
    'err="PLEG is not healthy: pleg was last seen active 3m0.5s ago; threshold is 3m0s"'
)
RESTART = "kubelet.service: Scheduled restart job, restart counter is at 7."


def render(journal: Path, output: str) -> str:
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        pytest.skip("journalctl is not installed")
    return subprocess.run(
        [journalctl, "--file", str(journal), "-o", output], capture_output=True, text=True, check=True
    ).stdout


def replay(path: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [console_script("npd"), "replay", "--output=json", "--no-progress", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def write_journal(journal_writer: JournalFileWriter) -> None:
    entries = [
        journal_writer.entry("Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)"),
        journal_writer.entry(HUNG),
        journal_writer.entry("Started Session 1 of user root.", identifier="systemd", transport="journal"),
        journal_writer.entry(PLEG, identifier="kubelet", transport="stdout"),
        # A kubelet line in systemd's entries is not the kubelet's: routing goes by identifier.
        journal_writer.entry(PLEG, identifier="systemd", transport="journal"),
        journal_writer.entry(RESTART, identifier="systemd", transport="journal"),
    ]
    journal_writer.write(entries)


EXPECTED = [
    ("kernel-monitor", "TaskHung", 2),
    ("kernel-monitor", "DockerHung", 2),
    ("kubelet-monitor", "PLEGNotHealthy", 4),
    ("systemd-monitor", "FrequentKubeletRestart", 6),
]


def test_journalctl_json(journal_writer: JournalFileWriter, tmp_path: Path) -> None:
    write_journal(journal_writer)
    path = tmp_path / "journal.json"
    path.write_text(render(journal_writer.path, "json"))
    findings = replay(path)
    # One JSON object per line: entry N is line N.
    assert [(f["monitor"], f["reason"], f["first_line"]) for f in findings] == EXPECTED
    assert all(f["first_line"] == f["last_line"] for f in findings)


def test_journalctl_export(journal_writer: JournalFileWriter, tmp_path: Path) -> None:
    write_journal(journal_writer)
    text = render(journal_writer.path, "export")
    path = tmp_path / "journal.export"
    path.write_text(text)
    # The lines of each entry: from its first field to its last, entries separated by blank lines.
    spans: list[tuple[int, int]] = []
    start = None
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        if line and start is None:
            start = number
        elif not line and start is not None:
            spans.append((start, number - 1))
            start = None
    findings = replay(path)
    assert [(f["monitor"], f["reason"]) for f in findings] == [(m, r) for m, r, _ in EXPECTED]
    assert [(f["first_line"], f["last_line"]) for f in findings] == [spans[n - 1] for _, _, n in EXPECTED]
