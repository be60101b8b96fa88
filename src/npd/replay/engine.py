"""The daemon's matching engine, driven by a recorded log's own time.

Each usable monitor config gets the daemon's pair: its rules matched by the daemon's
:class:`~npd.monitors.matcher.RuleMatcher` (two of them when some rules span lines:
:mod:`npd.replay.matching`), and a :class:`~npd.monitors.tracker.ProblemTracker` whose clock
starts at the first record's timestamp. Records reach a monitor the way the live sources would
deliver them (:func:`routes_to`). All monitors' prefilters are scanned for in one pass per batch
(:mod:`npd.replay.scan`), so only the records some rule may fire on are parsed.

Time is the log's: the tracker's time-based changes (``resolve.after``, flap damping) are
applied at the first record, routed to the monitor or not, whose timestamp reaches their
deadline. A replay gives the same answers whether a log is fed in one go or record by record,
and however fast the machine is.

Every report becomes a :class:`Finding`: a temporary rule's event, or a condition change (a
permanent rule raising its condition, a resolving line or a quiet period clearing it). A permanent
rule matching again while its condition is already True with the same reason changes nothing and
is no finding, exactly as the daemon then reports nothing.
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from npd.config.logmonitor import LogMonitorConfig, LogPlugin
from npd.monitors.matcher import Match
from npd.monitors.tracker import ProblemTracker, Report, match_message
from npd.problem import ConditionStatus, RuleType, utc_from_timestamp
from npd.replay.batch import InputBatch, InputRecord, RecordListBatch
from npd.replay.matching import MonitorMatcher
from npd.replay.scan import shared_scan
from npd.sources.base import LogBatch, LogRecord, RecordBatch

__all__ = ["Finding", "InputRecord", "ReplayEngine", "routes_to"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a monitor reported while replaying, and the input lines behind it.

    ``first_line``/``last_line`` span the records a rule matched; a condition cleared by time
    carries the lines of the record at which its deadline passed. ``status`` is the condition's
    new status for a permanent problem (``TRUE`` raised, ``FALSE`` cleared) and ``None`` for a
    temporary one; ``condition`` is ``""`` for a temporary one. ``message`` is the matched text
    (plus the rule's message suffix), or the condition's default message once it is cleared.
    """

    input: str
    first_line: int
    last_line: int
    timestamp: datetime
    monitor: str
    type: RuleType
    reason: str
    condition: str
    status: ConditionStatus | None
    message: str


def routes_to(config: LogMonitorConfig, record: InputRecord) -> bool:
    """Whether the live source of ``config`` would have delivered ``record``.

    * A record of unknown origin (no identifier, not the kernel's) goes to every monitor: the
      input does not say whose it is, so it could be anyone's.
    * A kmsg monitor reads the kernel's records.
    * A journald monitor reads the records whose identifier is one of its identifiers; the
      kernel's records carry the identifier ``kernel`` in the journal, so a monitor of
      ``kernel`` reads them too.
    * A filelog monitor reads a whole file whoever wrote its lines, so it reads every record
      (minus its ``skipList``; see docs/replay.md for how messages are split).
    """
    if record.identifier is None and not record.kernel:
        return True
    if config.plugin is LogPlugin.KMSG:
        return record.kernel
    if config.plugin is LogPlugin.JOURNALD:
        identifiers = config.journald_identifiers
        return record.identifier in identifiers or (record.kernel and "kernel" in identifiers)
    return True


class _RoutedBatch(LogBatch):
    """One monitor's view of a lazily parsed batch: only the records routed to it."""

    parses_lazily = True

    def __init__(self, batch: InputBatch, monitor: _Monitor) -> None:
        self._batch = batch
        self._monitor = monitor

    def records(self) -> Iterator[InputRecord]:
        accepts = self._monitor.accepts
        return (record for record in self._batch.records() if accepts(record))

    def candidates(self, prefilter: Any) -> Iterator[InputRecord]:
        accepts = self._monitor.accepts
        return (record for record in self._batch.candidates(prefilter) if accepts(record))


