"""``npd check-config``: every shipped config passes, every broken one gets its one line.

Problems are printed on stdout as ``file: json.path: problem`` (warnings as ``file: json.path:
warning: problem``); the exit status is 0 when every file is valid, 1 when a rule test fails and
2 when a config has an error. Most cases call the command in-process; a few run the real console
script, as CI would.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import npd
from npd.cli.checkconfig import main
from tests.cli.test_cli import run
from tests.config.configfiles import write_config
from tests.config.test_compat_corpus import LOADS, THIRD_PARTY, THIRD_PARTY_DIR, upstream_configs

BUNDLED_DIR = Path(npd.__file__).parent / "config" / "defaults"

Check = Callable[..., tuple[int, list[str]]]


@pytest.fixture
def check(capsys: pytest.CaptureFixture[str]) -> Check:
    """Run ``npd check-config ARGS...`` in-process; returns the exit code and the stdout lines."""

    def run_check(*args: str | Path) -> tuple[int, list[str]]:
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        return code, captured.out.splitlines()

    return run_check


LOG_CONFIG: dict[str, Any] = {
    "plugin": "kmsg",
    "logPath": "/dev/kmsg",
    "lookback": "5m",
    "bufferSize": 10,
    "source": "kernel-monitor",
    "conditions": [
        {"type": "KernelDeadlock", "reason": "KernelHasNoDeadlock", "message": "kernel has no deadlock"},
    ],
    "rules": [
        {
            "type": "temporary",
            "reason": "TaskHung",
            "pattern": "task [\\S ]+:\\w+ blocked for more than \\w+ seconds\\.",
        },
        {
            "type": "permanent",
            "condition": "KernelDeadlock",
            "reason": "DockerHung",
            "pattern": "task docker:\\w+ blocked for more than \\w+ seconds\\.",
        },
        {"type": "temporary", "reason": "OOMKilling", "pattern": "Out of memory: Killed process \\d+ .*"},
    ],
}

PLUGIN_CONFIG: dict[str, Any] = {
    "plugin": "custom",
    "pluginConfig": {"invoke_interval": "30s", "timeout": "5s", "max_output_length": 80, "concurrency": 3},
    "source": "ntp-custom-plugin-monitor",
    "conditions": [{"type": "NTPProblem", "reason": "NTPIsUp", "message": "ntp service is up"}],
    "rules": [
        {
            "type": "permanent",
            "condition": "NTPProblem",
            "reason": "NTPIsDown",
            "path": sys.executable,
            "timeout": "3s",
        },
    ],
}

STATS_CONFIG: dict[str, Any] = {
    "cpu": {"metricsConfigs": {"cpu/load_1m": {"displayName": "cpu/load_1m"}}},
    "disk": {"lsblkTimeout": "5s", "metricsConfigs": {"disk/io_time": {"displayName": "disk/io_time"}}},
    "invokeInterval": "60s",
}


def variant(base: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """A deep copy of ``base`` with ``change`` applied to it."""
    document = copy.deepcopy(base)
    change(document)
    return document


def with_tests(*fixtures: dict[str, Any], base: dict[str, Any] = LOG_CONFIG) -> dict[str, Any]:
    """``base`` with a ``tests`` array."""
    return {**copy.deepcopy(base), "tests": list(fixtures)}


def rule(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    rules: list[dict[str, Any]] = document["rules"]
    return rules[index]


# -- what must pass -----------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(BUNDLED_DIR.glob("*.json")), ids=lambda path: path.name)
def test_bundled_configs_pass(check: Check, path: Path) -> None:
    code, lines = check("--test", path)
    assert code == 0, lines
    kind = "system-stats-monitor" if path.name == "system-stats-monitor.json" else "system-log-monitor"
    assert lines[-1].startswith(f"{path}: OK ({kind}, ")
    assert all(": warning: " in line for line in lines[:-1]), lines


def test_there_are_bundled_configs() -> None:
    assert len(list(BUNDLED_DIR.glob("*.json"))) >= 5


@pytest.mark.parametrize("name", ["kernel-monitor.json", "network-monitor.json", "systemd-monitor.json"])
def test_bundled_configs_carry_rule_tests_that_pass(check: Check, name: str) -> None:
    # They double as examples of the fixture format: a multi-line OOM kill, a count within a
    # window with a quiet-period clear, and a resolving line.
    code, lines = check("--test", BUNDLED_DIR / name)
    assert code == 0, lines
    assert re.search(r", \d+ rule tests? passed\)$", lines[-1]), lines


@pytest.mark.parametrize("path", upstream_configs(), ids=lambda path: path.name)
def test_upstream_configs_pass(check: Check, path: Path) -> None:
    code, lines = check(path)
    assert code == 0, lines
    assert lines[-1].startswith(f"{path}: OK (")
    # The only warnings: plugin executables that exist on upstream's nodes, not here.
    for line in lines[:-1]:
        assert line.startswith(f"{path}: rules["), line
        assert line.endswith("does not exist here"), line


def test_all_upstream_configs_at_once(check: Check) -> None:
    paths = upstream_configs()
    code, lines = check("--quiet", *paths)
    assert code == 0
    assert all(line.endswith("does not exist here") for line in lines)


@pytest.mark.parametrize("name", sorted(THIRD_PARTY), ids=lambda name: name.removesuffix(".json"))
def test_third_party_verdicts(check: Check, name: str) -> None:
    """The kind is told from the file, and the verdict is the loaders' (test_compat_corpus)."""
    path = THIRD_PARTY_DIR / name
    _, verdict = THIRD_PARTY[name]
    code, lines = check("--quiet", path)
    if verdict == LOADS:
        assert code == 0, lines
        assert all(": warning: " in line for line in lines), lines
    else:
        assert code == 2
        assert verdict.removeprefix("rejected: ") in lines[0]
        assert lines[0].startswith(f"{path}: ")


