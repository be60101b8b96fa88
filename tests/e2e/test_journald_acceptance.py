"""Acceptance through the journal, written by real systemd code.

Upstream's classic check, ``echo "task docker:7 blocked for more than 300 seconds." |
systemd-cat -t kernel``, run against a real systemd-journald (started by the test in a private
mount namespace), must turn KernelDeadlock True with reason DockerHung. The same through a
journal file that systemd-journal-remote appends to.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from npd.daemon.build import BUNDLED_DIR
from tests.support.daemon import RunningDaemon, start_daemon
from tests.support.journal import JournalFileWriter, PrivateJournald, journal_remote_available

pytestmark = pytest.mark.root

CLASSIC = "task docker:7 blocked for more than 300 seconds."


def journald_kernel_monitor(tmp_path: Path, journal_dir: Path) -> Path:
    """The bundled kernel monitor, reading the kernel's lines from the journal instead of kmsg."""
    config = json.loads(Path(BUNDLED_DIR, "kernel-monitor.json").read_text())
    config.update(
        plugin="journald", pluginConfig={"source": "kernel"}, logPath=str(journal_dir), lookback="0"
    )
    path = tmp_path / "kernel-monitor-journald.json"
    path.write_text(json.dumps(config))
    return path


def deadlock(daemon: RunningDaemon) -> dict[str, str]:
    _, body = daemon.wait_for_page(
        "/conditions",
        lambda s, b: any(c["type"] == "KernelDeadlock" and c["status"] == "True" for c in json.loads(b)),
        timeout=5,
    )
    return next(c for c in json.loads(body) if c["type"] == "KernelDeadlock")


def test_systemd_cat_to_a_real_journald_sets_kernel_deadlock(
    tmp_path: Path, private_journald: PrivateJournald
) -> None:
    journald = private_journald
    config = journald_kernel_monitor(tmp_path, journald.journal_dir)
    args = ["--enable-k8s-exporter=false", f"--config.system-log-monitor={config}"]
    with start_daemon(args, tool=False, state_dir=tmp_path / "state") as daemon:
        daemon.wait_for_page("/healthz", lambda status, body: status == 200)
        journald.shell(f'echo "{CLASSIC}" | systemd-cat -t kernel')
        condition = deadlock(daemon)
        assert (condition["reason"], condition["message"]) == ("DockerHung", CLASSIC)
        _, metrics = daemon.get("/metrics")
        assert 'problem_gauge{type="KernelDeadlock",reason="DockerHung"} 1' in metrics.splitlines()
        assert 'problem_counter{reason="TaskHung"} 1' in metrics.splitlines()


def test_journal_remote_appends_are_followed(tmp_path: Path) -> None:
    reason = journal_remote_available()
    if reason is not None:
        pytest.skip(reason)
    journal_dir = tmp_path / "journal"
    config = journald_kernel_monitor(tmp_path, journal_dir)
    with JournalFileWriter(journal_dir / "remote.journal") as writer:
        writer.start()
        writer.append([writer.entry("booting", identifier="kernel")])
        writer.wait_visible()
        args = ["--enable-k8s-exporter=false", f"--config.system-log-monitor={config}"]
        with start_daemon(args, tool=False, state_dir=tmp_path / "state") as daemon:
            daemon.wait_for_page("/healthz", lambda status, body: status == 200)
            writer.append([writer.entry(CLASSIC, identifier="kernel")])
            condition = deadlock(daemon)
            assert (condition["reason"], condition["message"]) == ("DockerHung", CLASSIC)
