"""The system log monitor: log records in, problems out, with upstream's semantics.

A temporary rule that fires becomes a Warning event. A permanent rule sets its condition True
with the rule's reason; when that changes the condition (it was False, or True for another
reason) the transition time and message are updated and a condition-change event is emitted.
Upstream never sets a log condition back to False; neither does this monitor (conditions that
clear are an opt-in extension of a later release).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from npd.config.logmonitor import LogMonitorConfig
from npd.monitors.base import Monitor, StatusSink
from npd.monitors.matcher import Match, RuleMatcher
from npd.problem import (
    Condition,
    ConditionStatus,
    Event,
    ProblemDeclaration,
    RuleType,
    Severity,
    Status,
    condition_change_event,
    utc_from_timestamp,
)
from npd.sources.base import LogSource

log = logging.getLogger(__name__)


class SystemLogMonitor(Monitor):
    """Runs one system log monitor config over its source."""

    def __init__(
        self,
        config: LogMonitorConfig,
        source: LogSource,
        *,
        name: str,
        saved_conditions: list[dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._config = config
        self._source = source
        self._matcher = RuleMatcher(config.rules, config.buffer_size)
        self._conditions = _initial_conditions(config, saved_conditions or [], clock())
        self._last_seq = -1
        self.declaration = ProblemDeclaration(
            source=config.source,
            reasons=tuple(dict.fromkeys(rule.reason for rule in config.rules))
            if config.metrics_reporting
            else (),
            gauges=tuple(
                dict.fromkeys(
                    (rule.condition, rule.reason) for rule in config.rules if rule.type is RuleType.PERMANENT
                )
            )
            if config.metrics_reporting
            else (),
        )

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The current state of the conditions this monitor owns."""
        return tuple(self._conditions.values())

    async def run(self, sink: StatusSink) -> None:
        self._last_seq = sink.publish(self._status(()))
        async for batch in self._source.batches():
            for match in self._matcher.feed(batch):
                status = self.apply(match)
                if status is not None:
                    self._last_seq = sink.publish(status)
            sink.checkpoint(self.name, self._last_seq, self.snapshot(batch.position))

    def snapshot(self, position: dict[str, Any] | None) -> dict[str, Any]:
        """The state saved with a source position, so a restart resumes consistently."""
        return {
            "position": position,
            "conditions": [
                {
                    "type": c.type,
                    "status": c.status.value,
                    "transition": c.transition.timestamp(),
                    "reason": c.reason,
                    "message": c.message,
                }
                for c in self._conditions.values()
            ],
        }

    def apply(self, match: Match) -> Status | None:
        """Turn a rule match into a report; ``None`` when it changes nothing (a permanent
        problem already reported with the same reason)."""
        rule = match.rule
        first = match.records[0]
        message = "\n".join(record.message for record in match.records)
        if rule.message_suffix:
            message = f"{message}; {rule.message_suffix}"
        timestamp = utc_from_timestamp(first.timestamp)
        if rule.type is RuleType.TEMPORARY:
            return self._status((Event(Severity.WARN, timestamp, rule.reason, message),))
        current = self._conditions.get(rule.condition)
        if current is None:
            return None  # upstream silently ignores a permanent rule without a declared condition
        if current.status is ConditionStatus.TRUE and current.reason == rule.reason:
            return None
        self._conditions[rule.condition] = Condition(
            type=current.type,
            status=ConditionStatus.TRUE,
            transition=timestamp,
            reason=rule.reason,
            message=message,
        )
        event = condition_change_event(current.type, ConditionStatus.TRUE, rule.reason, message, timestamp)
        return self._status((event,))

    def _status(self, events: tuple[Event, ...]) -> Status:
        return Status(
            source=self._config.source,
            events=events,
            conditions=self.conditions,
            report_metrics=self._config.metrics_reporting,
        )


def _initial_conditions(
    config: LogMonitorConfig, saved: list[dict[str, Any]], now: float
) -> dict[str, Condition]:
    """Default conditions (False, transition now), overlaid with the saved state of the same types."""
    conditions = {
        default.type: Condition(
            type=default.type,
            status=ConditionStatus.FALSE,
            transition=utc_from_timestamp(now),
            reason=default.reason,
            message=default.message,
        )
        for default in config.conditions
    }
    for item in saved:
        try:
            restored = Condition(
                type=str(item["type"]),
                status=ConditionStatus(item["status"]),
                transition=utc_from_timestamp(float(item["transition"])),
                reason=str(item["reason"]),
                message=str(item["message"]),
            )
        except (KeyError, TypeError, ValueError):
            log.warning("%s: ignoring an unreadable saved condition: %r", config.file, item)
            continue
        if restored.type in conditions:
            conditions[restored.type] = restored
    return conditions
