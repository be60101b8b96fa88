"""Custom plugin monitor configs (``--config.custom-plugin-monitor``), validated as upstream does."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass

from npd.config.conditions import DefaultCondition, load_conditions
from npd.config.errors import ConfigError
from npd.config.jsonfields import Fields, JSONObject
from npd.problem import RuleType


class PluginProtocol(enum.Enum):
    """How a plugin's exit code and output are read (docs/plugins.md)."""

    #: Upstream's: exit 0 OK, 1 NonOK, anything else Unknown; the message is all of stdout.
    UPSTREAM = "upstream"
    #: Nagios plugins': 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; the message is the first line
    #: before ``|``, and performance data after it is exported as metrics.
    NAGIOS = "nagios"


@dataclass(frozen=True, slots=True)
class PluginRule:
    """One check: run ``path`` with ``args`` and judge its exit code and output by ``protocol``."""

    type: RuleType
    reason: str
    path: str
    args: tuple[str, ...]
    timeout: float
    invoke_interval: float
    condition: str = ""
    protocol: PluginProtocol = PluginProtocol.UPSTREAM


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
    #: The rules' default protocol (``pluginConfig.protocol``; an npd extension).
    protocol: PluginProtocol = PluginProtocol.UPSTREAM


def load_plugin_monitor(top: Fields, warn: Callable[[str], None]) -> PluginMonitorConfig:
    """Validate a custom plugin monitor config read from JSON.

    Mirrors upstream's ``Validate``: ``plugin`` must be ``custom``; invoke intervals must be
    positive; a rule's timeout may not exceed the global one; every permanent rule's condition
    must be declared. A missing plugin executable is only a warning here: the config may be
    checked on a machine other than the node. Values upstream accepts but that cannot work (a
    zero timeout, concurrency or output length) are warnings.
    """
    plugin = top.string("plugin")
    if plugin != "custom":
        raise top.error("plugin", f'unknown plugin "{plugin}" (a custom plugin monitor needs "custom")')
    global_config = top.obj("pluginConfig")
    settings = global_config or Fields(JSONObject(), top.file, "pluginConfig", warn)
    # Every pluginConfig field is a pointer upstream: null means the default.
    invoke_interval = settings.duration("invoke_interval", "30s", nullable=True)
    timeout = settings.duration("timeout", "5s", nullable=True)
    max_output = settings.integer("max_output_length", 80, nullable=True)
    concurrency = settings.integer("concurrency", 3, nullable=True)
    if invoke_interval <= 0:
        raise settings.error("invoke_interval", "must be greater than zero")
    for key, number in (
        ("timeout", timeout),
        ("max_output_length", max_output),
        ("concurrency", concurrency),
    ):
        if number <= 0:
            warn(f"{top.file}: pluginConfig.{key}: {number} is not greater than zero; no plugin can work")
    message_change = settings.boolean("enable_message_change_based_condition_update", False, nullable=True)
    skip_initial = settings.boolean("skip_initial_status", False, nullable=True)
    protocol = _protocol(settings, PluginProtocol.UPSTREAM)
    settings.done()

    conditions = load_conditions(top, warn)
    declared = {condition.type for condition in conditions}
    rules = []
    for path, item in top.array("rules"):
        fields = Fields(item, top.file, path, warn)
        type_name = fields.string("type")
        if type_name not in (RuleType.TEMPORARY.value, RuleType.PERMANENT.value):
            warn(
                f'{top.file}: {path}.type: "{type_name}" is neither temporary nor permanent; upstream '
                "accepts it and reports it like a permanent rule without a condition"
            )
        rule_type = RuleType.TEMPORARY if type_name == RuleType.TEMPORARY.value else RuleType.PERMANENT
        # Pointer fields upstream: absent or null means the global value; "" is an error.
        rule_timeout = fields.duration("timeout", "", nullable=True) if fields.has("timeout") else timeout
        if rule_timeout > timeout:
            raise fields.error("timeout", "exceeds the global pluginConfig.timeout")
        rule_interval = (
            fields.duration("invoke_interval", "", nullable=True)
            if fields.has("invoke_interval")
            else invoke_interval
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
            protocol=_protocol(fields, protocol),
        )
        fields.done()
        if not rule.path:
            raise fields.error("path", "a plugin rule needs the path of the program to run")
        if type_name == RuleType.PERMANENT.value and rule.condition not in declared:
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
        metrics_reporting=top.boolean("metricsReporting", True, nullable=True),
        conditions=conditions,
        rules=tuple(rules),
        protocol=protocol,
    )
    top.done()
    return config


def _protocol(fields: Fields, default: PluginProtocol) -> PluginProtocol:
    """The ``protocol`` field of ``fields`` (absent or null: ``default``)."""
    name = fields.string("protocol", default.value, nullable=True)
    try:
        return PluginProtocol(name)
    except ValueError:
        known = " or ".join(f'"{protocol.value}"' for protocol in PluginProtocol)
        raise fields.error("protocol", f'unknown protocol "{name}" (expected {known})') from None