# -- what must fail, with one line ---------------------------------------------------------

# (id, config, JSON path of the problem ("" for the whole file), words the line must contain)
BROKEN: list[tuple[str, Any, str, list[str]]] = [
    (
        "invalid-json",
        '{\n  "plugin": "kmsg",\n  "rules": [],\n}\n',
        "",
        ["invalid JSON at line 4 column 1"],
    ),
    ("top-level-array", [LOG_CONFIG], "(top level)", ["expected an object, got array"]),
    (
        "wrong-type",
        variant(LOG_CONFIG, lambda d: d.update(bufferSize="10")),
        "bufferSize",
        ["expected an integer, got string"],
    ),
    (
        "lookahead",
        variant(LOG_CONFIG, lambda d: rule(d, 1).update(pattern="task docker(?=:)")),
        "rules[1].pattern",
        ["invalid regular expression", "invalid perl operator: (?="],
    ),
    (
        "backreference",
        variant(LOG_CONFIG, lambda d: rule(d, 2).update(pattern="(a+) \\1")),
        "rules[2].pattern",
        ["invalid regular expression", "invalid escape sequence: \\1"],
    ),
    (
        "bad-duration",
        variant(LOG_CONFIG, lambda d: d.update(lookback="5 minutes")),
        "lookback",
        ['unknown unit " minutes"'],
    ),
    (
        "unknown-plugin",
        variant(LOG_CONFIG, lambda d: d.update(plugin="sensulog")),
        "plugin",
        ['unknown plugin "sensulog"'],
    ),
    (
        "plugin-timeout-over-global",
        variant(PLUGIN_CONFIG, lambda d: rule(d).update(timeout="10s")),
        "rules[0].timeout",
        ["exceeds the global pluginConfig.timeout"],
    ),
    (
        "plugin-undeclared-condition",
        variant(PLUGIN_CONFIG, lambda d: rule(d).update(condition="NTPBroken")),
        "rules[0].condition",
        ["'NTPBroken'", "does not have a preset default condition"],
    ),
    (
        "plugin-zero-interval",
        variant(PLUGIN_CONFIG, lambda d: d["pluginConfig"].update(invoke_interval="0s")),
        "pluginConfig.invoke_interval",
        ["must be greater than zero"],
    ),
    (
        "plugin-without-path",
        variant(PLUGIN_CONFIG, lambda d: rule(d).pop("path")),
        "rules[0].path",
        ["needs the path of the program"],
    ),
    (
        "count-zero",
        variant(LOG_CONFIG, lambda d: rule(d).update(count=0)),
        "rules[0].count",
        ["must be at least 1, got 0"],
    ),
    (
        "window-missing",
        variant(LOG_CONFIG, lambda d: rule(d).update(count=3)),
        "rules[0].window",
        ["required when count is 3"],
    ),
    (
        "resolve-on-temporary",
        variant(LOG_CONFIG, lambda d: rule(d).update(resolve={"after": "10m"})),
        "rules[0].resolve",
        ["only a permanent rule"],
    ),
    (
        "flap-damping-changes",
        variant(LOG_CONFIG, lambda d: d["conditions"][0].update(flapDamping={"changes": 0, "window": "1h"})),
        "conditions[0].flapDamping.changes",
        ["must be at least 1"],
    ),
    (
        "stats-lsblk-timeout",
        variant(STATS_CONFIG, lambda d: d["disk"].update(lsblkTimeout="2m")),
        "disk.lsblkTimeout",
        ["exceeds invokeInterval"],
    ),
    (
        "fixture-without-reason",
        with_tests({"lines": ["x"], "expect": [{"condition": "KernelDeadlock"}]}),
        "tests[0].expect[0].reason",
        ["required"],
    ),
    ("fixture-without-lines", with_tests({"expect": []}), "tests[0].lines", ["required"]),
    (
        "fixture-without-expect",
        with_tests({"lines": ["x"], "expected": []}),
        "tests[0].expect",
        ["required", "[] for none"],
    ),
    (
        "fixture-bad-offset",
        with_tests({"lines": ["x", {"at": "1d", "message": "y"}], "expect": []}),
        "tests[0].lines[1].at",
        ['unknown unit "d"'],
    ),
    (
        "fixture-back-in-time",
        with_tests({"lines": [{"at": "5m", "message": "x"}, {"at": "4m", "message": "y"}], "expect": []}),
        "tests[0].lines[1].at",
        ["4m0s is before the previous line (5m0s)"],
    ),
    (
        "fixture-line-type",
        with_tests({"lines": ["x", 7], "expect": []}),
        "tests[0].lines[1]",
        ["expected a string or", "got number"],
    ),
    (
        "fixture-status",
        with_tests({"lines": ["x"], "expect": [{"reason": "DockerHung", "status": "Maybe"}]}),
        "tests[0].expect[0].status",
        ['must be "True" or "False"'],
    ),
    (
        "fixture-status-of-temporary",
        with_tests(
            {"lines": ["x"], "expect": [{"reason": "TaskHung", "type": "temporary", "status": "True"}]}
        ),
        "tests[0].expect[0].status",
        ["temporary", "no condition status"],
    ),
    (
        "fixture-message-regex",
        with_tests({"lines": ["x"], "expect": [{"reason": "TaskHung", "message": "(?<=task)"}]}),
        "tests[0].expect[0].message",
        ["invalid regular expression"],
    ),
    (
        "fixtures-not-an-array",
        {**copy.deepcopy(LOG_CONFIG), "tests": {"lines": ["x"]}},
        "tests",
        ["expected an array, got object"],
    ),
]


