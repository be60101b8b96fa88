"""Exponential backoff with jitter for API writes that failed in a way worth retrying."""

from __future__ import annotations

import random
from collections.abc import Callable

#: First retry after about this long.
INITIAL_S = 0.25
#: The longest base delay between tries the server refused (401/403 until RBAC is in effect, which
#: also happens for a moment after an API server restarts; 404 while a Node is re-registered):
#: patient, since thousands of misconfigured nodes must not hammer the server, yet quick to
#: notice the fix.
REFUSED_CAP_S = 30.0
#: The longest base delay (jitter adds up to half of it; a server's ``Retry-After`` may ask for
#: more): after an outage the state must converge within seconds, not after a long sleep.
CAP_S = 4.0


class Backoff:
    """Delays of ``initial·2ⁿ`` capped at ``cap``, each stretched by up to ``jitter`` at random.

    The jitter keeps thousands of nodes that lost the API server together from returning in
    lockstep. A server's ``Retry-After`` is a floor: never retry sooner than it asked. A
    different kind of failure (another ``cap``) starts its own sequence from ``initial``: a
    refusal right after a long outage (a restarted API server whose authorizer has not synced
    yet) must be retried quickly, not after the outage's accumulated delay.
    """

    def __init__(
        self,
        *,
        initial: float = INITIAL_S,
        cap: float = CAP_S,
        jitter: float = 0.5,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._initial = initial
        self._cap = cap
        self._jitter = jitter
        self._rand = rand
        self._kind = cap
        self.failures = 0

    def next_delay(self, retry_after: float | None = None, *, cap: float | None = None) -> float:
        """The wait before the next try, counting one more failure (``cap`` overrides the cap)."""
        kind = self._cap if cap is None else cap
        if kind != self._kind:
            self._kind = kind
            self.failures = 0
        base = min(kind, self._initial * 2.0 ** min(self.failures, 32))
        self.failures += 1
        delay = base * (1 + self._jitter * self._rand())
        return max(delay, retry_after or 0.0)

    def reset(self) -> None:
        """A try succeeded: the next failure starts from the initial delay again."""
        self.failures = 0
