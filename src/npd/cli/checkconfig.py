"""``npd check-config FILE...``: validate monitor configs and run the rule tests they embed.

Each file is loaded by the daemon's own loaders, so a file passes here exactly when the daemon
would load it. Problems are printed on stdout, one line each: ``file: json.path: problem`` for
errors and ``file: json.path: warning: problem`` for what upstream silently ignores. The
loaders stop at the first error; to report more than one, a broken rule or test fixture (or a
broken top-level setting nothing else depends on) is set aside and the file loaded again.
See docs/check-config.md.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from npd.cli.flags import Flag, FlagError, FlagSet, Kind
from npd.config.duration import format_go_duration
from npd.config.errors import ConfigError, one_line
from npd.config.jsonfields import Fields, JSONObject, go_fold, read_json_file
from npd.config.loader import LOADERS, MonitorConfig, MonitorKind
from npd.config.logmonitor import LogMonitorConfig, LogPlugin
from npd.config.plugin import PluginMonitorConfig
from npd.config.ruletests import FIXTURE_START, Expectation, RuleTest
from npd.config.stats import SystemStatsConfig
from npd.goregex import compile_go
from npd.problem import go_quote

if TYPE_CHECKING:
    from npd.replay.engine import Finding

PROGRAM = "npd check-config"

EXIT_OK = 0
#: Every config is valid, but a rule test failed: the rules do not behave as the fixtures say.
EXIT_TESTS_FAILED = 1
#: A config has an error (or a warning, with --strict), or the command line is wrong.
EXIT_INVALID = 2

#: Past this many errors in one file, the rest of it is not checked (each retry reloads the file).
MAX_ERRORS = 50

_ABOUT = """\
Validate node-problem-detector monitor configs: JSON schema, Go regular expressions, durations,
plugin paths, condition references. With --test, also run the rule tests embedded in log
monitor configs ("tests": [...]). Problems are printed on stdout as file: json.path: message.
Exit status: 0 all good, 1 a rule test failed, 2 a config has an error (or a warning, with --strict).
"""


def _flags() -> FlagSet:
    flags = FlagSet(PROGRAM)
    flags.add(
        Flag(
            "kind",
            Kind.STRING,
            "",
            "check every file as this kind of monitor config instead of telling it from its "
            '"plugin" key: ' + ", ".join(kind.value for kind in MonitorKind),
            choices=tuple(kind.value for kind in MonitorKind),
        )
    )
    flags.add(Flag("test", Kind.BOOL, False, "also run the rule tests embedded in log monitor configs"))
    flags.add(Flag("strict", Kind.BOOL, False, "treat warnings as errors"))
    flags.add(
        Flag("quiet", Kind.BOOL, False, "print only problems, not a line per valid file"), shorthand="q"
    )
    return flags


def main(argv: Sequence[str]) -> int:
    """Entry point; returns the exit code."""
    flags = _flags()
    try:
        values, files, _ = flags.parse(argv)
    except FlagError as exc:
        if str(exc) == "help":
            sys.stdout.write(f"usage: {PROGRAM} [flags] FILE...\n\n{_ABOUT}\n{flags.usage()}")
            return EXIT_OK
        print(f"{PROGRAM}: {exc}\nRun '{PROGRAM} --help' for usage.", file=sys.stderr)
        return EXIT_INVALID
    if not files:
        print(f"{PROGRAM}: no config file given\nRun '{PROGRAM} --help' for usage.", file=sys.stderr)
        return EXIT_INVALID
    forced = MonitorKind(values["kind"]) if values["kind"] else None
    options = Options(test=values["test"], strict=values["strict"], quiet=values["quiet"])
    exit_code = EXIT_OK
    for file in files:
        check = check_file(file, forced)
        outcome = report(check, options, print)
        exit_code = max(exit_code, outcome)
    return exit_code


@dataclass(frozen=True, slots=True)
class Options:
    """What to do beyond validating: run fixtures, fail on warnings, print only problems."""

    test: bool = False
    strict: bool = False
    quiet: bool = False


@dataclass
class FileCheck:
    """The outcome of checking one file: its errors and warnings (printable lines) and, when it
    loaded, its config."""

    file: str
    kind: MonitorKind | None = None
    config: MonitorConfig | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The rules and fixtures set aside after an error (``rules[3]``, ``tests[0]``).
    set_aside: set[str] = field(default_factory=set)


def check_file(file: str, forced: MonitorKind | None = None) -> FileCheck:
    """Validate ``file`` as a ``forced`` config, or as the kind its ``plugin`` key says."""
    check = FileCheck(file)
    warnings: dict[str, None] = {}  # an ordered set: retries repeat the warnings before the error

    def warn(line: str) -> None:
        warnings.setdefault(_warning_line(file, line))

    _load(check, forced, warn)
    check.warnings = list(warnings)
    return check


def _load(check: FileCheck, forced: MonitorKind | None, warn: Callable[[str], None]) -> None:
    """Read and load ``check.file``, setting broken parts aside to find more errors."""
    file = check.file
    try:
        document = read_json_file(file)
    except ConfigError as exc:
        check.errors.append(exc.line())
        return
    kind = forced or detect_kind(document)
    check.kind = kind
    failed_at: set[str] = set()
    while True:
        try:
            check.config = LOADERS[kind](Fields(document, file, "", warn), warn)
            break
        except ConfigError as exc:
            check.errors.append(exc.line())
            if len(check.errors) >= MAX_ERRORS:
                check.errors.append(f"{one_line(file)}: too many errors; the rest of the file is not checked")
                break
            retry = None if exc.path in failed_at else _set_aside(document, exc.path, kind)
            if retry is None:
                break
            failed_at.add(exc.path)
            document, where = retry
            check.set_aside.add(where)
    if check.config is not None:
        _extra_checks(check, warn)


_STATS_KEYS = {
    go_fold(key) for key in ("cpu", "disk", "host", "memory", "net", "osFeature", "invokeInterval")
}
_LOG_PLUGINS = {plugin.value for plugin in LogPlugin}


def detect_kind(document: Any) -> MonitorKind:
    """The kind of config a document is, from its ``plugin`` key.

    None: a system stats config (its format has no ``plugin``); ``custom``: a custom plugin
    monitor; anything else a system log monitor, except that an unknown plugin in a document
    with system stats sections and no rules is a stats config with a stray key (upstream's stats
    loader ignores it).
    """
    if not isinstance(document, JSONObject):
        return MonitorKind.SYSTEM_STATS  # every loader refuses it with the same message
    plugin: Any = None
    names = set()
    for name, value in document:
        folded = go_fold(name)
        names.add(folded)
        if folded == go_fold("plugin") and value is not None:
            plugin = value  # the last non-null duplicate wins, as Go decodes it
    if plugin is None:
        return MonitorKind.SYSTEM_STATS
    if plugin == "custom":
        return MonitorKind.CUSTOM_PLUGIN
    if plugin not in _LOG_PLUGINS and names & _STATS_KEYS and go_fold("rules") not in names:
        return MonitorKind.SYSTEM_STATS
    return MonitorKind.SYSTEM_LOG


_ELEMENT = re.compile(r"(rules|tests)\[(\d+)\](?:$|[.\[])")
#: Top-level keys that other settings depend on: setting them aside would invent problems.
_KEPT_KEYS = {go_fold(key) for key in ("plugin", "pluginConfig", "conditions")}
#: What a set-aside element becomes: valid, silent, and matching nothing it is asked about.
_NEUTRAL: dict[tuple[MonitorKind, str], JSONObject] = {
    (MonitorKind.SYSTEM_LOG, "rules"): JSONObject([("type", "temporary")]),
    (MonitorKind.CUSTOM_PLUGIN, "rules"): JSONObject([("type", "temporary"), ("path", os.sep)]),
    (MonitorKind.SYSTEM_LOG, "tests"): JSONObject([("lines", ["(set aside)"]), ("expect", [])]),
}


def _set_aside(document: Any, path: str, kind: MonitorKind) -> tuple[JSONObject, str] | None:
    """``document`` without what the error at ``path`` is about, and its path; ``None`` when
    that cannot be set aside without changing what the rest of the file means."""
    if not isinstance(document, JSONObject) or kind is MonitorKind.SYSTEM_STATS:
        return None
    element = _ELEMENT.match(path)
    if element is not None:
        array, index = element.group(1), int(element.group(2))
        neutral = _NEUTRAL.get((kind, array))
        if neutral is None:
            return None
        replaced = _replace_element(document, array, index, neutral)
        return None if replaced is None else (replaced, f"{array}[{index}]")
    if not path or "." in path or "[" in path or go_fold(path) in _KEPT_KEYS:
        return None
    kept = JSONObject((name, value) for name, value in document if go_fold(name) != go_fold(path))
    return None if len(kept) == len(document) else (kept, path)


def _replace_element(document: JSONObject, array: str, index: int, neutral: JSONObject) -> JSONObject | None:
    # The array Go decodes is the last one given for the key (a later null empties it).
    effective: int | None = None
    for position, (name, value) in enumerate(document):
        if go_fold(name) == go_fold(array):
            effective = position if isinstance(value, list) and not isinstance(value, JSONObject) else None
    if effective is None:
        return None
    name, elements = document[effective]
    if index >= len(elements):
        return None
    copy = JSONObject(document)
    copy[effective] = (name, [*elements[:index], neutral, *elements[index + 1 :]])
    return copy


def _warning_line(file: str, line: str) -> str:
    """A loader's ``file: path: problem`` warning as ``file: path: warning: problem``."""
    rest = line.removeprefix(f"{file}: ")
    path, separator, problem = rest.partition(": ")
    if rest == line or not separator:
        return one_line(f"{file}: warning: {rest}")
    return one_line(f"{file}: {path}: warning: {problem}")


