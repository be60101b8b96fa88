"""The compatibility corpus: upstream's shipped configs and 60 configs written by third parties.

Every config upstream ships loads. Of the third-party configs, each one upstream would accept loads
(unknown keys only warn) and each one upstream refuses (invalid JSON, a regex Go cannot compile, an
unknown plugin, a custom plugin config failing upstream's ``Validate``) raises :class:`ConfigError`
with one line naming the file and the problem. The verdicts are stated file by file below, worked
out from ``/work/shared/compat/third-party-config/INDEX.md`` and upstream's loaders; the Go reference
program re-derives them as a cross-check where Go is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from npd.config.errors import ConfigError
from npd.config.loader import MonitorKind
from npd.config.logmonitor import LogMonitorConfig
from tests.config.configfiles import load
from tests.config.goref import GoReference

COMPAT = Path("/work/shared/compat")
UPSTREAM_DIR = COMPAT / "upstream-config"
THIRD_PARTY_DIR = COMPAT / "third-party-config"

LOG = MonitorKind.SYSTEM_LOG
CUSTOM = MonitorKind.CUSTOM_PLUGIN
STATS = MonitorKind.SYSTEM_STATS
LOADS = "loads"

pytestmark = pytest.mark.skipif(not COMPAT.is_dir(), reason=f"the compatibility corpus is not at {COMPAT}")


def kind_of_plugin(plugin: object) -> MonitorKind:
    """The loader a ``plugin`` value selects: custom → custom plugin, none → system stats, else log."""
    if plugin is None:
        return STATS
    return CUSTOM if plugin == "custom" else LOG


def upstream_configs() -> list[Path]:
    # Top level only: exporter/ and guestosconfig/ hold no monitor configs.
    return sorted(UPSTREAM_DIR.glob("*.json")) if UPSTREAM_DIR.is_dir() else []


def test_upstream_corpus_is_complete() -> None:
    assert len(upstream_configs()) == 26


@pytest.mark.parametrize("path", upstream_configs(), ids=lambda path: path.name)
def test_every_upstream_config_loads(path: Path) -> None:
    kind = kind_of_plugin(json.loads(path.read_text()).get("plugin"))
    config, warnings = load(path, kind)
    assert config.file == str(path)
    if isinstance(config, LogMonitorConfig):
        assert config.unusable == ""
    # Upstream's own configs use no key npd does not know; only their plugin executables are absent here.
    assert [warning for warning in warnings if not warning.endswith("does not exist here")] == []


# file → (the loader its "plugin" selects, LOADS or "rejected: <part of the problem>")
# fmt: off
THIRD_PARTY: dict[str, tuple[MonitorKind, str]] = {
    "aks-agentbaker__custom-fs-corruption-monitor.json": (CUSTOM, LOADS),
    # rule timeout 3m == global timeout 3m
    "aks-agentbaker__custom-kubelet-monitor.json": (CUSTOM, LOADS),
    "aks-agentbaker__custom-plugin-ib-link-flapping.json": (CUSTOM, LOADS),
    "aks-agentbaker__custom-plugin-xid-error.json": (CUSTOM, LOADS),
    # conditions [] and temporary rules only
    "aks-agentbaker__custom-scheduledevents-consolidated-plugin-monitor.json": (CUSTOM, LOADS),
    "aks-agentbaker__dns-problem-monitor.json": (CUSTOM, LOADS),
    "aks-agentbaker__kernel-monitor.json": (LOG, LOADS),
    "aks-agentbaker__node-problem-detector-conf.json": (LOG, LOADS),  # JSON \/ escapes
    "aliyun-npd__fd-problem-monitor.json": (CUSTOM, LOADS),  # unknown rule key "message": a warning
    "ashoksrirama-npd-gpu__gpu-monitor.json": (CUSTOM, LOADS),
    "aws-neuron-helm__kernel-monitor.json": (LOG, LOADS),
    "aws-neuron-samples__ecs-cdk-kernel-monitor.compact.json": (LOG, LOADS),
    "azure-kdebug__kdebug-dns.json": (CUSTOM, LOADS),
    # PCRE's \X, which neither RE2 nor Go has
    "bcdonadio-npd__kernel-monitor.json": (LOG, "rejected: invalid escape sequence: \\X"),
    "bilalcaliskan-npd__kernel-monitor.json": (LOG, LOADS),  # unknown "taint" keys: warnings
    "bizflycloud-npd__kernel-monitor.json": (LOG, LOADS),  # kmsg with logPath /var/log/journal
    "bizflycloud-npd__pid-pressure-problem-monitor.json": (CUSTOM, LOADS),
    "bizflycloud-npd__systemd-check-monitor.json": (CUSTOM, LOADS),
    # rule timeout 30s > plugin timeout 5s: upstream's Validate refuses it
    "christinajshafer-npd__custom-imds-plugin-monitor.json":
        (CUSTOM, "rejected: rules[0].timeout: exceeds the global pluginConfig.timeout"),
    "giantswarm-npd-app__full-disk-check.json": (CUSTOM, LOADS),
    "giantswarm-npd-app__full-disk-check.trailing-comma.json":
        (CUSTOM, "rejected: invalid JSON at line 65 column 3"),
    "hobbytp-npd__kernel-monitor.json": (LOG, LOADS),  # journald, multi-line pattern
    "k8s-kubemark__kernel-monitor.json": (LOG, LOADS),  # filelog with "dummy" formats
    "k8s-recipes-blog__containerd-monitor.json": (LOG, LOADS),
    "k8s-recipes-blog__system-stats-monitor.json": (STATS, LOADS),
    "mcshooter-npd__windows-containerd-monitor-filelog.json": (LOG, LOADS),
    # plugin "eventlog" (unknown) and a trailing comma: the JSON error comes first
    "mcshooter-npd__windows-eventlog.json": (LOG, "rejected: invalid JSON at line 24 column 2"),
    "oci-hpc-oke__oke-gpu-xid.json": (CUSTOM, LOADS),
    "oci-hpc-oke__oke-nvidia-fast.json": (CUSTOM, LOADS),
    "oci-hpc-oke__oke-pcie-aer.json": (LOG, LOADS),  # filelog without pluginConfig: loads, unusable
    "ondrejmular-npd-operator__file-existence-monitor.json": (CUSTOM, LOADS),
    "oneuptime-blog__health-checker.healthchecker-plugin.json":
        (LOG, 'rejected: plugin: unknown plugin "healthchecker"'),
    # system stats: upstream's stats loader has no "plugin" field and ignores the key
    "oneuptime-blog__system-stats-monitor.plugin-key.json": (STATS, LOADS),
    "openshift-npd-fork__kernel-monitor.json": (LOG, LOADS),
    "openshift-npd-operator__kernel_monitor.json": (LOG, LOADS),
    "openshift-npd-operator__kubelet_monitor.json": (CUSTOM, LOADS),
    "powerhome-npd__kernel-monitor-with-parser.json": (LOG, LOADS),  # (?s), unknown "valuePatterns"
    "rocm-gpu-operator__amdgpu-custom-plugin-monitor.json": (CUSTOM, LOADS),
    # a "[...]" placeholder
    "rocm-gpu-operator__amdgpuhealth.placeholder.json":
        (CUSTOM, "rejected: invalid JSON at line 9 column 18"),
    "rocm-gpu-operator__npd-dmesg-kernel-monitor.json": (LOG, LOADS),
    "rrs45-npd__sensu-monitor.json": (LOG, 'rejected: plugin: unknown plugin "sensulog"'),
    "scality-metalk8s__wp-monitor.json": (CUSTOM, LOADS),
    # every backslash doubled by a shell heredoc: valid regexes that never match
    "sebt3-debian-micro-containers__kernel-monitor.json": (LOG, LOADS),
    "superbrothers-try-cpm__custom-plugin-monitor.json": (CUSTOM, LOADS),
    "superorbital-npd-demo__poison-monitor.json": (CUSTOM, LOADS),
    "supporttools-blog__aws-nvme-monitor.json": (LOG, LOADS),
    "supporttools-blog__custom-plugin-camelcase-ms.json": (CUSTOM, LOADS),  # invented keys: warnings
    "supporttools-blog__kernel-monitor.minimal-no-rules.json": (LOG, LOADS),
    # a log monitor ignores permanent rules without a declared condition (warnings)
    "supporttools-blog__kernel-monitor.permanent-no-condition.json": (LOG, LOADS),
    "supporttools-blog__mce-monitor.json": (LOG, LOADS),
    # no timestampFormat: loads, unusable
    "supporttools-blog__syslog-filelog.logPath-in-pluginConfig.json": (LOG, LOADS),
    "supporttools-blog__system-stats-monitor.metricType.json": (STATS, LOADS),
    "supporttools-blog__systemd-monitor.journal-filter.json": (LOG, LOADS),  # no source: unusable
    "supporttools-blog__systemd-monitor.journalDirs.json": (LOG, LOADS),  # no pluginConfig: unusable
    "uswitch__aws-ec2-spot-termination-plugin-monitor.json": (CUSTOM, LOADS),
    "uswitch__kiam-agent-health-config.json": (CUSTOM, LOADS),
    "uswitch__local-dns-resolver-config.json": (CUSTOM, LOADS),
    # a missing comma between two args
    "wangzhen127-npd__health-monitor-container-runtime.json":
        (CUSTOM, "rejected: invalid JSON at line 19 column 9"),
    "xueweiz-npd__self-monitor.json": (STATS, LOADS),  # self-monitor schema: unknown keys ignored
    # a half-resolved git merge conflict
    "yusheng-guo-npd__system-stats-monitor.merge-conflict.json":
        (STATS, "rejected: invalid JSON at line 2 column 1"),
}
# fmt: on

#: Log monitor configs that load but cannot run (upstream starts them and they never work).
UNUSABLE = {
    "oci-hpc-oke__oke-pcie-aer.json",
    "supporttools-blog__syslog-filelog.logPath-in-pluginConfig.json",
    "supporttools-blog__systemd-monitor.journal-filter.json",
    "supporttools-blog__systemd-monitor.journalDirs.json",
}

#: Unknown keys the INDEX lists, each of which must be warned about (file → JSON paths).
EXPECTED_WARNINGS = {
    "aliyun-npd__fd-problem-monitor.json": ["rules[0].message: unknown key ignored"],
    "bilalcaliskan-npd__kernel-monitor.json": [
        "conditions[1].taintEnabled: unknown key ignored",
        "rules[11].taint: unknown key ignored",
    ],
    "powerhome-npd__kernel-monitor-with-parser.json": ["rules[0].valuePatterns: unknown key ignored"],
    "supporttools-blog__custom-plugin-camelcase-ms.json": [
        "pluginConfig.invokeIntervalMs: unknown key ignored"
    ],
    "supporttools-blog__systemd-monitor.journalDirs.json": ["journalDirs: unknown key ignored"],
    "xueweiz-npd__self-monitor.json": ["metricsConfigs: unknown key ignored"],
    "oneuptime-blog__system-stats-monitor.plugin-key.json": [
        "plugin: unknown key ignored",
        "memory.metricsConfigs.memory/available: unknown metric, ignored",
    ],
    "supporttools-blog__kernel-monitor.permanent-no-condition.json": [
        f"rules[{index}].condition: '' is not among the declared conditions" for index in (2, 3, 4, 5)
    ],
}


def test_third_party_table_covers_the_corpus() -> None:
    assert sorted(THIRD_PARTY) == sorted(path.name for path in THIRD_PARTY_DIR.glob("*.json"))
    verdicts = [verdict for _, verdict in THIRD_PARTY.values()]
    assert (len(verdicts), verdicts.count(LOADS)) == (60, 51)


@pytest.mark.parametrize(
    ("name", "kind"), [(name, kind) for name, (kind, v) in THIRD_PARTY.items() if v == LOADS]
)
def test_third_party_configs_upstream_accepts_load(name: str, kind: MonitorKind) -> None:
    path = THIRD_PARTY_DIR / name
    config, warnings = load(path, kind)
    assert config.file == str(path)
    if isinstance(config, LogMonitorConfig):
        assert bool(config.unusable) == (name in UNUSABLE)
    for expected in EXPECTED_WARNINGS.get(name, []):
        assert any(warning.startswith(f"{path}: {expected}") for warning in warnings), expected
    assert all("\n" not in warning for warning in warnings)


@pytest.mark.parametrize(
    ("name", "kind", "problem"),
    [(name, kind, v.removeprefix("rejected: ")) for name, (kind, v) in THIRD_PARTY.items() if v != LOADS],
)
def test_third_party_configs_upstream_refuses_are_rejected_in_one_line(
    name: str, kind: MonitorKind, problem: str
) -> None:
    path = THIRD_PARTY_DIR / name
    with pytest.raises(ConfigError) as caught:
        load(path, kind)
    line = caught.value.line()
    assert line.startswith(f"{path}: ")
    assert problem in line
    assert len(line.splitlines()) == 1


UNKNOWN_PLUGIN = [name for name, (_, verdict) in THIRD_PARTY.items() if "unknown plugin" in verdict]


@pytest.mark.parametrize("name", UNKNOWN_PLUGIN)
@pytest.mark.parametrize("kind", [LOG, CUSTOM])
def test_unknown_plugin_configs_are_rejected_whichever_flag_names_them(name: str, kind: MonitorKind) -> None:
    with pytest.raises(ConfigError) as caught:
        load(THIRD_PARTY_DIR / name, kind)
    assert caught.value.path == "plugin"


def test_the_table_agrees_with_the_go_reference(go_reference: GoReference) -> None:
    names = sorted(THIRD_PARTY)
    go_kind = {LOG: "log", CUSTOM: "custom", STATS: "stats"}
    disagreements = []
    for kind in (LOG, CUSTOM, STATS):
        group = [name for name in names if THIRD_PARTY[name][0] is kind]
        verdicts = go_reference.configs(go_kind[kind], [THIRD_PARTY_DIR / name for name in group])
        for name, go_error in zip(group, verdicts, strict=True):
            if (go_error is None) != (THIRD_PARTY[name][1] == LOADS):
                disagreements.append((name, go_error))
    assert disagreements == []


def test_upstream_configs_agree_with_the_go_reference(go_reference: GoReference) -> None:
    go_kind = {LOG: "log", CUSTOM: "custom", STATS: "stats"}
    for kind in (LOG, CUSTOM, STATS):
        group = [
            p for p in upstream_configs() if kind_of_plugin(json.loads(p.read_text()).get("plugin")) is kind
        ]
        assert go_reference.configs(go_kind[kind], group) == [None] * len(group)
