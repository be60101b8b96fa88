"""EventCorrelator: what each problem event becomes on the API (client-go's correlator), without I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from npd.exporters.kubernetes.events import (
    COMBINED_PREFIX,
    CorrelatorLimits,
    Decision,
    EventCorrelator,
)
from npd.problem import Event, Severity

NODE = "node-a"
T0 = datetime(2024, 5, 1, 12, 0, 0, 750_000, tzinfo=UTC)
NAME_NS = 0x17D2A3B4C5D6E7F0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class NameClock:
    """``time.time_ns`` standing still unless moved, so names must still come out distinct."""

    def __init__(self, start: int = NAME_NS) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


def correlator(
    clock: Clock | None = None,
    *,
    namespace: str = "default",
    involved_namespace: str = "",
    name_clock: NameClock | None = None,
) -> EventCorrelator:
    return EventCorrelator(
        NODE,
        namespace,
        involved_namespace,
        clock=clock or Clock(),
        name_clock=name_clock or NameClock(),
    )


def warn(reason: str, message: str, at: datetime = T0) -> Event:
    return Event(Severity.WARN, at, reason, message)


def created(events: EventCorrelator, source: str, event: Event) -> Decision:
    """Observe ``event``, expect a create, and record that the server has it."""
    decision = events.observe(source, event)
    assert decision is not None and decision.create, decision
    events.written(decision)
    return decision


def test_first_event_is_a_complete_create_body() -> None:
    events = correlator()
    events.uid = "2b6e3b1f-uid"
    decision = events.observe("kernel-monitor", warn("TaskHung", "task docker:1234 blocked"))
    assert decision is not None and decision.create
    assert decision.name == f"{NODE}.{NAME_NS:x}"
    assert decision.body == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{NODE}.{NAME_NS:x}", "namespace": "default"},
        "involvedObject": {"apiVersion": "v1", "kind": "Node", "name": NODE, "uid": "2b6e3b1f-uid"},
        "reason": "TaskHung",
        "message": "task docker:1234 blocked",
        "type": "Warning",
        "source": {"component": "kernel-monitor", "host": NODE},
        "count": 1,
        "firstTimestamp": "2024-05-01T12:00:00Z",
        "lastTimestamp": "2024-05-01T12:00:00Z",
        "reportingComponent": "kernel-monitor",
        "reportingInstance": NODE,
    }


def test_info_is_normal_and_times_are_utc_whole_seconds() -> None:
    local = datetime(2024, 5, 1, 14, 0, 5, 999_999, tzinfo=timezone(timedelta(hours=2)))
    decision = correlator().observe("m", Event(Severity.INFO, local, "Started", "ok"))
    assert decision is not None
    assert decision.body["type"] == "Normal"
    assert decision.body["firstTimestamp"] == "2024-05-01T12:00:05Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", decision.body["lastTimestamp"])


def test_without_uid_or_involved_namespace_those_fields_are_absent() -> None:
    decision = correlator().observe("m", warn("R", "x"))
    assert decision is not None
    assert decision.body["involvedObject"] == {"apiVersion": "v1", "kind": "Node", "name": NODE}
    assert decision.body["metadata"]["namespace"] == "default"


def test_event_namespace_goes_to_the_event_and_its_involved_object() -> None:
    events = correlator(namespace="kube-system", involved_namespace="kube-system")
    events.uid = "u"
    decision = events.observe("m", warn("R", "x"))
    assert decision is not None
    assert decision.body["metadata"]["namespace"] == "kube-system"
    assert decision.body["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Node",
        "name": NODE,
        "uid": "u",
        "namespace": "kube-system",
    }


def test_names_are_unique_and_increasing_even_in_one_clock_tick() -> None:
    names = NameClock()
    events = correlator(name_clock=names)
    stamps = []
    for index in range(5):
        decision = created(events, "m", warn(f"Reason{index}", "x"))
        prefix, _, stamp = decision.name.rpartition(".")
        assert prefix == NODE
        stamps.append(int(stamp, 16))
    assert stamps == [NAME_NS + index for index in range(5)]
    names.now = NAME_NS + 1_000_000
    assert created(events, "m", warn("Later", "x")).name == f"{NODE}.{NAME_NS + 1_000_000:x}"


def test_identical_repeat_after_written_updates_count_and_last_timestamp() -> None:
    events = correlator()
    first = created(events, "m", warn("TaskHung", "blocked"))
    later = T0 + timedelta(seconds=42)
    repeat = events.observe("m", warn("TaskHung", "blocked", at=later))
    assert repeat == Decision(
        first.key,
        first.name,
        {"count": 2, "lastTimestamp": "2024-05-01T12:00:42Z", "message": "blocked"},
        create=False,
    )
    events.written(repeat)
    # A repeat stamped earlier (a replayed log line) does not move lastTimestamp back.
    again = events.observe("m", warn("TaskHung", "blocked", at=T0))
    assert again is not None
    assert again.body == {"count": 3, "lastTimestamp": "2024-05-01T12:00:42Z", "message": "blocked"}


def test_repeat_differs_by_source_type_reason_or_message() -> None:
    events = correlator()
    first = created(events, "m", warn("R", "text"))
    others = [
        events.observe("other-monitor", warn("R", "text")),
        events.observe("m", Event(Severity.INFO, T0, "R", "text")),
        events.observe("m", warn("R2", "text")),
        events.observe("m", warn("R", "text2")),
    ]
    for decision in others:
        assert decision is not None and decision.create and decision.name != first.name


def test_a_refused_event_is_created_afresh_on_repeat() -> None:
    events = correlator()
    first = events.observe("m", warn("R", "x"))
    assert first is not None
    events.forget(first)
    again = events.observe("m", warn("R", "x"))
    assert again is not None and again.create and again.body["count"] == 1


def test_ten_distinct_messages_of_one_reason_combine_from_the_tenth() -> None:
    clock = Clock()
    events = correlator(clock)
    names = set()
    for index in range(1, 10):
        decision = created(events, "m", warn("OOMKilling", f"killed process {index}"))
        assert decision.body["message"] == f"killed process {index}"
        names.add(decision.name)
        clock.now += 1
    tenth = created(events, "m", warn("OOMKilling", "killed process 10"))
    assert tenth.body["message"] == COMBINED_PREFIX + "killed process 10"
    assert tenth.body["count"] == 1
    assert tenth.name not in names
    eleventh = events.observe("m", warn("OOMKilling", "killed process 11"))
    assert eleventh is not None and not eleventh.create
    assert eleventh.name == tenth.name
    assert eleventh.body["count"] == 2
    assert eleventh.body["message"] == "(combined from similar events): killed process 11"
    # An earlier message repeated joins the combined series too.
    events.written(eleventh)
    repeat = events.observe("m", warn("OOMKilling", "killed process 1"))
    assert repeat is not None and repeat.name == tenth.name and repeat.body["count"] == 3


def test_other_reasons_are_not_combined_with_a_flood() -> None:
    events = correlator()
    for index in range(12):
        flood = events.observe("m", warn("OOMKilling", f"killed {index}"))
        assert flood is not None
        events.written(flood)
    assert flood.body["message"].startswith(COMBINED_PREFIX)
    decision = events.observe("m", warn("TaskHung", "blocked"))
    assert decision is not None and decision.body["message"] == "blocked"


def test_combining_resets_after_ten_quiet_minutes() -> None:
    clock = Clock()
    events = correlator(clock)
    for index in range(10):
        created(events, "m", warn("R", f"m{index}"))
    # Activity every 5 minutes keeps the series going…
    clock.now += 300
    assert events.observe("m", warn("R", "m10")) is not None
    clock.now += 300
    busy = events.observe("m", warn("R", "m11"))
    assert busy is not None and busy.body["message"].startswith(COMBINED_PREFIX)
    # …but after more than 10 minutes of quiet, messages stand alone again.
    clock.now += 601
    quiet = events.observe("m", warn("R", "m12"))
    assert quiet is not None and quiet.create
    assert quiet.body["message"] == "m12"


def test_spam_filter_holds_the_26th_and_passes_one_more_after_300_seconds() -> None:
    clock = Clock()
    events = correlator(clock)
    first = created(events, "m", warn("TaskHung", "blocked"))
    for count in range(2, 26):
        decision = events.observe("m", warn("TaskHung", "blocked"))
        assert decision is not None, f"write {count} was held"
        assert decision.body["count"] == count
        events.written(decision)
        clock.now += 1
    assert events.observe("m", warn("TaskHung", "blocked")) is None  # 26th
    assert events.observe("m", warn("TaskHung", "blocked")) is None  # 27th
    clock.now += 150
    assert events.observe("m", warn("TaskHung", "blocked")) is None  # half a token
    clock.now += 150
    passed = events.observe("m", warn("TaskHung", "blocked"))
    assert passed is not None and passed.name == first.name
    assert passed.body["count"] == 29  # the three held repeats counted
    assert events.observe("m", warn("TaskHung", "blocked")) is None


def test_spam_filter_held_first_write_is_created_later_with_the_true_count() -> None:
    clock = Clock()
    events = correlator(clock)
    created(events, "m", warn("R", "x"))
    for _ in range(24):
        repeat = events.observe("m", warn("R", "x"))
        assert repeat is not None
        events.written(repeat)
    assert events.observe("m", warn("R", "fresh")) is None
    assert events.observe("m", warn("R", "fresh")) is None
    clock.now += 300
    decision = events.observe("m", warn("R", "fresh"))
    assert decision is not None and decision.create  # never reached the server before
    assert decision.body["count"] == 3


def test_one_reasons_flood_does_not_hold_back_another() -> None:
    events = correlator()
    for index in range(30):
        events.observe("kernel-monitor", warn("OOMKilling", f"killed {index}"))
    assert events.observe("kernel-monitor", warn("OOMKilling", "killed 31")) is None
    other_reason = events.observe("kernel-monitor", warn("TaskHung", "blocked"))
    assert other_reason is not None and other_reason.body["reason"] == "TaskHung"
    other_source = events.observe("docker-monitor", warn("OOMKilling", "killed 1"))
    assert other_source is not None


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        # room = 1024 - len("…") = 1021 bytes: the cut falls inside a 2-byte "é"…
        ("é" * 600, "é" * 510),
        # …inside a 4-byte emoji…
        ("ab" + "😀" * 300, "ab" + "😀" * 254),
        # …inside a 3-byte CJK character.
        ("xy" + "漢" * 400, "xy" + "漢" * 339),
    ],
)
def test_long_message_is_cut_to_1024_bytes_on_a_character_boundary(message: str, kept: str) -> None:
    decision = correlator().observe("m", warn("R", message))
    assert decision is not None
    text = decision.body["message"]
    assert text == kept + "…"
    assert len(text.encode()) <= 1024


def test_message_of_exactly_1024_bytes_is_kept_whole() -> None:
    message = "a" * 1022 + "é"
    decision = correlator().observe("m", warn("R", message))
    assert decision is not None and decision.body["message"] == message


def test_combined_message_is_cut_to_1024_bytes_too() -> None:
    events = correlator()
    for index in range(9):
        created(events, "m", warn("R", f"short {index}"))
    decision = events.observe("m", warn("R", "é" * 600))
    assert decision is not None
    text = decision.body["message"]
    assert text.startswith(COMBINED_PREFIX + "é") and text.endswith("…")
    assert len(text.encode()) <= 1024
    text.encode().decode()  # valid UTF-8


def test_series_cache_keeps_the_4096_most_recently_used() -> None:
    assert CorrelatorLimits().cache_size == 4096
    events = correlator()
    first = {}
    for index in range(4096):
        first[index] = created(events, "m", warn(f"Reason{index}", "x")).name
    # Reason0 is used again, so Reason1 is now the least recently used…
    touched = events.observe("m", warn("Reason0", "x"))
    assert touched is not None and not touched.create
    events.written(touched)
    created(events, "m", warn("Reason4096", "x"))  # …and is evicted by the 4097th series.
    kept = events.observe("m", warn("Reason0", "x"))
    assert kept is not None and not kept.create and kept.name == first[0] and kept.body["count"] == 3
    evicted = events.observe("m", warn("Reason1", "x"))
    assert evicted is not None and evicted.create
    assert evicted.name != first[1] and evicted.body["count"] == 1
    # Re-creating Reason1's series evicted the least recently used one left, Reason2.
    still = events.observe("m", warn("Reason3", "x"))
    assert still is not None and not still.create and still.name == first[3]
