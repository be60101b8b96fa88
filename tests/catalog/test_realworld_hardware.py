"""Real log lines from public bug reports against the hardware, network and timesync monitors.

``tests/catalog/realworld/<class>.txt`` holds, per problem class, headline lines as people pasted
them from dmesg, kern.log, journalctl or kubelet events (only the log prefix stripped), in groups
headed by a ``# source:`` comment naming the public report. Every line must give at least one
report of the monitor for its class, with one of the reasons that class is about.

A few real lines are deliberately not reported; they are listed in ``NOT_REPORTED`` with the
reason, and the test asserts that they stay silent, so the trade-off is visible and a rule change
that starts reporting them is noticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalog.harness import findings

REALWORLD = Path(__file__).parent / "realworld"

HARDWARE = "hardware-monitor.json"
NETWORK = "network-monitor.json"
TIMESYNC = "timesync-monitor.json"

GPU_REASONS = frozenset(
    {
        "GPUFallenOffBus",
        "GPUUncorrectableECCError",
        "GPURowRemapFailure",
        "GPUGSPError",
        "GPURecoveryRequired",
        "GPUInitFailed",
        "GPURowRemapEvent",
        "GPUNVLinkError",
        "GPUHighSingleBitECCRate",
        "GPUContainedECCError",
        "GPUApplicationError",
        "GPUXidError",
        "GPUCrashDump",
    }
)

# class file stem -> (the monitor that must report it, the reasons that name that class)
CLASSES: dict[str, tuple[str, frozenset[str]]] = {
    "hardware-error": (
        HARDWARE,
        frozenset(
            {
                "MachineCheckEvent",
                "CorrectedMachineCheck",
                "UncorrectedMachineCheck",
                "FatalMachineCheck",
                "CperHardwareErrorCorrected",
                "CperHardwareErrorRecoverable",
                "CperHardwareErrorFatal",
            }
        ),
    ),
    "thermal": (HARDWARE, frozenset({"CPUThermalThrottling", "ThermalShutdown"})),
    "memory-error": (
        HARDWARE,
        frozenset(
            {
                "MemoryReadError",
                "MemoryUncorrectableError",
                "ProcessKilledByMemoryError",
                "MemoryPageSoftOffline",
            }
        ),
    ),
    "gpu-xid": (HARDWARE, GPU_REASONS),
    "pcie-aer": (
        HARDWARE,
        frozenset(
            {"PCIeCorrectedError", "PCIeUncorrectedError", "PCIeFatalError", "PCIeDeviceRecoveryFailed"}
        ),
    ),
    "unregister-netdevice": (NETWORK, frozenset({"UnregisterNetDevice"})),
    "conntrack": (NETWORK, frozenset({"ConntrackFull"})),
    "nic-tx-timeout": (NETWORK, frozenset({"NetworkTxTimeout", "NetworkAdapterHang"})),
    "link-down": (NETWORK, frozenset({"NetworkLinkDown", "BondLinkDown", "BondDown"})),
    "network-storage": (
        NETWORK,
        frozenset(
            {
                "NFSServerNotResponding",
                "NFSLockReclaimFailed",
                "NFSStateRecoveryFailed",
                "NFSServerError",
                "ISCSIConnectionError",
                "ISCSISessionRecoveryTimedOut",
            }
        ),
    ),
    "timesync": (TIMESYNC, frozenset({"TimeNotSynchronized", "ClockOffsetLarge", "ClockJumped"})),
}

# The fewest lines and distinct sources each class file must keep. The public record is thin for
# some classes (timesync daemons rarely say more than one line about a failure), so the floors
# follow what was found rather than one number for all.
MINIMUM: dict[str, tuple[int, int]] = {
    "hardware-error": (25, 15),
    "thermal": (15, 10),
    "memory-error": (25, 15),
    "gpu-xid": (25, 15),
    "pcie-aer": (25, 10),
    "unregister-netdevice": (15, 10),
    "conntrack": (12, 10),
    "nic-tx-timeout": (20, 14),
    "link-down": (15, 12),
    "network-storage": (20, 14),
    "timesync": (7, 4),
}

# Real problem lines that no single-line rule reports, and why. phylib ("Link is Down", r8169 on
# 5.x+, DSA switch ports) and Realtek's out-of-tree r8168/r8125 drivers print the same words on
# every interface bring-up before autonegotiation, so one such line does not tell a lost link
# from a boot; reporting them would give an event per NIC per boot.
NOT_REPORTED: dict[str, str] = {
    "r8169 0002:01:00.0 eth1: Link is Down": "phylib prints it on every bring-up",
    "mt7530 mdio-bus:1f lan1: Link is Down": "phylib prints it on every bring-up",
    "r8168: eth0: link down": "the out-of-tree driver prints it on bring-up",
    "r8125: eth0: link down": "the out-of-tree driver prints it on bring-up",
    "r8125: eth2: link down": "the out-of-tree driver prints it on bring-up",
    "smsc95xx 1-1.1:1.0 eth0: link down": "usbnet's mii wording, printed on every bring-up too",
    # Xid 45 is the driver cleaning up a channel after an earlier Xid or a killed process; the
    # earlier Xid (here 149) is the one that reports.
    "NVRM: Xid (PCI:0000:dc:00): 45, pid=1818990, name=python3, Ch 00000001 caused by previous Xid 149": (
        "preemptive cleanup that follows the Xid that reports"
    ),
}


def _groups(stem: str) -> list[tuple[str, list[str]]]:
    """(source, lines) for each ``# source:`` group of a realworld file, in file order."""
    groups: list[tuple[str, list[str]]] = []
    for raw in (REALWORLD / f"{stem}.txt").read_text().splitlines():
        if raw.startswith("# source:"):
            groups.append((raw.removeprefix("# source:").strip(), []))
        elif raw.strip() and not raw.startswith("#"):
            assert groups, f"{stem}: a line before any '# source:'"
            groups[-1][1].append(raw)
    return groups


