"""Backoff (retry delays) and TokenBucket (client-go's QPS/burst limit), on injected clocks."""

from __future__ import annotations

import asyncio
import types

import pytest

from npd.exporters.kubernetes import api
from npd.exporters.kubernetes.api import TokenBucket
from npd.exporters.kubernetes.backoff import CAP_S, INITIAL_S, Backoff


def test_defaults_start_at_a_quarter_second_and_cap_at_four() -> None:
    assert (INITIAL_S, CAP_S) == (0.25, 4.0)


def test_delays_double_to_the_cap_without_jitter() -> None:
    backoff = Backoff(rand=lambda: 0.0)
    delays = [backoff.next_delay() for _ in range(8)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert backoff.failures == 8


def test_jitter_stretches_each_delay_by_at_most_half() -> None:
    highest = Backoff(rand=lambda: 0.999999)
    assert [round(highest.next_delay(), 3) for _ in range(6)] == [0.375, 0.75, 1.5, 3.0, 6.0, 6.0]
    values = iter([0.0, 0.5, 0.2])
    mixed = Backoff(rand=lambda: next(values))
    assert [mixed.next_delay() for _ in range(3)] == [0.25, 0.5 * 1.25, 1.0 * 1.1]


def test_random_jitter_stays_within_bounds() -> None:
    backoff = Backoff()
    for failure in range(40):
        base = min(CAP_S, INITIAL_S * 2**failure)
        assert base <= backoff.next_delay() < base * 1.5


def test_custom_parameters() -> None:
    backoff = Backoff(initial=1.0, cap=3.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    backoff = Backoff(rand=lambda: 0.0)
    assert backoff.next_delay(retry_after=10.0) == 10.0  # the server asked for longer
    assert backoff.next_delay(retry_after=0.1) == 0.5  # the backoff is longer already
    assert backoff.next_delay(retry_after=None) == 1.0
    assert backoff.failures == 3  # a Retry-After counts as a failure like any other


def test_reset_starts_again_from_the_initial_delay() -> None:
    backoff = Backoff(rand=lambda: 0.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() == 0.25


def test_many_failures_do_not_overflow() -> None:
    backoff = Backoff(rand=lambda: 0.0)
    backoff.failures = 10_000
    assert backoff.next_delay() == 4.0


# -- TokenBucket ---------------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the limiter sleeps; records each sleep it asked for."""

    def __init__(self) -> None:
        self.now = 50.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """The limiter's ``asyncio.sleep`` advances the fake clock instead of waiting."""
    fake = FakeTime()
    monkeypatch.setattr(api, "asyncio", types.SimpleNamespace(sleep=fake.sleep))
    return fake


def test_bucket_allows_burst_at_once_then_paces_to_qps(fake_time: FakeTime) -> None:
    bucket = TokenBucket(qps=2.0, burst=3, clock=fake_time)

    async def scenario() -> list[float]:
        moments = []
        for _ in range(7):
            await bucket.acquire()
            moments.append(fake_time.now - 50.0)
        return moments

    assert asyncio.run(scenario()) == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0]
    assert fake_time.sleeps == [0.5, 0.5, 0.5, 0.5]


def test_bucket_refills_while_idle_up_to_burst_only(fake_time: FakeTime) -> None:
    # Rates that are powers of two keep the fake clock's sums exact.
    bucket = TokenBucket(qps=8.0, burst=4, clock=fake_time)

    async def scenario() -> None:
        for _ in range(4):
            await bucket.acquire()
        fake_time.now += 100.0  # a long quiet spell refills to the burst, not to 1000 tokens
        for _ in range(4):
            await bucket.acquire()
        assert fake_time.sleeps == []
        await bucket.acquire()
        assert fake_time.sleeps == [0.125]

    asyncio.run(scenario())


def test_bucket_partial_refill_waits_only_for_the_missing_part(fake_time: FakeTime) -> None:
    bucket = TokenBucket(qps=1.0, burst=1, clock=fake_time)

    async def scenario() -> None:
        await bucket.acquire()
        fake_time.now += 0.75
        await bucket.acquire()

    asyncio.run(scenario())
    assert fake_time.sleeps == [0.25]


@pytest.mark.parametrize("qps", [0.0, -1.0])
def test_non_positive_qps_disables_the_limit(qps: float, fake_time: FakeTime) -> None:
    bucket = TokenBucket(qps=qps, burst=1, clock=fake_time)

    async def scenario() -> None:
        for _ in range(1000):
            await bucket.acquire()

    asyncio.run(scenario())
    assert fake_time.sleeps == []


def test_zero_burst_still_lets_one_request_through(fake_time: FakeTime) -> None:
    bucket = TokenBucket(qps=4.0, burst=0, clock=fake_time)

    async def scenario() -> None:
        await bucket.acquire()
        await bucket.acquire()

    asyncio.run(scenario())
    assert fake_time.sleeps == [0.25]


def test_bucket_waits_on_the_clock_with_real_time() -> None:
    """Without fakes: a frozen clock keeps a request waiting; moving it lets the request go."""
    now = [0.0]
    bucket = TokenBucket(qps=256.0, burst=2, clock=lambda: now[0])

    async def scenario() -> None:
        await bucket.acquire()
        await bucket.acquire()
        waiting = asyncio.create_task(bucket.acquire())
        await asyncio.sleep(0.05)  # a dozen of its 4 ms sleeps: the clock stands, so no token
        assert not waiting.done()
        now[0] += 1 / 256.0
        await asyncio.wait_for(waiting, 5.0)

    asyncio.run(scenario())


def test_a_different_kind_of_failure_starts_its_own_sequence() -> None:
    backoff = Backoff(initial=0.25, cap=4.0, jitter=0.0)
    for _ in range(10):
        backoff.next_delay()  # a long outage: at the cap
    assert backoff.next_delay() == 4.0
    # The restarted server refuses for a moment: retried soon, not after 30 s.
    assert backoff.next_delay(cap=30.0) == 0.25
    assert backoff.next_delay(cap=30.0) == 0.5
    # And back to the outage kind: from the start again.
    assert backoff.next_delay() == 0.25
