"""System log monitor configs (``--config.system-log-monitor``): kmsg, journald and filelog."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from npd.config.conditions import DefaultCondition, load_conditions
from npd.config.errors import ConfigError
from npd.config.jsonfields import Fields, json_type_name
from npd.config.lifecycle import Resolve, load_count, load_resolve
from npd.config.ruletests import RuleTest, load_rule_tests
from npd.goregex import GoRegexError, anchor_end, compile_go
from npd.problem import RuleType


class LogPlugin(enum.StrEnum):
    """The log a system log monitor reads."""

    KMSG = "kmsg"
    JOURNALD = "journald"
    FILELOG = "filelog"


#: How long a source may fail before its conditions turn Unknown: long enough to ride out a
#: reopen after a transient error, short enough that a broken source is not reported as healthy.
DEFAULT_UNREADABLE_AFTER = 10.0


@dataclass(frozen=True, slots=True)
class LogRule:
    """One rule: a Go pattern that must match up to the end of the newest log line."""

    type: RuleType
    reason: str
    pattern: str
    condition: str = ""
    message_suffix: str = ""
    # npd extensions (docs/lifecycle.md):
    #: Fire on the ``count``-th match within ``window`` seconds (1: on every match).
    count: int = 1
    window: float = 0.0
    #: How this permanent rule's condition clears; ``None``: it never does (upstream).
    resolve: Resolve | None = None
    #: A rule generated from another rule's ``resolve.pattern``: its matches clear that rule's
    #: condition (when that rule raised it) instead of raising anything.
    clears: bool = False


@dataclass(frozen=True, slots=True)
class FilelogFormat:
    """How a filelog monitor splits a line into timestamp and message (``pluginConfig``)."""

    timestamp: str
    message: str
    timestamp_format: str


@dataclass(frozen=True, slots=True)
class LogMonitorConfig:
    """A validated system log monitor config; durations are in seconds."""

    file: str
    plugin: LogPlugin
    source: str
    log_path: str
    lookback: float
    delay: float
    buffer_size: int
    metrics_reporting: bool
    conditions: tuple[DefaultCondition, ...]
    rules: tuple[LogRule, ...]
    skip_list: tuple[str, ...] = ()
    journald_identifiers: tuple[str, ...] = ()
    filelog: FilelogFormat | None = None
    #: Why this monitor cannot run although upstream would load the file (it logs an error and
    #: runs without it); empty when it can run.
    unusable: str = ""
    #: npd extension: seconds a source must stay unreadable before the monitor's conditions
    #: turn Unknown; ``None`` when the monitor keeps its conditions as they were.
    unreadable_after: float | None = DEFAULT_UNREADABLE_AFTER
    #: npd extension: rule fixtures for ``npd check-config --test`` (docs/check-config.md).
    tests: tuple[RuleTest, ...] = ()

    @property
    def clears_with_time(self) -> bool:
        """Whether time alone can change a condition: a ``resolve.after`` or ``flapDamping``."""
        return any(rule.resolve is not None and rule.resolve.after for rule in self.rules) or any(
            condition.flap_damping is not None for condition in self.conditions
        )

    @property
    def resolvers(self) -> tuple[LogRule, ...]:
        """The clearing rules generated from the rules' ``resolve.pattern`` (config order)."""
        return tuple(
            LogRule(
                type=rule.type,
                reason=rule.reason,
                pattern=rule.resolve.pattern,
                condition=rule.condition,
                clears=True,
            )
            for rule in self.rules
            if rule.resolve is not None and rule.resolve.pattern
        )


_RULE_TYPES = {item.value: item for item in RuleType}
#: The largest buffer npd accepts: a rule spanning more lines than this is not a log rule.
MAX_BUFFER_SIZE = 100_000


def load_log_monitor(top: Fields, warn: Callable[[str], None]) -> LogMonitorConfig:
    """Validate a system log monitor config read from JSON."""
    file = top.file
    plugin_name = top.string("plugin")
    try:
        plugin = LogPlugin(plugin_name)
    except ValueError:
        raise top.error(
            "plugin", f'unknown plugin "{plugin_name}" (expected "kmsg", "journald" or "filelog")'
        ) from None

    buffer_size = top.integer("bufferSize", 0)
    if buffer_size < 0:
        raise top.error("bufferSize", f"must not be negative, got {buffer_size}")
    if buffer_size > MAX_BUFFER_SIZE:
        # Upstream allocates the buffer up front and would run out of memory.
        raise top.error("bufferSize", f"{buffer_size} lines is more than npd allows ({MAX_BUFFER_SIZE})")
    buffer_size = buffer_size or 10

    lookback = top.duration("lookback", "0") if top.string("lookback") else 0.0
    delay = top.duration("delay", "0") if top.string("delay") else 0.0
    for key, value in (("lookback", lookback), ("delay", delay)):
        if value < 0:
            warn(f"{file}: {key}: negative duration; upstream accepts it, it moves the start time forward")

    conditions = load_conditions(top, warn)
    rules = _load_rules(top, conditions, warn)
    plugin_config = _plugin_config(top, plugin, warn)
    unusable = ""
    identifiers: tuple[str, ...] = ()
    filelog: FilelogFormat | None = None
    if plugin is LogPlugin.JOURNALD:
        identifiers = _journald_identifiers(plugin_config.get("source"), top)
        if not identifiers:
            unusable = "pluginConfig.source (the SYSLOG_IDENTIFIER to read) is empty"
            warn(f"{file}: pluginConfig.source: empty; upstream fails to start this monitor, and so does npd")
    elif plugin is LogPlugin.FILELOG:
        filelog, unusable = _filelog_format(plugin_config, top, warn)

    unreadable_after: float | None = DEFAULT_UNREADABLE_AFTER
    if top.has("unreadableAfter"):
        unreadable_after = top.duration("unreadableAfter", "0")
        if unreadable_after < 0:
            raise top.error("unreadableAfter", "must not be negative")
    if not top.boolean("reportUnreadable", True):
        unreadable_after = None

    skip_list = tuple(top.string_list("skipList"))
    if skip_list and plugin is not LogPlugin.FILELOG:
        warn(f"{file}: skipList: only filelog monitors use it; ignored, as upstream does")

    config = LogMonitorConfig(
        file=file,
        plugin=plugin,
        source=top.string("source"),
        log_path=top.string("logPath"),
        lookback=lookback,
        delay=delay,
        buffer_size=buffer_size,
        metrics_reporting=top.boolean("metricsReporting", True, nullable=True),
        conditions=conditions,
        rules=rules,
        skip_list=skip_list if plugin is LogPlugin.FILELOG else (),
        journald_identifiers=identifiers,
        filelog=filelog,
        unusable=unusable,
        unreadable_after=unreadable_after,
        tests=load_rule_tests(top, warn),
    )
    top.done()
    return config


