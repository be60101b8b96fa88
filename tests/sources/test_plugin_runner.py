"""Running one plugin: upstream's verdicts and messages, and process hygiene (real processes)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path

import pytest

from npd.sources.plugin import DEFAULT_PATH, PluginResult, PluginStatus, run_plugin
from tests.support.plugins import cancel_once_started, ends_within, open_fds, rss_kib, script, zombie_children


def run(path: str, *args: str, timeout: float = 5.0, max_output: int = 80, **kw: object) -> PluginResult:
    return asyncio.run(run_plugin(path, args, timeout=timeout, max_output=max_output, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status"),
    [(0, PluginStatus.OK), (1, PluginStatus.NON_OK), (2, PluginStatus.UNKNOWN), (255, PluginStatus.UNKNOWN)],
)
def test_exit_code_is_the_verdict(tmp_path: Path, code: int, status: PluginStatus) -> None:
    plugin = script(tmp_path / "p", f"printf '  \\n verdict {code} \\n\\t'\necho noise >&2\nexit {code}\n")
    result = run(plugin)
    assert result.status is status
    assert result.exit_code == code
    assert result.output == f"verdict {code}"  # stdout trimmed; stderr never in the message
    assert "noise" in result.stderr
    assert not result.timed_out and result.signal is None


def test_output_is_cut_to_max_output_bytes_on_a_character_boundary(tmp_path: Path) -> None:
    # "aé" is 3 bytes: a cut at 2 would split é, so only "a" remains (upstream would keep half of it).
    plugin = script(tmp_path / "p", "printf 'a\\303\\251b'\n")
    assert run(plugin, max_output=2).output == "a"
    assert run(plugin, max_output=3).output == "aé"
    assert run(plugin, max_output=4).output == "aéb"


def test_ten_megabytes_of_stdout_and_stderr_do_not_block(tmp_path: Path) -> None:
    plugin = script(
        tmp_path / "p",
        "head -c 10485760 /dev/zero | tr '\\0' x\nhead -c 10485760 /dev/zero >&2\nexit 1\n",
    )
    result = run(plugin, max_output=10, timeout=20)
    assert result.status is PluginStatus.NON_OK
    assert not result.timed_out
    assert result.output == "x" * 10
    assert len(result.stderr) == 4096  # kept up to the cap, the rest discarded


def test_binary_output_is_decoded_with_replacement(tmp_path: Path) -> None:
    plugin = script(tmp_path / "p", "printf 'ok\\377\\000\\376end'\n")
    result = run(plugin)
    assert result.status is PluginStatus.OK
    assert result.output == "ok\ufffd\x00\ufffdend"


def test_missing_plugin_is_unknown(tmp_path: Path) -> None:
    result = run(str(tmp_path / "absent"))
    assert result.status is PluginStatus.UNKNOWN
    assert result.exit_code is None
    assert "Error in starting plugin" in result.output and "No such file" in result.output


def test_non_executable_plugin_is_unknown(tmp_path: Path) -> None:
    plugin = tmp_path / "p"
    plugin.write_text("#!/bin/sh\nexit 0\n")
    plugin.chmod(0o644)
    result = run(str(plugin), max_output=200)
    assert result.status is PluginStatus.UNKNOWN
    assert "Permission denied" in result.output


def test_killed_by_a_signal_is_unknown(tmp_path: Path) -> None:
    plugin = script(tmp_path / "p", "echo before\nkill -SEGV $$\n")
    result = run(plugin)
    assert result.status is PluginStatus.UNKNOWN
    assert result.signal == signal.SIGSEGV
    assert result.exit_code is None
    assert result.output == "before"


def test_timeout_message_and_the_whole_group_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    plugin = script(
        tmp_path / "p",
        f"sleep 60 >/dev/null 2>&1 &\necho $! > {pids}\necho partial\nsleep 60\n",
    )
    started = time.monotonic()
    result = run(plugin, timeout=0.3)
    assert time.monotonic() - started < 3
    assert result.status is PluginStatus.UNKNOWN
    assert result.timed_out
    assert (
        result.output
        == f'Timeout when running plugin "{plugin}": state - signal: terminated. output - "partial"'[:80]
    )
    grandchild = int(pids.read_text())
    assert ends_within(grandchild)  # it would have outlived its parent by a minute


def test_a_plugin_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    plugin = script(tmp_path / "p", "trap '' TERM\nwhile :; do sleep 0.05; done\n")
    started = time.monotonic()
    result = run(plugin, timeout=0.2, max_output=200, term_grace=0.3)
    elapsed = time.monotonic() - started
    assert result.timed_out and result.signal == signal.SIGKILL
    assert "state - signal: killed" in result.output
    assert 0.5 <= elapsed < 3


def test_a_grandchild_holding_the_pipe_does_not_hang_the_run(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # The grandchild keeps stdout open for a minute after the plugin exits.
    plugin = script(tmp_path / "p", f"sleep 60 &\necho $! > {pids}\necho done\nexit 1\n")
    started = time.monotonic()
    result = run(plugin, timeout=5)
    assert time.monotonic() - started < 2
    assert result.status is PluginStatus.NON_OK
    assert result.output == "done"
    assert not result.timed_out
    assert ends_within(int(pids.read_text()))


def test_minimal_environment_and_root_working_directory(tmp_path: Path) -> None:
    os.environ["NPD_TEST_SECRET"] = "leak"
    try:
        plugin = script(tmp_path / "p", "env | sort | tr '\\n' ' '\npwd\n")
        result = run(plugin, max_output=400, env={"EXTRA": "1"})
    finally:
        del os.environ["NPD_TEST_SECRET"]
    variables, cwd = result.output.rsplit(" ", 1)
    names = {item.split("=", 1)[0] for item in variables.split()}
    assert f"PATH={DEFAULT_PATH}" in variables.split()
    assert "EXTRA=1" in variables.split()
    assert "NPD_TEST_SECRET" not in names
    assert names <= {"PATH", "EXTRA", "PWD", "SHLVL", "_"}  # what sh itself adds
    assert cwd == "/"


def test_relative_path_is_resolved_against_the_daemons_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(tmp_path / "config" / "plugin" / "check.sh", "echo relative\n")
    monkeypatch.chdir(tmp_path)
    result = run("./config/plugin/check.sh")
    assert result.status is PluginStatus.OK
    assert result.output == "relative"


def test_cancelling_the_run_kills_the_group(tmp_path: Path) -> None:
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    plugin = script(tmp_path / "p", f"echo $$ > {fifo}\nsleep 3600\n")

    async def main() -> int:
        task = asyncio.create_task(run_plugin(plugin, (), timeout=60, max_output=80))
        return await cancel_once_started(task, fifo)

    asyncio.run(main())
    assert zombie_children() == []


def _misbehaving(tmp_path: Path) -> list[str]:
    """Plugins that do everything the stress test throws at the runner."""
    return [
        script(tmp_path / "hang", "sleep 10\n"),
        script(tmp_path / "grandchild", "sleep 10 &\necho left\nexit 1\n"),
        script(tmp_path / "grandchild-hang", "sleep 10 >/dev/null 2>&1 &\nsleep 10\n"),
        script(
            tmp_path / "flood", "head -c 10485760 /dev/urandom\nhead -c 1048576 /dev/urandom >&2\nexit 0\n"
        ),
        str(tmp_path / "missing"),
        str((tmp_path / "noexec").write_text("#!/bin/sh\n") and tmp_path / "noexec"),
        script(tmp_path / "signal", "kill -KILL $$\n"),
        script(tmp_path / "ok", "echo fine\n"),
    ]


@pytest.mark.slow
def test_stress_thousand_misbehaving_runs_leave_nothing_behind(tmp_path: Path) -> None:
    plugins = _misbehaving(tmp_path)
    (tmp_path / "noexec").chmod(0o644)
    rng = random.Random(5)

    async def batch(count: int) -> dict[PluginStatus, int]:
        limit = asyncio.Semaphore(10)
        tally: dict[PluginStatus, int] = {}

        async def one(path: str) -> None:
            async with limit:
                result = await run_plugin(path, (), timeout=0.2, max_output=80, term_grace=0.2)
            tally[result.status] = tally.get(result.status, 0) + 1

        async with asyncio.TaskGroup() as group:
            for _ in range(count):
                group.create_task(one(rng.choice(plugins)))
        return tally

    async def main() -> tuple[int, int, int, int, dict[PluginStatus, int]]:
        await batch(80)  # warm-up: the loop's child watcher, buffers, code paths
        fds, rss = open_fds(), rss_kib()
        tally = await batch(1000)
        return fds, rss, open_fds(), rss_kib(), tally

    started = time.monotonic()
    fds_before, rss_before, fds_after, rss_after, tally = asyncio.run(main())
    assert time.monotonic() - started < 60
    assert sum(tally.values()) == 1000
    assert set(tally) == set(PluginStatus)  # every kind of outcome was exercised
    assert zombie_children() == []
    assert fds_after == fds_before
    assert rss_after - rss_before < 5 * 1024