@pytest.mark.parametrize(("case", "content", "where", "words"), BROKEN, ids=[row[0] for row in BROKEN])
def test_a_broken_config_gives_one_line(
    tmp_path: Path, check: Check, case: str, content: Any, where: str, words: list[str]
) -> None:
    path = write_config(tmp_path, content)
    code, lines = check(path)
    assert code == 2
    assert len(lines) == 1, lines
    prefix = f"{path}: {where}: " if where else f"{path}: "
    assert lines[0].startswith(prefix), lines[0]
    for word in words:
        assert word in lines[0]


def test_enough_broken_cases() -> None:
    assert len(BROKEN) >= 15


def test_an_unreadable_file(tmp_path: Path, check: Check) -> None:
    code, lines = check(tmp_path / "missing.json")
    assert code == 2
    assert lines == [f"{tmp_path / 'missing.json'}: cannot read file: No such file or directory"]


def test_a_directory(tmp_path: Path, check: Check) -> None:
    code, lines = check(tmp_path)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path}: cannot read file: ")


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00garbage",
        "[" * 100_000,
        '{"plugin": "kmsg", "x": ' + "[" * 20_000 + "]" * 20_000 + "}",
        "",
    ],
    ids=["binary", "deep-unclosed", "deep-closed", "empty"],
)
def test_junk_never_gives_a_traceback(tmp_path: Path, check: Check, content: str | bytes) -> None:
    path = write_config(tmp_path, content)
    code, lines = check(path)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: ")


