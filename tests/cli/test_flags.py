"""The daemon's command line, parsed with pflag's rules (:class:`npd.cli.flags.FlagSet`).

Existing DaemonSets pass upstream's flags in every form pflag and klog accept: ``--flag=value`` and
``--flag value``, bare booleans and Go's boolean spellings, ``-v`` in its four shapes, klog's own
flags, comma lists that accumulate when repeated, and the deprecated ``--system-log-monitors``.
"""

from __future__ import annotations

from typing import Any

import pytest

from npd.cli.flags import Flag, FlagError, FlagSet, Kind
from npd.daemon.options import DEFAULT_STATE_DIR, Options, build_options, daemon_flags


def parse(*argv: str, tool: bool = False) -> dict[str, Any]:
    values, _, _ = daemon_flags("node-problem-detector", tool=tool).parse(argv)
    return values


def options(*argv: str, tool: bool = False) -> Options:
    return build_options(parse(*argv, tool=tool), tool=tool)


def parse_error(*argv: str, tool: bool = False) -> str:
    with pytest.raises(FlagError) as caught:
        build_options(parse(*argv, tool=tool), tool=tool)
    return str(caught.value)


GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")

ACCEPTED: list[tuple[list[str], dict[str, Any]]] = [
    # --flag=value and --flag value
    (["--port=1234"], {"port": 1234}),
    (["--port", "1234"], {"port": 1234}),
    (["--address=0.0.0.0", "--prometheus-address", "::1"],
     {"address": "0.0.0.0", "prometheus_address": "::1"}),
    (["--hostname-override", "node-1"], {"hostname_override": "node-1"}),
    (["--port", "-1"], {"port": -1}),  # the next argument is the value even when it starts with "-"
    # Go integer syntax (strconv.ParseInt with base 0)
    (["--port=0x10"], {"port": 16}),
    (["--port=010"], {"port": 8}),
    (["--port=0"], {"port": 0}),
    (["--kube-api-qps=2.5"], {"kube_api_qps": 2.5}),
    # booleans: bare, =value, Go's spellings
    (["--enable-k8s-exporter"], {"enable_k8s_exporter": True}),
    (["--enable-k8s-exporter=false"], {"enable_k8s_exporter": False}),
    *[(["--enable-k8s-exporter=" + word], {"enable_k8s_exporter": True}) for word in GO_TRUE],
    *[(["--enable-k8s-exporter=" + word], {"enable_k8s_exporter": False}) for word in GO_FALSE],
    (["--k8s-exporter-write-events=false", "--k8s-exporter-update-node-conditions=0"],
     {"k8s_exporter_write_events": False, "k8s_exporter_update_node_conditions": False}),
    (["--version"], {"version": True}),
    # klog's verbosity, in every shape
    (["--v=4"], {"v": 4}),
    (["--v", "4"], {"v": 4}),
    (["-v", "4"], {"v": 4}),
    (["-v=4"], {"v": 4}),
    (["-v4"], {"v": 4}),
    (["-v=2", "--v=5"], {"v": 5}),  # the last one wins
    # klog's other flags are accepted
    (["--logtostderr"], {"logtostderr": True}),
    (["--logtostderr=false", "--alsologtostderr"], {"logtostderr": False, "alsologtostderr": True}),
    (["--vmodule=x=2"], {"vmodule": "x=2"}),
    (["--vmodule", "foo=3,bar=1"], {"vmodule": "foo=3,bar=1"}),
    (["--log_dir=/var/log/npd", "--stderrthreshold=INFO", "--skip_headers"],
     {"log_dir": "/var/log/npd", "stderrthreshold": "INFO", "skip_headers": True}),
    # durations
    (["--apiserver-wait-timeout=1m30s"], {"apiserver_wait_timeout": 90.0}),
    (["--apiserver-wait-interval", "500ms"], {"apiserver_wait_interval": 0.5}),
    (["--k8s-exporter-heartbeat-period=0"], {"k8s_exporter_heartbeat_period": 0.0}),
    # comma lists, accumulating when repeated
    (["--config.system-log-monitor=a.json,b.json"], {"config_system_log_monitor": ["a.json", "b.json"]}),
    (["--config.system-log-monitor", "a.json"], {"config_system_log_monitor": ["a.json"]}),
    (["--config.system-log-monitor=a.json", "--config.system-log-monitor=b.json,c.json"],
     {"config_system_log_monitor": ["a.json", "b.json", "c.json"]}),
    (["--config.custom-plugin-monitor=x.json", "--config.system-stats-monitor=s.json"],
     {"config_custom_plugin_monitor": ["x.json"], "config_system_stats_monitor": ["s.json"]}),
    (["--config.system-log-monitor="], {"config_system_log_monitor": []}),
    (['--config.system-log-monitor="a,b.json",c.json'],  # CSV quoting, as pflag reads it
     {"config_system_log_monitor": ["a,b.json", "c.json"]}),
    # npd's own
    (["--state-dir=/tmp/npd"], {"state_dir": "/tmp/npd"}),
    (["--state-dir="], {"state_dir": ""}),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "expected"), ACCEPTED, ids=[" ".join(argv) for argv, _ in ACCEPTED])
