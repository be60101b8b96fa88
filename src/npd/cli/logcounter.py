"""``log-counter`` (and ``npd log-counter``): count a pattern in a window of the journal.

Upstream's ``log-counter`` binary, for custom plugin rules such as upstream's
``kernel-monitor-counter.json``: it reads the journal entries of one ``SYSLOG_IDENTIFIER`` from
``max(boot + --delay, now - --lookback)`` on, counts the entries a ``--pattern`` matches (minus
those ``--revert-pattern`` matches; both Go patterns matched like a monitor rule, up to the end
of the newest entry, over a buffer of the last 1,000 entries), and stops at the first entry newer
than its own start or after 1 s without entries.

Exit status, as upstream: 1 when the count reaches ``--count`` (printing ``Found N matching
logs, which meets the threshold of M``), 0 below it, 2 on an error (bad flags, a pattern that
does not compile, a journal that cannot be read).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from npd.cli.flags import Flag, FlagError, FlagSet, Kind, add_helper_klog_flags
from npd.config.duration import parse_go_duration
from npd.config.logmonitor import LogRule
from npd.goregex import GoRegexError, compile_go
from npd.monitors.matcher import RuleMatcher
from npd.problem import RuleType
from npd.sources.base import LogBatch, RecordBatch, SourceHealth
from npd.sources.starttime import start_time

EXIT_BELOW = 0
EXIT_REACHED = 1
EXIT_ERROR = 2

#: Upstream's ``LogBuffer`` size for the counter.
BUFFER_LINES = 1000
#: Stop after this long without a new entry: the window has been read.
IDLE_S = 1.0

_MATCH = "match"
_REVERT = "revert"


@dataclass(frozen=True, slots=True)
class CounterOptions:
    """The command line, validated."""

    source: str
    log_path: str
    lookback: float
    delay: float
    pattern: str
    revert_pattern: str
    count: int


def _flags(program: str) -> FlagSet:
    flags = FlagSet(program)
    flags.add(Flag("journald-source", Kind.STRING, "", "The source configuration of journald, e.g. kernel."))
    flags.add(
        Flag("log-path", Kind.STRING, "", "The journal directory to read (default: the system journal).")
    )
    flags.add(Flag("lookback", Kind.STRING, "", "How far back to look, a Go duration (e.g. 20m)."))
    flags.add(Flag("delay", Kind.STRING, "", "Ignore entries this long after boot, a Go duration."))
    flags.add(Flag("pattern", Kind.STRING, "", "The pattern to count; it must match to the end of the line."))
    flags.add(Flag("revert-pattern", Kind.STRING, "", "Each match of this pattern subtracts one."))
    flags.add(Flag("count", Kind.INT, 1, "How many matches reach the threshold."))
    add_helper_klog_flags(flags)
    return flags


def _duration(name: str, text: str) -> float:
    if not text:
        return 0.0
    try:
        return parse_go_duration(text)
    except ValueError as exc:
        raise FlagError(f'invalid argument "{text}" for "--{name}" flag: {exc}') from None


def parse_options(program: str, argv: Sequence[str]) -> CounterOptions:
    """Validate the command line; raises FlagError (``FlagError("help")`` for --help)."""
    flags = _flags(program)
    values, positional, _ = flags.parse(argv)
    if positional:
        raise FlagError(f"unexpected argument: {positional[0]}")
    options = CounterOptions(
        source=values["journald_source"],
        log_path=values["log_path"],
        lookback=_duration("lookback", values["lookback"]),
        delay=_duration("delay", values["delay"]),
        pattern=values["pattern"],
        revert_pattern=values["revert_pattern"],
        count=values["count"],
    )
    if not options.source:
        raise FlagError("--journald-source is required (the SYSLOG_IDENTIFIER to read)")
    if not options.pattern:
        raise FlagError("--pattern is required")
    if options.count < 1:
        raise FlagError(f"--count={options.count}: must be at least 1")
    for flag, pattern in (("--pattern", options.pattern), ("--revert-pattern", options.revert_pattern)):
        if pattern:
            try:
                compile_go(pattern)
            except GoRegexError as exc:
                raise FlagError(f"{flag}: invalid regular expression {pattern!r}: {exc}") from None
    return options


def matcher(options: CounterOptions) -> RuleMatcher:
    """The two patterns as monitor rules, so they match exactly as a log monitor's rules do."""
    rules = [LogRule(RuleType.TEMPORARY, _MATCH, options.pattern)]
    if options.revert_pattern:
        rules.append(LogRule(RuleType.TEMPORARY, _REVERT, options.revert_pattern))
    return RuleMatcher(rules, BUFFER_LINES)


async def count_matches(
    batches: AsyncIterator[LogBatch], rules: RuleMatcher, *, until: float, idle: float = IDLE_S
) -> int:
    """Matches minus reverts in ``batches``, up to the first record newer than ``until``.

    Stops, too, after ``idle`` seconds without a batch: the window has been read.
    """
    count = 0
    while True:
        try:
            async with asyncio.timeout(idle):
                batch = await anext(batches)
        except (TimeoutError, StopAsyncIteration):
            return count
        every = list(batch.records())
        records = [record for record in every if record.timestamp <= until]
        for match in rules.feed(RecordBatch(records, batch.position)):
            count += 1 if match.rule.reason == _MATCH else -1
        if len(records) < len(every):
            return count


async def run_counter(options: CounterOptions, *, now: float | None = None) -> tuple[int, str]:
    """Read the window; returns the exit status and the line to print (may be empty)."""
    # Imported here: cysystemd's libsystemd is only loaded when the journal is read.
    from npd.sources.journald import JournaldSource  # noqa: PLC0415

    began = time.time() if now is None else now
    health = SourceHealth(kind="journald", name="log-counter")
    source = JournaldSource(
        identifiers=[options.source],
        log_path=options.log_path,
        start=start_time(options.lookback, options.delay, now=began),
        position=None,
        health=health,
    )
    async with contextlib.aclosing(source.batches()) as batches:
        count = await count_matches(batches, matcher(options), until=began)
    if health.failing:
        return EXIT_ERROR, f"cannot read the journal: {health.detail}"
    if count >= options.count:
        return EXIT_REACHED, f"Found {count} matching logs, which meets the threshold of {options.count}"
    return EXIT_BELOW, ""


def run(program: str, argv: Sequence[str]) -> int:
    """The command: parse, count, print; returns the exit status."""
    try:
        options = parse_options(program, argv)
    except FlagError as exc:
        if str(exc) == "help":
            sys.stderr.write(_flags(program).usage())
            return EXIT_BELOW
        print(f"{program}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    code, line = asyncio.run(run_counter(options))
    if line:
        print(line, file=sys.stdout if code != EXIT_ERROR else sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``log-counter`` console script."""
    sys.exit(run("log-counter", sys.argv[1:] if argv is None else argv))
