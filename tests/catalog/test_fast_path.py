"""Every bundled monitor but the kernel monitor stays on the lazy single-line path.

A multi-line rule or a ``^`` makes a monitor parse and buffer every line of its log. Only the
kernel monitor needs that (the OOM kill and clocksource switch rules look at the lines before,
see test_kernel.py); the others must not pay for it. Resolving rules count too.
"""

from __future__ import annotations

import pytest

from npd.monitors.logmonitor import rule_matcher
from tests.catalog.harness import bundled, bundled_names

BUFFERED = {"kernel-monitor.json"}


@pytest.mark.parametrize("config", sorted(set(bundled_names()) - BUFFERED))
def test_monitor_matches_within_one_line(config: str) -> None:
    matcher = rule_matcher(bundled(config))
    assert not matcher.needs_every_line
    assert matcher.chunk_prefilter is not None


def test_the_buffered_monitor_is_a_bundled_one() -> None:
    assert set(bundled_names()) >= BUFFERED