def test_accepted_command_lines(argv: list[str], expected: dict[str, Any]) -> None:
    values = parse(*argv)
    assert {key: values[key] for key in expected} == expected


REFUSED: list[tuple[list[str], str]] = [
    (["--nope"], "unknown flag: --nope"),
    (["--config.system-log-monitors=a.json"], "unknown flag: --config.system-log-monitors"),
    (["-x"], "unknown shorthand flag: 'x' in -x"),
    (["--log-format=json"], "unknown flag: --log-format"),  # npd run only
    (["--port"], "flag needs an argument: --port"),
    (["--config.system-log-monitor"], "flag needs an argument: --config.system-log-monitor"),
    (["-v"], "flag needs an argument"),
    (["--port=abc"], 'invalid argument "abc" for "--port" flag'),
    (["--port=1.5"], 'invalid argument "1.5" for "--port" flag'),
    (["--port="], 'invalid argument "" for "--port" flag'),
    (["--port=08"], 'invalid argument "08" for "--port" flag'),  # octal in Go
    (["-vx"], 'invalid argument "x" for "--v" flag'),
    (["--kube-api-burst=many"], 'invalid argument "many" for "--kube-api-burst" flag'),
    (["--apiserver-wait-timeout=5"], 'time: missing unit in duration "5"'),
    (
        ["--apiserver-wait-timeout=5 minutes"],
        'invalid argument "5 minutes" for "--apiserver-wait-timeout" flag',
    ),
    (["--enable-k8s-exporter=yes"], 'strconv.ParseBool: parsing "yes": invalid syntax'),
    (["--enable-k8s-exporter="], 'strconv.ParseBool: parsing "": invalid syntax'),
    (["--logtostderr=on"], 'invalid argument "on" for "--logtostderr" flag'),
]


@pytest.mark.parametrize(("argv", "message"), REFUSED, ids=[" ".join(argv) for argv, _ in REFUSED])
def test_refused_command_lines(argv: list[str], message: str) -> None:
    assert message in parse_error(*argv)


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["-help"], ["--port=1", "--help"]])
def test_help_is_signalled(argv: list[str]) -> None:
    assert parse_error(*argv) == "help"


def test_a_bare_boolean_does_not_take_the_next_argument() -> None:
    # pflag: "--enable-k8s-exporter false" is the flag (true) and a positional "false".
    values, positional, _ = daemon_flags("node-problem-detector", tool=False).parse(
        ["--enable-k8s-exporter", "false"]
    )
    assert values["enable_k8s_exporter"] is True
    assert positional == ["false"]


def test_double_dash_ends_the_flags() -> None:
    values, positional, _ = daemon_flags("npd run", tool=True).parse(["--v=1", "--", "--v=3", "x"])
    assert values["v"] == 1
    assert positional == ["--v=3", "x"]


# -- deprecated flags and config lists --------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "attribute"),
    [
        ("system-log-monitors", "config.system-log-monitor", "system_log_monitors"),
        ("custom-plugin-monitors", "config.custom-plugin-monitor", "custom_plugin_monitors"),
    ],
)
def test_deprecated_monitor_flags_alone_work_with_a_notice(old: str, new: str, attribute: str) -> None:
    flags = daemon_flags("node-problem-detector", tool=False)
    values, _, seen = flags.parse([f"--{old}=a.json,b.json"])
    assert getattr(build_options(values, tool=False), attribute) == ("a.json", "b.json")
    assert flags.deprecations(seen) == [f"Flag --{old} has been deprecated, replaced by --{new}."]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("system-log-monitors", "config.system-log-monitor"),
        ("custom-plugin-monitors", "config.custom-plugin-monitor"),
    ],
)
def test_deprecated_and_new_monitor_flags_together_are_an_error(old: str, new: str) -> None:
    message = parse_error(f"--{old}=a.json", f"--{new}=b.json")
    assert f"--{old}" in message
    assert f"--{new}" in message
    assert "cannot be set at the same time" in message


