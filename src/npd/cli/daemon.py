"""Shared by both commands: parse the daemon's flags, build it, run it, map failures to exit codes."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

import npd
from npd.cli.flags import FlagError
from npd.cli.logs import setup_logging
from npd.config.errors import ConfigError, one_line
from npd.daemon.build import StartupError, build_daemon
from npd.daemon.options import build_options, daemon_flags
from npd.daemon.run import serve

log = logging.getLogger("npd")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def run_daemon_command(program: str, argv: Sequence[str], *, tool: bool) -> int:
    """Run the daemon with a command line; returns the exit code (2 for bad flags or configs)."""
    flags = daemon_flags(program, tool=tool)
    try:
        values, _, seen = flags.parse(argv)
        if values["version"]:
            print(f"npd v{npd.__version__}")
            return EXIT_OK
        options = build_options(values, tool=tool, seen=seen)
    except FlagError as exc:
        if str(exc) == "help":
            sys.stderr.write(flags.usage())
            return EXIT_OK
        print(f"{program}: {exc}\nRun '{program} --help' for usage.", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(options.verbosity)
    for notice in flags.deprecations(seen):
        log.warning("%s", notice)
    # Config warnings are printed only for configs that load: a rejected config gets its one
    # line of error and nothing else.
    warnings: list[str] = []
    try:
        daemon = build_daemon(options, warnings.append)
    except ConfigError as exc:
        print(f"{program}: {exc.line()}", file=sys.stderr)
        return EXIT_USAGE
    except StartupError as exc:
        print(f"{program}: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    for warning in warnings:
        log.warning("%s", one_line(warning))
    return asyncio.run(serve(daemon))