def test_problem_text_is_kept_on_one_line(tmp_path: Path, check: Check) -> None:
    path = write_config(tmp_path, variant(LOG_CONFIG, lambda d: rule(d).update(pattern="a\n(")))
    code, lines = check(path)
    assert code == 2
    assert len(lines) == 1
    assert "\\n" in lines[0]


# -- several problems ----------------------------------------------------------------------


def test_every_broken_rule_is_reported(tmp_path: Path, check: Check) -> None:
    def break_two(document: dict[str, Any]) -> None:
        rule(document, 0).update(pattern="(?=a)")
        rule(document, 2).update(pattern="(b)\\1")

    path = write_config(tmp_path, variant(LOG_CONFIG, break_two))
    code, lines = check(path)
    assert code == 2
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}: rules[0].pattern: invalid regular expression")
    assert lines[1].startswith(f"{path}: rules[2].pattern: invalid regular expression")


def test_settings_rules_and_fixtures_are_reported_together(tmp_path: Path, check: Check) -> None:
    document = with_tests(
        {"lines": ["x"], "expect": [{"reason": "TaskHung"}]},
        {"lines": ["x"], "expect": [{"reason": ""}]},
    )
    document["bufferSize"] = -1
    rule(document, 1)["count"] = 0
    path = write_config(tmp_path, document)
    code, lines = check(path)
    assert code == 2
    assert [line.split(": ")[1] for line in lines] == [
        "bufferSize",
        "rules[1].count",
        "tests[1].expect[0].reason",
    ]


def test_every_broken_plugin_rule_is_reported(tmp_path: Path, check: Check) -> None:
    def break_two(document: dict[str, Any]) -> None:
        document["rules"] = [copy.deepcopy(rule(document)) for _ in range(3)]
        rule(document, 0)["timeout"] = "1m"
        rule(document, 2)["condition"] = "Undeclared"

    path = write_config(tmp_path, variant(PLUGIN_CONFIG, break_two))
    code, lines = check(path)
    assert code == 2
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}: rules[0].timeout: ")
    assert lines[1].startswith(f"{path}: rules[2].condition: ")


def test_what_others_depend_on_stops_the_check(tmp_path: Path, check: Check) -> None:
    # Which rules are valid depends on the plugin: nothing after it is worth reporting.
    def break_two(document: dict[str, Any]) -> None:
        document["plugin"] = "eventlog"
        rule(document, 0)["pattern"] = "(?=a)"

    code, lines = check(write_config(tmp_path, variant(LOG_CONFIG, break_two)))
    assert code == 2
    assert len(lines) == 1
    assert ": plugin: " in lines[0]


def test_a_broken_rule_keeps_the_warnings_before_it(tmp_path: Path, check: Check) -> None:
    def break_one(document: dict[str, Any]) -> None:
        rule(document, 0)["taint"] = True
        rule(document, 1)["pattern"] = "(?=a)"

    path = write_config(tmp_path, variant(LOG_CONFIG, break_one))
    code, lines = check(path)
    assert code == 2
    assert lines == [
        f"{path}: rules[1].pattern: invalid regular expression '(?=a)': invalid perl operator: (?=",
        f"{path}: rules[0].taint: warning: unknown key ignored",
    ]


def test_errors_stop_after_a_limit(tmp_path: Path, check: Check) -> None:
    document = {**LOG_CONFIG, "rules": [{"type": "temporary", "pattern": "("}] * 200}
    code, lines = check(write_config(tmp_path, document))
    assert code == 2
    assert len(lines) == 51
    assert lines[-1].endswith("too many errors; the rest of the file is not checked")


# -- warnings --------------------------------------------------------------------------------


def test_warnings_do_not_fail(tmp_path: Path, check: Check) -> None:
    def add_problems(document: dict[str, Any]) -> None:
        rule(document, 0)["message"] = "not a key of a log rule"
        rule(document, 1)["condition"] = "Undeclared"

    path = write_config(tmp_path, variant(LOG_CONFIG, add_problems))
    code, lines = check(path)
    assert code == 0
    assert lines[0] == f"{path}: rules[0].message: warning: unknown key ignored"
    assert lines[1].startswith(f"{path}: rules[1].condition: warning: 'Undeclared' is not among the declared")
    assert lines[2] == f"{path}: OK (system-log-monitor, 3 rules, 2 warnings)"


