"""The custom plugin monitor: programs run on a schedule, their verdicts turned into problems.

Upstream semantics (``pkg/custompluginmonitor``), with the differences listed in
docs/plugins.md: rules are grouped by their invoke interval, each group runs on its own ticker
and waits for its batch, and a ``concurrency`` limit is shared by all groups. A permanent rule
drives its condition through upstream's five transitions; a temporary rule reports an event
when its plugin finds a problem, but (unlike upstream) not again on every run while nothing
changes. A plugin may also report events of its own on stderr (:mod:`npd.monitors.pluginevents`).
Running one plugin safely is :func:`npd.sources.plugin.run_plugin`'s job.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from npd.config.conditions import DefaultCondition
from npd.config.plugin import PluginMonitorConfig, PluginProtocol, PluginRule
from npd.metrics.model import MetricFamily
from npd.monitors.base import (
    Monitor,
    StatusSink,
    restorable_conditions,
    rules_declaration,
    saved_condition,
)
from npd.monitors.perfdata import PerfItem, parse_perfdata, perfdata_families, split_output
from npd.monitors.pluginevents import stderr_events
from npd.problem import (
    Condition,
    ConditionStatus,
    Event,
    RuleType,
    Severity,
    Status,
    condition_change_event,
    truncate_utf8,
    utc_from_timestamp,
)
from npd.sources.plugin import PluginResult, PluginStatus, run_plugin

log = logging.getLogger(__name__)

#: While a temporary rule's problem stays the same, its event is repeated this often (seconds):
#: often enough that it outlives Kubernetes' default event TTL (1 h), rarely enough to be quiet.
EVENT_REPEAT = 3600.0


#: The daemon's variables a plugin inherits: those upstream's helpers read (its health-checker's
#: endpoints, crictl's and docker's sockets). Upstream passes its whole environment, so a DaemonSet
#: may set ``KUBELET_PORT`` on npd's container for its health checker; everything else (service
#: account paths, proxies, API variables) stays out of a plugin's reach.
INHERITED_VARIABLES = (
    "HOST_ADDRESS",
    "KUBELET_PORT",
    "KUBEPROXY_PORT",
    "DOCKER_HOST",
    "CONTAINER_RUNTIME_ENDPOINT",
)


def inherited_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of the daemon's environment ``environ`` that plugins get (:data:`INHERITED_VARIABLES`)."""
    return {name: environ[name] for name in INHERITED_VARIABLES if name in environ}


class Runner(Protocol):
    """Runs one plugin (:func:`npd.sources.plugin.run_plugin`'s signature)."""

    def __call__(
        self,
        path: str,
        args: Sequence[str],
        *,
        timeout: float,
        max_output: int,
        env: Mapping[str, str] | None,
    ) -> Awaitable[PluginResult]: ...


def _default_runner(
    path: str, args: Sequence[str], *, timeout: float, max_output: int, env: Mapping[str, str] | None
) -> Awaitable[PluginResult]:
    return run_plugin(path, args, timeout=timeout, max_output=max_output, env=env)


@dataclass
class _RunTotals:
    """One rule's run counts, for the ``npd_plugin_run*`` metrics."""

    by_status: dict[PluginStatus, int]
    timeouts: int = 0
    seconds: float = 0.0


@dataclass
class _Repeat:
    """What a temporary rule last reported, so an unchanged problem is not reported every run."""

    status: PluginStatus
    output: str
    reported_at: float


