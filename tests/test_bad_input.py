"""Bad input never produces a traceback: configs, the command line, and log data.

1. Random JSON-ish documents, shaped by the real config schemas (rules, conditions, pluginConfig,
   stats sections) but with random keys in random case, values of any type, random regexes and
   durations, truncated or corrupted text, and raw bytes, are loaded as all three monitor kinds:
   the result is a config or a :class:`ConfigError` naming the file, never another exception.
   Loaded log monitor configs also get their rule matcher built and run.
2. A handful of generated bad files go through the real ``node-problem-detector``: exit code 2,
   one line on stderr, no traceback.
3. Random log data (binary junk decoded with replacement, U+FFFD, NULs, 1 MB lines, lines of
   newlines, near-misses of real kernel messages) goes through upstream's 14 kernel rules with
   :meth:`RuleMatcher.feed` and :meth:`ProblemTracker.match`: no exception.

The examples are derandomized so that the suite is stable for everyone; run with a larger
``max_examples`` and without ``derandomize`` to explore further. Inputs that once triggered bugs
have tests of their own too (lone surrogates: ``tests/config/test_jsonfields.py``; line breaks in
error lines: ``tests/config/test_error_lines.py``; out-of-range timestamps and kmsg header numbers:
below).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from npd.config.errors import ConfigError
from npd.config.loader import MonitorKind, load_monitor_config
from npd.config.logmonitor import LogMonitorConfig
from npd.monitors.matcher import RuleMatcher
from npd.monitors.tracker import ProblemTracker
from npd.problem import Status
from npd.sources.base import LogRecord, RecordBatch, SourceHealth
from npd.sources.kmsg import KmsgSource

KERNEL_RULES = Path("/work/shared/bench/kernel-monitor-filelog-14rules.json")
KINDS = list(MonitorKind)

# -- generators: config documents -----------------------------------------------------------

TOP_KEYS = [
    "plugin", "pluginConfig", "logPath", "lookback", "delay", "bufferSize", "source", "metricsReporting",
    "skipList", "conditions", "rules", "cpu", "disk", "host", "memory", "osFeature", "net", "invokeInterval",
    "procPath",
]  # fmt: skip
RULE_KEYS = [
    "type", "condition", "reason", "pattern", "patternGeneratedMessageSuffix", "path", "args", "timeout",
    "invoke_interval",
]  # fmt: skip
CONDITION_KEYS = ["type", "reason", "message", "status", "transition"]
PLUGIN_CONFIG_KEYS = ["source", "timestamp", "message", "timestampFormat", "invoke_interval", "timeout",
                      "max_output_length", "concurrency", "enable_message_change_based_condition_update",
                      "skip_initial_status"]  # fmt: skip
SECTION_KEYS = ["metricsConfigs", "includeRootBlk", "includeAllAttachedBlk", "lsblkTimeout",
                "knownModulesConfigPath", "excludeInterfaceRegexp"]  # fmt: skip
JUNK_KEYS = [
    "",
    "junk",
    "taint",
    "valuePatterns",
    "journalDirs",
    "metricType",
    " plugin",
    "plugin\u0000",
    "ü",
]
PATTERN_KEYS = {"pattern", "timestamp", "message", "excludeInterfaceRegexp"}
DURATION_KEYS = {"lookback", "delay", "timeout", "invoke_interval", "invokeInterval", "lsblkTimeout"}

REGEX_FRAGMENTS = [
    "a", "b", ".", ".*", ".+", r"\d+", r"\w", r"\S+", r"\s", r"\n", "\n", "(", ")", "[", "]", "[^a]", "[a-z]",
    "{2}", "{1001}", "*", "+", "?", "|", "^", "$", r"\z", r"\A", r"\b", r"\C", r"\X", r"\Z", r"\1", "(?i)",
    "(?s)", "(?m)", "(?P<n>", "(?<n>", "(?<!", "(?=", "(?:", r"\pN", r"\p{Greek}", r"\p{Bogus}", "[[:word:]]",
    "[[:bogus:]]", r"\Q", r"\E", r"\x{263a}", r"\x{110000}", "\ufffd", "\u0000", "é", r"\\",
]  # fmt: skip
DURATION_FRAGMENTS = [
    "0",
    "5",
    "1.5",
    ".5",
    "5.",
    "-",
    "+",
    "ns",
    "us",
    "µs",
    "ms",
    "s",
    "m",
    "h",
    "d",
    "x",
    " ",
]

#: Any text, lone surrogates included (Go decodes them as U+FFFD).
texts = st.text(max_size=20)
regexes = st.one_of(
    st.lists(st.sampled_from(REGEX_FRAGMENTS), max_size=6).map("".join),
    st.text(st.sampled_from("ab.*+?()[]{}|^$\\dswSDWzAbpPQECx0123456789:<>!=-,"), max_size=12),
)
durations = st.one_of(
    st.lists(st.sampled_from(DURATION_FRAGMENTS), min_size=1, max_size=5).map("".join),
    st.sampled_from(["", "0", "-1s", "9223372036854775807ns", "1e3s"]),
    st.sampled_from(["5s", "5m", "1h30m", "300ms", "86400s", "10s"]),
    st.sampled_from(["5s", "5m", "1h30m", "300ms", "86400s", "10s"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    regexes,
    durations,
)
anything = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


def spelled(names: list[str]) -> st.SearchStrategy[str]:
    """A schema key, sometimes in another case, sometimes a junk key."""
    name = st.sampled_from(names)
    return st.one_of(
        name,
        name,
        name,
        name.map(str.upper),
        name.map(lambda key: key[:1].upper() + key[1:]),
        st.sampled_from(JUNK_KEYS),
        texts,
    )


def value_for(key: str, depth: int) -> st.SearchStrategy[Any]:
    """Mostly a plausible value for ``key``, sometimes anything at all."""
    plain = key.lower()
    if depth > 2:
        return anything
    if plain in {k.lower() for k in PATTERN_KEYS}:
        plausible: st.SearchStrategy[Any] = regexes
    elif plain in {k.lower() for k in DURATION_KEYS}:
        plausible = durations
    elif plain == "plugin":
        plausible = st.sampled_from(["kmsg", "journald", "filelog", "custom", "sensulog", "", "KMSG"])
    elif plain == "rules":
        plausible = st.lists(objects(RULE_KEYS, depth + 1), max_size=4)
    elif plain == "conditions":
        plausible = st.lists(objects(CONDITION_KEYS, depth + 1), max_size=3)
    elif plain == "pluginconfig":
        plausible = objects(PLUGIN_CONFIG_KEYS, depth + 1)
    elif plain in {"cpu", "disk", "host", "memory", "osfeature", "net"}:
        plausible = objects(SECTION_KEYS, depth + 1)
    elif plain == "metricsconfigs":
        plausible = st.dictionaries(
            st.sampled_from(["cpu/load_1m", "net/rx_bytes", "disk/io_time", "x"]) | texts,
            st.none() | st.fixed_dictionaries({"displayName": texts}) | anything,
            max_size=3,
        )
    elif plain in {"type", "condition"}:
        plausible = st.sampled_from(["temporary", "permanent", "A", "B", ""])
    elif plain == "path":
        plausible = st.sampled_from(["/bin/true", "./config/plugin/check.sh", ""])
    elif plain in {"skiplist", "args"}:
        plausible = st.lists(texts, max_size=3)
    elif plain in {"buffersize", "max_output_length", "concurrency"}:
        plausible = st.integers(min_value=-5, max_value=100)
    elif plain.startswith(("metricsreporting", "include", "enable", "skip_initial")):
        plausible = st.booleans()
    else:
        plausible = texts
    return st.one_of(plausible, plausible, plausible, anything)


def objects(keys: list[str], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with keys from ``keys`` (respelled or junk), each with a value for its key."""
    entries = spelled(keys).flatmap(lambda key: st.tuples(st.just(key), value_for(key, depth)))
    return st.lists(entries, max_size=len(keys) + 1).map(dict)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A config file's bytes: a schema-shaped object, any JSON value, corrupted JSON, or raw bytes."""
    shape = draw(st.sampled_from(["object", "object", "object", "value", "truncated", "corrupted", "bytes"]))
    if shape == "bytes":
        return draw(st.binary(max_size=300))
    document = draw(objects(TOP_KEYS)) if shape != "value" else draw(anything)
    text = json.dumps(document, ensure_ascii=draw(st.booleans()), allow_nan=False)
    if draw(st.booleans()):  # a duplicate of some key, as Go and npd read them
        text = text.replace("{", '{"plugin": "kmsg", ', 1) if text.startswith("{") else text
    if shape == "truncated":
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    elif shape == "corrupted" and text:
        where = draw(st.integers(min_value=0, max_value=len(text) - 1))
        text = (
            text[:where]
            + draw(st.sampled_from(["", ",", "}", "]", '"', "NaN", "\\", "\x00", "\n"]))
            + text[where + 1 :]
        )
    return text.encode("utf-8")


