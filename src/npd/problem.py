"""The problem model: what monitors report and exporters publish.

It mirrors upstream's ``pkg/types``: a monitor sends a :class:`Status` naming its source, the
events it saw (temporary problems and condition changes) and the full current state of the
conditions it owns (permanent problems).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime


class Severity(enum.StrEnum):
    """Event severity; exported as a Kubernetes Event type (info → Normal, warn → Warning)."""

    INFO = "info"
    WARN = "warn"


class ConditionStatus(enum.StrEnum):
    """A node condition's status, spelled as Kubernetes spells it."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class RuleType(enum.StrEnum):
    """A temporary problem becomes an event; a permanent one sets a condition."""

    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Event:
    """A temporary problem, or the record of a condition change."""

    severity: Severity
    timestamp: datetime
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Condition:
    """The state of one permanent problem type on the node."""

    type: str
    status: ConditionStatus
    transition: datetime
    reason: str
    message: str

    def to_json(self) -> dict[str, str]:
        """Upstream's JSON shape (``/conditions``): type, status, transition, reason, message."""
        return {
            "type": self.type,
            "status": self.status.value,
            "transition": format_go_time(self.transition),
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Status:
    """One report from a monitor.

    ``conditions`` is always the monitor's complete current condition set, so the latest
    status of a source is enough to know its state. ``report_metrics`` carries the monitor's
    ``metricsReporting`` setting to the Prometheus exporter.
    """

    source: str
    events: tuple[Event, ...] = ()
    conditions: tuple[Condition, ...] = ()
    report_metrics: bool = True


@dataclass(frozen=True, slots=True)
class ProblemDeclaration:
    """The problems a monitor can report, so that exporters can publish zeros before any occur.

    Upstream creates ``problem_counter{reason}`` = 0 for every rule and
    ``problem_gauge{type,reason}`` = 0 for every permanent rule when a monitor starts.
    """

    source: str
    reasons: tuple[str, ...]
    gauges: tuple[tuple[str, str], ...]
    #: The condition types the monitor owns (reported whatever ``metricsReporting`` says).
    condition_types: tuple[str, ...] = ()


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def condition_change_event(
    condition_type: str, status: ConditionStatus, reason: str, message: str, timestamp: datetime
) -> Event:
    """The event upstream emits when a condition changes (``util.GenerateConditionChangeEvent``)."""
    severity = Severity.WARN if status is ConditionStatus.TRUE else Severity.INFO
    text = (
        f"Node condition {condition_type} is now: {status.value}, reason: {reason}, "
        f"message: {go_quote(message)}"
    )
    return Event(severity=severity, timestamp=timestamp, reason=reason, message=text)


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """Quote ``text`` the way Go's ``%q`` (``strconv.Quote``) does.

    Upstream embeds matched log text in condition-change events with ``%q``; automation that
    parses those messages expects the same escaping.
    """
    out = ['"']
    for ch in text:
        escaped = _GO_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ch.isprintable():
            out.append(ch)
        elif ch == "\ufffd":
            # Only reachable for undecodable input bytes, which Go prints as \xNN; the byte is
            # gone after decoding, so print the replacement character Go would print for U+FFFD.
            out.append(ch)
        else:
            code = ord(ch)
            if code < 0x80:
                out.append(f"\\x{code:02x}")
            elif code <= 0xFFFF:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def format_go_time(moment: datetime) -> str:
    """Format like Go's ``time.Time`` JSON encoding (RFC 3339 with trimmed nanoseconds), in UTC."""
    moment = moment.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        base += f".{moment.microsecond:06d}".rstrip("0")
    return base + "Z"


def utc_from_timestamp(seconds: float) -> datetime:
    """An aware UTC datetime from seconds since the epoch, clamped to the years 1–9999.

    Log timestamps come from outside (a corrupt kmsg record, a log line from year 99999); a
    value datetime cannot hold must not stop a monitor.
    """
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return _LATEST if seconds > 0 else _EARLIEST


def truncate_utf8(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes on a character boundary, ending in ``marker``."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    room = max(0, limit - len(marker.encode("utf-8")))
    return data[:room].decode("utf-8", errors="ignore") + marker
