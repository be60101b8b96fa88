"""Placeholder: being written."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str]) -> int:
    """Entry point; returns the exit code."""
    raise NotImplementedError