# -- 1. loading never raises anything but ConfigError ----------------------------------------


def exercise_matcher(config: LogMonitorConfig) -> None:
    """Build the loaded config's matcher and run a few lines through it, as the daemon would."""
    if config.buffer_size > 10_000:
        return  # the buffer is allocated up front and bufferSize has no upper bound: skip huge ones
    matcher = RuleMatcher(config.rules, config.buffer_size)
    lines = ["", "a", "ab\nb", "Killed process 1 (x)", "\ufffd\x00", "x" * 300]
    batch = RecordBatch([LogRecord(1_700_000_000.0 + n, line) for n, line in enumerate(lines)], None)
    for match in matcher.feed(batch):
        assert match.records


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=documents())
def test_loading_random_documents_gives_a_config_or_a_config_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "monitor.json"
    path.write_bytes(content)
    for kind in KINDS:
        try:
            config = load_monitor_config(str(path), kind, lambda _: None)
        except ConfigError as exc:
            assert exc.file == str(path)
            assert exc.line().startswith(f"{path}: ")
            event(f"{kind.value}: rejected")
            continue
        event(f"{kind.value}: loaded")
        assert config.file == str(path)
        if isinstance(config, LogMonitorConfig):
            exercise_matcher(config)


@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pattern=regexes)
def test_random_rule_patterns_load_or_are_rejected_and_loaded_ones_match(
    tmp_path: Path, pattern: str
) -> None:
    path = tmp_path / "monitor.json"
    path.write_text(
        json.dumps({"plugin": "kmsg", "rules": [{"type": "temporary", "reason": "R", "pattern": pattern}]})
    )
    try:
        config = load_monitor_config(str(path), MonitorKind.SYSTEM_LOG, lambda _: None)
    except ConfigError as exc:
        assert exc.path == "rules[0].pattern"
        return
    assert isinstance(config, LogMonitorConfig)
    exercise_matcher(config)


