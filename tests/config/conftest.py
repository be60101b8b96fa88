"""Fixtures for the config tests: the Go reference program (skipped where Go is not installed)."""

from __future__ import annotations

import subprocess

import pytest

from tests.config.goref import GoReference, build, find_go


@pytest.fixture(scope="session")
def go_reference(tmp_path_factory: pytest.TempPathFactory) -> GoReference:
    """The Go reference program of :mod:`tests.config.goref`, built once per session."""
    go = find_go()
    if go is None:
        pytest.skip("no Go toolchain (go on PATH or /usr/local/go/bin/go): cannot cross-check against Go")
    try:
        binary = build(go, tmp_path_factory.mktemp("goref"))
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"building the Go reference program failed:\n{exc.stderr.decode(errors='replace')}")
    return GoReference(binary)