def _cases() -> list[tuple[str, str, str]]:
    """(class, source, line) for every real line, in file order."""
    return [(stem, source, line) for stem in CLASSES for source, lines in _groups(stem) for line in lines]


CASES = _cases()
REPORTED = [case for case in CASES if case[2] not in NOT_REPORTED]
SILENT = [case for case in CASES if case[2] in NOT_REPORTED]


def test_every_class_keeps_its_real_lines_and_sources() -> None:
    for stem, (least_lines, least_sources) in MINIMUM.items():
        lines = [case for case in CASES if case[0] == stem]
        assert len(lines) >= least_lines, stem
        assert len({source for _, source, _ in lines}) >= least_sources, stem


def test_every_not_reported_line_is_in_the_corpus() -> None:
    assert {line for _, _, line in SILENT} == set(NOT_REPORTED)


@pytest.mark.parametrize(
    ("stem", "source", "line"), REPORTED, ids=[f"{case[0]}-{number}" for number, case in enumerate(REPORTED)]
)
def test_a_real_problem_line_is_reported_under_its_class(stem: str, source: str, line: str) -> None:
    config, wanted = CLASSES[stem]
    got = {found.reason for found in findings(config, [line])}
    assert got & wanted, f"{line!r} from {source} gave {sorted(got) or 'nothing'}"


@pytest.mark.parametrize(("stem", "source", "line"), SILENT, ids=[case[2] for case in SILENT])
def test_a_deliberately_unreported_line_stays_silent(stem: str, source: str, line: str) -> None:
    config, _ = CLASSES[stem]
    assert findings(config, [line]) == [], NOT_REPORTED[line]


@pytest.mark.parametrize(("source", "lines"), _groups("timesync-timeouts"), ids=lambda value: str(value)[:40])
def test_three_timesyncd_timeouts_in_a_row_report_once(source: str, lines: list[str]) -> None:
    # One "Timed out waiting for reply" is a lost packet; the third within ten minutes reports.
    assert len(lines) == 3, source
    assert findings(TIMESYNC, lines[:2]) == []
    found = findings(TIMESYNC, lines)
    assert [(f.reason, f.message) for f in found] == [("TimeNotSynchronized", lines[2])]