class _Monitor:
    """One config's matcher and tracker, and which records it takes."""

    def __init__(self, index: int, config: LogMonitorConfig) -> None:
        self.index = index
        self.config = config
        self.matcher = MonitorMatcher(config)
        self.tracker: ProblemTracker | None = None
        #: Whether time alone can change this monitor's conditions (else no deadlines to watch).
        self.timed = config.clears_with_time
        self._skip = config.skip_list if config.plugin is LogPlugin.FILELOG else ()
        # Routing depends only on (identifier, kernel), of which an input has few.
        self._routes: dict[tuple[str | None, bool], bool] = {}

    def accepts(self, record: InputRecord) -> bool:
        key = (record.identifier, record.kernel)
        routed = self._routes.get(key)
        if routed is None:
            routed = self._routes[key] = routes_to(self.config, record)
        if routed and self._skip:
            message = record.message
            return not any(entry in message for entry in self._skip)
        return routed


class ReplayEngine:
    """Runs monitor configs over the records of one input, in log order, on log time.

    Configs that cannot run (``config.unusable``, e.g. a journald config without identifiers)
    are left out, as the daemon leaves them out; the caller says so.
    """

    def __init__(self, configs: Sequence[LogMonitorConfig], input_name: str = "-") -> None:
        self.input_name = input_name
        self._monitors = [
            _Monitor(index, config)
            for index, config in enumerate(config for config in configs if not config.unusable)
        ]
        self._last: InputRecord | None = None
        self._scan = shared_scan(
            [prefilter for monitor in self._monitors for prefilter in monitor.matcher.prefilters]
        )

    def feed(self, records: Sequence[InputRecord]) -> list[Finding]:
        """The findings caused by ``records`` (the input's next records, in order), in log order."""
        return self.feed_batch(RecordListBatch(list(records)))

    def feed_batch(self, batch: InputBatch) -> list[Finding]:
        """Like :meth:`feed`, for a batch a reader produced (which may parse lazily)."""
        first = batch.first()
        if first is None:
            return []
        if self._last is None:
            for monitor in self._monitors:
                monitor.tracker = ProblemTracker(monitor.config, None, first.timestamp)
        if self._scan is not None:
            batch.share_scan(self._scan)
        findings: list[Finding] = []
        eager: list[list[LogRecord]] | None = None
        for monitor in self._monitors:
            view: LogBatch
            if batch.parses_lazily and monitor.matcher.lazy:
                view = _RoutedBatch(batch, monitor)
            else:
                if eager is None:
                    eager = self._route(batch)
                view = RecordBatch(eager[monitor.index], None)
            findings += self._run(monitor, batch, view)
        self._last = batch.last()
        findings.sort(key=_line_order)
        return findings

    def finish(self) -> list[Finding]:
        """At the end of the input: what time made due by the last record's timestamp."""
        last = self._last
        if last is None:
            return []
        findings: list[Finding] = []
        for monitor in self._monitors:
            assert monitor.tracker is not None
            for report in monitor.tracker.tick(last.timestamp):
                findings.append(self._finding(monitor, report, last, last))
        findings.sort(key=_line_order)
        return findings

    def _route(self, batch: InputBatch) -> list[list[LogRecord]]:
        """Each monitor's records of ``batch``, split in one pass."""
        routed: list[list[LogRecord]] = [[] for _ in self._monitors]
        targets: dict[tuple[str | None, bool], list[list[LogRecord]]] = {}
        skipping = [monitor for monitor in self._monitors if monitor.config.skip_list]
        for record in batch.all():
            key = (record.identifier, record.kernel)
            lists = targets.get(key)
            if lists is None:
                lists = targets[key] = [
                    routed[monitor.index]
                    for monitor in self._monitors
                    if monitor not in skipping and monitor.accepts(record)
                ]
            for records in lists:
                records.append(record)
            for monitor in skipping:
                if monitor.accepts(record):
                    routed[monitor.index].append(record)
        return routed

    def _run(self, monitor: _Monitor, batch: InputBatch, view: LogBatch) -> list[Finding]:
        tracker = monitor.tracker
        assert tracker is not None
        clock = _Clock(batch) if monitor.timed else None
        findings: list[Finding] = []
        for match in monitor.matcher.feed(batch, view, monitor.accepts):
            newest = match.records[-1]
            assert isinstance(newest, InputRecord)
            if clock is not None:
                findings += self._due(monitor, clock, newest)
            reports = tracker.match(match)
            for report in reports:
                findings.append(self._match_finding(monitor, report, match, newest))
            if _repeats(match, reports, tracker):
                findings.append(self._repeat_finding(monitor, match, newest))
        if clock is not None:
            findings += self._due(monitor, clock, None)
        return findings

    def _due(self, monitor: _Monitor, clock: _Clock, before: InputRecord | None) -> list[Finding]:
        """Apply the tracker's deadlines at the records before ``before`` (all, for ``None``)."""
        tracker = monitor.tracker
        assert tracker is not None
        findings: list[Finding] = []
        for record in clock.advance(before, tracker):
            for report in tracker.tick(record.timestamp):
                findings.append(self._finding(monitor, report, record, record))
        return findings

    def _match_finding(self, monitor: _Monitor, report: Report, match: Match, newest: InputRecord) -> Finding:
        if report.rule is None:
            # A deadline the match's own time reached: it passed at the newest record.
            return self._finding(monitor, report, newest, newest)
        oldest = match.records[0]
        assert isinstance(oldest, InputRecord)
        return self._finding(monitor, report, oldest, newest)

    def _repeat_finding(self, monitor: _Monitor, match: Match, newest: InputRecord) -> Finding:
        oldest = match.records[0]
        assert isinstance(oldest, InputRecord)
        rule = match.rule
        return Finding(
            input=self.input_name,
            first_line=oldest.first_line,
            last_line=newest.last_line,
            timestamp=utc_from_timestamp(oldest.timestamp),
            monitor=monitor.config.source,
            type=RuleType.PERMANENT,
            reason=rule.reason,
            condition=rule.condition,
            status=ConditionStatus.TRUE,
            message=match_message(match),
        )

    def _finding(self, monitor: _Monitor, report: Report, first: InputRecord, last: InputRecord) -> Finding:
        condition = report.condition
        source = monitor.config.source
        if condition is None:
            rule = report.rule
            assert rule is not None
            return Finding(
                input=self.input_name,
                first_line=first.first_line,
                last_line=last.last_line,
                timestamp=report.event.timestamp,
                monitor=source,
                type=RuleType.TEMPORARY,
                reason=rule.reason,
                condition="",
                status=None,
                message=report.event.message,
            )
        return Finding(
            input=self.input_name,
            first_line=first.first_line,
            last_line=last.last_line,
            timestamp=condition.transition,
            monitor=source,
            type=RuleType.PERMANENT,
            reason=condition.reason,
            condition=condition.type,
            status=condition.status,
            message=condition.message,
        )


