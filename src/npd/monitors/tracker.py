"""The state of one log monitor's problems, as a function of rule matches and time.

Upstream's semantics, exactly, for upstream configs: a temporary rule that fires is an event; a
permanent rule sets its condition True with its reason (a change event when that changes
anything) and nothing ever sets it back. npd's lifecycle extensions (docs/lifecycle.md) add:

* ``count``/``window``: a rule fires on its count-th match within the window;
* ``resolve``: a condition clears on a resolving line or after a quiet period;
* ``flapDamping``: a condition that keeps flipping holds True until it is stable;
* an unreadable source turns every condition Unknown, and its recovery restores them.

Time is always given, never read: match times are the log records' timestamps, and
:meth:`ProblemTracker.tick` is called with the current time by the daemon (the wall clock) or by
``npd replay`` (the log's own time). So the same code runs live, over recorded logs and in tests
with an injected clock.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from npd.config.conditions import DefaultCondition
from npd.config.logmonitor import LogMonitorConfig, LogRule
from npd.monitors.base import restorable_conditions, saved_condition
from npd.monitors.matcher import Match
from npd.problem import (
    Condition,
    ConditionStatus,
    Event,
    RuleType,
    Severity,
    condition_change_event,
    utc_from_timestamp,
)

log = logging.getLogger(__name__)

#: The reason of a condition whose source cannot be read.
UNREADABLE_REASON = "SourceUnreadable"


@dataclass(frozen=True, slots=True)
class Report:
    """Something the tracker reports: an event, with the rule and condition change behind it.

    ``rule`` is ``None`` for changes made by time or by the source's health; ``condition`` is
    the condition's new state when the report is a condition change.
    """

    event: Event
    rule: LogRule | None = None
    condition: Condition | None = None


@dataclass
class _ConditionState:
    default: DefaultCondition
    current: Condition
    #: The rule whose reason the condition carries while True (``None`` when restored without one).
    holder: LogRule | None = None
    #: Time of the holder's latest match: ``resolve.after`` counts from here.
    last_seen: float = 0.0
    #: Times of the latest status changes, for flap damping.
    changes: deque[float] = field(default_factory=deque)
    #: Flap damping deferred a clear: it happens once no raise has come for the damping window.
    clear_held: bool = False


class ProblemTracker:
    """Turns one log monitor config's rule matches, and the passing of time, into reports."""

    def __init__(self, config: LogMonitorConfig, saved: list[dict[str, Any]] | None, now: float) -> None:
        self._config = config
        self._states = _initial_states(config, now)
        #: Types whose state came from the state directory rather than the defaults.
        self._restored = _restore(config, self._states, saved or [], now)
        self._counts: dict[int, deque[float]] = {}
        # Every match ticks first; most configs have nothing that time alone clears.
        self._timed = config.clears_with_time
        # The source's trouble: since when it is unreadable, and why; and since when that is
        # reported (the conditions are Unknown).
        self._failing_since: float | None = None
        self._failing_detail = ""
        self._unknown_since: float | None = None

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The conditions as reported: Unknown while the source is unreadable, else their state."""
        if self._unknown_since is not None:
            return tuple(self._unknown_condition(state) for state in self._states.values())
        return tuple(state.current for state in self._states.values())

    def adopt(self, conditions: Sequence[Condition], now: float) -> None:
        """Take up conditions kept elsewhere (the Node) for types the state directory did not restore.

        A restart without saved state must not report a node healthy that was reported broken:
        a True condition stays True (its rule's ``resolve`` still clears it) until the monitor
        sees otherwise. Unknown is never adopted; it is re-derived from the source.
        """
        items = [
            saved_condition(condition) for condition in conditions if condition.type not in self._restored
        ]
        self._restored |= _restore(self._config, self._states, items, now)

    def snapshot(self) -> list[dict[str, Any]]:
        """The underlying condition states, for the state directory."""
        return [
            saved_condition(state.current) | {"last_seen": state.last_seen} for state in self._states.values()
        ]

    # -- rule matches ------------------------------------------------------------------------

    def match(self, match: Match) -> list[Report]:
        """Apply one rule match; its time is its newest record's timestamp."""
        rule = match.rule
        now = match.records[-1].timestamp
        reports = self.tick(now)
        if rule.clears:
            reports += self._resolve(rule, now)
            return reports
        if rule.count > 1 and not self._counted(rule, now):
            self._seen_again(rule, now)
            return reports
        message = match_message(match)
        timestamp = utc_from_timestamp(match.records[0].timestamp)
        if rule.type is RuleType.TEMPORARY:
            reports.append(Report(Event(Severity.WARN, timestamp, rule.reason, message), rule))
            return reports
        state = self._states.get(rule.condition)
        if state is None:
            return reports  # upstream silently ignores a permanent rule without a declared condition
        state.clear_held = False
        current = state.current
        if current.status is ConditionStatus.TRUE and current.reason == rule.reason:
            state.holder = rule
            state.last_seen = now
            return reports
        if current.status is not ConditionStatus.TRUE:
            self._changed(state, now)
        state.current = Condition(current.type, ConditionStatus.TRUE, timestamp, rule.reason, message)
        state.holder = rule
        state.last_seen = now
        reports.append(self._report(state, rule))
        return reports

    def holds(self, rule: LogRule) -> bool:
        """Whether ``rule``'s condition is True with its reason (whatever the source's health)."""
        state = self._states.get(rule.condition)
        return (
            state is not None
            and state.current.status is ConditionStatus.TRUE
            and state.current.reason == rule.reason
        )

    def _counted(self, rule: LogRule, now: float) -> bool:
        """Record a match of a counting rule; true when it is the count-th within the window."""
        times = self._counts.setdefault(id(rule), deque())
        times.append(now)
        while times and times[0] <= now - rule.window:
            times.popleft()
        if len(times) < rule.count:
            return False
        times.clear()  # the next firing needs a fresh count
        return True

    def _seen_again(self, rule: LogRule, now: float) -> None:
        """A counting rule matched short of its count: while its problem stands, that still
        restarts the quiet period (the problem is not over while its lines keep coming)."""
        if rule.type is RuleType.PERMANENT and self.holds(rule):
            self._states[rule.condition].last_seen = now

    def _resolve(self, resolver: LogRule, now: float) -> list[Report]:
        state = self._states.get(resolver.condition)
        if state is None or state.current.status is not ConditionStatus.TRUE:
            return []
        if state.current.reason != resolver.reason:
            return []  # raised by another rule: this line does not speak for it
        return self._clear(state, now, resolver)

    # -- time ------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Report]:
        """Apply every change due by ``now``: quiet periods over, holds ended, a source unreadable."""
        reports: list[Report] = []
        if self._timed:
            for state in self._states.values():
                due = self._clear_due(state)
                if due is not None and due <= now:
                    reports += self._clear(state, due, None)
        at = self._unknown_due()
        if at is not None and at <= now:
            self._unknown_since = at
            reports += [self._report(state, None) for state in self._states.values()]
        return reports

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has something to do, if ever (without new matches)."""
        deadlines = [self._clear_due(state) for state in self._states.values()] if self._timed else []
        deadlines.append(self._unknown_due())
        return min((due for due in deadlines if due is not None), default=None)

    def _unknown_due(self) -> float | None:
        if (
            self._unknown_since is not None
            or self._failing_since is None
            or self._config.unreadable_after is None
        ):
            return None
        return self._failing_since + self._config.unreadable_after

    def _clear_due(self, state: _ConditionState) -> float | None:
        if state.current.status is not ConditionStatus.TRUE:
            return None
        damping = state.default.flap_damping
        if state.clear_held and damping is not None:
            return state.last_seen + damping.window
        resolve = state.holder.resolve if state.holder is not None else None
        if resolve is None or not resolve.after:
            return None
        return state.last_seen + resolve.after

    def _clear(self, state: _ConditionState, at: float, rule: LogRule | None) -> list[Report]:
        damping = state.default.flap_damping
        if damping is not None and not state.clear_held:
            recent = sum(1 for moment in state.changes if moment > at - damping.window)
            if recent >= damping.changes:
                # Flapping: keep the problem visible until it has been quiet for a whole window.
                state.clear_held = True
                state.last_seen = max(state.last_seen, at)
                log.info(
                    "%s: %s is flapping (%d changes within %gs); it stays True until stable",
                    self._config.file,
                    state.current.type,
                    recent,
                    damping.window,
                )
                return []
        state.clear_held = False
        self._changed(state, at)
        state.current = Condition(
            state.current.type,
            ConditionStatus.FALSE,
            utc_from_timestamp(at),
            state.default.reason,
            state.default.message,
        )
        state.holder = None
        return [self._report(state, rule)]

    def _changed(self, state: _ConditionState, at: float) -> None:
        damping = state.default.flap_damping
        if damping is None:
            return
        state.changes.append(at)
        while state.changes and state.changes[0] <= at - damping.window:
            state.changes.popleft()

    # -- the source's health ------------------------------------------------------------------

    def source_failing(self, since: float, detail: str) -> list[Report]:
        """The source has been unable to read since ``since``; Unknown once that lasts long enough.

        Call again when the detail changes; call :meth:`tick` to let the time pass.
        """
        self._failing_since = since
        changed = detail != self._failing_detail
        self._failing_detail = detail
        if self._unknown_since is not None and changed:
            # Already Unknown: tell what is wrong now (same status, so no transition).
            return [self._report(state, None) for state in self._states.values()]
        return []

    def source_readable(self, now: float) -> list[Report]:
        """The source reads again: conditions that were Unknown return to their own state."""
        self._failing_since = None
        self._failing_detail = ""
        if self._unknown_since is None:
            return []
        self._unknown_since = None
        reports = []
        for state in self._states.values():
            current = state.current
            state.current = Condition(
                current.type, current.status, utc_from_timestamp(now), current.reason, current.message
            )
            reports.append(self._report(state, None))
        return reports

    def _unknown_condition(self, state: _ConditionState) -> Condition:
        return Condition(
            type=state.current.type,
            status=ConditionStatus.UNKNOWN,
            transition=utc_from_timestamp(self._unknown_since or 0.0),
            reason=UNREADABLE_REASON,
            message=f"{self._config.source} cannot read its log, so the state of "
            f"{state.current.type} is not known: {self._failing_detail}",
        )

    def _report(self, state: _ConditionState, rule: LogRule | None) -> Report:
        condition = state.current if self._unknown_since is None else self._unknown_condition(state)
        return Report(_change_event(condition, condition.status), rule, condition)


def match_message(match: Match) -> str:
    """A match's message, as upstream builds it: the matched lines, plus the rule's suffix."""
    message = "\n".join(record.message for record in match.records)
    if match.rule.message_suffix:
        message = f"{message}; {match.rule.message_suffix}"
    return message


def _change_event(condition: Condition, status: ConditionStatus) -> Event:
    return condition_change_event(
        condition.type, status, condition.reason, condition.message, condition.transition
    )


def _initial_states(config: LogMonitorConfig, now: float) -> dict[str, _ConditionState]:
    """Default conditions: False, transition now."""
    return {
        default.type: _ConditionState(
            default=default,
            current=Condition(
                type=default.type,
                status=ConditionStatus.FALSE,
                transition=utc_from_timestamp(now),
                reason=default.reason,
                message=default.message,
            ),
        )
        for default in config.conditions
    }


def _restore(
    config: LogMonitorConfig, states: dict[str, _ConditionState], saved: list[dict[str, Any]], now: float
) -> set[str]:
    """Overlay saved conditions on ``states``; returns the types restored."""
    restored_types: set[str] = set()
    holders = {
        (rule.condition, rule.reason): rule for rule in config.rules if rule.type is RuleType.PERMANENT
    }
    for restored, item in restorable_conditions(saved, states, config.file):
        try:
            last_seen = float(item.get("last_seen", now))
        except (TypeError, ValueError):
            last_seen = now  # an older or damaged record: the problem counts as seen at start
        state = states[restored.type]
        state.current = restored
        restored_types.add(restored.type)
        if restored.status is ConditionStatus.TRUE:
            state.holder = holders.get((restored.type, restored.reason))
            state.last_seen = last_seen
    return restored_types
