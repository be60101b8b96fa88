"""The console scripts as an operator runs them: exit codes, messages, never a traceback.

``node-problem-detector`` and ``npd`` run as subprocesses from the virtualenv. A bad config makes
the daemon exit with code 2 and print exactly one line on stderr, ``<program>: <file>: <problem>``;
bad flags exit 2 with pflag's message; ``--help`` prints the usage on stderr and exits 0.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import npd
from tests.support.daemon import console_script, start_daemon

UPSTREAM = "node-problem-detector"
STANDALONE = ["--enable-k8s-exporter=false", "--port=0", "--prometheus-port=0"]


def run(
    script: str, *args: str | bytes, timeout: float = 30, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a console script to completion (stdin closed), with text output."""
    return subprocess.run(
        [console_script(script), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], prefix: str) -> str:
    """Exit code 2 and exactly one line on stderr, starting with ``prefix``; returns that line."""
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def kmsg_config(tmp_path: Path) -> Path:
    """A valid kmsg monitor reading a regular file (npd honours logPath for files)."""
    log = tmp_path / "kmsg"
    log.write_text("")
    path = tmp_path / "kernel-monitor.json"
    path.write_text(
        json.dumps(
            {
                "plugin": "kmsg",
                "logPath": str(log),
                "source": "kernel-monitor",
                "conditions": [
                    {"type": "KernelDeadlock", "reason": "KernelHasNoDeadlock", "message": "fine"}
                ],
                "rules": [{"type": "temporary", "reason": "OOMKilling", "pattern": "Killed process .*"}],
            }
        )
    )
    return path


# -- bad config files ---------------------------------------------------------------------


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "bad-monitor.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


BAD_LOG_CONFIGS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "invalid JSON": (lambda d: write(d, '{"plugin": "kmsg",'), "invalid JSON at line 1 column 19"),
    "trailing comma": (lambda d: write(d, '{"plugin": "kmsg", "rules": [],}'), "invalid JSON"),
    "wrong type": (
        lambda d: write(d, '{"plugin": "kmsg", "bufferSize": "10"}'),
        "bufferSize: expected an integer",
    ),
    "bad duration": (
        lambda d: write(d, '{"plugin": "kmsg", "lookback": "5 minutes"}'),
        "lookback: time: unknown unit",
    ),
    "regex \\C": (
        lambda d: write(
            d, '{"plugin": "kmsg", "rules": [{"type": "temporary", "reason": "R", "pattern": "a\\\\Cb"}]}'
        ),
        "rules[0].pattern: invalid regular expression",
    ),
    "regex lookbehind": (
        lambda d: write(
            d, '{"plugin": "kmsg", "rules": [{"type": "temporary", "reason": "R", "pattern": "(?<!x)y"}]}'
        ),
        "rules[0].pattern: invalid regular expression",
    ),
    "filelog regex": (
        lambda d: write(
            d,
            '{"plugin": "filelog",'
            ' "pluginConfig": {"timestamp": "(", "message": "x", "timestampFormat": "x"}}',
        ),
        "pluginConfig.timestamp: invalid regular expression",
    ),
    "unknown plugin": (lambda d: write(d, '{"plugin": "sensulog"}'), 'plugin: unknown plugin "sensulog"'),
    "no plugin": (lambda d: write(d, '{"rules": []}'), 'plugin: unknown plugin ""'),
    "negative bufferSize": (
        lambda d: write(d, '{"plugin": "kmsg", "bufferSize": -5}'),
        "bufferSize: must not be negative",
    ),
    "missing file": (lambda d: d / "no-such-monitor.json", "cannot read file: No such file or directory"),
    "directory": (lambda d: d, "cannot read file: Is a directory"),
    "binary file": (lambda d: write(d, bytes(range(256)) * 8), "invalid JSON"),
    "invalid UTF-8 around JSON": (lambda d: write(d, b'\xff\xfe{"plugin": "kmsg"}'), "invalid JSON"),
    "byte order mark": (lambda d: write(d, b'\xef\xbb\xbf{"plugin": "kmsg"}'), "invalid JSON"),
    "empty file": (lambda d: write(d, ""), "invalid JSON at line 1 column 1"),
    "whitespace only": (lambda d: write(d, "\n \n"), "invalid JSON"),
    "array": (lambda d: write(d, '[{"plugin": "kmsg"}]'), "(top level): expected an object, got array"),
    "null": (lambda d: write(d, "null"), "(top level): expected an object, got null"),
    "string": (lambda d: write(d, '"kmsg"'), "(top level): expected an object, got string"),
    "NaN": (lambda d: write(d, '{"plugin": "kmsg", "bufferSize": NaN}'), "invalid JSON"),
}