@pytest.mark.parametrize(
    "pattern", [r"a\n(?i){2}", "a\n(?i){2}", r"\x0a(?s)*?", r"(?i)a\n(?s)+", r".*\n(?m){0}\w"]
)
def test_patterns_that_load_also_build_a_matcher(tmp_path: Path, pattern: str) -> None:
    path = tmp_path / "monitor.json"
    path.write_text(
        json.dumps({"plugin": "kmsg", "rules": [{"type": "temporary", "reason": "R", "pattern": pattern}]})
    )
    config = load_monitor_config(str(path), MonitorKind.SYSTEM_LOG, lambda _: None)
    assert isinstance(config, LogMonitorConfig)
    exercise_matcher(config)


# -- 2. the real CLI on generated bad files --------------------------------------------------


def cli_result(path: Path) -> subprocess.CompletedProcess[str]:
    program = os.path.join(os.path.dirname(sys.executable), "node-problem-detector")
    return subprocess.run(
        [program, "--enable-k8s-exporter=false", f"--config.system-log-monitor={path}", "--port=0",
         "--prometheus-port=0", "--state-dir="],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=30, check=False,
    )  # fmt: skip


@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=documents())
def test_generated_bad_files_through_the_cli(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    try:
        load_monitor_config(str(path), MonitorKind.SYSTEM_LOG, lambda _: None)
    except ConfigError as exc:
        expected = exc.line()
    else:
        assume(False)  # a good config would start the daemon
    result = cli_result(path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    # Warnings about the file may come first (see test_a_rejected_config_prints_only_its_error).
    assert result.stderr.splitlines()[-1:] == [f"node-problem-detector: {expected}"]


def test_a_rejected_config_prints_only_its_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    # A negative lookback is warned about, then the rule's pattern is refused.
    path.write_text(
        json.dumps({"plugin": "kmsg", "lookback": "-5m", "rules": [{"type": "temporary", "pattern": "("}]})
    )
    result = cli_result(path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[-1].startswith(f"node-problem-detector: {path}: rules[0].pattern: invalid regular")
    assert len(lines) == 1, lines


# -- 3. random log data through the kernel rules ----------------------------------------------


def kernel_config() -> LogMonitorConfig:
    config = load_monitor_config(str(KERNEL_RULES), MonitorKind.SYSTEM_LOG, lambda _: None)
    assert isinstance(config, LogMonitorConfig)
    assert len(config.rules) == 14
    return config


def run_kernel_rules(messages: list[str], timestamps: list[float] | None = None) -> list[Status]:
    """Feed ``messages`` (in batches of up to 7) through the 14 kernel rules; returns the reports."""
    config = kernel_config()
    matcher = RuleMatcher(config.rules, config.buffer_size)
    tracker = ProblemTracker(config, None, 1_700_000_000.0)
    stamps = timestamps or [1_700_000_000.0 + n for n in range(len(messages))]
    records = [LogRecord(stamp, message) for stamp, message in zip(stamps, messages, strict=True)]
    reports = []
    for start in range(0, len(records), 7):
        for match in matcher.feed(RecordBatch(records[start : start + 7], None)):
            assert match.records
            events = tuple(report.event for report in tracker.match(match))
            if events:
                reports.append(Status(config.source, events, tracker.conditions))
    return reports


KERNEL_LINES = [
    "Killed process 1234 (stress) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB",
    "task docker:abc blocked for more than 120 seconds.",
    "task kworker/0:1:123 blocked for more than 120 seconds.",
    "XFS (sda1): Corruption detected. Shutting down filesystem",
    "mce: [Hardware Error]: event severity: fatal",
    "divide error: 0000 [#1] SMP",
    "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
    "unregister_netdevice: waiting for eth0 to become free. Usage count = 1",
]

junk_bytes = st.binary(max_size=200).map(lambda raw: raw.decode("utf-8", errors="replace"))
near_misses = st.tuples(st.sampled_from(KERNEL_LINES), st.integers(min_value=0, max_value=100), texts).map(
    lambda parts: parts[0][: parts[1]] + parts[2] + parts[0][parts[1] :]
)
messages = st.one_of(
    st.sampled_from(KERNEL_LINES),
    near_misses,
    junk_bytes,
    texts,
    st.text(st.sampled_from("\x00\ufffd\n \t[]:.\\"), max_size=40),
    st.integers(min_value=1, max_value=50).map(lambda count: "\n" * count),
    st.sampled_from(["", " ", "\ufffd" * 100, "\x00" * 100, "\n"]),
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(lines=st.lists(messages, max_size=40))
def test_random_log_data_through_the_kernel_rules(lines: list[str]) -> None:
    for status in run_kernel_rules(lines):
        assert status.source == "kernel-monitor"
        for reported in status.events:
            assert reported.reason


@pytest.mark.parametrize(
    "make",
    [
        lambda: "a" * 1_000_000,
        lambda: "\n" * 1_000_000,
        lambda: "\ufffd\x00" * 500_000,
        lambda: "x" * 1_000_000 + "Killed process 1 (x) total-vm:1kB, anon-rss:1kB, file-rss:1kB",
        lambda: "Killed process 1 (" + "y" * 1_000_000 + ") total-vm:1kB, anon-rss:1kB, file-rss:1kB",
        lambda: "task docker:" + "\n" * 1_000_000 + " blocked for more than 1 seconds.",
        lambda: bytes(range(256)).decode("utf-8", errors="replace") * 4096,
    ],
    ids=[
        "1MB",
        "1MB-newlines",
        "1MB-fffd-nul",
        "1MB-then-oom",
        "oom-with-1MB-name",
        "newlines-in-docker",
        "binary",
    ],
)
def test_huge_lines_through_the_kernel_rules(make: Callable[[], str]) -> None:
    line = make()
    reports = run_kernel_rules([KERNEL_LINES[1], line, line, KERNEL_LINES[0]])
    reasons = [event.reason for status in reports for event in status.events]
    assert reasons[-1] == "OOMKilling"  # the monitor still works after the huge lines


@pytest.mark.parametrize("timestamp", [1e15, -1e15, float("inf")])
def test_out_of_range_timestamps_do_not_stop_the_monitor(timestamp: float) -> None:
    reports = run_kernel_rules([KERNEL_LINES[0]], [timestamp])
    assert len(reports) == 1


def read_kmsg_file(log: Path, health: SourceHealth, *, until: str) -> list[str]:
    """The messages a kmsg source reads from a regular file, up to the one named ``until``."""

    async def read() -> list[str]:
        seen: list[str] = []
        source = KmsgSource(log_path=str(log), start=0, position=None, health=health)
        async with asyncio.timeout(5):
            async for batch in source.batches():
                seen += [record.message for record in batch.records()]
                if until in seen:
                    return seen
        return seen

    return asyncio.run(read())


def test_kmsg_junk_timestamp_loses_no_records(tmp_path: Path) -> None:
    log = tmp_path / "kmsg"
    log.write_bytes(
        b"6,1,1000,-;first record\n"
        + b"6,2,"
        + b"9" * 400
        + b",-;junk timestamp\n"
        + b"6,3,3000,-;third record\n"
    )
    health = SourceHealth(kind="kmsg", name="test")
    assert read_kmsg_file(log, health, until="third record") == ["first record", "third record"]
    assert health.read_errors == 0


def test_kmsg_source_skips_random_junk_lines() -> None:
    # Junk between valid records is counted, not fatal, and the valid records all arrive.
    junk = [
        b"",
        b"\x00\xff",
        b";",
        b"1,2,3;x",
        b"6,x,1,-;y",
        b"  SUBSYSTEM=pci",
        b"\xff" * 70000,
        b"6,9,-1,-;neg",
    ]
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "kmsg"
        content = b""
        for seq, line in enumerate(junk, start=1):
            content += line + b"\n" + f"6,{100 + seq},{seq * 1000},-;valid {seq}\n".encode()
        log.write_bytes(content)
        health = SourceHealth(kind="kmsg", name="test")
        seen = read_kmsg_file(log, health, until=f"valid {len(junk)}")
        assert seen == [f"valid {seq}" for seq in range(1, len(junk) + 1)]
        assert health.read_errors == 0
        assert health.parse_failures > 0
