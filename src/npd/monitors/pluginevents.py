"""Events a plugin reports on stderr: ``npd-event: <Reason>: <message>`` lines (an npd extension).

A plugin's verdict is one exit status and one line of stdout, which upstream's protocol keeps
for the condition or the rule's event. Some plugins also do something worth recording on the
Node: ``npd health-check`` restarting a unit is the one npd ships. stderr is free for this:
upstream only logs it, so a plugin written for npd still works unchanged under upstream.

Each stderr line of exactly that form becomes a Warning event with that reason and message,
counted in ``problem_counter{reason}``. Anything else on stderr is left to the log.
"""

from __future__ import annotations

import re
from datetime import datetime

from npd.problem import Event, Severity, truncate_utf8

#: The line prefix; the reason is an upstream-style CamelCase identifier.
_LINE = re.compile(r"npd-event: ([A-Z][A-Za-z0-9]{0,127}): (.+)")

#: At most this many events per run: a plugin stuck in a loop printing records must not flood.
MAX_EVENTS_PER_RUN = 10

#: A message is cut to this many UTF-8 bytes: the Events API's limit for a note.
MAX_MESSAGE_BYTES = 1024


def stderr_events(stderr: str, timestamp: datetime) -> tuple[Event, ...]:
    """The events ``stderr``'s ``npd-event:`` lines report, at most :data:`MAX_EVENTS_PER_RUN`."""
    events: list[Event] = []
    for line in stderr.splitlines():
        match = _LINE.fullmatch(line.rstrip("\r"))
        if match is None:
            continue
        message = truncate_utf8(match.group(2).strip(), MAX_MESSAGE_BYTES)
        events.append(Event(Severity.WARN, timestamp, match.group(1), message))
        if len(events) == MAX_EVENTS_PER_RUN:
            break
    return tuple(events)