@pytest.mark.parametrize("case", list(BAD_LOG_CONFIGS))
def test_bad_system_log_monitor_config_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    make, problem = BAD_LOG_CONFIGS[case]
    path = make(tmp_path)
    state = tmp_path / "state"
    result = run(UPSTREAM, *STANDALONE, f"--config.system-log-monitor={path}", f"--state-dir={state}")
    line = assert_one_error_line(result, f"node-problem-detector: {path}: ")
    assert problem in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("flag", "document", "problem"),
    [
        ("custom-plugin-monitor", {"plugin": "custom", "rules": [{"type": "permanent", "path": "/bin/true"}]},
         "does not have a preset default condition"),
        ("custom-plugin-monitor", {"plugin": "custom", "pluginConfig": {"timeout": "1s"},
                                   "rules": [{"type": "temporary", "path": "/bin/true", "timeout": "2s"}]},
         "rules[0].timeout: exceeds the global pluginConfig.timeout"),
        ("custom-plugin-monitor", {"plugin": "healthchecker"}, "plugin: unknown plugin"),
        ("system-stats-monitor", {"invokeInterval": "1m", "disk": {"lsblkTimeout": "2m"}},
         "disk.lsblkTimeout"),
        ("system-stats-monitor", {"net": {"excludeInterfaceRegexp": "(?!x)"}}, "net.excludeInterfaceRegexp"),
    ],
)  # fmt: skip
def test_bad_configs_of_the_other_monitors(tmp_path: Path, flag: str, document: object, problem: str) -> None:
    path = write(tmp_path, json.dumps(document))
    result = run(UPSTREAM, *STANDALONE, f"--config.{flag}={path}", "--state-dir=")
    assert problem in assert_one_error_line(result, f"node-problem-detector: {path}: ")


def test_the_first_bad_config_of_several_is_reported(tmp_path: Path) -> None:
    good = kmsg_config(tmp_path)
    bad = write(tmp_path, "{")
    result = run(UPSTREAM, *STANDALONE, f"--config.system-log-monitor={good},{bad}", "--state-dir=")
    assert_one_error_line(result, f"node-problem-detector: {bad}: invalid JSON")


def test_npd_run_reports_a_bad_config_the_same_way(tmp_path: Path) -> None:
    path = write(tmp_path, '{"plugin": "kmsg", "bufferSize": "10"}')
    result = run(
        "npd", "run", f"--config.system-log-monitor={path}", "--port=0", "--prometheus-port=0", "--state-dir="
    )
    assert "bufferSize" in assert_one_error_line(result, f"npd run: {path}: ")


def test_a_config_path_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = os.fsencode(tmp_path) + b"/monitor-\xff.json"
    result = run(UPSTREAM, *STANDALONE, b"--config.system-log-monitor=" + path, "--state-dir=")
    assert "cannot read file" in assert_one_error_line(result, "node-problem-detector: ")


def test_a_newline_in_the_config_does_not_split_the_error_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{"plugin": "kmsg\\nextra"}')
    result = run(UPSTREAM, *STANDALONE, f"--config.system-log-monitor={path}", "--state-dir=")
    assert_one_error_line(result, f"node-problem-detector: {path}: ")