def _load_rules(
    top: Fields, conditions: tuple[DefaultCondition, ...], warn: Callable[[str], None]
) -> tuple[LogRule, ...]:
    declared = {condition.type for condition in conditions}
    rules = []
    for path, item in top.array("rules"):
        fields = Fields(item, top.file, path, warn)
        type_name = fields.string("type")
        rule_type = _RULE_TYPES.get(type_name)
        if rule_type is None:
            # Upstream tests `type == "temporary"` and treats everything else as permanent.
            warn(
                f'{top.file}: {path}.type: "{type_name}" is neither temporary nor permanent; '
                "treated as permanent, as upstream does"
            )
            rule_type = RuleType.PERMANENT
        pattern = fields.string("pattern")
        try:
            compile_go(pattern)
            compile_go(anchor_end(pattern))
        except GoRegexError as exc:
            raise fields.error("pattern", str(exc)) from None
        count, window = load_count(fields)
        rule = LogRule(
            type=rule_type,
            reason=fields.string("reason"),
            pattern=pattern,
            condition=fields.string("condition"),
            message_suffix=fields.string("patternGeneratedMessageSuffix"),
            count=count,
            window=window,
            resolve=load_resolve(fields, rule_type),
        )
        fields.done()
        if rule.type is RuleType.PERMANENT and rule.condition not in declared:
            warn(
                f"{top.file}: {path}.condition: {rule.condition!r} is not among the declared conditions; "
                "the rule never fires (upstream ignores it silently)"
            )
        rules.append(rule)
    return tuple(rules)


_PLUGIN_KEYS = {
    LogPlugin.KMSG: set(),
    LogPlugin.JOURNALD: {"source"},
    LogPlugin.FILELOG: {"timestamp", "message", "timestampFormat"},
}


def _plugin_config(top: Fields, plugin: LogPlugin, warn: Callable[[str], None]) -> dict[str, Any]:
    """``pluginConfig``: upstream's ``map[string]string``, so keys are exact, not case-folded."""
    out: dict[str, Any] = {}
    for key, item in top.mapping("pluginConfig"):
        path = f"pluginConfig.{key}"
        if key not in _PLUGIN_KEYS[plugin]:
            warn(f"{top.file}: {path}: not used by {plugin.value} monitors; ignored")
        text = "" if item is None else item
        is_identifier_list = (
            plugin is LogPlugin.JOURNALD and key == "source" and type(text) is list  # not a JSON object
        )
        if not isinstance(text, str) and not is_identifier_list:
            raise ConfigError(top.file, path, f"expected a string, got {json_type_name(text)}")
        out[key] = text
    return out


def _journald_identifiers(value: Any, top: Fields) -> tuple[str, ...]:
    # npd extension: "source" may be an array of identifiers (upstream takes one string).
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    if not all(isinstance(item, str) for item in value):
        raise ConfigError(top.file, "pluginConfig.source", "expected a string or an array of strings")
    return tuple(dict.fromkeys(item for item in value if item))


def _filelog_format(
    values: dict[str, Any], top: Fields, warn: Callable[[str], None]
) -> tuple[FilelogFormat | None, str]:
    for key in ("timestamp", "message"):
        if values.get(key):
            try:
                compile_go(values[key])
            except GoRegexError as exc:
                raise ConfigError(top.file, f"pluginConfig.{key}", str(exc)) from None
    missing = [key for key in ("timestamp", "message", "timestampFormat") if not values.get(key)]
    if missing:
        names = ", ".join(f"pluginConfig.{key}" for key in missing)
        warn(
            f"{top.file}: {names}: missing; upstream logs an error and misparses every line, "
            "npd does not start this monitor"
        )
        return None, f"{names} missing"
    return FilelogFormat(values["timestamp"], values["message"], values["timestampFormat"]), ""
