"""The rate-limit table and the strict sliding-window limiter."""

from __future__ import annotations

import asyncio
import time

import pytest
from tests.grants import Grants, most_in_window

from quantum.kiwoom.ratelimit import (
    RATE_LIMITS,
    LimitScope,
    OutboundLimiter,
    RateLimit,
    TrKind,
    is_order_tr,
    select_limits,
)
from quantum.kiwoom.settings import KiwoomEnvironment, KiwoomSettings, key_fingerprint

P, M = KiwoomEnvironment.PRODUCTION, KiwoomEnvironment.MOCK
KEY = "PSlimiterKEY"


class FakeTime:
    """The limiter's clock and sleep: time moves only when a waiter sleeps (or the
    test sets ``now``), so no stall of the machine can change what a test sees."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)
        self.now += seconds


def test_the_table_says_what_protocol_section_5_says() -> None:
    rows = {(r.environment, r.scope, r.kind): r.per_second for r in RATE_LIMITS}
    assert rows[(P, LimitScope.PER_API, TrKind.QUERY)] == 5
    assert rows[(P, LimitScope.PER_API, TrKind.ORDER)] == 5
    assert rows[(P, LimitScope.GLOBAL, TrKind.ANY)] == 20
    assert rows[(M, LimitScope.PER_API, TrKind.ANY)] == 1
    assert all(r.window_seconds == 1.0 for r in RATE_LIMITS)
    with pytest.raises(AttributeError):
        RATE_LIMITS[0].per_second = 99  # type: ignore[misc]


def test_orders_are_the_order_category() -> None:
    assert all(is_order_tr(t) for t in ("kt10000", "kt10001", "kt10002", "kt10003"))
    assert not any(is_order_tr(t) for t in ("ka10001", "kt00001", "ka10075", "nope"))


def test_overrides_from_settings() -> None:
    rows = select_limits(P, per_second=2, global_per_second=7, window_seconds=0.5)
    assert {(r.scope, r.per_second, r.window_seconds) for r in rows} == {
        (LimitScope.PER_API, 2, 0.5),
        (LimitScope.GLOBAL, 7, 0.5),
    }
    assert all(r.scope is LimitScope.PER_API for r in select_limits(P, global_per_second=0))
    mock = select_limits(M, global_per_second=3)
    assert {(r.scope, r.per_second) for r in mock} == {
        (LimitScope.PER_API, 1),
        (LimitScope.GLOBAL, 3),
    }
    settings = KiwoomSettings.for_url(
        "http://h", "k", "s", mock=True, rate_limit_per_second=4, rate_limit_margin_seconds=0
    )
    limiter = OutboundLimiter.from_settings(settings)
    assert limiter.environment is M
    assert [(r.scope, r.per_second) for r in limiter.limits] == [(LimitScope.PER_API, 4)]


async def test_never_more_than_the_limit_in_any_sliding_window() -> None:
    window, limit = 0.1, 5
    recorder = Grants()
    limiter = OutboundLimiter(
        [RateLimit(P, LimitScope.PER_API, TrKind.ANY, limit, window)], on_acquire=recorder
    )
    started = time.monotonic()
    await asyncio.gather(*(limiter.acquire(KEY, "ka10001") for _ in range(23)))
    elapsed = time.monotonic() - started
    stamps = recorder.stamps()
    assert len(stamps) == 23
    assert most_in_window(stamps, window) == limit, "full use, never over"
    ordered = sorted(stamps)
    for earlier, later in zip(ordered, ordered[limit:], strict=False):
        assert later - earlier >= window
    # 23 sends at 5 per window need at least 4 full windows
    assert elapsed >= 4 * window


async def test_a_token_bucket_burst_pattern_is_not_allowed() -> None:
    """Bucket with burst 5 would let 5 go at t≈0.099 and 5 more at t≈0.1; we wait."""
    window = 0.1
    recorder = Grants()
    limiter = OutboundLimiter(
        [RateLimit(P, LimitScope.PER_API, TrKind.ANY, 5, window)], on_acquire=recorder
    )
    for _ in range(5):
        await limiter.acquire(KEY, "ka10001")
    await asyncio.sleep(window * 0.6)
    await asyncio.gather(*(limiter.acquire(KEY, "ka10001") for _ in range(5)))
    stamps = sorted(recorder.stamps())
    assert stamps[5] - stamps[0] >= window


async def test_budgets_are_per_key_and_per_api_id() -> None:
    recorder = Grants()
    limiter = OutboundLimiter(
        [RateLimit(P, LimitScope.PER_API, TrKind.ANY, 1, 0.2)], on_acquire=recorder
    )
    await asyncio.gather(
        limiter.acquire("key-a", "ka10001"),
        limiter.acquire("key-a", "ka10004"),
        limiter.acquire("key-b", "ka10001"),
    )
    usage = limiter.utilisation.values()
    assert [u.delayed for u in usage] == [0, 0, 0], "three different budgets: nobody waits"
    assert {fp for fp, _, _ in recorder.sends} == {
        key_fingerprint("key-a"),
        key_fingerprint("key-b"),
    }


async def test_the_global_budget_spans_api_ids() -> None:
    window = 0.1
    recorder = Grants()
    limiter = OutboundLimiter(
        [
            RateLimit(P, LimitScope.PER_API, TrKind.ANY, 100, window),
            RateLimit(P, LimitScope.GLOBAL, TrKind.ANY, 3, window),
        ],
        on_acquire=recorder,
    )
    apis = ["ka10001", "ka10004", "ka10081", "kt10000"]
    await asyncio.gather(*(limiter.acquire(KEY, apis[i % 4]) for i in range(14)))
    assert most_in_window(recorder.stamps(), window) == 3


async def test_order_and_query_rows_apply_by_kind() -> None:
    recorder = Grants()
    fake = FakeTime()
    limiter = OutboundLimiter(
        [
            RateLimit(P, LimitScope.PER_API, TrKind.QUERY, 100, 0.2),
            RateLimit(P, LimitScope.PER_API, TrKind.ORDER, 1, 0.2),
        ],
        on_acquire=recorder,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    for _ in range(5):
        await limiter.acquire(KEY, "ka10001")
    assert limiter.utilisation[(key_fingerprint(KEY), "ka10001")].delayed == 0
    await limiter.acquire(KEY, "kt10000")
    await limiter.acquire(KEY, "kt10000")
    assert limiter.utilisation[(key_fingerprint(KEY), "kt10000")].delayed == 1
    assert recorder.stamps("kt10000") == [0.0, pytest.approx(0.2)]  # 1 per 0.2 s


async def test_waiters_are_served_first_come_first_served() -> None:
    order: list[int] = []
    limiter = OutboundLimiter([RateLimit(P, LimitScope.PER_API, TrKind.ANY, 2, 0.05)])

    async def caller(index: int) -> None:
        await limiter.acquire(KEY, "ka10001")
        order.append(index)

    tasks = []
    for index in range(12):
        tasks.append(asyncio.create_task(caller(index)))
        await asyncio.sleep(0)  # each caller arrives after the previous one
    await asyncio.gather(*tasks)
    assert order == list(range(12))


async def test_a_cancelled_waiter_does_not_block_the_others() -> None:
    now = [0.0]
    asleep = asyncio.Event()

    async def sleep(seconds: float) -> None:  # time stands still until the test moves it
        asleep.set()
        await asyncio.sleep(0.001)

    recorder = Grants()
    limiter = OutboundLimiter(
        [RateLimit(P, LimitScope.PER_API, TrKind.ANY, 1, 0.1)],
        clock=lambda: now[0],
        sleep=sleep,
        on_acquire=recorder,
    )
    await limiter.acquire(KEY, "ka10001")
    doomed = asyncio.create_task(limiter.acquire(KEY, "ka10001"))
    await asyncio.wait_for(asleep.wait(), timeout=10.0)  # waiting for the full window
    follower = asyncio.create_task(limiter.acquire(KEY, "ka10001"))
    await asyncio.sleep(0)  # the follower queues behind it
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    now[0] = 0.1  # the window has passed
    # A waiter left queued behind the cancelled one would never be served.
    waited = await asyncio.wait_for(follower, timeout=10.0)
    assert waited == pytest.approx(0.1)
    assert recorder.stamps() == [0.0, 0.1], "the cancelled waiter never sent"


async def test_margin_widens_the_window() -> None:
    recorder = Grants()
    limiter = OutboundLimiter(
        [RateLimit(P, LimitScope.PER_API, TrKind.ANY, 1, 0.05)],
        margin_seconds=0.05,
        on_acquire=recorder,
    )
    await asyncio.gather(*(limiter.acquire(KEY, "ka10001") for _ in range(3)))
    stamps = sorted(recorder.stamps())
    assert stamps[1] - stamps[0] >= 0.1 and stamps[2] - stamps[1] >= 0.1


async def test_disabled_limiter_never_waits() -> None:
    limiter = OutboundLimiter(
        [RateLimit(P, LimitScope.PER_API, TrKind.ANY, 1, 10.0)], enabled=False
    )
    for _ in range(50):
        assert await limiter.acquire(KEY, "ka10001") == 0.0
    assert limiter.utilisation == {}  # nothing was even counted


async def test_utilisation_stats() -> None:
    fake = FakeTime()  # the real clock would let a stall empty the window meanwhile
    limiter = OutboundLimiter(
        [
            RateLimit(P, LimitScope.PER_API, TrKind.ANY, 4, 0.1),
            RateLimit(P, LimitScope.GLOBAL, TrKind.ANY, 10, 0.1),
        ],
        clock=fake.clock,
        sleep=fake.sleep,
    )
    await asyncio.gather(*(limiter.acquire(KEY, "ka10001") for _ in range(8)))
    usage = limiter.utilisation
    fingerprint = key_fingerprint(KEY)
    per_api = usage[(fingerprint, "ka10001")]
    assert per_api.acquired == 8 and per_api.limit == 4
    assert per_api.delayed == 4 and per_api.max_wait_seconds >= 0.09
    assert per_api.total_wait_seconds >= per_api.max_wait_seconds
    assert 0 < per_api.in_window <= 4 and per_api.utilisation == per_api.in_window / 4
    assert per_api.achieved_per_second > 0
    assert usage[(fingerprint, "*")].acquired == 8
    assert KEY not in repr(usage)
