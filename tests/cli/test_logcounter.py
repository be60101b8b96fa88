"""``log-counter`` on real journal files (written by systemd-journal-remote), run as a process.

Upstream's ``kernel-monitor-counter.json``, ``docker-monitor-counter.json`` and
``systemd-monitor-counter.json`` call it as a custom plugin; the last test runs their exact
arguments with only the binary's path changed.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.daemon import console_script
from tests.support.journal import JournalFileWriter

UPSTREAM_CONFIGS = Path("/work/shared/compat/upstream-config")
UNREGISTER = "unregister_netdevice: waiting for eth0 to become free. Usage count = 2"
PATTERN = r"unregister_netdevice: waiting for \w+ to become free. Usage count = \d+"


def log_counter(*args: str, via_npd: bool = False) -> subprocess.CompletedProcess[str]:
    command = [console_script("npd"), "log-counter"] if via_npd else [console_script("log-counter")]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60, check=False)


def write(writer: JournalFileWriter, lines: list[tuple[str, str, float]]) -> None:
    """Entries (identifier, message, seconds ago)."""
    now = time.time()
    writer.write(writer.entry(message, identifier=ident, realtime=now - ago) for ident, message, ago in lines)


def test_reaching_the_count_exits_1_with_upstreams_message(
    journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    write(journal_writer, [("kernel", UNREGISTER, 60), ("kernel", UNREGISTER, 30), ("kernel", UNREGISTER, 5)])
    result = log_counter(
        "--journald-source=kernel",
        f"--log-path={journal_dir}",
        "--lookback=20m",
        "--count=3",
        f"--pattern={PATTERN}",
    )
    assert (result.returncode, result.stdout) == (
        1,
        "Found 3 matching logs, which meets the threshold of 3\n",
    ), result.stderr


def test_below_the_count_exits_0_silently(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    write(journal_writer, [("kernel", UNREGISTER, 30), ("kernel", "eth0: link up", 20)])
    result = log_counter(
        "--journald-source=kernel",
        f"--log-path={journal_dir}",
        "--lookback=20m",
        "--count=2",
        f"--pattern={PATTERN}",
    )
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


def test_only_the_lookback_window_and_the_source_count(
    journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    write(
        journal_writer,
        [
            ("kernel", UNREGISTER, 3600),  # older than --lookback
            ("kernel", UNREGISTER, 2400),
            ("dockerd", UNREGISTER, 30),  # another identifier
            ("kernel", UNREGISTER, 10),
        ],
    )
    args = ["--journald-source=kernel", f"--log-path={journal_dir}", f"--pattern={PATTERN}"]
    assert log_counter(*args, "--lookback=20m", "--count=2").returncode == 0
    assert log_counter(*args, "--lookback=50m", "--count=2").returncode == 1
    assert log_counter(*args, "--lookback=2h", "--count=3").returncode == 1


def test_the_delay_skips_entries_soon_after_boot(
    journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    uptime = time.clock_gettime(time.CLOCK_BOOTTIME)
    if uptime < 120:
        pytest.skip("needs a machine up for 2 minutes: entries must fit between boot and the delay")
    now = time.time()
    booted = now - uptime
    journal_writer.write(
        [
            journal_writer.entry(UNREGISTER, identifier="kernel", realtime=booted + 5),
            journal_writer.entry(UNREGISTER, identifier="kernel", realtime=now - 10),
        ]
    )
    args = ["--journald-source=kernel", f"--log-path={journal_dir}", f"--pattern={PATTERN}", "--count=2"]
    # A lookback reaching back before boot: the window starts at boot + delay.
    assert log_counter(*args, "--lookback=100000h").returncode == 1
    # Boot + delay lands 60 s ago: the entry from 5 s after boot is out.
    assert log_counter(*args, "--lookback=100000h", f"--delay={int(uptime) - 60}s").returncode == 0
    assert log_counter(*args, "--lookback=100000h", "--delay=1s").returncode == 1


def test_the_revert_pattern_subtracts(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    write(
        journal_writer,
        [
            ("systemd", "Started Kubernetes kubelet.", 50),
            ("systemd", "kubelet.service: Main process exited, code=exited, status=1/FAILURE", 40),
            ("systemd", "Started Kubernetes kubelet.", 30),
            ("systemd", "Started Kubernetes kubelet.", 20),
        ],
    )
    args = [
        "--journald-source=systemd",
        f"--log-path={journal_dir}",
        "--lookback=20m",
        "--pattern=Started Kubernetes kubelet.",
        "--count=2",
    ]
    assert log_counter(*args).returncode == 1  # 3 starts
    reverted = log_counter(*args, "--revert-pattern=kubelet.service: Main process exited.*")
    assert reverted.returncode == 1
    assert reverted.stdout == "Found 2 matching logs, which meets the threshold of 2\n"
    assert log_counter(*args[:-1], "--count=3", "--revert-pattern=.*Main process exited.*").returncode == 0


def test_npd_log_counter_is_the_same_command(journal_writer: JournalFileWriter, journal_dir: Path) -> None:
    write(journal_writer, [("kernel", UNREGISTER, 5)])
    result = log_counter(
        "--journald-source=kernel",
        f"--log-path={journal_dir}",
        "--lookback=5m",
        f"--pattern={PATTERN}",
        via_npd=True,
    )
    assert (result.returncode, result.stdout) == (
        1,
        "Found 1 matching logs, which meets the threshold of 1\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pattern=x"], "--journald-source is required"),
        (["--journald-source=kernel"], "--pattern is required"),
        (["--journald-source=kernel", "--pattern=(x"], "--pattern: invalid regular expression"),
        (
            ["--journald-source=kernel", "--pattern=x", "--revert-pattern=(?<=a)b"],
            "--revert-pattern: invalid",
        ),
        (["--journald-source=kernel", "--pattern=x", "--count=0"], "--count=0: must be at least 1"),
        (["--journald-source=kernel", "--pattern=x", "--lookback=20 minutes"], 'for "--lookback" flag'),
        (["--journald-source=kernel", "--pattern=x", "--nope"], "unknown flag: --nope"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = log_counter(*args)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("log-counter: ") and message in line, line


def test_an_unreadable_journal_exits_2(tmp_path: Path) -> None:
    result = log_counter(
        "--journald-source=kernel", f"--log-path={tmp_path / 'absent'}", "--lookback=5m", "--pattern=x"
    )
    assert result.returncode == 2
    assert "cannot read the journal" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "name", ["kernel-monitor-counter.json", "docker-monitor-counter.json", "systemd-monitor-counter.json"]
)
def test_upstream_counter_configs_run_with_only_the_path_changed(
    name: str, journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    write(journal_writer, [("unrelated", "hello", 1)])
    config = json.loads((UPSTREAM_CONFIGS / name).read_text())
    for rule in config["rules"]:
        args = [arg for arg in rule["args"] if not arg.startswith("--log-path=")]
        result = log_counter(*args, f"--log-path={journal_dir}")
        assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), rule["reason"]


def test_upstream_kernel_counter_fires_on_its_problem(
    journal_writer: JournalFileWriter, journal_dir: Path
) -> None:
    [rule] = json.loads((UPSTREAM_CONFIGS / "kernel-monitor-counter.json").read_text())["rules"]
    write(journal_writer, [("kernel", UNREGISTER, ago) for ago in (300, 200, 100)])
    args = [arg for arg in rule["args"] if not arg.startswith("--log-path=")]
    result = log_counter(*args, f"--log-path={journal_dir}")
    assert (result.returncode, result.stdout) == (
        1,
        "Found 3 matching logs, which meets the threshold of 3\n",
    )
