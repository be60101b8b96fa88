"""Command-line flags parsed the way Go's pflag parses them.

Upstream's daemon uses spf13/pflag (plus klog's flags from the Go flag set). Existing
DaemonSets pass ``--flag=value``, ``--flag value``, bare booleans (``--logtostderr``) and
comma-separated lists, and expect ``--flag=false`` to work; argparse handles booleans and
lists differently, so this module implements pflag's rules.
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from npd.config.duration import format_go_duration, parse_go_duration
from npd.gostrconv import parse_bool, parse_int


class Kind(enum.Enum):
    """A flag's value type."""

    BOOL = "bool"
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    DURATION = "duration"
    STRINGS = "strings"


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag's declaration."""

    name: str
    kind: Kind
    default: Any
    help: str
    dest: str = ""
    hidden: bool = False
    deprecated: str = ""
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The attribute name the parsed value is stored under."""
        return self.dest or self.name.replace("-", "_").replace(".", "_")


class FlagError(Exception):
    """A command line pflag would refuse; the message is pflag's."""


def _convert(flag: Flag, text: str) -> Any:
    if flag.kind is Kind.BOOL:
        return parse_bool(text)
    if flag.kind is Kind.INT:
        return parse_int(text)
    if flag.kind is Kind.FLOAT:
        return float(text)
    if flag.kind is Kind.DURATION:
        return parse_go_duration(text)
    if flag.kind is Kind.STRINGS:
        if not text:
            return []
        return next(csv.reader([text]))
    if flag.choices and text not in flag.choices:
        raise ValueError(f"must be one of {', '.join(flag.choices)}")
    return text


class FlagSet:
    """A set of flags and pflag's parsing rules."""

    def __init__(self, program: str) -> None:
        self.program = program
        self._flags: dict[str, Flag] = {}
        self._short: dict[str, Flag] = {}

    def add(self, flag: Flag, *, shorthand: str = "") -> None:
        """Declare a flag; ``shorthand`` is a one-letter alias (``-v``)."""
        self._flags[flag.name] = flag
        if shorthand:
            self._short[shorthand] = flag

    def parse(self, argv: Sequence[str]) -> tuple[dict[str, Any], list[str], list[str]]:
        """Parse ``argv``: returns (values by key, positional arguments, names of flags that were set).

        Raises :class:`FlagError` for an unknown flag, a missing or invalid value, and
        ``FlagError("help")`` when ``-h``/``--help`` is given.
        """
        values = {
            flag.key: list(flag.default) if flag.kind is Kind.STRINGS else flag.default
            for flag in self._flags.values()
        }
        positional: list[str] = []
        seen: list[str] = []
        args = list(argv)
        index = 0
        while index < len(args):
            arg = args[index]
            index += 1
            if arg == "--":
                positional.extend(args[index:])
                break
            if not arg.startswith("-") or arg == "-":
                positional.append(arg)
                continue
            if arg in ("-h", "--help", "-help"):
                raise FlagError("help")
            flag, has_value, value = self._lookup(arg)
            if not has_value:
                if flag.kind is Kind.BOOL:
                    value = "true"
                elif index < len(args):
                    value = args[index]
                    index += 1
                else:
                    raise FlagError(f"flag needs an argument: --{flag.name}")
            try:
                converted = _convert(flag, value)
            except ValueError as exc:
                raise FlagError(f'invalid argument "{value}" for "--{flag.name}" flag: {exc}') from None
            if flag.kind is Kind.STRINGS and flag.name in seen:
                values[flag.key] = values[flag.key] + converted
            else:
                values[flag.key] = converted
            seen.append(flag.name)
        return values, positional, seen

    def _lookup(self, arg: str) -> tuple[Flag, bool, str]:
        """The flag an argument names, and the value it carries (``--name=value``, ``-v2``)."""
        if arg.startswith("--"):
            name, has_value, value = arg[2:].partition("=")
            flag = self._flags.get(name)
            if flag is None:
                raise FlagError(f"unknown flag: --{name}")
            return flag, bool(has_value), value
        body = arg[1:]
        name, has_value, value = body.partition("=")
        if len(name) > 1 and name in self._flags:
            return self._flags[name], bool(has_value), value  # npd also takes Go-style -flag
        short = self._short.get(body[0])
        if short is None:
            raise FlagError(f"unknown shorthand flag: {body[0]!r} in {arg}")
        rest = body[1:]
        if rest:
            return short, True, rest.removeprefix("=")
        return short, False, ""

    def deprecations(self, seen: Sequence[str]) -> list[str]:
        """pflag's deprecation notices for the flags that were used."""
        return [
            f"Flag --{name} has been deprecated, {self._flags[name].deprecated}"
            for name in dict.fromkeys(seen)
            if self._flags[name].deprecated
        ]

    def usage(self) -> str:
        """The help text, one flag per line, in pflag's style."""
        lines = [f"Usage of {self.program}:"]
        for flag in self._flags.values():
            if flag.hidden or flag.deprecated:
                continue
            shorthand = next((f"-{short}, " for short, f in self._short.items() if f is flag), "")
            value_name = "" if flag.kind is Kind.BOOL else f" {flag.kind.value}"
            default = _describe_default(flag)
            lines.append(f"  {shorthand}--{flag.name}{value_name}")
            lines.append(f"        {flag.help}{default}")
        return "\n".join(lines) + "\n"


def _describe_default(flag: Flag) -> str:
    value = flag.default
    if flag.kind is Kind.BOOL:
        return " (default true)" if value else ""
    if flag.kind is Kind.DURATION:
        return f" (default {format_go_duration(value)})"
    if flag.kind is Kind.STRINGS:
        return f" (default [{','.join(value)}])" if value else ""
    if value in ("", 0, None):
        return ""
    return f' (default "{value}")' if flag.kind is Kind.STRING else f" (default {value})"


def add_helper_klog_flags(flags: FlagSet) -> None:
    """The klog flags upstream's helper binaries (log-counter, health-checker) take, accepted and
    ignored so their configs' command lines keep working."""
    flags.add(Flag("v", Kind.INT, 0, "log level verbosity", hidden=True), shorthand="v")
    flags.add(Flag("logtostderr", Kind.BOOL, True, "klog flag (accepted)", hidden=True))
    flags.add(Flag("alsologtostderr", Kind.BOOL, False, "klog flag (accepted)", hidden=True))