def test_no_deprecation_notice_for_current_flags() -> None:
    flags = daemon_flags("node-problem-detector", tool=False)
    _, _, seen = flags.parse(["--config.system-log-monitor=a.json", "--v=2"])
    assert flags.deprecations(seen) == []


@pytest.mark.parametrize(
    ("argv", "paths"),
    [
        (["--config.system-log-monitor=a.json,b.json,a.json"], ("a.json", "b.json")),
        (["--config.system-log-monitor=a.json", "--config.system-log-monitor=a.json"], ("a.json",)),
        (["--config.system-log-monitor=b.json, a.json,b.json"], ("b.json", "a.json")),
        (["--config.system-log-monitor=a.json,,b.json"], ("a.json", "b.json")),
    ],
)
def test_duplicate_config_paths_are_deduplicated(argv: list[str], paths: tuple[str, ...]) -> None:
    assert options(*argv).system_log_monitors == paths


# -- options ----------------------------------------------------------------------------------


def test_upstream_defaults() -> None:
    got = options()
    assert (got.enable_k8s_exporter, got.address, got.port, got.prometheus_address, got.prometheus_port) == (
        True, "127.0.0.1", 20256, "127.0.0.1", 20257
    )  # fmt: skip
    assert (got.system_log_monitors, got.custom_plugin_monitors, got.system_stats_monitors) == ((), (), ())
    assert (got.verbosity, got.hostname_override, got.state_dir) == (0, "", DEFAULT_STATE_DIR)
    assert (got.problem_output, got.bundled_defaults) == ("none", False)


@pytest.mark.parametrize(
    ("argv", "output", "bundled"),
    [
        ([], "text", True),
        (["--log-format=json"], "json", True),
        (["--config.system-log-monitor=a.json"], "text", False),
        (["--config.system-stats-monitor=s.json"], "text", False),
    ],
)
def test_npd_run_options(argv: list[str], output: str, bundled: bool) -> None:
    got = options(*argv, tool=True)
    assert (got.problem_output, got.bundled_defaults) == (output, bundled)


def test_npd_run_log_format_must_be_known() -> None:
    assert 'invalid argument "xml" for "--log-format" flag' in parse_error("--log-format=xml", tool=True)


def test_usage_lists_visible_flags_only() -> None:
    usage = daemon_flags("node-problem-detector", tool=False).usage()
    assert usage.startswith("Usage of node-problem-detector:\n")
    assert "--config.system-log-monitor strings" in usage
    assert "--enable-k8s-exporter\n" in usage
    assert "(default true)" in usage
    for hidden in ("--vmodule", "--logtostderr", "--system-log-monitors", "--log-format"):
        assert hidden not in usage
    assert "--log-format string" in daemon_flags("npd run", tool=True).usage()


# -- FlagSet on its own -----------------------------------------------------------------------


def test_flagset_strings_default_is_replaced_then_accumulates() -> None:
    flags = FlagSet("prog")
    flags.add(Flag("items", Kind.STRINGS, ["default"], "items"))
    assert flags.parse([])[0]["items"] == ["default"]
    assert flags.parse(["--items=a"])[0]["items"] == ["a"]
    assert flags.parse(["--items=a", "--items", "b,c"])[0]["items"] == ["a", "b", "c"]


def test_flagset_parse_does_not_share_the_default_list() -> None:
    flags = FlagSet("prog")
    default: list[str] = []
    flags.add(Flag("items", Kind.STRINGS, default, "items"))
    flags.parse(["--items=a", "--items=b"])
    assert default == []


@pytest.mark.parametrize("value", [" 80", "80 ", "99999999999999999999"])
def test_int_flags_are_parsed_like_go(value: str) -> None:
    assert "invalid argument" in parse_error(f"--port={value}")
