"""Rule tests embedded in a log monitor config: npd's ``tests`` extension (docs/check-config.md).

A fixture feeds a few log lines to the monitor's rules and lists the exact findings they must
produce, so an operator can test rules before rollout (``npd check-config --test``). Upstream
ignores the key. Fixtures are validated when the config loads, like every other field, so a
broken fixture is reported as ``file: tests[1].expect[0].reason: problem``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from npd.config.duration import format_go_duration
from npd.config.errors import ConfigError
from npd.config.jsonfields import Fields, JSONObject, json_type_name
from npd.goregex import GoRegexError, compile_go
from npd.problem import ConditionStatus, RuleType

#: When every fixture's first line is logged (2024-01-01T00:00:00Z): fixed, so runs are reproducible.
FIXTURE_START = 1_704_067_200.0
#: The gap before a line given as a plain string: the previous line's time plus one second.
LINE_STEP = 1.0

_STATUSES = {
    ConditionStatus.TRUE.value: ConditionStatus.TRUE,
    ConditionStatus.FALSE.value: ConditionStatus.FALSE,
}
_TYPES = {item.value: item for item in RuleType}


@dataclass(frozen=True, slots=True)
class FixtureLine:
    """One log line of a fixture, ``offset`` seconds after :data:`FIXTURE_START`."""

    offset: float
    message: str


@dataclass(frozen=True, slots=True)
class Expectation:
    """One finding a fixture expects; a field left ``None`` is not compared.

    ``message`` is a Go regular expression that must match somewhere in the finding's message
    (so plain text is a substring test, once its metacharacters are escaped).
    """

    reason: str
    condition: str | None = None
    status: ConditionStatus | None = None
    type: RuleType | None = None
    message: str | None = None

    def describe(self) -> str:
        """The expectation as the operator wrote it, for failure reports."""
        parts = [f"reason {self.reason}"]
        if self.type is not None:
            parts.append(f"type {self.type.value}")
        if self.condition is not None:
            parts.append(f"condition {self.condition}")
        if self.status is not None:
            parts.append(f"status {self.status.value}")
        if self.message is not None:
            parts.append(f"message ~ {self.message!r}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class RuleTest:
    """A fixture: lines in, the exact ordered list of findings out.

    ``path`` is where it is in the config (``tests[2]``), for reports.
    """

    name: str
    path: str
    lines: tuple[FixtureLine, ...]
    expect: tuple[Expectation, ...]

    @property
    def label(self) -> str:
        """``tests[2] ("docker hung")``: how reports name the fixture."""
        return f'{self.path} ("{self.name}")' if self.name else self.path


def load_rule_tests(top: Fields, warn: Callable[[str], None]) -> tuple[RuleTest, ...]:
    """The ``tests`` array of a log monitor config."""
    return tuple(load_rule_test(item, top.file, path, warn) for path, item in top.array("tests"))


def load_rule_test(item: Any, file: str, path: str, warn: Callable[[str], None]) -> RuleTest:
    """One fixture, at ``path`` (``tests[2]``) of ``file``."""
    if item is None:
        # A null array element is an empty struct to Go; an empty fixture tests nothing.
        raise ConfigError(file, path, "expected a test fixture object, got null")
    fields = Fields(item, file, path, warn)
    name = fields.string("name")
    if not fields.has("lines"):
        raise fields.error("lines", "required: the log lines to feed the rules")
    lines = _load_lines(fields, warn)
    if not lines:
        raise fields.error("lines", "needs at least one log line")
    if not fields.has("expect"):
        # Required even when empty, so that a misspelt key cannot turn into "expect nothing".
        raise fields.error("expect", "required: the findings the lines must produce ([] for none)")
    expect = tuple(
        _load_expectation(Fields(value, file, where, warn)) for where, value in fields.array("expect")
    )
    fields.done()
    return RuleTest(name=name, path=path, lines=tuple(lines), expect=expect)


def _load_lines(fields: Fields, warn: Callable[[str], None]) -> list[FixtureLine]:
    lines: list[FixtureLine] = []
    previous: float | None = None
    for path, item in fields.array("lines"):
        if isinstance(item, str):
            offset = 0.0 if previous is None else previous + LINE_STEP
            lines.append(FixtureLine(offset, item))
        elif isinstance(item, JSONObject):
            line = Fields(item, fields.file, path, warn)
            if not line.has("at"):
                raise line.error("at", 'required: the line\'s time after the start, as a Go duration ("90s")')
            offset = line.duration("at", "0")
            if offset < 0:
                raise line.error("at", "must not be negative")
            if previous is not None and offset < previous:
                raise line.error(
                    "at",
                    f"{format_go_duration(offset)} is before the previous line "
                    f"({format_go_duration(previous)}); lines must be in time order",
                )
            if not line.has("message"):
                raise line.error("message", "required: the text of the log line")
            lines.append(FixtureLine(offset, line.string("message")))
            line.done()
        else:
            raise ConfigError(
                fields.file,
                path,
                f'expected a string or an {{"at", "message"}} object, got {json_type_name(item)}',
            )
        previous = lines[-1].offset
    return lines


def _load_expectation(fields: Fields) -> Expectation:
    reason = fields.string("reason")
    if not reason:
        raise fields.error("reason", "required: the reason of the expected finding")
    condition = fields.string("condition") if fields.has("condition") else None
    status: ConditionStatus | None = None
    if fields.has("status"):
        status_name = fields.string("status")
        status = _STATUSES.get(status_name)
        if status is None:
            raise fields.error("status", f'must be "True" or "False", got "{status_name}"')
    rule_type: RuleType | None = None
    if fields.has("type"):
        type_name = fields.string("type")
        rule_type = _TYPES.get(type_name)
        if rule_type is None:
            raise fields.error("type", f'must be "temporary" or "permanent", got "{type_name}"')
    if rule_type is RuleType.TEMPORARY and status is not None:
        raise fields.error("status", "a temporary finding is an event and has no condition status")
    message: str | None = None
    if fields.has("message"):
        message = fields.string("message")
        try:
            compile_go(message)
        except GoRegexError as exc:
            raise fields.error("message", str(exc)) from None
    fields.done()
    return Expectation(reason=reason, condition=condition, status=status, type=rule_type, message=message)
