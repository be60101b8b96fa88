"""The replay engine: routing, findings with line numbers, and time taken from the records."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from npd.config.loader import load_log_monitor_file
from npd.config.logmonitor import LogMonitorConfig
from npd.problem import ConditionStatus, RuleType
from npd.replay.engine import Finding, InputRecord, ReplayEngine, routes_to
from tests.replay.support import kernel_config, load_config, runtime_config, write_config

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC).timestamp()
HUNG = "INFO: task docker:4321 blocked for more than 120 seconds."
OOM = "Out of memory: Killed process 1234 (java) total-vm:1000kB, anon-rss:500kB"
PLEG = "PLEG is not healthy: pleg was last seen active 3m0s ago"


def record(
    line: int, message: str, *, at: float = 0.0, ident: str | None = None, kernel: bool = False
) -> InputRecord:
    return InputRecord(T0 + at, message, line, line, ident, kernel)


def when(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def finding(
    line: int, monitor: str, reason: str, message: str, *, at: float = 0.0, **extra: object
) -> Finding:
    values: dict[str, object] = {
        "input": "log",
        "first_line": line,
        "last_line": line,
        "timestamp": when(at),
        "monitor": monitor,
        "type": RuleType.TEMPORARY,
        "reason": reason,
        "condition": "",
        "status": None,
        "message": message,
    }
    values.update(extra)
    return Finding(**values)  # type: ignore[arg-type]


def replay(configs: list[LogMonitorConfig], records: list[InputRecord]) -> list[Finding]:
    engine = ReplayEngine(configs, "log")
    return engine.feed(records) + engine.finish()


def test_records_reach_the_monitors_whose_live_source_would_deliver_them(tmp_path: Path) -> None:
    kernel = kernel_config(tmp_path)
    runtime = runtime_config(tmp_path)
    kernel_journal = load_config(
        tmp_path, "k.json", {"plugin": "journald", "pluginConfig": {"source": "kernel"}, "source": "kj"}
    )
    filelog = load_config(
        tmp_path,
        "f.json",
        {
            "plugin": "filelog",
            "source": "fl",
            "logPath": "/var/log/syslog",
            "pluginConfig": {"timestamp": "^.{15}", "message": "(.*)", "timestampFormat": "Jan _2 15:04:05"},
        },
    )
    cases = {
        ("kernel", True): {"kernel-monitor", "kj", "fl"},
        (None, True): {"kernel-monitor", "kj", "fl"},
        ("dockerd", False): {"runtime-monitor", "fl"},
        ("kubelet", False): {"runtime-monitor", "fl"},
        ("containerd", False): {"fl"},
        ("", False): {"fl"},  # a journal entry without an identifier
        (None, False): {"kernel-monitor", "runtime-monitor", "kj", "fl"},  # origin unknown
    }
    for (ident, is_kernel), expected in cases.items():
        item = record(1, "x", ident=ident, kernel=is_kernel)
        reached = {
            config.source for config in (kernel, runtime, kernel_journal, filelog) if routes_to(config, item)
        }
        assert reached == expected, (ident, is_kernel)


def test_each_match_becomes_a_finding_with_its_lines_in_log_order(tmp_path: Path) -> None:
    records = [
        record(1, "Started Kubernetes Kubelet.", ident="systemd"),
        record(2, OOM, at=1, ident="kernel", kernel=True),
        record(3, OOM, at=2, ident="dockerd"),  # not the kernel's: the kernel monitor never sees it
        record(4, PLEG, at=3, ident="kubelet"),
        record(5, HUNG, at=4, ident="kernel", kernel=True),
        record(6, "PLEG is healthy again", at=5, ident="kubelet"),
    ]
    assert replay([kernel_config(tmp_path), runtime_config(tmp_path)], records) == [
        finding(2, "kernel-monitor", "OOMKilling", OOM, at=1),
        finding(
            4,
            "runtime-monitor",
            "PLEGNotHealthy",
            PLEG,
            at=3,
            type=RuleType.PERMANENT,
            condition="ContainerRuntimeProblem",
            status=ConditionStatus.TRUE,
        ),
        finding(5, "kernel-monitor", "TaskHung", HUNG, at=4),
        finding(
            5,
            "kernel-monitor",
            "DockerHung",
            HUNG,
            at=4,
            type=RuleType.PERMANENT,
            condition="KernelDeadlock",
            status=ConditionStatus.TRUE,
        ),
        finding(
            6,
            "runtime-monitor",
            "ContainerRuntimeIsHealthy",
            "container runtime is healthy",
            at=5,
            type=RuleType.PERMANENT,
            condition="ContainerRuntimeProblem",
            status=ConditionStatus.FALSE,
        ),
    ]


def test_a_record_of_unknown_origin_reaches_every_monitor(tmp_path: Path) -> None:
    findings = replay([kernel_config(tmp_path), runtime_config(tmp_path)], [record(7, OOM), record(8, PLEG)])
    assert [(item.last_line, item.monitor, item.reason) for item in findings] == [
        (7, "kernel-monitor", "OOMKilling"),
        (8, "runtime-monitor", "PLEGNotHealthy"),
    ]


def test_a_match_spanning_records_covers_their_lines(tmp_path: Path) -> None:
    first = "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),task=java,pid=1234,uid=0"
    second = "Memory cgroup out of memory: Killed process 1234 (java) total-vm:1000kB, anon-rss:500kB"
    records = [
        InputRecord(T0, first, 3, 5, "kernel", True),  # a kmsg record with two dictionary lines
        InputRecord(T0 + 1, second, 6, 6, "kernel", True),
    ]
    findings = replay([kernel_config(tmp_path)], records)
    assert [(item.reason, item.first_line, item.last_line, item.message) for item in findings] == [
        ("OOMKilling", 6, 6, second),
        ("MemcgOOM", 3, 6, f"{first}\n{second}"),
    ]
    assert findings[1].timestamp == when(0)  # a match is stamped with its first record's time


def test_count_and_window_are_measured_in_log_time(tmp_path: Path) -> None:
    config = kernel_config(
        tmp_path,
        rules=[
            {
                "type": "temporary",
                "reason": "LinkFlap",
                "pattern": "eth0: link down",
                "count": 3,
                "window": "10m",
            }
        ],
    )
    minute = 60.0
    records = [
        record(1, "eth0: link down", at=0, kernel=True),
        record(2, "eth0: link down", at=5 * minute, kernel=True),
        record(3, "eth0: link down", at=11 * minute, kernel=True),  # the first has left the window
        record(4, "eth0: link down", at=12 * minute, kernel=True),  # third within 10 minutes
    ]
    findings = replay([config], records)
    assert [(item.last_line, item.reason, item.timestamp) for item in findings] == [
        (4, "LinkFlap", when(12 * minute))
    ]


def _quiet_clear_config(tmp_path: Path) -> LogMonitorConfig:
    rules = [
        {
            "type": "permanent",
            "condition": "KernelDeadlock",
            "reason": "DockerHung",
            "pattern": r"task docker:\w+ blocked for more than \w+ seconds\.",
            "resolve": {"after": "30m"},
        }
    ]
    return kernel_config(tmp_path, rules=rules)


def test_resolve_after_clears_at_the_first_record_past_the_quiet_period(tmp_path: Path) -> None:
    minute = 60.0
    records = [
        record(1, HUNG, at=0, kernel=True),
        record(2, "still quiet", at=10 * minute, kernel=True),
        # Not for the kernel monitor, but the log's clock moves on with it.
        record(3, "dockerd is fine", at=31 * minute, ident="dockerd"),
        record(4, HUNG, at=40 * minute, kernel=True),
    ]
    findings = replay([_quiet_clear_config(tmp_path)], records)
    assert [(item.last_line, item.reason, item.status, item.timestamp) for item in findings] == [
        (1, "DockerHung", ConditionStatus.TRUE, when(0)),
        (3, "KernelHasNoDeadlock", ConditionStatus.FALSE, when(30 * minute)),  # due at 30m, seen at 31m
        (4, "DockerHung", ConditionStatus.TRUE, when(40 * minute)),
    ]


def test_a_log_that_ends_before_the_quiet_period_leaves_the_condition_raised(tmp_path: Path) -> None:
    engine = ReplayEngine([_quiet_clear_config(tmp_path)], "log")
    raised = engine.feed([record(1, HUNG, kernel=True), record(2, "quiet", at=29 * 60, kernel=True)])
    assert [item.status for item in raised] == [ConditionStatus.TRUE]
    assert engine.finish() == []


def test_findings_do_not_depend_on_how_the_records_are_batched(tmp_path: Path) -> None:
    configs = [_quiet_clear_config(tmp_path), runtime_config(tmp_path)]
    records = [
        record(line, message, at=line * 300.0, ident=ident, kernel=ident == "kernel")
        for line, (message, ident) in enumerate(
            [
                (HUNG, "kernel"),
                (PLEG, "kubelet"),
                ("noise", "kernel"),
                ("noise", "dockerd"),
                ("noise", "kernel"),
                ("noise", "kernel"),
                ("noise", "kernel"),
                ("PLEG is healthy again", "kubelet"),
                (HUNG, "kernel"),
                ("noise", "kernel"),
            ]
            * 3,
            1,
        )
    ]
    whole = replay(configs, records)
    engine = ReplayEngine(configs, "log")
    one_by_one = [item for single in records for item in engine.feed([single])] + engine.finish()
    assert one_by_one == whole
    assert len(whole) > 6


def test_a_filelog_monitor_skips_the_lines_of_its_skip_list(tmp_path: Path) -> None:
    config = load_config(
        tmp_path,
        "f.json",
        {
            "plugin": "filelog",
            "source": "fl",
            "logPath": "/var/log/kern.log",
            "pluginConfig": {"timestamp": "^.{15}", "message": "(.*)", "timestampFormat": "Jan _2 15:04:05"},
            "skipList": ["java"],
            "rules": [{"type": "temporary", "reason": "OOMKilling", "pattern": r"Killed process \d+ .*"}],
        },
    )
    records = [record(1, OOM, kernel=True), record(2, OOM.replace("java", "nginx"), ident="dockerd")]
    assert [item.last_line for item in replay([config], records)] == [2]


def test_a_config_that_cannot_run_is_left_out(tmp_path: Path) -> None:
    path = write_config(tmp_path, "j.json", {"plugin": "journald", "source": "no-identifier"})
    unusable = load_log_monitor_file(str(path), lambda _warning: None)
    assert unusable.unusable  # a journald monitor needs an identifier, as upstream's does
    assert replay([unusable, kernel_config(tmp_path)], [record(1, OOM)]) == [
        finding(1, "kernel-monitor", "OOMKilling", OOM)
    ]


def test_a_rule_message_suffix_is_part_of_the_message(tmp_path: Path) -> None:
    config = kernel_config(
        tmp_path,
        rules=[
            {
                "type": "temporary",
                "reason": "OOMKilling",
                "pattern": r"Killed process \d+ .*",
                "patternGeneratedMessageSuffix": "see https://example.com/oom",
            }
        ],
    )
    assert [item.message for item in replay([config], [record(1, OOM, kernel=True)])] == [
        f"{OOM}; see https://example.com/oom"
    ]


def test_no_records_no_findings(tmp_path: Path) -> None:
    engine = ReplayEngine([kernel_config(tmp_path)], "log")
    assert engine.feed([]) == []
    assert engine.finish() == []


def test_flap_damping_holds_a_condition_until_the_log_has_been_quiet(tmp_path: Path) -> None:
    config = kernel_config(
        tmp_path,
        conditions=[
            {
                "type": "KernelDeadlock",
                "reason": "KernelHasNoDeadlock",
                "message": "kernel has no deadlock",
                "flapDamping": {"changes": 2, "window": "10m"},
            }
        ],
        rules=[
            {
                "type": "permanent",
                "condition": "KernelDeadlock",
                "reason": "DockerHung",
                "pattern": r"task docker:\w+ blocked for more than \w+ seconds\.",
                "resolve": {"pattern": "docker is responsive"},
            }
        ],
    )
    minute = 60.0
    records = [
        record(1, HUNG, at=0, kernel=True),
        record(2, "docker is responsive", at=1 * minute, kernel=True),
        record(3, HUNG, at=2 * minute, kernel=True),
        record(4, "docker is responsive", at=3 * minute, kernel=True),  # flapping: held True
        record(5, "quiet", at=5 * minute, kernel=True),
        record(6, "quiet", at=14 * minute, ident="kubelet"),
    ]
    findings = replay([config], records)
    assert [(item.last_line, item.status, item.timestamp) for item in findings] == [
        (1, ConditionStatus.TRUE, when(0)),
        (2, ConditionStatus.FALSE, when(1 * minute)),
        (3, ConditionStatus.TRUE, when(2 * minute)),
        (6, ConditionStatus.FALSE, when(13 * minute)),  # ten quiet minutes after the last change
    ]


def test_every_line_of_a_standing_problem_is_listed(tmp_path: Path) -> None:
    # The daemon reports a permanent problem once; a replay lists each line that shows it, so
    # a log with the same fault on many lines reports all of them.
    records = [
        record(1, HUNG, kernel=True),
        record(2, "normal", at=1, kernel=True),
        record(3, HUNG.replace("4321", "99"), at=2, kernel=True),
    ]
    findings = replay([_quiet_clear_config(tmp_path)], records)
    assert [(item.last_line, item.reason, item.status, item.message) for item in findings] == [
        (1, "DockerHung", ConditionStatus.TRUE, HUNG),
        (3, "DockerHung", ConditionStatus.TRUE, HUNG.replace("4321", "99")),
    ]
    assert findings[1].timestamp == when(2)