def test_a_lone_surrogate_in_a_pattern_does_not_crash(tmp_path: Path) -> None:
    path = write(
        tmp_path, '{"plugin": "kmsg", "rules": [{"type": "temporary", "reason": "R", "pattern": "\\ud800"}]}'
    )
    # Without the exporter the config would start a daemon; with it, loading is all that happens.
    result = run(
        UPSTREAM,
        "--enable-k8s-exporter=false",
        "--port=0",
        "--prometheus-port=0",
        f"--config.system-log-monitor={path}",
        "--config.system-stats-monitor=/nonexistent",
        "--state-dir=",
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 2


# -- flags ----------------------------------------------------------------------------------


def test_help_prints_usage_on_stderr_and_exits_0() -> None:
    result = run(UPSTREAM, "--help")
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr.startswith("Usage of node-problem-detector:\n")
    assert "--config.system-log-monitor strings" in result.stderr


def test_npd_run_help_lists_its_extra_flags() -> None:
    result = run("npd", "run", "-h")
    assert result.returncode == 0
    assert result.stderr.startswith("Usage of npd run:\n")
    assert "--log-format string" in result.stderr


@pytest.mark.parametrize("script", [[UPSTREAM, "--version"], ["npd", "version"], ["npd", "--version"]])
def test_version(script: list[str]) -> None:
    result = run(*script)
    assert result.returncode == 0
    assert result.stdout == f"npd v{npd.__version__}\n"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nope"], "node-problem-detector: unknown flag: --nope"),
        (["-x"], "node-problem-detector: unknown shorthand flag: 'x' in -x"),
        (["--port"], "node-problem-detector: flag needs an argument: --port"),
        (["--port=abc"], 'node-problem-detector: invalid argument "abc" for "--port" flag'),
        (["--apiserver-wait-timeout=5"],
         'node-problem-detector: invalid argument "5" for "--apiserver-wait-timeout"'),
        (["--enable-k8s-exporter=nope"],
         'node-problem-detector: invalid argument "nope" for "--enable-k8s-exporter"'),
        (["--system-log-monitors=a.json", "--config.system-log-monitor=b.json"],
         "node-problem-detector: --system-log-monitors is deprecated in favor of "
         "--config.system-log-monitor"),
    ],
)  # fmt: skip
def test_bad_flags_exit_2(args: list[str], message: str) -> None:
    result = run(UPSTREAM, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    first, *rest = result.stderr.splitlines()
    assert first.startswith(message)
    assert rest == ["Run 'node-problem-detector --help' for usage."]


def test_kubernetes_export_outside_a_cluster_is_a_one_line_error(tmp_path: Path) -> None:
    # Upstream's default is to export to Kubernetes; with no cluster to reach, say how to get one
    # or how to run without.
    env = {key: value for key, value in os.environ.items() if not key.startswith("KUBERNETES_")}
    result = run(
        UPSTREAM,
        f"--config.system-log-monitor={kmsg_config(tmp_path)}",
        "--port=0",
        "--prometheus-port=0",
        env=env,
    )
    line = assert_one_error_line(result, "node-problem-detector: ")
    assert "not running in a cluster" in line
    assert "--kubeconfig" in line
    assert "--enable-k8s-exporter=false" in line


def test_a_missing_kubeconfig_is_a_one_line_error(tmp_path: Path) -> None:
    result = run(
        UPSTREAM,
        f"--config.system-log-monitor={kmsg_config(tmp_path)}",
        f"--kubeconfig={tmp_path / 'nope'}",
    )
    line = assert_one_error_line(result, "node-problem-detector: ")
    assert f"--kubeconfig={tmp_path / 'nope'}: no such file" in line


def test_a_broken_kubeconfig_is_a_one_line_error(tmp_path: Path) -> None:
    broken = tmp_path / "kubeconfig"
    broken.write_text("clusters: [1, 2\n")
    result = run(UPSTREAM, f"--config.system-log-monitor={kmsg_config(tmp_path)}", f"--kubeconfig={broken}")
    line = assert_one_error_line(result, "node-problem-detector: ")
    assert str(broken) in line


@pytest.mark.parametrize(
    "args", [[], ["--enable-k8s-exporter=false"], ["--enable-k8s-exporter=false", "--v=4"]]
)
def test_no_monitor_config_exits_2(args: list[str]) -> None:
    result = run(UPSTREAM, *args, "--port=0", "--prometheus-port=0", "--state-dir=")
    line = assert_one_error_line(result, "node-problem-detector: ")
    if args:
        assert line == "node-problem-detector: no configuration option for any problem daemon is specified"


def test_npd_without_arguments_prints_usage_and_exits_2() -> None:
    result = run("npd")
    assert result.returncode == 2
    assert result.stdout.startswith("usage: npd <command>")
    assert "run" in result.stdout
    assert "version" in result.stdout


def test_npd_unknown_command_exits_2() -> None:
    result = run("npd", "frobnicate")
    assert result.returncode == 2
    assert result.stderr.startswith("npd: unknown command 'frobnicate'")


def test_deprecated_flag_alone_starts_the_daemon_with_a_notice(tmp_path: Path) -> None:
    config = kmsg_config(tmp_path)
    with start_daemon(
        ["--enable-k8s-exporter=false", f"--system-log-monitors={config}"],
        tool=False,
        state_dir=tmp_path / "state",
    ) as daemon:
        status, body = daemon.get("/conditions")
        assert status == 200
        assert "KernelDeadlock" in body
        assert "Flag --system-log-monitors has been deprecated, replaced by --config.system-log-monitor." in (
            daemon.stderr_text()
        )
        assert daemon.stop() == 0


def test_duplicate_config_paths_run_one_monitor(tmp_path: Path) -> None:
    config = kmsg_config(tmp_path)
    with start_daemon(
        ["--enable-k8s-exporter=false", f"--config.system-log-monitor={config},{config}",
         f"--config.system-log-monitor={config}"],
        tool=False, state_dir=None,
    ) as daemon:  # fmt: skip
        daemon.wait_for(lambda: "npd started" in daemon.stderr_text(), what="the start message")
        assert "npd started: 1 monitor(s)" in daemon.stderr_text()


@pytest.mark.parametrize("port", ["--port=70000", "--prometheus-port=-1"])
def test_a_port_out_of_range_fails_without_a_traceback(tmp_path: Path, port: str) -> None:
    config = kmsg_config(tmp_path)
    result = run(UPSTREAM, "--enable-k8s-exporter=false", f"--config.system-log-monitor={config}",
                 "--port=0", "--prometheus-port=0", port, "--state-dir=")  # fmt: skip
    assert "Traceback" not in result.stderr
    assert result.returncode in (1, 2)  # refused as a bad flag (2) or as a port it cannot listen on (1)
