"""The Nagios performance data parser and output splitter, on real plugins' strings and on garbage."""

from __future__ import annotations

import pytest

from npd.metrics.model import MetricFamily, merged
from npd.monitors.perfdata import PerfItem, parse_perfdata, perfdata_families, split_output


def test_check_disk_item() -> None:
    assert parse_perfdata("/=2643MB;5843;6573;0;7304") == [PerfItem("/", 2643, "MB", 5843, 6573, 0, 7304)]


def test_check_load_items_with_an_empty_max() -> None:
    text = "load1=0.000;15.000;30.000;0; load5=0.010;10.000;25.000;0; load15=0.050;5.000;20.000;0; "
    assert parse_perfdata(text) == [
        PerfItem("load1", 0.0, "", 15.0, 30.0, 0.0, None),
        PerfItem("load5", 0.01, "", 10.0, 25.0, 0.0, None),
        PerfItem("load15", 0.05, "", 5.0, 20.0, 0.0, None),
    ]


def test_value_only_and_partial_thresholds() -> None:
    assert parse_perfdata("a=1 b=2;;3 c=-4.5;1") == [
        PerfItem("a", 1.0),
        PerfItem("b", 2.0, "", None, 3.0),
        PerfItem("c", -4.5, "", 1.0),
    ]


def test_quoted_labels_with_spaces_and_escaped_quotes() -> None:
    text = "'C:\\ Label used'=12.5%;80;90 'it''s here'=3 'x'=1c"
    assert parse_perfdata(text) == [
        PerfItem("C:\\ Label used", 12.5, "%", 80.0, 90.0),
        PerfItem("it's here", 3.0),
        PerfItem("x", 1.0, "c"),
    ]


@pytest.mark.parametrize("uom", ["s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c", "MiB", ""])
def test_units(uom: str) -> None:
    assert parse_perfdata(f"time=0.25{uom};1;2;0;10") == [PerfItem("time", 0.25, uom, 1.0, 2.0, 0.0, 10.0)]


def test_ranges_are_skipped_but_the_value_kept() -> None:
    # check_procs -c 1:1 prints exactly this; @, ~ and open ranges are ranges too.
    assert parse_perfdata("procs=0;;1:1;0; a=5;@10:20;~:3;10:;") == [
        PerfItem("procs", 0.0, "", None, None, 0.0, None),
        PerfItem("a", 5.0),
    ]


def test_scientific_and_signed_numbers() -> None:
    assert parse_perfdata("a=1e3 b=+2.5E-1 c=.5 d=7.") == [
        PerfItem("a", 1000.0),
        PerfItem("b", 0.25),
        PerfItem("c", 0.5),
        PerfItem("d", 7.0),
    ]


def test_garbage_is_skipped_item_by_item() -> None:
    text = (
        "good=1 =2 novalue= noequals bad=abc U=U x=5°C nan=nan inf=1e999 also=2;nan;inf;1e999;x "
        "spaced label=4 'q'x=7 last=8"
    )
    assert parse_perfdata(text) == [
        PerfItem("good", 1.0),
        PerfItem("also", 2.0),
        PerfItem("label", 4.0),
        PerfItem("last", 8.0),
    ]


def test_an_unclosed_quote_swallows_the_rest() -> None:
    # Without a closing quote nothing after it can be told apart from the label.
    assert parse_perfdata("good=1 'unclosed=3 more=4") == [PerfItem("good", 1.0)]


@pytest.mark.parametrize("text", ["", "   ", "|", "=", "'", "''=1", ";;;;", "a=;;;", "a==1", "\x00=\x00"])
def test_degenerate_texts_give_nothing(text: str) -> None:
    assert parse_perfdata(text) == []


def test_split_first_line() -> None:
    out = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5843;6573;0;7304\n"
    assert split_output(out) == ("DISK OK - free space: / 3326 MB (56%);", " /=2643MB;5843;6573;0;7304")


def test_split_without_perfdata() -> None:
    assert split_output("  PING OK - Packet loss = 0%  \n") == ("PING OK - Packet loss = 0%", "")


def test_split_multiline_perfdata_from_the_first_later_bar_to_the_end() -> None:
    # The guidelines' example: long text lines, then "| perfdata" and more perfdata lines.
    out = (
        "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
        "/ 15272 MB (77%);\n"
        "/boot 68 MB (69%);\n"
        "/home 69357 MB (27%);\n"
        "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
        "/home=69357MB;253404;253409;0;253414\n"
        "/var/log=818MB;970;975;0;980\n"
    )
    message, perf = split_output(out)
    assert message == "DISK OK - free space: / 3326 MB (56%);"
    assert [item.label for item in parse_perfdata(perf)] == ["/", "/boot", "/home", "/var/log"]


def test_a_truncated_output_drops_the_item_the_cut_ran_through() -> None:
    assert split_output("OK | a=1 b=2 c=12", truncated=True)[1] == " a=1 b=2 "
    assert split_output("OK | a=12", truncated=True)[1].strip() == ""
    # A cut in the long text after a one-line perfdata does not touch the perfdata.
    assert split_output("OK | a=1 b=12\nlong text that was cu", truncated=True)[1] == " a=1 b=12"
    # Nothing is dropped when the output was whole.
    assert split_output("OK | a=1 b=12")[1] == " a=1 b=12"


def test_families_and_thresholds() -> None:
    items = [
        PerfItem("/", 2643, "MB", 5843, 6573, 0, 7304),
        PerfItem("/", 1),
        PerfItem("procs", 3, "", None, 4),
    ]
    values, thresholds = perfdata_families(("m", "r", item) for item in items)
    assert values.name == "npd_plugin_perfdata" and values.type == "gauge"
    # A label seen twice keeps the first.
    assert [(dict(s.labels), s.value) for s in values.samples] == [
        ({"monitor": "m", "rule": "r", "label": "/", "uom": "MB"}, 2643),
        ({"monitor": "m", "rule": "r", "label": "procs", "uom": ""}, 3),
    ]
    assert [(dict(s.labels)["label"], dict(s.labels)["kind"], s.value) for s in thresholds.samples] == [
        ("/", "warn", 5843),
        ("/", "crit", 6573),
        ("/", "min", 0),
        ("/", "max", 7304),
        ("procs", "crit", 4),
    ]
    assert perfdata_families([]) == []


def test_merged_lists_each_family_once_with_everyones_samples() -> None:
    def one(monitor: str) -> list[MetricFamily]:
        return perfdata_families([(monitor, "r", PerfItem("a", 1, "", 2))])

    families = merged([lambda: one("m1"), lambda: one("m2")])()
    assert [family.name for family in families] == ["npd_plugin_perfdata", "npd_plugin_perfdata_threshold"]
    assert [dict(s.labels)["monitor"] for s in families[0].samples] == ["m1", "m2"]
    assert [dict(s.labels)["monitor"] for s in families[1].samples] == ["m1", "m2"]
