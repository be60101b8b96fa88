"""Custom plugin monitor configs (``--config.custom-plugin-monitor``), validated as upstream does."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from npd.config.conditions import DefaultCondition, load_conditions
from npd.config.errors import ConfigError
from npd.config.jsonfields import Fields, JSONObject
from npd.problem import RuleType


@dataclass(frozen=True, slots=True)
class PluginRule:
    """One check: run ``path`` with ``args``; exit 0 is OK, 1 is a problem, anything else Unknown."""

    type: RuleType
    reason: str
    path: str
    args: tuple[str, ...]
    timeout: float
    invoke_interval: float
    condition: str = ""


@dataclass(frozen=True, slots=True)
class PluginMonitorConfig:
    """A validated custom plugin monitor config; durations are in seconds."""

    file: str
    source: str
    invoke_interval: float
    timeout: float
    max_output_length: int
    concurrency: int
    message_change_updates: bool
    skip_initial_status: bool
    metrics_reporting: bool
    conditions: tuple[DefaultCondition, ...]
    rules: tuple[PluginRule, ...]


def load_plugin_monitor(top: Fields, warn: Callable[[str], None]) -> PluginMonitorConfig:
    """Validate a custom plugin monitor config read from JSON.

    Mirrors upstream's ``Validate``: ``plugin`` must be ``custom``; intervals, timeouts, output
    length and concurrency must be positive; a rule's timeout may not exceed the global one;
    every permanent rule's condition must be declared. A missing plugin executable is only a
    warning here: the config may be checked on a machine other than the node.
    """
    plugin = top.string("plugin")
    if plugin != "custom":
        raise top.error("plugin", f'unknown plugin "{plugin}" (a custom plugin monitor needs "custom")')
    global_config = top.obj("pluginConfig")
    settings = global_config or Fields(JSONObject(), top.file, "pluginConfig", warn)
    invoke_interval = settings.duration("invoke_interval", "30s")
    timeout = settings.duration("timeout", "5s")
    max_output = settings.integer("max_output_length", 80)
    concurrency = settings.integer("concurrency", 3)
    for key, value in (("invoke_interval", invoke_interval), ("timeout", timeout)):
        if value <= 0:
            raise settings.error(key, "must be greater than zero")
    for key, number in (("max_output_length", max_output), ("concurrency", concurrency)):
        if number <= 0:
            raise settings.error(key, "must be greater than zero")
    message_change = settings.boolean("enable_message_change_based_condition_update", False)
    skip_initial = settings.boolean("skip_initial_status", False)
    settings.done()

    conditions = load_conditions(top, warn)
    declared = {condition.type for condition in conditions}
    rules = []
    for path, item in top.array("rules"):
        fields = Fields(item, top.file, path, warn)
        type_name = fields.string("type")
        try:
            rule_type = RuleType(type_name)
        except ValueError:
            raise fields.error("type", f'"{type_name}" is neither temporary nor permanent') from None
        rule_timeout = fields.duration("timeout", "0") if fields.string("timeout") else timeout
        if rule_timeout <= 0:
            raise fields.error("timeout", "must be greater than zero")
        if rule_timeout > timeout:
            raise fields.error("timeout", "exceeds the global pluginConfig.timeout")
        rule_interval = (
            fields.duration("invoke_interval", "0") if fields.string("invoke_interval") else invoke_interval
        )
        if rule_interval <= 0:
            raise fields.error("invoke_interval", "must be greater than zero")
        rule = PluginRule(
            type=rule_type,
            reason=fields.string("reason"),
            path=fields.string("path"),
            args=tuple(fields.string_list("args")),
            timeout=rule_timeout,
            invoke_interval=rule_interval,
            condition=fields.string("condition"),
        )
        fields.done()
        if not rule.path:
            raise fields.error("path", "a plugin rule needs the path of the program to run")
        if rule.type is RuleType.PERMANENT and rule.condition not in declared:
            raise ConfigError(
                top.file,
                f"{path}.condition",
                f"permanent problem {rule.condition!r} does not have a preset default condition",
            )
        if not os.path.exists(rule.path):
            warn(f"{top.file}: {path}.path: {rule.path} does not exist here")
        rules.append(rule)

    config = PluginMonitorConfig(
        file=top.file,
        source=top.string("source"),
        invoke_interval=invoke_interval,
        timeout=timeout,
        max_output_length=max_output,
        concurrency=concurrency,
        message_change_updates=message_change,
        skip_initial_status=skip_initial,
        metrics_reporting=top.boolean("metricsReporting", True),
        conditions=conditions,
        rules=tuple(rules),
    )
    top.done()
    return config
