"""Real dockerd, containerd, kubelet and systemd journal lines from public bug reports.

``tests/catalog/realworld/<class>.txt`` holds, per daemon, the headline lines of incidents as people
pasted them from ``journalctl`` or syslog (only the log prefix stripped), in groups headed by a
``# source:`` comment naming the public report. A journald monitor only sees the entries of its own
daemon, so each file is checked against the monitor for that daemon. Every line must give exactly
one report, with a reason of that monitor's problem class: systemd-monitor's informational
``KubeletStart``/``DockerStart``/``ContainerdStart`` events would not tell the operator about a
failure, so they do not count.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalog.harness import bundled, findings

REALWORLD = Path(__file__).parent / "realworld"

DOCKER = "docker-monitor.json"
CONTAINERD = "containerd-monitor.json"
KUBELET = "kubelet-monitor.json"
SYSTEMD = "systemd-monitor.json"

# Reasons that only say a service started: not a report of the problem.
INFORMATIONAL = frozenset({"KubeletStart", "DockerStart", "ContainerdStart"})

# class file stem -> the monitor that must report its lines
CLASSES: dict[str, str] = {
    "dockerd": DOCKER,
    "containerd": CONTAINERD,
    "kubelet": KUBELET,
    "systemd-units": SYSTEMD,
}


def _problem_reasons(config: str) -> frozenset[str]:
    """Every reason of ``config`` that reports a problem."""
    return frozenset(rule.reason for rule in bundled(config).rules) - INFORMATIONAL


def _cases() -> list[tuple[str, str, str]]:
    """(class, source, line) for every real line, in file order."""
    cases: list[tuple[str, str, str]] = []
    for stem in CLASSES:
        source = ""
        for raw in (REALWORLD / f"{stem}.txt").read_text().splitlines():
            if raw.startswith("# source:"):
                source = raw.removeprefix("# source:").strip()
            elif raw.strip() and not raw.startswith("#"):
                cases.append((stem, source, raw))
    return cases


CASES = _cases()


@pytest.mark.parametrize("stem", sorted(CLASSES))
def test_every_class_has_enough_real_lines_from_several_sources(stem: str) -> None:
    lines = [case for case in CASES if case[0] == stem]
    assert len(lines) >= 15
    assert len({source for _, source, _ in lines}) >= 8
    assert all(source for _, source, _ in lines), "a line before any '# source:'"


@pytest.mark.parametrize(
    ("stem", "source", "line"), CASES, ids=[f"{case[0]}-{number}" for number, case in enumerate(CASES)]
)
def test_a_real_problem_line_is_reported_once_under_its_class(stem: str, source: str, line: str) -> None:
    config = CLASSES[stem]
    got = [found.reason for found in findings(config, [line])]
    assert len(got) == 1, f"{line!r} from {source} gave {got or 'nothing'}"
    assert got[0] in _problem_reasons(config), f"{line!r} from {source} gave {got[0]}"