class _Clock:
    """Walks a batch's records for one monitor, yielding those at which a deadline is due.

    Only walks (and so only parses every record of a lazy batch) while the tracker has a
    deadline; most monitors never have one, and then the walk costs nothing.
    """

    def __init__(self, batch: InputBatch) -> None:
        self._batch = batch
        #: ``first_line`` of the newest record whose time the tracker has seen (0: none yet).
        self._done = 0

    def advance(self, before: InputRecord | None, tracker: ProblemTracker) -> Iterator[InputRecord]:
        """The records after those already seen and before ``before`` (to the end, for
        ``None``) at which the tracker's next deadline has passed; tick the tracker at each."""
        deadline = tracker.next_deadline()
        if deadline is not None and self._may_reach(deadline):
            records = self._batch.all()
            start = bisect.bisect_right(records, self._done, key=_line)
            end = (
                len(records) if before is None else bisect.bisect_left(records, before.first_line, key=_line)
            )
            for record in records[start:end]:
                if record.timestamp >= deadline:
                    self._done = record.first_line
                    yield record
                    deadline = tracker.next_deadline()
                    if deadline is None:
                        break
        # The tracker sees ``before``'s time next, through its match.
        self._done = before.first_line if before is not None else sys.maxsize

    def _may_reach(self, deadline: float) -> bool:
        """Whether a record of the batch may be as late as ``deadline``.

        A lazily parsed batch is only parsed in full when its first or last record is: log
        time is taken to run forward within a batch (a few MiB of log).
        """
        batch = self._batch
        if not batch.parses_lazily:
            return True
        first, last = batch.first(), batch.last()
        return any(record is not None and record.timestamp >= deadline for record in (first, last))


def _repeats(match: Match, reports: list[Report], tracker: ProblemTracker) -> bool:
    """Whether ``match`` is a permanent rule firing again on a condition it already holds.

    The daemon reports nothing then (nothing changed), but a replay is asked what the log
    shows: every line of a standing problem is evidence of it, and is listed.
    """
    rule = match.rule
    if rule.type is not RuleType.PERMANENT or rule.clears or rule.count > 1:
        return False
    return not any(report.rule is rule for report in reports) and tracker.holds(rule)


def _line(record: InputRecord) -> int:
    return record.first_line


def _line_order(finding: Finding) -> int:
    return finding.last_line