def test_strict_makes_warnings_fail(tmp_path: Path, check: Check) -> None:
    path = write_config(tmp_path, {**LOG_CONFIG, "bufferSise": 10})
    code, lines = check("--strict", path)
    assert code == 2
    assert lines == [f"{path}: bufferSise: warning: unknown key ignored"]


def test_strict_passes_a_clean_file(tmp_path: Path, check: Check) -> None:
    code, _ = check("--strict", write_config(tmp_path, LOG_CONFIG))
    assert code == 0


def test_a_missing_plugin_program_only_warns(tmp_path: Path, check: Check) -> None:
    path = write_config(
        tmp_path, variant(PLUGIN_CONFIG, lambda d: rule(d).update(path="/nonexistent/check.sh"))
    )
    code, lines = check(path)
    assert code == 0
    assert lines[0] == f"{path}: rules[0].path: warning: /nonexistent/check.sh does not exist here"


def test_a_plugin_program_that_cannot_run_warns(tmp_path: Path, check: Check) -> None:
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)

    def two_rules(document: dict[str, Any]) -> None:
        document["rules"] = [
            {"type": "temporary", "reason": "A", "path": str(script)},
            {"type": "temporary", "reason": "B", "path": str(tmp_path)},
        ]

    path = write_config(tmp_path, variant(PLUGIN_CONFIG, two_rules))
    code, lines = check(path)
    assert code == 0
    assert lines[0] == f"{path}: rules[0].path: warning: {script} is not executable"
    assert lines[1] == f"{path}: rules[1].path: warning: {tmp_path} is a directory, not a program"


def test_quiet_prints_only_problems(tmp_path: Path, check: Check) -> None:
    good = write_config(tmp_path, LOG_CONFIG, "good.json")
    odd = write_config(tmp_path, {**LOG_CONFIG, "extra": 1}, "odd.json")
    code, lines = check("-q", good, odd)
    assert code == 0
    assert lines == [f"{odd}: extra: warning: unknown key ignored"]


# -- kinds -----------------------------------------------------------------------------------


def test_the_kind_comes_from_the_plugin_key(tmp_path: Path, check: Check) -> None:
    log = write_config(tmp_path, LOG_CONFIG, "log.json")
    plugin = write_config(tmp_path, PLUGIN_CONFIG, "plugin.json")
    stats = write_config(tmp_path, STATS_CONFIG, "stats.json")
    code, lines = check(log, plugin, stats)
    assert code == 0
    assert lines == [
        f"{log}: OK (system-log-monitor, 3 rules)",
        f"{plugin}: OK (custom-plugin-monitor, 1 rule)",
        f"{stats}: OK (system-stats-monitor, 2 metrics)",
    ]


def test_a_stray_plugin_key_in_a_stats_config(tmp_path: Path, check: Check) -> None:
    path = write_config(tmp_path, {"plugin": "systemstatsmonitor", **STATS_CONFIG})
    code, lines = check(path)
    assert code == 0
    assert lines == [
        f"{path}: plugin: warning: unknown key ignored",
        f"{path}: OK (system-stats-monitor, 2 metrics, 1 warning)",
    ]


def test_the_kind_can_be_forced(tmp_path: Path, check: Check) -> None:
    path = write_config(tmp_path, LOG_CONFIG)
    code, lines = check("--kind", "custom-plugin-monitor", path)
    assert code == 2
    assert lines == [f'{path}: plugin: unknown plugin "kmsg" (a custom plugin monitor needs "custom")']


def test_the_plugin_key_matches_as_go_matches_it(tmp_path: Path, check: Check) -> None:
    # encoding/json: keys fold case, and the last of duplicated keys wins.
    path = write_config(tmp_path, '{"Plugin": "kmsg", "PLUGIN": "custom", "rules": []}')
    code, lines = check(path)
    assert code == 0
    assert lines == [f"{path}: OK (custom-plugin-monitor, 0 rules)"]


# -- the command line ------------------------------------------------------------------------


def test_no_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "no config file given" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--bogus", "x.json"], ["--kind", "kmsg", "x.json"], ["--kind"]])
def test_bad_flags_are_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("npd check-config: ")


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--kind", "--test", "--strict", "--quiet"):
        assert flag in out


# -- rule tests ------------------------------------------------------------------------------

HUNG = "task docker:7 blocked for more than 120 seconds."


