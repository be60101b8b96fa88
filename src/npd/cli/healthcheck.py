"""``health-checker`` (and ``npd health-check``): check one node component, and repair it.

Upstream's ``health-checker`` binary, for custom plugin rules such as upstream's
``health-checker-kubelet.json``: same flags, same exit status (0 healthy, 1 unhealthy, 2 error) and
the same first words on stdout. See :mod:`npd.healthcheck` and ``docs/health-check.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from npd.cli.flags import FlagError
from npd.healthcheck.checker import EXIT_ERROR, EXIT_HEALTHY, run_check
from npd.healthcheck.options import flag_set, parse_options


def run(program: str, argv: Sequence[str]) -> int:
    """The command: parse, check, repair, print; returns the exit status."""
    try:
        options, notices = parse_options(program, argv)
    except FlagError as exc:
        if str(exc) == "help":
            sys.stderr.write(flag_set(program).usage())
            return EXIT_HEALTHY
        print(f"{program}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    for notice in notices:
        print(notice, file=sys.stderr)
    try:
        report = run_check(options)
    except Exception as exc:  # a plugin reports Unknown with a line, never a traceback
        print(f"{program}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # stdout even for an error: the plugin monitor makes it the condition's message.
    print(report.line)
    for line in report.stderr:
        print(line, file=sys.stderr)
    return report.code


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``health-checker`` console script."""
    sys.exit(run("health-checker", sys.argv[1:] if argv is None else argv))
