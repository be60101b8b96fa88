"""Log patterns: how often a unit logged a pattern since a time, like upstream's
``journalctl --unit <svc> --since <start> | grep -i <pattern> | wc -l``.

npd's journald source selects entries by ``SYSLOG_IDENTIFIER``; ``journalctl --unit`` selects by unit
(the unit's own processes, and systemd's messages about it), so this reads the journal directly with
the same library (cysystemd) and the unit's matches. Patterns are Go regular expressions (RE2, as
every npd pattern), searched case-insensitively in each entry's message, as ``grep -i`` searches each
line journalctl prints.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence

from npd.goregex import compile_go
from npd.healthcheck.options import LogPattern
from npd.healthcheck.outcome import CheckError

#: The fields ``journalctl --unit`` matches: the unit's processes, and systemd, coredumps and others
#: logging about the unit.
_UNIT_FIELDS = ("_SYSTEMD_UNIT", "UNIT", "OBJECT_SYSTEMD_UNIT", "COREDUMP_UNIT")


def unit_name(service: str) -> str:
    """The full unit name, as ``journalctl --unit`` completes it (``kubelet`` → ``kubelet.service``)."""
    return service if "." in service else f"{service}.service"


def unit_messages(service: str, since: float, journal_path: str) -> list[str]:
    """The messages the unit logged from ``since`` (seconds since the epoch) on.

    ``journal_path`` is a journal directory, or "" for the system journal. Raises :class:`CheckError`
    when the journal cannot be read.
    """
    # Imported here: libsystemd is only loaded when log patterns are given.
    from cysystemd.reader import JournalOpenMode, JournalReader, Rule  # noqa: PLC0415

    unit = unit_name(service)
    reader = JournalReader()
    try:
        if journal_path:
            reader.open_directory(journal_path)
        else:
            reader.open(JournalOpenMode.SYSTEM)
        rules = [Rule(field, unit) for field in _UNIT_FIELDS]
        reader.add_filter(functools.reduce(operator.or_, rules))
        since_usec = max(0, int(since * 1_000_000))
        reader.seek_realtime_usec(since_usec)
        messages = []
        while (entry := reader.next()) is not None:
            if entry.get_realtime_usec() < since_usec:
                continue
            message = entry.data.get("MESSAGE")
            if isinstance(message, list):
                message = message[0]
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            if isinstance(message, str):
                messages.append(message)
    except (OSError, SystemError) as exc:
        where = journal_path or "the system journal"
        raise CheckError(f"cannot read {where}: {exc}") from None
    return messages


def pattern_findings(messages: Sequence[str], patterns: Sequence[LogPattern]) -> list[str]:
    """Why the messages make the unit unhealthy: one entry per pattern found at least ``count`` times."""
    found = []
    for pattern in patterns:
        regex = compile_go(f"(?i:{pattern.pattern})")
        count = sum(1 for message in messages if regex.search(message))
        if count >= pattern.count:
            found.append(f"{count}x {pattern.pattern!r} in log")
    return found