def test_fixtures_pass(tmp_path: Path, check: Check) -> None:
    document = with_tests(
        {
            "name": "docker hung",
            "lines": [HUNG],
            "expect": [
                {"reason": "TaskHung", "type": "temporary"},
                {
                    "reason": "DockerHung",
                    "condition": "KernelDeadlock",
                    "status": "True",
                    "type": "permanent",
                },
            ],
        },
        {"name": "quiet", "lines": ["EXT4-fs (sda1): mounted filesystem"], "expect": []},
        {
            "name": "message",
            "lines": ["Out of memory: Killed process 1234 (java)"],
            "expect": [{"reason": "OOMKilling", "message": "process \\d+ \\(java\\)"}],
        },
    )
    path = write_config(tmp_path, document)
    code, lines = check("--test", path)
    assert code == 0, lines
    assert lines == [f"{path}: OK (system-log-monitor, 3 rules, 3 rule tests passed)"]


def test_fixtures_do_not_run_without_the_flag(tmp_path: Path, check: Check) -> None:
    document = with_tests({"lines": [HUNG], "expect": []})  # it would fail
    path = write_config(tmp_path, document)
    code, lines = check(path)
    assert code == 0
    assert lines == [f"{path}: OK (system-log-monitor, 3 rules, 1 rule test not run)"]


def test_a_failing_fixture_shows_what_it_got(tmp_path: Path, check: Check) -> None:
    document = with_tests(
        {"lines": ["nothing"], "expect": []},
        {"name": "docker hung", "lines": ["boot", HUNG], "expect": [{"reason": "DockerHung"}]},
    )
    path = write_config(tmp_path, document)
    code, lines = check("--test", path)
    assert code == 1
    assert lines[0] == (
        f'{path}: tests[1] ("docker hung"): expect[0] (reason DockerHung) does not match finding 0 (TaskHung)'
    )
    assert lines[1:] == [
        "  expected:",
        "    [0] reason DockerHung",
        "  got:",
        f'    [0] temporary TaskHung at +1s (line 2): "{HUNG}"',
        f'    [1] permanent DockerHung, condition KernelDeadlock, status True at +1s (line 2): "{HUNG}"',
        f"{path}: FAILED (system-log-monitor, 3 rules, 1 of 2 rule tests failed)",
    ]


def test_a_missing_finding_fails(tmp_path: Path, check: Check) -> None:
    document = with_tests({"lines": ["nothing"], "expect": [{"reason": "OOMKilling"}]})
    path = write_config(tmp_path, document)
    code, lines = check("--test", "--quiet", path)
    assert code == 1
    assert lines == [
        f"{path}: tests[0]: expected 1 finding, got 0",
        "  expected:",
        "    [0] reason OOMKilling",
        "  got: (nothing)",
    ]


def test_a_message_that_does_not_match_fails(tmp_path: Path, check: Check) -> None:
    document = with_tests(
        {
            "lines": ["Out of memory: Killed process 1234 (java)"],
            "expect": [{"reason": "OOMKilling", "message": "python"}],
        }
    )
    code, lines = check("--test", "--quiet", write_config(tmp_path, document))
    assert code == 1
    assert "does not match finding 0 (OOMKilling)" in lines[0]


WINDOWED: dict[str, Any] = {
    **copy.deepcopy(LOG_CONFIG),
    "rules": [
        {
            "type": "temporary",
            "reason": "FrequentLinkFlap",
            "pattern": "link down",
            "count": 3,
            "window": "5m",
        },
    ],
}


def test_a_windowed_rule_with_timed_lines(tmp_path: Path, check: Check) -> None:
    within = [{"at": "0s", "message": "link down"}, {"at": "2m", "message": "link down"}]
    document = with_tests(
        {
            "name": "three within five minutes",
            "lines": [*within, {"at": "4m", "message": "link down"}],
            "expect": [{"reason": "FrequentLinkFlap"}],
        },
        {
            "name": "three spread over six minutes",
            "lines": [*within, {"at": "6m", "message": "link down"}],
            "expect": [],
        },
        base=WINDOWED,
    )
    path = write_config(tmp_path, document)
    code, lines = check("--test", path)
    assert code == 0, lines
    assert lines == [f"{path}: OK (system-log-monitor, 1 rule, 2 rule tests passed)"]


