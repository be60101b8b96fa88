"""npd's condition lifecycle extensions to the log monitor format (upstream ignores these keys).

A rule may fire only after ``count`` matches within ``window``; a permanent rule may
``resolve`` (clear its condition) on a line matching ``resolve.pattern`` and/or after
``resolve.after`` without a new match; a condition may be damped against flapping
(``flapDamping``). See docs/lifecycle.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from npd.config.jsonfields import Fields
from npd.goregex import GoRegexError, anchor_end, compile_go
from npd.problem import RuleType


@dataclass(frozen=True, slots=True)
class Resolve:
    """How a permanent rule's condition clears: a resolving line, a quiet period, or either."""

    pattern: str = ""
    #: Seconds without a new match after which the condition clears; 0 for never.
    after: float = 0.0


@dataclass(frozen=True, slots=True)
class FlapDamping:
    """A condition that changed status ``changes`` times within ``window`` stays True until it
    has been stable (no new raise) for ``window``."""

    changes: int
    window: float


def load_count(fields: Fields) -> tuple[int, float]:
    """A rule's ``count`` and ``window``: it fires on the count-th match within the window."""
    count = fields.integer("count", 1)
    window = _positive_duration(fields, "window") if fields.has("window") else 0.0
    if count < 1:
        raise fields.error("count", f"must be at least 1, got {count}")
    if count > 1 and not window:
        raise fields.error("window", f"required when count is {count}: the time the matches must fall within")
    if window and count == 1:
        raise fields.error("count", "a window needs a count above 1 (the matches it must see)")
    return count, window


def load_resolve(fields: Fields, rule_type: RuleType) -> Resolve | None:
    """A rule's ``resolve`` object; only permanent rules have a condition to clear."""
    nested = fields.obj("resolve")
    if nested is None:
        return None
    if rule_type is not RuleType.PERMANENT:
        raise fields.error("resolve", "only a permanent rule has a condition to clear")
    pattern = nested.string("pattern")
    if pattern:
        try:
            compile_go(pattern)
            compile_go(anchor_end(pattern))
        except GoRegexError as exc:
            raise nested.error("pattern", str(exc)) from None
    after = _positive_duration(nested, "after") if nested.has("after") else 0.0
    nested.done()
    if not pattern and not after:
        raise fields.error("resolve", "needs a pattern, an after duration, or both")
    return Resolve(pattern=pattern, after=after)


def load_flap_damping(fields: Fields) -> FlapDamping | None:
    """A condition's ``flapDamping`` object."""
    nested = fields.obj("flapDamping")
    if nested is None:
        return None
    changes = nested.integer("changes", 0)
    if changes < 1:
        raise nested.error("changes", f"must be at least 1, got {changes}")
    if not nested.has("window"):
        raise nested.error("window", "required: the period the changes are counted in")
    window = _positive_duration(nested, "window")
    nested.done()
    return FlapDamping(changes=changes, window=window)


def _positive_duration(fields: Fields, key: str) -> float:
    value = fields.duration(key, "0")
    if value <= 0:
        raise fields.error(key, f"must be a positive duration, got {fields.string(key)!r}")
    return value