def _extra_checks(check: FileCheck, warn: Callable[[str], None]) -> None:
    """What the loaders leave to the node, checked here because a checker runs earlier."""
    if isinstance(check.config, PluginMonitorConfig):
        _check_programs(check, check.config, warn)
    elif isinstance(check.config, LogMonitorConfig):
        _check_expectations(check, check.config, warn)


def _check_programs(check: FileCheck, config: PluginMonitorConfig, warn: Callable[[str], None]) -> None:
    # The loader warns about a missing program; one that exists can still not be run.
    for index, rule in enumerate(config.rules):
        if f"rules[{index}]" in check.set_aside:
            continue
        if os.path.isdir(rule.path):
            warn(f"{check.file}: rules[{index}].path: {rule.path} is a directory, not a program")
        elif os.path.exists(rule.path) and not os.access(rule.path, os.X_OK):
            warn(f"{check.file}: rules[{index}].path: {rule.path} is not executable")


def _check_expectations(check: FileCheck, config: LogMonitorConfig, warn: Callable[[str], None]) -> None:
    """Warn about expectations no finding can meet: a reason or condition the config lacks."""
    if any(where.startswith("rules") for where in check.set_aside):
        return  # a set-aside rule's reason is unknown: every expectation would look suspect
    reasons = {rule.reason for rule in config.rules}
    reasons |= {condition.reason for condition in config.conditions}  # a cleared condition's reason
    declared = {condition.type for condition in config.conditions}
    for test in config.tests:
        if test.path in check.set_aside:
            continue
        for number, expectation in enumerate(test.expect):
            where = f"{check.file}: {test.path}.expect[{number}]"
            if expectation.reason not in reasons:
                warn(
                    f"{where}.reason: no rule or condition has reason {expectation.reason!r}; "
                    "the test cannot pass"
                )
            if expectation.condition and expectation.condition not in declared:
                warn(
                    f"{where}.condition: {expectation.condition!r} is not among the declared conditions; "
                    "the test cannot pass"
                )