def test_a_windowed_fixture_that_fails_reports_times(tmp_path: Path, check: Check) -> None:
    document = with_tests(
        {"lines": [{"at": "0s", "message": "link down"}, "link down", "link down"], "expect": []},
        base=WINDOWED,
    )
    code, lines = check("--test", "--quiet", write_config(tmp_path, document))
    assert code == 1
    # Plain lines follow the previous one by a second: the third is at 2s.
    assert lines[-1] == '    [0] temporary FrequentLinkFlap at +2s (line 3): "link down"'


def test_a_condition_that_resolves(tmp_path: Path, check: Check) -> None:
    base = variant(LOG_CONFIG, lambda d: rule(d, 1).update(resolve={"after": "10m"}))
    document = with_tests(
        {
            "lines": [HUNG, {"at": "11m", "message": "later"}],
            "expect": [
                {"reason": "TaskHung"},
                {"reason": "DockerHung", "status": "True"},
                {"reason": "KernelHasNoDeadlock", "condition": "KernelDeadlock", "status": "False"},
            ],
        },
        base=base,
    )
    path = write_config(tmp_path, document)
    code, lines = check("--test", path)
    assert code == 0, lines


def test_an_expectation_no_rule_can_meet_warns(tmp_path: Path, check: Check) -> None:
    document = with_tests({"lines": ["x"], "expect": [{"reason": "DockerHang", "condition": "Deadlock"}]})
    path = write_config(tmp_path, document)
    code, lines = check(path)
    assert code == 0
    assert lines[0].startswith(f"{path}: tests[0].expect[0].reason: warning: no rule or condition has reason")
    assert lines[1].startswith(f"{path}: tests[0].expect[0].condition: warning: 'Deadlock' is not among")


def test_fixture_names_cannot_break_lines(tmp_path: Path, check: Check) -> None:
    document = with_tests({"name": "two\nlines", "lines": ["nothing"], "expect": [{"reason": "TaskHung"}]})
    code, lines = check("--test", "--quiet", write_config(tmp_path, document))
    assert code == 1
    assert 'tests[0] ("two\\nlines"): expected 1 finding, got 0' in lines[0]


def test_an_invalid_config_with_fixtures_does_not_run_them(tmp_path: Path, check: Check) -> None:
    document = with_tests({"lines": [HUNG], "expect": []})
    document["lookback"] = "forever"
    code, lines = check("--test", write_config(tmp_path, document))
    assert code == 2
    assert len(lines) == 1
    assert ": lookback: " in lines[0]


def test_errors_outrank_failing_fixtures(tmp_path: Path, check: Check) -> None:
    failing = write_config(tmp_path, with_tests({"lines": [HUNG], "expect": []}), "failing.json")
    broken = write_config(tmp_path, "{", "broken.json")
    code, _ = check("--test", failing, broken)
    assert code == 2


# -- the console script ----------------------------------------------------------------------


def test_console_script_passes_upstream_configs() -> None:
    result = run("npd", "check-config", *map(str, upstream_configs()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert result.stdout.count(": OK (") == len(upstream_configs())


def test_console_script_rejects_a_broken_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, variant(LOG_CONFIG, lambda d: rule(d).update(pattern="(?=x)")))
    result = run("npd", "check-config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [
        f"{path}: rules[0].pattern: invalid regular expression '(?=x)': invalid perl operator: (?="
    ]


def test_console_script_runs_fixtures(tmp_path: Path) -> None:
    passing = write_config(
        tmp_path,
        with_tests({"lines": [HUNG], "expect": [{"reason": "TaskHung"}, {"reason": "DockerHung"}]}),
        "passing.json",
    )
    failing = write_config(tmp_path, with_tests({"lines": [HUNG], "expect": []}), "failing.json")
    assert run("npd", "check-config", "--test", str(passing)).returncode == 0
    result = run("npd", "check-config", "--test", "-q", str(failing))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{failing}: tests[0]: expected 0 findings, got 2\n")


def test_console_script_usage_error() -> None:
    result = run("npd", "check-config")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no config file given" in result.stderr


def test_the_documented_example_passes(tmp_path: Path, check: Check) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "check-config.md").read_text()
    example = doc.split("```json\n", 1)[1].split("```", 1)[0]
    path = write_config(tmp_path, example)
    code, lines = check("--test", "--strict", path)
    assert code == 0, lines
    assert lines == [f"{path}: OK (system-log-monitor, 3 rules, 4 rule tests passed)"]
