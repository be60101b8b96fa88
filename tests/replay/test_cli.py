"""``npd replay`` as an operator runs it: the console script, real files, exit codes, output."""

from __future__ import annotations

import gzip
import json
import os
import pty
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.replay.support import KERNEL_MONITOR, RUNTIME_MONITOR, write_config
from tests.support.daemon import console_script

OOM = "Out of memory: Killed process 1234 (java) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB"
HUNG = "INFO: task docker:4321 blocked for more than 120 seconds."
CORRUPT = (
    "Error trying v2 registry: failed to register layer: rename /var/lib/docker/image/overlay2/layerdb/tmp/x "
    "/var/lib/docker/image/overlay2/layerdb/sha256/y: directory not empty"
)
PLEG = "PLEG is not healthy: pleg was last seen active 3m0s ago"


def replay(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``npd replay`` to completion (stdin empty unless given), with local time in UTC."""
    return subprocess.run(
        [console_script("npd"), "replay", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env={**os.environ, "TZ": "UTC", **(env or {})},
        timeout=60,
        check=False,
    )  # type: ignore[call-overload, no-any-return]


def text(result: subprocess.CompletedProcess[Any]) -> tuple[str, str]:
    return result.stdout.decode(), result.stderr.decode()


def json_findings(result: subprocess.CompletedProcess[Any]) -> list[dict[str, Any]]:
    stdout, stderr = text(result)
    assert "Traceback" not in stderr
    return [json.loads(line) for line in stdout.splitlines()]


def assert_one_error_line(result: subprocess.CompletedProcess[Any], *fragments: str) -> None:
    stdout, stderr = text(result)
    assert result.returncode == 2, stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("npd replay: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def found(
    name: str,
    lines: tuple[int, int],
    when: str,
    monitor: str,
    reason: str,
    message: str,
    condition: str = "",
    status: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input": name,
        "first_line": lines[0],
        "last_line": lines[1],
        "timestamp": when,
        "monitor": monitor,
        "type": "temporary" if status is None else "permanent",
        "reason": reason,
        "condition": condition,
        "message": message,
    }
    if status is not None:
        out["status"] = status
    return out


@pytest.fixture
def configs(tmp_path: Path) -> list[str]:
    """``--config`` arguments for the test kmsg and journald monitors."""
    return [
        f"--config={write_config(tmp_path, 'kernel.json', KERNEL_MONITOR)}",
        f"--config={write_config(tmp_path, 'runtime.json', RUNTIME_MONITOR)}",
    ]


def syslog_file(tmp_path: Path) -> Path:
    path = tmp_path / "syslog"
    path.write_bytes(
        b"Mar  1 09:59:58 node-1 systemd[1]: Started Kubernetes Kubelet.\n"
        b"Mar  1 10:00:00 node-1 kernel: [ 3601.000001] IPv6: ADDRCONF(NETDEV_CHANGE): veth1: link is ready\n"
        + f"Mar  1 10:00:01 node-1 kernel: [ 3602.123456] {OOM}\n".encode()
        + b"this is not a syslog line\n"
        + f'Mar  1 10:00:02 node-1 dockerd[812]: level=error msg="{CORRUPT}"\n'.encode()
        + b"\n"
        + f'Mar  1 10:00:03 node-1 kubelet[900]: E0301 kubelet.go:2100] "Sync" err="{PLEG}"\n'.encode()
        # The kernel's words from dockerd: not for the kernel monitor.
        + f"Mar  1 10:00:04 node-1 dockerd[812]: {OOM}\n".encode()
        + b"\x00\xff\xfe binary junk\n"
        + f"Mar  1 10:00:05 node-1 kernel: [ 3606.000000] {HUNG}\n".encode()
        + b"Mar  1 10:30:06 node-1 kubelet[900]: PLEG is healthy again\n"
    )
    # RFC 3164 stamps have no year: it comes from when the file was last written.
    moment = 1709337600  # 2024-03-02T00:00:00Z
    os.utime(path, (moment, moment))
    return path


def test_syslog_findings_with_their_lines(tmp_path: Path, configs: list[str]) -> None:
    path = syslog_file(tmp_path)
    result = replay(*configs, "--output=json", str(path))
    name = str(path)
    assert json_findings(result) == [
        found(name, (3, 3), "2024-03-01T10:00:01Z", "kernel-monitor", "OOMKilling", OOM),
        found(
            name, (5, 5), "2024-03-01T10:00:02Z", "runtime-monitor", "CorruptDockerImage",
            f'level=error msg="{CORRUPT}"',
        ),
        found(
            name, (7, 7), "2024-03-01T10:00:03Z", "runtime-monitor", "PLEGNotHealthy",
            f'E0301 kubelet.go:2100] "Sync" err="{PLEG}"', "ContainerRuntimeProblem", "True",
        ),
        found(name, (10, 10), "2024-03-01T10:00:05Z", "kernel-monitor", "TaskHung", HUNG),
        found(
            name, (10, 10), "2024-03-01T10:00:05Z", "kernel-monitor", "DockerHung", HUNG,
            "KernelDeadlock", "True",
        ),
        found(
            name, (11, 11), "2024-03-01T10:30:06Z", "runtime-monitor", "ContainerRuntimeIsHealthy",
            "container runtime is healthy", "ContainerRuntimeProblem", "False",
        ),
    ]  # fmt: skip
    assert result.returncode == 1
    # The summary goes to stderr, so stdout holds JSON lines only.
    _, stderr = text(result)
    assert f"{name} (syslog): 11 lines, 6 findings; skipped 2 lines that are not syslog" in stderr
    assert "Findings by reason (6 findings):" in stderr


def test_journal_json_findings_follow_identifiers_and_the_kernel_transport(
    tmp_path: Path, configs: list[str]
) -> None:
    hung_bytes = [0xFF, *HUNG.encode()]  # not UTF-8: journalctl writes such a MESSAGE as bytes
    entries: list[Any] = [
        {"__REALTIME_TIMESTAMP": "1709287200000000", "_TRANSPORT": "kernel", "SYSLOG_IDENTIFIER": "kernel",
         "PRIORITY": "3", "MESSAGE": OOM},
        {"__REALTIME_TIMESTAMP": "1709287201000000", "_TRANSPORT": "stdout", "SYSLOG_IDENTIFIER": "dockerd",
         "MESSAGE": CORRUPT},
        {"__REALTIME_TIMESTAMP": "1709287202000000", "SYSLOG_IDENTIFIER": "containerd", "MESSAGE": PLEG},
        "-- Boot 4a3e... --",
        {"__REALTIME_TIMESTAMP": "1709287203000000", "_TRANSPORT": "kernel", "MESSAGE": hung_bytes},
        {"__REALTIME_TIMESTAMP": "1709287204000000", "SYSLOG_IDENTIFIER": "kubelet", "MESSAGE": None},
        {"__REALTIME_TIMESTAMP": "1709287205000000", "SYSLOG_IDENTIFIER": "kubelet", "MESSAGE": PLEG},
    ]  # fmt: skip
    path = tmp_path / "journal.json"
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in entries))
    result = replay(*configs, "-o", "json", str(path))
    name = str(path)
    assert json_findings(result) == [
        found(name, (1, 1), "2024-03-01T10:00:00Z", "kernel-monitor", "OOMKilling", OOM),
        found(name, (2, 2), "2024-03-01T10:00:01Z", "runtime-monitor", "CorruptDockerImage", CORRUPT),
        # Line 3 is containerd's: the runtime monitor reads dockerd and kubelet only.
        found(name, (5, 5), "2024-03-01T10:00:03Z", "kernel-monitor", "TaskHung", "\ufffd" + HUNG),
        found(name, (5, 5), "2024-03-01T10:00:03Z", "kernel-monitor", "DockerHung", "\ufffd" + HUNG,
              "KernelDeadlock", "True"),
        found(name, (7, 7), "2024-03-01T10:00:05Z", "runtime-monitor", "PLEGNotHealthy", PLEG,
              "ContainerRuntimeProblem", "True"),
    ]  # fmt: skip
    assert result.returncode == 1
    _, stderr = text(result)
    assert "(journal-json): 7 lines, 5 findings; skipped 1 line that is not journal-json; " in stderr
    assert "skipped 1 record without a message" in stderr


def test_kmsg_dump_findings_span_dictionary_lines(tmp_path: Path, configs: list[str]) -> None:
    memcg = "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/kubepods/pod1,task=java,pid=1234"
    killed = "Memory cgroup out of memory: Killed process 1234 (java) total-vm:1000kB, anon-rss:500kB, UID:0"
    path = tmp_path / "kmsg.dump"
    path.write_text(
        "6,1001,3601000001,-;IPv6: ADDRCONF(NETDEV_CHANGE): veth1: link becomes ready\n"
        " SUBSYSTEM=net\n"
        " DEVICE=n3\n"
        f"4,1002,3602000000,-;{memcg}\n"
        f"3,1003,3602000100,-;{killed}\n"
        "garbage line\n"
        f"3,1004,3606000000,c;{HUNG}\n"
        " SUBSYSTEM=sched\n"
    )
    result = replay(*configs, "--output", "json", "--boot-time", "2024-03-01T09:00:00Z", str(path))
    name = str(path)
    assert json_findings(result) == [
        found(name, (5, 5), "2024-03-01T10:00:02.0001Z", "kernel-monitor", "OOMKilling", killed),
        found(name, (4, 5), "2024-03-01T10:00:02Z", "kernel-monitor", "MemcgOOM", f"{memcg}\n{killed}"),
        found(name, (7, 8), "2024-03-01T10:00:06Z", "kernel-monitor", "TaskHung", HUNG),
        found(
            name,
            (7, 8),
            "2024-03-01T10:00:06Z",
            "kernel-monitor",
            "DockerHung",
            HUNG,
            "KernelDeadlock",
            "True",
        ),
    ]
    assert result.returncode == 1


def test_journal_export_findings(tmp_path: Path, configs: list[str]) -> None:
    def field(name: str, value: str | bytes) -> bytes:
        if isinstance(value, str):
            return f"{name}={value}\n".encode()
        return name.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"

    path = tmp_path / "journal.export"
    path.write_bytes(
        field("__CURSOR", "s=1;i=1") + field("__REALTIME_TIMESTAMP", "1709287200000000")
        + field("_TRANSPORT", "kernel") + field("MESSAGE", HUNG) + b"\n"
        + field("__CURSOR", "s=1;i=2") + field("__REALTIME_TIMESTAMP", "1709287201000000")
        + field("SYSLOG_IDENTIFIER", "dockerd") + field("MESSAGE", f"line one\n{CORRUPT}".encode())
        + field("_PID", "812") + b"\n"
    )  # fmt: skip
    result = replay(*configs, "--output=json", str(path))
    name = str(path)
    hung = ("2024-03-01T10:00:00Z", "kernel-monitor")
    assert json_findings(result) == [
        found(name, (1, 4), *hung, "TaskHung", HUNG),
        found(name, (1, 4), *hung, "DockerHung", HUNG, "KernelDeadlock", "True"),
        # The binary MESSAGE holds a newline: it is on lines 9-11, and _PID on line 12.
        found(
            name,
            (6, 12),
            "2024-03-01T10:00:01Z",
            "runtime-monitor",
            "CorruptDockerImage",
            f"line one\n{CORRUPT}",
        ),
    ]


def test_resolve_after_and_windows_use_the_logs_time(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "flaps.json",
        {
            "plugin": "kmsg",
            "source": "net-monitor",
            "conditions": [{"type": "LinkDown", "reason": "LinkIsUp", "message": "link is up"}],
            "rules": [
                {"type": "temporary", "reason": "LinkFlapping", "pattern": "eth0: link down",
                 "count": 3, "window": "10m"},
                {"type": "permanent", "condition": "LinkDown", "reason": "NicGone",
                 "pattern": "eth0: NIC gone", "resolve": {"after": "30m"}},
            ],
        },
    )  # fmt: skip
    path = tmp_path / "kern.log"
    path.write_text(
        "2024-03-01T10:00:00Z n kernel: eth0: link down\n"
        "2024-03-01T10:05:00Z n kernel: eth0: link down\n"
        "2024-03-01T10:09:00Z n kernel: eth0: NIC gone\n"
        "2024-03-01T10:09:59Z n kernel: eth0: link down\n"
        "2024-03-01T10:38:00Z n kernel: still quiet\n"
        "2024-03-01T10:40:00Z n kernel: quiet for half an hour\n"
    )
    result = replay(f"--config={config}", "--output=json", str(path))
    name = str(path)
    assert json_findings(result) == [
        found(
            name,
            (3, 3),
            "2024-03-01T10:09:00Z",
            "net-monitor",
            "NicGone",
            "eth0: NIC gone",
            "LinkDown",
            "True",
        ),
        found(name, (4, 4), "2024-03-01T10:09:59Z", "net-monitor", "LinkFlapping", "eth0: link down"),
        found(
            name, (6, 6), "2024-03-01T10:39:00Z", "net-monitor", "LinkIsUp", "link is up", "LinkDown", "False"
        ),
    ]


def test_the_table_and_its_summary(tmp_path: Path, configs: list[str]) -> None:
    path = syslog_file(tmp_path)
    result = replay(*configs, str(path))
    stdout, stderr = text(result)
    assert result.returncode == 1
    assert stderr == ""
    lines = stdout.splitlines()
    assert lines[0].split() == ["LINES", "TIME", "MONITOR", "REASON", "CONDITION", "MESSAGE"]
    assert lines[1].split()[:5] == [f"{path}:3", "2024-03-01T10:00:01Z", "kernel-monitor", "OOMKilling", "-"]
    assert lines[5].split()[:5] == [
        f"{path}:10",
        "2024-03-01T10:00:05Z",
        "kernel-monitor",
        "DockerHung",
        "KernelDeadlock=True",
    ]
    assert lines[7] == ""
    assert lines[8].startswith(f"{path} (syslog): 11 lines, 6 findings")
    assert lines[10].split() == ["COUNT", "MONITOR", "TYPE", "REASON", "CONDITION"]
    assert ["1", "kernel-monitor", "permanent", "DockerHung", "KernelDeadlock=True"] in [
        row.split() for row in lines
    ]


def test_no_findings_exit_0(tmp_path: Path, configs: list[str]) -> None:
    path = tmp_path / "quiet.log"
    path.write_text("Mar  1 10:00:00 node-1 kernel: all is well\n")
    result = replay(*configs, str(path))
    assert result.returncode == 0
    assert text(result)[0].endswith("1 line, 0 findings\nNo findings.\n")


def test_standard_input_and_several_inputs_each_numbered_from_1(tmp_path: Path, configs: list[str]) -> None:
    first = tmp_path / "first.log"
    first.write_text(f"Mar  1 10:00:00 n kernel: hello\nMar  1 10:00:01 n kernel: {OOM}\n")
    piped = f"6,1,1000000,-;{OOM}\n".encode()
    result = replay(*configs, "--output=json", str(first), "-", stdin=piped)
    assert [(item["input"], item["first_line"]) for item in json_findings(result)] == [
        (str(first), 2),
        ("-", 1),
    ]
    alone = replay(*configs, "--output=json", stdin=piped)  # no file: standard input
    assert [(item["input"], item["first_line"]) for item in json_findings(alone)] == [("-", 1)]


def test_gzip_compressed_input(tmp_path: Path, configs: list[str]) -> None:
    path = tmp_path / "kern.log.1.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(f"Mar  1 10:00:00 n kernel: hello\nMar  1 10:00:01 n kernel: {OOM}\n".encode())
    result = replay(*configs, "--output=json", str(path))
    assert [(item["first_line"], item["reason"]) for item in json_findings(result)] == [(2, "OOMKilling")]


def test_the_format_can_be_given(tmp_path: Path, configs: list[str]) -> None:
    path = tmp_path / "messages.txt"
    path.write_text(f"hello\n{OOM}\n")  # no format recognised: plain text, of unknown origin
    auto = replay(*configs, "--output=json", str(path))
    assert [(item["first_line"], item["timestamp"]) for item in json_findings(auto)] == [
        (2, "1970-01-01T00:00:02Z")
    ]
    assert "no known format recognised, read as plain text" in text(auto)[1]
    forced = replay(*configs, "--output=json", "--format=syslog", str(path))
    assert json_findings(forced) == []
    assert forced.returncode == 0
    assert "skipped 2 lines that are not syslog" in text(forced)[1]


def test_binary_junk_is_read_without_a_traceback(tmp_path: Path, configs: list[str]) -> None:
    path = tmp_path / "junk.bin"
    path.write_bytes(bytes(range(256)) * 4000 + b"\n\x00\n" + b"\xff" * 100_000)
    for fmt in ("auto", "syslog", "journal-json", "journal-export", "kmsg", "dmesg", "plain"):
        result = replay(*configs, f"--format={fmt}", str(path))
        stderr = text(result)[1]
        assert result.returncode in (0, 1), (fmt, stderr)
        assert "Traceback" not in stderr, fmt


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--output=yaml", "x"], ['"--output"', "table, json"]),
        (["--format=csv", "x"], ['"--format"', "auto, syslog"]),
        (["--frobnicate"], ["unknown flag: --frobnicate", "--help"]),
        (["--boot-time=yesterday", "x"], ["--boot-time", "neither RFC 3339"]),
        (["--boot-time=2024-03-01T00:00:00", "x"], ["--boot-time", "no time zone"]),
        (["/nonexistent/kern.log"], ["/nonexistent/kern.log: No such file or directory"]),
        (["/"], ["/: Is a directory"]),
        (["-", "-"], ["standard input (-) can be read only once"]),
        (["--config=/nonexistent.json", "x"], ["/nonexistent.json: cannot read file"]),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(arguments: list[str], fragments: list[str]) -> None:
    assert_one_error_line(replay(*arguments), *fragments)


def test_a_bad_config_is_one_line_naming_the_problem(tmp_path: Path) -> None:
    bad = write_config(
        tmp_path, "bad.json", {**KERNEL_MONITOR, "rules": [{"type": "temporary", "pattern": "a("}]}
    )
    assert_one_error_line(replay(f"--config={bad}", str(bad)), str(bad), "rules[0].pattern")


def test_a_config_that_cannot_run_is_reported_and_skipped(tmp_path: Path, configs: list[str]) -> None:
    useless = write_config(tmp_path, "useless.json", {"plugin": "journald", "source": "nothing"})
    path = tmp_path / "k.log"
    path.write_text(f"6,1,1000000,-;{OOM}\n")
    result = replay(*configs, f"--config={useless}", "--output=json", str(path))
    assert [item["reason"] for item in json_findings(result)] == ["OOMKilling"]
    assert f"npd replay: warning: {useless}: cannot run:" in text(result)[1]
    only = replay(f"--config={useless}", str(path))
    assert only.returncode == 2
    assert text(only)[1].splitlines()[-1] == "npd replay: no monitor config can run (see the warnings above)"


def test_help_is_on_stdout_and_exits_0() -> None:
    result = replay("--help")
    assert result.returncode == 0
    assert "usage: npd replay [flags] [FILE...]" in text(result)[0]
    assert "--boot-time" in text(result)[0]


def test_the_bundled_monitors_by_default(tmp_path: Path) -> None:
    path = tmp_path / "kern.log"
    path.write_text(
        "Mar  1 10:00:00 node-1 kernel: [ 1.0] hello\n"
        "Mar  1 10:00:01 node-1 kernel: [ 2.0] INFO: task docker:7 blocked for more than 120 seconds.\n"
    )
    result = replay("--output=json", str(path))
    assert result.returncode == 1, text(result)[1]
    assert [(item["monitor"], item["reason"], item["first_line"]) for item in json_findings(result)] == [
        ("kernel-monitor", "TaskHung", 2),
        ("kernel-monitor", "DockerHung", 2),
    ]


def test_a_progress_bar_on_a_terminal_for_a_large_input(tmp_path: Path, configs: list[str]) -> None:
    path = tmp_path / "big.log"
    line = b"Mar  1 10:00:00 node-1 kernel: [ 1.000000] eth0: renamed from tmp12345 " + b"x" * 60 + b"\n"
    path.write_bytes(line * ((33 << 20) // len(line)))
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [console_script("npd"), "replay", *configs, "--output=json", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env={**os.environ, "TZ": "UTC"},
            timeout=120,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    assert result.returncode == 0
    assert result.stdout == b""
    screen = shown.decode()
    assert f"{path} [" in screen
    assert " MB, " in screen
    assert "lines/s" in screen
    # Redrawn in place, and erased before the summary.
    summary = screen.rsplit("\r\x1b[K", 1)[1]
    assert summary.startswith(f"{path} (syslog): ")
    assert "No findings." in summary


def test_no_progress_when_asked_not_to(tmp_path: Path, configs: list[str]) -> None:
    path = tmp_path / "small.log"
    path.write_text("Mar  1 10:00:00 node-1 kernel: hello\n")
    result = replay(*configs, "--progress", "--no-progress", "--output=json", str(path))
    assert text(result)[1].startswith(f"{path} (syslog)")


def test_a_reader_that_stops_early_ends_the_replay_quietly(tmp_path: Path, configs: list[str]) -> None:
    path = tmp_path / "k.log"
    path.write_text(f"6,1,1000000,-;{OOM}\n" * 50_000)
    process = subprocess.Popen(
        [console_script("npd"), "replay", *configs, "--output=json", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert json.loads(first)["reason"] == "OOMKilling"
    assert b"Traceback" not in stderr
    assert b"BrokenPipe" not in stderr