# -- reporting -----------------------------------------------------------------------------


def report(check: FileCheck, options: Options, out: Callable[[str], None]) -> int:
    """Print the outcome of ``check`` (and run its fixtures with ``--test``); returns its exit code."""
    for line in check.errors:
        out(line)
    for line in check.warnings:
        out(line)
    if check.errors or (options.strict and check.warnings):
        return EXIT_INVALID
    config = check.config
    assert config is not None and check.kind is not None  # no error means it loaded
    summary = [check.kind.value, _size(config)]
    if check.warnings:
        summary.append(_count(len(check.warnings), "warning"))
    outcome = EXIT_OK
    if isinstance(config, LogMonitorConfig) and config.tests:
        if options.test:
            failed = 0
            for test in config.tests:
                failure = run_rule_test(config, test)
                if failure:
                    failed += 1
                    headline, *details = failure
                    out(f"{one_line(check.file)}: {headline}")
                    for line in details:
                        out(line)
            total = len(config.tests)
            if failed:
                outcome = EXIT_TESTS_FAILED
                summary.append(f"{failed} of {_count(total, 'rule test')} failed")
            else:
                summary.append(f"{_count(total, 'rule test')} passed")
        else:
            summary.append(f"{_count(len(config.tests), 'rule test')} not run")
    if not options.quiet:
        verdict = "FAILED" if outcome else "OK"
        out(f"{one_line(check.file)}: {verdict} ({', '.join(summary)})")
    return outcome


