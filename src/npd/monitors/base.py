"""The interface between monitors and the detector."""

from __future__ import annotations

import abc
import logging
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import Any, Protocol

from npd.config.conditions import DefaultCondition
from npd.problem import Condition, ConditionStatus, ProblemDeclaration, RuleType, Status, utc_from_timestamp

log = logging.getLogger(__name__)


class StatusSink(Protocol):
    """Where a monitor sends its reports (the detector)."""

    def publish(self, status: Status) -> int:
        """Hand over one report without blocking; returns its sequence number."""

    def checkpoint(self, monitor: str, after: int, state: dict[str, Any]) -> None:
        """Save ``state`` for ``monitor`` once every report up to sequence ``after`` is exported."""


class Monitor(abc.ABC):
    """A problem daemon: watches one thing and reports problems until cancelled."""

    #: Identifies the monitor in logs and in the state directory (its config file).
    name: str
    #: The problems it can report, published as zeros before any occurs.
    declaration: ProblemDeclaration

    def adopt(self, conditions: Sequence[Condition]) -> None:  # noqa: B027 - optional hook
        """Before :meth:`run`: take up the state of its condition types kept elsewhere (the Node)."""

    @abc.abstractmethod
    async def run(self, sink: StatusSink) -> None:
        """Report the initial status, then problems as they are found, until cancelled."""


class DeclaredRule(Protocol):
    """What a declaration needs of a rule (log monitor and plugin monitor rules alike)."""

    @property
    def type(self) -> RuleType: ...
    @property
    def reason(self) -> str: ...
    @property
    def condition(self) -> str: ...


class RulesConfig(Protocol):
    """What a declaration needs of a rule-based monitor's config (log and plugin monitors alike)."""

    @property
    def source(self) -> str: ...
    @property
    def metrics_reporting(self) -> bool: ...
    @property
    def conditions(self) -> Sequence[DefaultCondition]: ...
    @property
    def rules(self) -> Sequence[DeclaredRule]: ...


def rules_declaration(config: RulesConfig) -> ProblemDeclaration:
    """The problems a rule-based monitor's config can report, for exporters to publish as zeros up front.

    As upstream: a counter for every rule's reason and a gauge for every permanent rule, unless
    the config turns ``metricsReporting`` off; the condition types are always declared.
    """
    types = tuple(dict.fromkeys(condition.type for condition in config.conditions))
    if not config.metrics_reporting:
        return ProblemDeclaration(source=config.source, reasons=(), gauges=(), condition_types=types)
    permanent = [rule for rule in config.rules if rule.type is RuleType.PERMANENT]
    return ProblemDeclaration(
        source=config.source,
        reasons=tuple(dict.fromkeys(rule.reason for rule in config.rules)),
        gauges=tuple(dict.fromkeys((rule.condition, rule.reason) for rule in permanent)),
        condition_types=types,
    )


def saved_condition(condition: Condition) -> dict[str, Any]:
    """A condition as the state directory keeps it."""
    return {
        "type": condition.type,
        "status": condition.status.value,
        "transition": condition.transition.timestamp(),
        "reason": condition.reason,
        "message": condition.message,
    }


def condition_from_saved(item: dict[str, Any]) -> Condition:
    """The condition :func:`saved_condition` wrote; raises ValueError for an unreadable one."""
    try:
        return Condition(
            type=str(item["type"]),
            status=ConditionStatus(item["status"]),
            transition=utc_from_timestamp(float(item["transition"])),
            reason=str(item["reason"]),
            message=str(item["message"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unreadable saved condition {item!r}: {exc}") from None


def restorable_conditions(
    saved: Iterable[dict[str, Any]], types: Container[str], owner: str
) -> Iterator[tuple[Condition, dict[str, Any]]]:
    """The saved conditions a monitor takes up at start, each with the item it was read from.

    Only readable conditions of ``types`` that are True or False: Unknown says a source could
    not be read or a check not run, which the monitor re-derives rather than trusts. An
    unreadable item is logged (naming ``owner``) and skipped.
    """
    for item in saved:
        try:
            condition = condition_from_saved(item)
        except ValueError:
            log.warning("%s: ignoring an unreadable saved condition: %r", owner, item)
            continue
        if condition.type in types and condition.status is not ConditionStatus.UNKNOWN:
            yield condition, item
