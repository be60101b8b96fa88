"""Shared fixtures: real journal files and a private journald."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.journal import JournalFileWriter, PrivateJournald, journal_remote_available

# One real kube-apiserver for the whole run (tests/support/kube.py), shared by every directory.
from tests.support.kube import control_plane, kube_node, restartable_control_plane  # noqa: F401
from tests.support.kubewatch import npd_rbac  # noqa: F401


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    """An empty directory for journal files, as a journald ``logPath``."""
    directory = tmp_path / "journal"
    directory.mkdir()
    return directory


@pytest.fixture
def journal_writer(journal_dir: Path) -> Iterator[JournalFileWriter]:
    """A writer for ``journal_dir/test.journal``; a live writer is stopped at the end of the test."""
    reason = journal_remote_available()
    if reason is not None:
        pytest.skip(reason)
    writer = JournalFileWriter(journal_dir / "test.journal")
    try:
        yield writer
    finally:
        writer.stop()


@pytest.fixture
def private_journald(tmp_path: Path) -> Iterator[PrivateJournald]:
    """A running ``systemd-journald`` in its own mount namespace; skips where that cannot be done."""
    journald = PrivateJournald(tmp_path / "journald")
    try:
        journald.start()
    except RuntimeError as exc:
        pytest.skip(f"cannot run a private journald: {exc}")
    try:
        yield journald
    finally:
        journald.stop()
