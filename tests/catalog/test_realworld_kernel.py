"""Real kernel log lines from public bug reports against the kernel and storage monitors.

``tests/catalog/realworld/<class>.txt`` holds, per problem class, headline lines as people
pasted them from dmesg, kern.log or journalctl (only the log prefix stripped), in groups headed by
a ``# source:`` comment naming the public report. Every line must give at least one report of the
monitor for its class, with one of the reasons that class is about: a line reported under an
unrelated reason (a disk error as ``KernelOops``) would count as a miss for the operator too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalog.harness import findings

REALWORLD = Path(__file__).parent / "realworld"

KERNEL = "kernel-monitor.json"
STORAGE = "storage-monitor.json"

# class file stem -> (the monitor that must report it, the reasons that name that class)
CLASSES: dict[str, tuple[str, frozenset[str]]] = {
    "hung-task": (
        KERNEL,
        frozenset({"TaskHung", "DockerHung", "ContainerdHung", "KubeletHung", "AUFSUmountHung"}),
    ),
    "lockup": (KERNEL, frozenset({"SoftLockup", "HardLockup", "RCUStall", "WorkqueueLockup"})),
    # the OOM killer's start and its kill; a panic_on_oom panic is reported as the panic it is
    "oom": (KERNEL, frozenset({"OOMKilling", "OOMKillerInvoked", "OOMNoKillableProcess", "KernelPanic"})),
    "oops": (KERNEL, frozenset({"KernelOops", "KernelPanic", "KernelWarning"})),
    "clocksource": (KERNEL, frozenset({"ClocksourceUnstable"})),
    "filesystem": (
        STORAGE,
        frozenset(
            {
                "FilesystemIsReadOnly",
                "XfsHasShutdown",
                "Ext4Error",
                "Ext4Warning",
                "Ext3Error",
                "Ext2Error",
                "JournalAborted",
                "XfsCorruption",
                "XfsIOError",
                "XfsMemoryAllocationDeadlock",
                "BtrfsError",
                "IOError",
            }
        ),
    ),
    "disk-io": (
        STORAGE,
        frozenset(
            {
                "IOError",
                "BlockIOError",
                "DiskMediumError",
                "DiskHardwareError",
                "ScsiCommandFailed",
                "ScsiCommandTimeout",
                "AtaError",
                "NvmeTimeout",
                "NvmeControllerError",
                "NvmeIOError",
                "ScsiDeviceOffline",
                "AtaDeviceDisabled",
                "NvmeControllerRemoved",
                "RaidDiskFailed",
            }
        ),
    ),
}


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


def test_every_class_has_enough_real_lines_from_several_sources() -> None:
    for stem in CLASSES:
        lines = [case for case in CASES if case[0] == stem]
        assert len(lines) >= 15, stem
        assert len({source for _, source, _ in lines}) >= 8, stem
        assert all(source for _, source, _ in lines), f"{stem}: a line before any '# source:'"


@pytest.mark.parametrize(
    ("stem", "source", "line"), CASES, ids=[f"{case[0]}-{number}" for number, case in enumerate(CASES)]
)
def test_a_real_problem_line_is_reported_under_its_class(stem: str, source: str, line: str) -> None:
    config, wanted = CLASSES[stem]
    got = {found.reason for found in findings(config, [line])}
    assert got & wanted, f"{line!r} from {source} gave {sorted(got) or 'nothing'}"


def test_the_normal_lines_of_the_same_pastes_are_kept_as_a_negative_corpus() -> None:
    # tests/catalog/test_negative.py runs every bundled monitor over them; they must exist.
    negative = Path(__file__).parent / "negative" / "realworld-kernel.txt"
    lines = [line for line in negative.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) >= 50