def _size(config: MonitorConfig) -> str:
    if isinstance(config, SystemStatsConfig):
        return _count(sum(len(section.metrics) for section in config.sections.values()), "metric")
    return _count(len(config.rules), "rule")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# -- rule tests ----------------------------------------------------------------------------


def run_rule_test(config: LogMonitorConfig, test: RuleTest) -> list[str]:
    """Run one fixture on a fresh replay engine; returns the failure report (empty: it passed).

    The first line is ``tests[2] ("name"): what went wrong``; the others are indented details.
    """
    # Imported here: only --test needs the replay machinery.
    from npd.replay.engine import InputRecord, ReplayEngine  # noqa: PLC0415

    records = [
        InputRecord(FIXTURE_START + line.offset, line.message, first_line=number, last_line=number)
        for number, line in enumerate(test.lines, 1)
    ]
    # A fixture tests the rules, not the source: run it even where the source is unusable here.
    runnable = dataclasses.replace(config, unusable="")
    try:
        engine = ReplayEngine([runnable], input_name=test.path)
        findings = [*engine.feed(records), *engine.finish()]
    except Exception as exc:  # a bug must not hide the other results behind a traceback
        return [one_line(f"{test.label}: could not run: {type(exc).__name__}: {exc}")]
    got = [_describe(finding) for finding in findings]
    problem = _first_difference(test.expect, findings)
    if problem is None:
        return []
    lines = [one_line(f"{test.label}: {problem}")]
    lines += _listing("expected", [expectation.describe() for expectation in test.expect])
    lines += _listing("got", got)
    return lines


def _first_difference(expect: Sequence[Expectation], findings: Sequence[Finding]) -> str | None:
    for index, (expectation, finding) in enumerate(zip(expect, findings, strict=False)):
        if not _matches(expectation, finding):
            described = expectation.describe()
            return f"expect[{index}] ({described}) does not match finding {index} ({finding.reason})"
    if len(expect) != len(findings):
        return f"expected {_count(len(expect), 'finding')}, got {len(findings)}"
    return None


def _matches(expectation: Expectation, finding: Finding) -> bool:
    if finding.reason != expectation.reason:
        return False
    if expectation.condition is not None and finding.condition != expectation.condition:
        return False
    if expectation.status is not None and finding.status != expectation.status:
        return False
    if expectation.type is not None and finding.type != expectation.type:
        return False
    return expectation.message is None or compile_go(expectation.message).search(finding.message) is not None


def _describe(finding: Finding) -> str:
    parts = [f"{finding.type.value} {finding.reason}"]
    if finding.condition:
        parts.append(f"condition {finding.condition}")
    if finding.status is not None:
        parts.append(f"status {finding.status.value}")
    offset = format_go_duration(finding.timestamp.timestamp() - FIXTURE_START)
    lines = (
        f"line {finding.first_line}"
        if finding.first_line == finding.last_line
        else f"lines {finding.first_line}-{finding.last_line}"
    )
    return f"{', '.join(parts)} at +{offset} ({lines}): {go_quote(finding.message)}"


def _listing(title: str, items: Sequence[str]) -> list[str]:
    if not items:
        return [f"  {title}: (nothing)"]
    return [f"  {title}:"] + [one_line(f"    [{index}] {item}") for index, item in enumerate(items)]
