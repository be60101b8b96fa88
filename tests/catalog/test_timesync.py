"""The time-sync monitor: chronyd, systemd-timesyncd and ntpd losing or fighting the clock.

Each positive case is a journal MESSAGE of one of those daemons; the comment above it names
the source file the wording comes from. Every line must give exactly one report.
"""

from __future__ import annotations

import pytest

from tests.catalog.harness import bundled, findings, reasons

CONFIG = "timesync-monitor.json"

POSITIVE: list[tuple[str, str]] = [
    # chrony sources.c SRC_SelectSource(): logged when the selected source is lost; 4.2+ adds
    # the unreachable count, newer releases the agreement counts. chronyd -d prefixes a
    # timestamp (one container image logs the American spelling).
    ("Can't synchronise: no selectable sources", "TimeNotSynchronized"),
    ("Can't synchronise: no selectable sources (5 unreachable sources)", "TimeNotSynchronized"),
    ("Can't synchronise: no selectable sources (0 unreachable sources)", "TimeNotSynchronized"),
    ("Can't synchronise: no majority", "TimeNotSynchronized"),
    ("Can't synchronise: no majority (only 2 of 4 sources agree)", "TimeNotSynchronized"),
    ("Can't synchronise: not enough selectable sources", "TimeNotSynchronized"),
    ("2017-03-23T12:00:04Z Can't synchronize: no selectable sources", "TimeNotSynchronized"),
    # chrony reference.c special_mode_end(): chronyd -q / -Q found no usable server.
    ("No suitable source for synchronisation", "TimeNotSynchronized"),
    # ntpd ntp_proto.c: 4.2.0-era "no servers reachable" and 4.2.6+ report_event(EVNT_NOPEER),
    # raised only when a system peer was lost.
    ("no servers reachable", "TimeNotSynchronized"),
    ("0.0.0.0 0618 08 no_sys_peer", "TimeNotSynchronized"),
    ("0.0.0.0 c618 08 no_sys_peer", "TimeNotSynchronized"),
    # systemd timesyncd-manager.c manager_receive_response(): the server is not usable.
    ("Server has too large root distance. Disconnecting.", "TimeNotSynchronized"),
    # chrony reference.c maybe_log_offset(): logged when the offset being slewed exceeds the
    # logchange threshold (1 s by default), i.e. after makestep's start-up steps are spent.
    ("System clock wrong by 1.517473 seconds, adjustment started", "ClockOffsetLarge"),
    ("System clock wrong by -2.500000 seconds, adjustment started", "ClockOffsetLarge"),
    # The same maybe_log_offset() line as chrony 4.x logs it, without ", adjustment started"
    # (omniosorg/omnios-build#2576).
    ("System clock wrong by 1.999308 seconds", "ClockOffsetLarge"),
    (
        "2017-03-23T12:02:14Z System clock wrong by 84151949.073647 seconds, adjustment started",
        "ClockOffsetLarge",
    ),
    # chrony reference.c is_offset_ok(): maxchange exceeded (the format ends with a space).
    (
        "Adjustment of 1234.567 seconds exceeds the allowed maximum of 1000.000 seconds (exiting) ",
        "ClockOffsetLarge",
    ),
    (
        "Adjustment of -5.000 seconds exceeds the allowed maximum of 1.000 seconds (ignored)",
        "ClockOffsetLarge",
    ),
    # ntpd ntp_loopfilter.c local_clock(): panic threshold, ntpd exits.
    (
        "time correction of 3601 seconds exceeds sanity limit (1000); set clock manually to the correct "
        "UTC time.",
        "ClockOffsetLarge",
    ),
    # ntpd/NTPsec ntp_loopfilter.c: the clock drifts faster than NTP can follow.
    ("frequency error 512 PPM exceeds tolerance 500 PPM", "ClockOffsetLarge"),
    ("CLOCK: frequency error 41699 PPM exceeds tolerance 500 PPM", "ClockOffsetLarge"),
    # chrony sched.c check_current_time(): the clock moved under chronyd (VM pause, manual set).
    ("Forward time jump detected!", "ClockJumped"),
    ("Backward time jump detected!", "ClockJumped"),
    ("2017-03-23T12:00:04Z Backward time jump detected!", "ClockJumped"),
    # ntpdate main(): no server answered with a usable time (cturra/docker-ntp#53).
    ("no server suitable for synchronization found", "TimeNotSynchronized"),
]

NEAR_MISSES = [
    # A step during start-up (makestep 1 3) and chronyd -q's report are expected.
    "System clock was stepped by 0.523441 seconds",
    "System clock wrong by 0.000370 seconds (step)",
    # Source and network changes, and synchronising again.
    "Selected source 169.254.169.123",
    "Source 162.159.200.1 offline",
    # A single timed-out request: timesyncd retries and moves on.
    "Timed out waiting for reply from 91.189.89.198:123 (ntp.ubuntu.com).",
    "Initial synchronization to time server 185.125.190.56:123 (ntp.ubuntu.com).",
    "Network configuration changed, trying to establish connection.",
    # ntpd reports TIME_ERROR on every start, and steps at start with -g.
    "kernel reports TIME_ERROR: 0x2041: Clock Unsynchronized",
    "0.0.0.0 c61c 0c clock_step +0.345678 s",
    "time reset +0.345678 s",
    "0.0.0.0 c615 05 clock_sync",
    "synchronized to 10.0.0.1, stratum 2",
]


@pytest.mark.parametrize(("line", "reason"), POSITIVE, ids=[f"{r}-{i}" for i, (_, r) in enumerate(POSITIVE)])
def test_problem_line_gives_one_report(line: str, reason: str) -> None:
    assert reasons(CONFIG, [line]) == [reason]


@pytest.mark.parametrize("line", NEAR_MISSES)
def test_near_miss_is_silent(line: str) -> None:
    assert reasons(CONFIG, [line]) == []


def test_loss_and_recovery_of_sync() -> None:
    # chronyd after the network went away and came back: one report, for the loss.
    lines = [
        "Source 203.107.6.88 offline",
        "Source 120.25.115.20 offline",
        "Can't synchronise: no selectable sources",
        "Source 203.107.6.88 online",
        "Source 120.25.115.20 online",
        "Selected source 120.25.115.20",
    ]
    assert reasons(CONFIG, lines) == ["TimeNotSynchronized"]


def test_three_timesyncd_timeouts_within_ten_minutes_report_lost_sync_once() -> None:
    # systemd-timesyncd manager.c: one "Timed out waiting for reply" is a lost packet and
    # timesyncd tries the next server; the third within the window means none answers.
    timeouts = [
        "Timed out waiting for reply from 91.189.89.198:123 (ntp.ubuntu.com).",
        "Timed out waiting for reply from 91.189.89.199:123 (ntp.ubuntu.com).",
        "Timed out waiting for reply from 91.189.94.4:123 (ntp.ubuntu.com).",
    ]
    assert findings(CONFIG, timeouts[:2]) == []
    assert [(f.reason, f.message) for f in findings(CONFIG, timeouts)] == [
        ("TimeNotSynchronized", timeouts[2])
    ]


def test_reports_are_events_with_the_matched_line() -> None:
    line = "Forward time jump detected!"
    [found] = findings(CONFIG, [line])
    assert (found.condition, found.message) == ("", line)


def test_reads_the_time_sync_daemons() -> None:
    assert bundled(CONFIG).journald_identifiers == ("chronyd", "systemd-timesyncd", "ntpd", "ntpdate")
