"""--log-pattern against real journal files (written by systemd-journal-remote), with a fake systemctl
answering the unit's start."""

from __future__ import annotations

import time
from pathlib import Path

from tests.healthcheck.conftest import Endpoint, FakeSystemctl, health_checker
from tests.support.journal import JournalFileWriter

PATTERN = "PLEG is not healthy"


def log(writer: JournalFileWriter, entries: list[tuple[str, str, float]]) -> None:
    """Entries (unit, message, seconds ago), logged by the unit's process."""
    now = time.time()
    writer.write(
        writer.entry(message, identifier=unit.split(".")[0], realtime=now - ago, _SYSTEMD_UNIT=unit)
        for unit, message, ago in entries
    )


def check(kubelet: Endpoint, systemctl: FakeSystemctl, journal_dir: Path, *args: str) -> tuple[int, str]:
    result = health_checker(
        "--component=kubelet",
        "--enable-repair=false",
        f"--journal-path={journal_dir}",
        *args,
        env={"HOST_ADDRESS": "127.0.0.1", "KUBELET_PORT": kubelet.port, "PATH": systemctl.path},
    )
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout


def test_reaching_the_count_since_the_unit_started_is_unhealthy(
    kubelet: Endpoint, systemctl: FakeSystemctl, journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    systemctl.set_uptime(600)
    log(
        journal_writer,
        [
            (
                "kubelet.service",
                "skipping pod sync: PLEG is not healthy: pleg was last seen active 3m ago",
                900,
            ),
            ("kubelet.service", "skipping pod sync: pleg IS NOT HEALTHY", 300),  # case-insensitive
            ("kubelet.service", "skipping pod sync: PLEG is not healthy: timeout", 100),
            ("containerd.service", "PLEG is not healthy", 50),  # another unit
        ],
    )
    assert check(kubelet, systemctl, journal_dir, f"--log-pattern=2:{PATTERN}") == (
        1,
        f"kubelet:kubelet was found unhealthy; repair flag : false; 2x '{PATTERN}' in log\n",
    )
    # The entry before the unit's start and the other unit's do not count.
    assert check(kubelet, systemctl, journal_dir, f"--log-pattern=3:{PATTERN}")[0] == 0
    assert ["show", "kubelet", "--property=InactiveExitTimestampMonotonic"] in systemctl.calls()


def test_the_loopback_shortens_the_window(
    kubelet: Endpoint, systemctl: FakeSystemctl, journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    systemctl.set_uptime(3600)
    log(journal_writer, [("kubelet.service", PATTERN, 1200), ("kubelet.service", PATTERN, 60)])
    assert check(kubelet, systemctl, journal_dir, f"--log-pattern=2:{PATTERN}")[0] == 1
    assert check(kubelet, systemctl, journal_dir, "--loopback-time=10m", f"--log-pattern=2:{PATTERN}")[0] == 0
    assert check(kubelet, systemctl, journal_dir, "--loopback-time=10m", f"--log-pattern=1:{PATTERN}")[0] == 1


def test_a_loopback_longer_than_the_uptime_counts_from_the_start(
    kubelet: Endpoint, systemctl: FakeSystemctl, journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    systemctl.set_uptime(120)
    log(journal_writer, [("kubelet.service", PATTERN, 600), ("kubelet.service", PATTERN, 60)])
    assert check(kubelet, systemctl, journal_dir, "--loopback-time=1h", f"--log-pattern=2:{PATTERN}")[0] == 0


def test_several_patterns_repeated_and_comma_separated(
    kubelet: Endpoint, systemctl: FakeSystemctl, journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    log(journal_writer, [("kubelet.service", "use of closed network connection", 30)])
    code, line = check(
        kubelet,
        systemctl,
        journal_dir,
        f"--log-pattern=1:{PATTERN},1:closed network",
        "--log-pattern=5:connection",
    )
    assert (code, line) == (
        1,
        "kubelet:kubelet was found unhealthy; repair flag : false; 1x 'closed network' in log\n",
    )


def test_systemds_messages_about_the_unit_count(
    kubelet: Endpoint, systemctl: FakeSystemctl, journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    now = time.time()
    journal_writer.write(
        [
            journal_writer.entry(
                "kubelet.service: Main process exited, code=exited, status=1/FAILURE",
                identifier="systemd",
                realtime=now - 30,
                _SYSTEMD_UNIT="init.scope",
                UNIT="kubelet.service",
            )
        ]
    )
    assert check(kubelet, systemctl, journal_dir, "--log-pattern=1:main process exited")[0] == 1


def test_the_component_check_and_the_patterns_both_count(
    kubelet: Endpoint, systemctl: FakeSystemctl, journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    kubelet.status = 500
    log(journal_writer, [("kubelet.service", PATTERN, 30)])
    code, line = check(kubelet, systemctl, journal_dir, f"--log-pattern=1:{PATTERN}")
    assert code == 1
    assert line.startswith(
        "kubelet:kubelet was found unhealthy; repair flag : false; /healthz: HTTP 500; 1x "
    )


def test_without_the_units_start_it_is_an_error(
    kubelet: Endpoint, systemctl: FakeSystemctl, journal_dir: Path
) -> None:
    systemctl.fail_show()
    code, line = check(kubelet, systemctl, journal_dir, f"--log-pattern=1:{PATTERN}")
    assert code == 2
    assert line.startswith(
        "error checking kubelet health: systemctl show kubelet: exit 1: System has not been"
    )


def test_an_unreadable_journal_is_an_error(
    kubelet: Endpoint, systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    code, line = check(kubelet, systemctl, tmp_path / "absent", f"--log-pattern=1:{PATTERN}")
    assert code == 2
    assert line.startswith("error checking kubelet health: cannot read "), line