class PluginMonitor(Monitor):
    """Runs one custom plugin monitor config's rules and reports what they find."""

    def __init__(
        self,
        config: PluginMonitorConfig,
        *,
        name: str,
        saved_conditions: list[dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
        runner: Runner = _default_runner,
        env: Mapping[str, str] | None = None,
        event_repeat: float = EVENT_REPEAT,
    ) -> None:
        self.name = name
        self.declaration = rules_declaration(config)
        self._config = config
        self._clock = clock
        self._runner = runner
        self._env = dict(env) if env else None
        self._event_repeat = event_repeat
        now = utc_from_timestamp(clock())
        self._defaults: dict[str, DefaultCondition] = {}
        self._conditions: dict[str, Condition] = {}
        for default in config.conditions:
            self._defaults.setdefault(default.type, default)
            self._conditions.setdefault(
                default.type,
                Condition(default.type, ConditionStatus.FALSE, now, default.reason, default.message),
            )
        #: Per condition type, the reasons its permanent rules set: a True with another reason
        #: (restored from an older config) may be cleared by any of them.
        self._reasons: dict[str, set[str]] = {}
        for rule in config.rules:
            if rule.type is RuleType.PERMANENT:
                self._reasons.setdefault(rule.condition, set()).add(rule.reason)
        self._repeats: dict[int, _Repeat] = {}
        #: Per Nagios rule (by id), the performance data of its latest run.
        self._perfdata: dict[int, list[PerfItem]] = {}
        #: Per rule (by id), what its runs came to.
        self._runs: dict[int, _RunTotals] = {
            id(rule): _RunTotals(dict.fromkeys(PluginStatus, 0)) for rule in config.rules
        }
        #: Per condition type, the Nagios exit code that holds it True: WARNING → CRITICAL updates it.
        self._severities: dict[str, int | None] = {}
        self._restored = self._restore(saved_conditions or [])
        self._last_seq = -1

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The current state of the conditions this monitor owns."""
        return tuple(self._conditions.values())

    def adopt(self, conditions: Sequence[Condition]) -> None:
        """Take up the Node's conditions of our types that the state directory did not restore.

        A True stays True until a run of one of its rules says otherwise, so a restart does not
        report a broken node healthy in between. Unknown is not adopted: a run re-derives it.
        """
        items = [
            saved_condition(condition) for condition in conditions if condition.type not in self._restored
        ]
        self._restored |= self._restore(items)

    async def run(self, sink: StatusSink) -> None:
        if not self._config.skip_initial_status:
            self._last_seq = sink.publish(self._status(()))
        if not self._config.rules:
            await asyncio.Event().wait()  # nothing to run; wait to be cancelled like any monitor
        limit = asyncio.Semaphore(max(1, self._config.concurrency))
        groups: dict[float, list[PluginRule]] = {}
        for rule in self._config.rules:
            groups.setdefault(rule.invoke_interval, []).append(rule)
        # Upstream's first run is one batch of every rule, then each group keeps its own time.
        started = time.monotonic()
        await self._batch(sink, limit, list(self._config.rules))
        async with asyncio.TaskGroup() as tasks:
            for interval, rules in groups.items():
                tasks.create_task(
                    self._every(sink, limit, interval, rules, started), name=f"{self.name}: every {interval}s"
                )

    async def _every(
        self,
        sink: StatusSink,
        limit: asyncio.Semaphore,
        interval: float,
        rules: list[PluginRule],
        start: float,
    ) -> None:
        """Run ``rules`` on a ticker of ``interval``: a batch that overruns costs one immediate
        catch-up run and drops the ticks it missed (Go's ``time.Ticker``); a rule never overlaps itself."""
        tick = start + interval
        while True:
            now = time.monotonic()
            if tick > now:
                await asyncio.sleep(tick - now)
                tick += interval
            else:
                tick = start + interval * (math.floor((now - start) / interval) + 1)
            await self._batch(sink, limit, rules)

    async def _batch(self, sink: StatusSink, limit: asyncio.Semaphore, rules: list[PluginRule]) -> None:
        async with asyncio.TaskGroup() as tasks:
            for rule in rules:
                tasks.create_task(self._check(sink, limit, rule), name=f"{self.name}: {rule.reason}")

    async def _check(self, sink: StatusSink, limit: asyncio.Semaphore, rule: PluginRule) -> None:
        async with limit:
            result = await self._runner(
                rule.path,
                rule.args,
                timeout=min(rule.timeout, self._config.timeout),
                max_output=self._config.max_output_length,
                env=self._env,
            )
        self.publish(sink, rule, self.judge(rule, result))

    def judge(self, rule: PluginRule, result: PluginResult) -> PluginResult:
        """``result`` read by ``rule``'s protocol; a Nagios rule's performance data is kept for
        :meth:`collect` (replaced by every run, so a run without any clears it)."""
        if rule.protocol is not PluginProtocol.NAGIOS:
            return result
        judged, items = nagios_result(result, self._config.max_output_length)
        self._perfdata[id(rule)] = items
        return judged

    def collect(self) -> list[MetricFamily]:
        """Per rule, ``npd_plugin_runs_total{monitor,rule,status}``,
        ``npd_plugin_timeouts_total`` and ``npd_plugin_run_seconds_total``; and the Nagios rules'
        ``npd_plugin_perfdata`` and ``npd_plugin_perfdata_threshold``."""
        runs = MetricFamily("npd_plugin_runs_total", "Plugin runs, by the verdict they came to.", "counter")
        timeouts = MetricFamily(
            "npd_plugin_timeouts_total", "Plugin runs killed for overrunning their timeout.", "counter"
        )
        seconds = MetricFamily(
            "npd_plugin_run_seconds_total",
            "Seconds spent in plugin runs (divided by npd_plugin_runs_total: the mean run time).",
            "counter",
        )
        # Rules are labelled by reason; rules sharing one (a check with several arguments) add up.
        by_reason: dict[str, _RunTotals] = {}
        for rule in self._config.rules:
            totals = self._runs[id(rule)]
            into = by_reason.setdefault(rule.reason, _RunTotals(dict.fromkeys(PluginStatus, 0)))
            for status, count in totals.by_status.items():
                into.by_status[status] += count
            into.timeouts += totals.timeouts
            into.seconds += totals.seconds
        for reason, totals in by_reason.items():
            for status, count in totals.by_status.items():
                runs.add(count, monitor=self.name, rule=reason, status=status.value)
            timeouts.add(totals.timeouts, monitor=self.name, rule=reason)
            seconds.add(totals.seconds, monitor=self.name, rule=reason)
        perfdata = perfdata_families(
            (self.name, rule.reason, item)
            for rule in self._config.rules
            for item in self._perfdata.get(id(rule), ())
        )
        return [runs, timeouts, seconds, *perfdata]

    def publish(self, sink: StatusSink, rule: PluginRule, result: PluginResult) -> None:
        """Report one result: a Status after every run (a heartbeat, as upstream sends)."""
        totals = self._runs[id(rule)]
        totals.by_status[result.status] += 1
        totals.timeouts += result.timed_out
        totals.seconds += result.duration
        before = self.conditions
        events = self.apply(rule, result, self._clock())
        self._last_seq = sink.publish(self._status(events))
        if self.conditions != before:
            sink.checkpoint(self.name, self._last_seq, {"conditions": self.snapshot()})

    def apply(self, rule: PluginRule, result: PluginResult, now: float) -> tuple[Event, ...]:
        """The events one plugin result causes, updating the conditions it changes: the rule's
        own, then those the plugin reported on stderr."""
        if result.status is not PluginStatus.OK:
            log.info("%s: %s: %s: %s", self.name, rule.reason, result.status.value, result.output)
        if rule.type is RuleType.TEMPORARY:
            events = self._temporary(rule, result, now)
        else:
            events = self._permanent(rule, result, now)
        reported = stderr_events(result.stderr, utc_from_timestamp(now))
        for event in reported:
            log.info("%s: %s reported %s: %s", self.name, rule.reason, event.reason, event.message)
        return events + reported

    def _temporary(self, rule: PluginRule, result: PluginResult, now: float) -> tuple[Event, ...]:
        key = id(rule)
        if result.status is PluginStatus.OK:
            self._repeats.pop(key, None)
            return ()
        last = self._repeats.get(key)
        if (
            last is not None
            and last.status is result.status
            and last.output == result.output
            and now - last.reported_at < self._event_repeat
        ):
            return ()
        self._repeats[key] = _Repeat(result.status, result.output, now)
        # Upstream reports Unknown too (a status "above warning"), with the rule's reason.
        return (Event(Severity.WARN, utc_from_timestamp(now), rule.reason, result.output),)

    def _permanent(self, rule: PluginRule, result: PluginResult, now: float) -> tuple[Event, ...]:
        current = self._conditions.get(rule.condition)
        default = self._defaults.get(rule.condition)
        if current is None or default is None:
            return ()  # upstream ignores a rule whose condition is not declared
        status = _condition_status(result.status)
        was_true = current.status is ConditionStatus.TRUE
        if was_true and status is not ConditionStatus.TRUE and not self._speaks_for(rule, current):
            # npd: a rule cannot clear (or make Unknown) a problem another rule found.
            return ()
        if was_true and status is not ConditionStatus.TRUE:
            # 1: True → False/Unknown. Unknown keeps the output: it tells why.
            reason = default.reason
            message = default.message if status is ConditionStatus.FALSE else result.output
        elif not was_true and status is ConditionStatus.TRUE:
            # 2: False/Unknown → True.
            reason, message = rule.reason, result.output
        elif current.status is not status:
            # 3: False ↔ Unknown.
            reason = default.reason
            message = default.message if status is ConditionStatus.FALSE else result.output
        elif status is ConditionStatus.TRUE and (
            current.reason != rule.reason
            or (self._config.message_change_updates and current.message != result.output)
            or self._severity_changed(rule, result)
        ):
            # 4: stays True with another reason, or another message when that counts, or another
            # Nagios severity (WARNING ↔ CRITICAL).
            reason, message = rule.reason, result.output
        else:
            # 5: nothing changes.
            if status is ConditionStatus.TRUE:
                self._severities.setdefault(rule.condition, result.exit_code)
            return ()
        if status is ConditionStatus.TRUE:
            self._severities[rule.condition] = result.exit_code
        timestamp = utc_from_timestamp(now)
        self._conditions[rule.condition] = Condition(current.type, status, timestamp, reason, message)
        return (condition_change_event(current.type, status, reason, message, timestamp),)

    def _severity_changed(self, rule: PluginRule, result: PluginResult) -> bool:
        if rule.protocol is not PluginProtocol.NAGIOS:
            return False
        return self._severities.get(rule.condition, result.exit_code) != result.exit_code

    def _speaks_for(self, rule: PluginRule, condition: Condition) -> bool:
        """Whether ``rule`` may clear ``condition``: it set it, or no configured rule did."""
        owned = self._reasons.get(condition.type, set())
        return condition.reason == rule.reason or condition.reason not in owned

    def snapshot(self) -> list[dict[str, Any]]:
        """The conditions, for the state directory."""
        return [saved_condition(condition) for condition in self._conditions.values()]

    def _restore(self, saved: list[dict[str, Any]]) -> set[str]:
        """Overlay saved conditions of our types (True or False only); returns the types restored."""
        restored: set[str] = set()
        for condition, _ in restorable_conditions(saved, self._conditions, self._config.file):
            self._conditions[condition.type] = condition
            restored.add(condition.type)
        return restored

    def _status(self, events: tuple[Event, ...]) -> Status:
        return Status(
            source=self._config.source,
            events=events,
            conditions=self.conditions,
            report_metrics=self._config.metrics_reporting,
        )


#: Nagios exit codes: the verdict and the state's name.
NAGIOS_STATES = {
    0: (PluginStatus.OK, "OK"),
    1: (PluginStatus.NON_OK, "WARNING"),
    2: (PluginStatus.NON_OK, "CRITICAL"),
    3: (PluginStatus.UNKNOWN, "UNKNOWN"),
}


def nagios_result(result: PluginResult, max_output: int) -> tuple[PluginResult, list[PerfItem]]:
    """A run read as a Nagios plugin's: the verdict, the message, and the performance data.

    Exit 0 is OK, 1 (WARNING) and 2 (CRITICAL) NonOK, 3 and anything else Unknown. The message
    is the first output line before ``|``, trimmed, with the state's name in front
    (``WARNING: text``) unless one of its first two words already is that name
    (``DISK WARNING - text``), then cut to ``max_output`` bytes. A timeout or a program that
    cannot start keeps the runner's message.
    """
    if result.timed_out or (result.exit_code is None and result.signal is None):
        return replace(result, status=PluginStatus.UNKNOWN), []
    message, perf = split_output(result.stdout, truncated=result.stdout_truncated)
    items = parse_perfdata(perf)
    known = NAGIOS_STATES.get(result.exit_code) if result.exit_code is not None else None
    if known is not None:
        status, state = known
        named = [word.strip(":-,;").upper() for word in message.split()[:2]]
        if status is not PluginStatus.OK and state not in named:
            message = f"{state}: {message}" if message else state
    else:
        status = PluginStatus.UNKNOWN
        if result.signal is not None:
            state = f"UNKNOWN (killed by {_signal_name(result.signal)})"
        else:
            state = f"UNKNOWN (exit status {result.exit_code})"
        message = f"{state}: {message}" if message else state
    return replace(result, status=status, output=truncate_utf8(message, max_output, marker="")), items


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal has no name
        return f"signal {number}"


def _condition_status(status: PluginStatus) -> ConditionStatus:
    """Upstream's ``toConditionStatus``: OK → False, NonOK → True, Unknown → Unknown."""
    if status is PluginStatus.OK:
        return ConditionStatus.FALSE
    if status is PluginStatus.NON_OK:
        return ConditionStatus.TRUE
    return ConditionStatus.UNKNOWN
