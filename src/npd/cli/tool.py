"""``npd``: the operator's tool. ``npd run`` is the daemon with npd's defaults."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import npd
from npd.cli.daemon import EXIT_OK, EXIT_USAGE, run_daemon_command

_USAGE = """\
usage: npd <command> [flags]

commands:
  run        run the detector; with no --config.* flag it uses npd's bundled monitors, and
             without a cluster it runs standalone, printing problems on stdout
             (npd run --help lists the flags: node-problem-detector's, plus --log-format and --state-dir)
  replay     run monitor configs over recorded logs (syslog, journalctl -o json/export, kmsg dumps)
             and report what they find (npd replay --help)
  check-config
             validate monitor configs and run the rule tests they embed (npd check-config --help)
  log-counter
             count a pattern in a window of the journal; upstream's log-counter, for custom
             plugin rules (npd log-counter --help)
  health-check
             check kubelet, kube-proxy, the CRI runtime or docker, and restart it when unhealthy;
             upstream's health-checker, for custom plugin rules (npd health-check --help)
  version    print npd's version
"""


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``npd`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(_USAGE)
        sys.exit(EXIT_OK if args else EXIT_USAGE)
    command, rest = args[0], args[1:]
    if command in ("version", "--version"):
        print(f"npd v{npd.__version__}")
        sys.exit(EXIT_OK)
    if command == "run":
        sys.exit(run_daemon_command("npd run", rest, tool=True))
    if command == "replay":
        from npd.cli.replay import main as replay  # noqa: PLC0415

        sys.exit(replay(rest))
    if command == "log-counter":
        from npd.cli.logcounter import run as log_counter  # noqa: PLC0415

        sys.exit(log_counter("npd log-counter", rest))
    if command == "health-check":
        from npd.cli.healthcheck import run as health_check  # noqa: PLC0415

        sys.exit(health_check("npd health-check", rest))
    if command == "check-config":
        from npd.cli.checkconfig import main as check_config  # noqa: PLC0415

        sys.exit(check_config(rest))
    sys.stderr.write(f"npd: unknown command {command!r}\n{_USAGE}")
    sys.exit(EXIT_USAGE)
