"""``npd replay``: run monitor configs over recorded logs and report what they find.

Exit codes: 0 when nothing was found, 1 when something was, 2 on an error (bad flags, a bad
config, an input that cannot be read); every error is one line on stderr. See docs/replay.md.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from npd.cli.flags import Flag, FlagError, FlagSet, Kind
from npd.config.errors import ConfigError, one_line
from npd.config.loader import load_log_monitor_file
from npd.config.logmonitor import LogMonitorConfig
from npd.daemon.build import bundled_configs
from npd.replay.formats import Format
from npd.replay.inputs import Input, InputError, open_input
from npd.replay.output import FindingWriter, JsonLinesWriter, Summary, TableWriter
from npd.replay.progress import Progress
from npd.replay.session import replay_input

PROGRAM = "npd replay"
EXIT_NO_FINDINGS = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
_AUTO = "auto"

_USAGE_HEAD = f"""\
usage: {PROGRAM} [flags] [FILE...]

Runs monitor configs over recorded logs (files, or - for standard input; .gz is read too)
and reports what they find, with the input lines behind each finding. Time comes from the
logs. Exit status: 0 nothing found, 1 findings, 2 error.

"""


class _UsageError(Exception):
    """A problem with how the command was called or configured; one line."""


def _flags() -> FlagSet:
    flags = FlagSet(PROGRAM)
    flags.add(
        Flag(
            "config",
            Kind.STRINGS,
            [],
            "system log monitor config to run (repeatable, or comma-separated); default: npd's bundled ones",
        ),
        shorthand="c",
    )
    flags.add(
        Flag(
            "format",
            Kind.STRING,
            _AUTO,
            "input format: auto, " + ", ".join(fmt.value for fmt in Format),
            choices=(_AUTO, *(fmt.value for fmt in Format)),
        ),
        shorthand="f",
    )
    flags.add(
        Flag(
            "output", Kind.STRING, "table", "table, or json (one object per line)", choices=("table", "json")
        ),
        shorthand="o",
    )
    flags.add(
        Flag(
            "boot-time",
            Kind.STRING,
            "",
            "when the machine booted, for kmsg and dmesg times (seconds since boot): RFC 3339 or "
            "seconds since the epoch; default: the epoch, so times read as time since boot",
        )
    )
    flags.add(Flag("progress", Kind.BOOL, False, "show progress on stderr even when it is not a terminal"))
    flags.add(Flag("no-progress", Kind.BOOL, False, "never show progress"))
    return flags


def _boot_time(text: str) -> float:
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise _UsageError(
            f"--boot-time: {text!r} is neither RFC 3339 (2024-03-01T10:00:00Z) nor seconds since the epoch"
        ) from None
    if moment.tzinfo is None:
        raise _UsageError(f"--boot-time: {text!r} has no time zone (add Z or an offset such as +01:00)")
    return moment.timestamp()


def _load_configs(paths: Sequence[str], stderr: TextIO) -> list[LogMonitorConfig]:
    warnings: list[str] = []
    configs = [load_log_monitor_file(path, warnings.append) for path in paths or bundled_configs()]
    for warning in warnings:
        stderr.write(f"{PROGRAM}: warning: {one_line(warning)}\n")
    usable = []
    for config in configs:
        if config.unusable:
            stderr.write(f"{PROGRAM}: warning: {one_line(f'{config.file}: cannot run: {config.unusable}')}\n")
        else:
            usable.append(config)
    if not usable:
        raise _UsageError("no monitor config can run (see the warnings above)")
    return usable


def _open_all(paths: Sequence[str]) -> list[Input]:
    if paths.count("-") > 1:
        raise _UsageError("standard input (-) can be read only once")
    if "-" in paths and sys.stdin.isatty():
        raise _UsageError("standard input is a terminal; give log files, or pipe a log in")
    inputs: list[Input] = []
    try:
        for path in paths:
            inputs.append(open_input(path))
    except InputError:
        for item in inputs:
            item.close()
        raise
    return inputs


def main(argv: Sequence[str]) -> int:
    """Entry point of ``npd replay``; returns the exit code."""
    stdout, stderr = sys.stdout, sys.stderr
    flags = _flags()
    try:
        values, paths, _ = flags.parse(argv)
    except FlagError as exc:
        if str(exc) == "help":
            stdout.write(_USAGE_HEAD + flags.usage().split("\n", 1)[1])
            return EXIT_NO_FINDINGS
        stderr.write(f"{PROGRAM}: {one_line(str(exc))} (see {PROGRAM} --help)\n")
        return EXIT_ERROR
    try:
        boot_time = _boot_time(values["boot_time"])
        configs = _load_configs(values["config"], stderr)
        inputs = _open_all(paths or ["-"])
    except ConfigError as exc:
        stderr.write(f"{PROGRAM}: {exc.line()}\n")
        return EXIT_ERROR
    except (_UsageError, InputError) as exc:
        stderr.write(f"{PROGRAM}: {one_line(str(exc))}\n")
        return EXIT_ERROR

    json_output = values["output"] == "json"
    writer: FindingWriter
    if json_output:
        writer = JsonLinesWriter(stdout)
    else:
        width = shutil.get_terminal_size().columns if stdout.isatty() else None
        writer = TableWriter(stdout, configs, [item.name for item in inputs], width)
    interactive = stderr.isatty()
    progress = Progress(
        stderr,
        enabled=not values["no_progress"] and (interactive or values["progress"]),
        interactive=interactive,
    )
    fmt = None if values["format"] == _AUTO else Format(values["format"])
    summary = Summary()
    try:
        for item in inputs:
            replay_input(
                item, configs, fmt, boot_time=boot_time, writer=writer, summary=summary, progress=progress
            )
            item.close()
        progress.close()
        if json_output:
            stdout.flush()
            stderr.write(summary.render())
        else:
            stdout.write(("\n" if summary.total else "") + summary.render())
            stdout.flush()
    except InputError as exc:
        # What was found before is out; the error is the last word, and the only one on stderr.
        progress.close()
        stdout.flush()
        stderr.write(f"{PROGRAM}: {one_line(str(exc))}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        progress.close()
        stderr.write(f"{PROGRAM}: interrupted\n")
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and keep the exit-time flush quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return EXIT_FINDINGS if summary.total else EXIT_NO_FINDINGS
    finally:
        for item in inputs:
            item.close()
    return EXIT_FINDINGS if summary.total else EXIT_NO_FINDINGS
