"""RedisOutboundLimiter against a real Redis: two limiter objects stand for two
processes sharing one app key, so the budget must hold across both.

Grant times are read from the local monotonic clock after ``acquire`` returns,
which lags the Redis-side grant by a few ms, or by hundreds on a loaded machine.
A window of ``span`` in Redis time therefore covers at least ``window_seconds``
(= span - margin) in local time while no grant lags by more than the margin, so
the tests check windows of ``window_seconds`` and use a margin of 0.45 s.

No test reads the clock for speed: that the limiter waits no longer than it must
is checked on the waits Redis prescribes, which are the only waits it takes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from tests.grants import most_in_window

from quantum.kiwoom.ratelimit import LimitScope, RateLimit, TrKind
from quantum.kiwoom.settings import KiwoomEnvironment, KiwoomSettings, key_fingerprint
from quantum.kiwoom.shared_ratelimit import RedisOutboundLimiter

P = KiwoomEnvironment.PRODUCTION
APP_KEY = "PSsharedLIMITappKEY0000000000000000"
OTHER_KEY = "PSotherLIMITappKEY00000000000000000"
WINDOW = 0.5
MARGIN = 0.45
SPAN = WINDOW + MARGIN


def rules(per_api: int, global_per_second: int | None = None) -> list[RateLimit]:
    rows = [RateLimit(P, LimitScope.PER_API, TrKind.ANY, per_api, WINDOW)]
    if global_per_second is not None:
        rows.append(RateLimit(P, LimitScope.GLOBAL, TrKind.ANY, global_per_second, WINDOW))
    return rows


def limiter(
    client: redis.Redis, prefix: str, per_api: int, global_per_second: int | None = None
) -> RedisOutboundLimiter:
    return RedisOutboundLimiter(
        rules(per_api, global_per_second), redis=client, prefix=prefix, margin_seconds=MARGIN
    )


async def fire(
    lim: RedisOutboundLimiter, app_key: str, api_id: str, n: int, stagger: float = 0.0
) -> list[float]:
    """``n`` concurrent acquires, the i-th arriving after ``i * stagger`` seconds;
    the local time each one was granted."""

    async def one(i: int) -> float:
        await asyncio.sleep(i * stagger)
        await lim.acquire(app_key, api_id)
        return time.monotonic()

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def prescribed_waits(monkeypatch: pytest.MonkeyPatch, *limiters: RedisOutboundLimiter) -> list[int]:
    """The waits (ms) Redis tells ``limiters`` to take, recorded as they take them."""
    waits: list[int] = []
    for lim in limiters:
        monkeypatch.setattr(lim, "_pause", _recording(lim._pause, waits))
    return waits


def _recording(
    pause: Callable[[int], Awaitable[None]], waits: list[int]
) -> Callable[[int], Awaitable[None]]:
    async def recorded(wait_ms: int) -> None:
        waits.append(wait_ms)
        await pause(wait_ms)

    return recorded


def assert_no_needless_waits(waits: list[int], grants: int, limit: int) -> None:
    """Every wait ends when the oldest send in a full window expires, so none is
    longer than a span; a waiter loses a freed slot to the other process now and
    then, but three pauses per grant beyond the first window mean spinning."""
    assert waits, "the budget was spent, so someone waited"
    assert max(waits) <= SPAN * 1000 + 1, waits
    assert len(waits) <= 3 * (grants - limit), waits


async def test_two_processes_share_one_per_api_budget(
    redis_client: redis.Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit, each = 5, 10
    a, b = (limiter(redis_client, redis_prefix, limit) for _ in range(2))
    waits = prescribed_waits(monkeypatch, a, b)
    # Arrivals spread out at 4x the limit, so some find a half-expired window.
    grants_a, grants_b = await asyncio.gather(
        fire(a, APP_KEY, "ka10001", each, stagger=0.05),
        fire(b, APP_KEY, "ka10001", each, stagger=0.05),
    )
    grants = grants_a + grants_b
    assert most_in_window(grants, WINDOW) <= limit
    assert_no_needless_waits(waits, len(grants), limit)
    usage = a.utilisation[(key_fingerprint(APP_KEY), "ka10001")]
    assert usage.acquired == each and usage.limit == limit


async def test_global_budget_is_shared_across_api_ids_and_processes(
    redis_client: redis.Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    global_limit = 6
    a, b = (limiter(redis_client, redis_prefix, 100, global_limit) for _ in range(2))
    waits = prescribed_waits(monkeypatch, a, b)
    grants_a, grants_b = await asyncio.gather(
        fire(a, APP_KEY, "ka10001", 9), fire(b, APP_KEY, "ka10002", 9)
    )
    assert most_in_window(grants_a + grants_b, WINDOW) <= global_limit
    assert_no_needless_waits(waits, 18, global_limit)
    fingerprint = key_fingerprint(APP_KEY)
    assert a.utilisation[(fingerprint, "*")].acquired == 9


async def test_app_keys_do_not_slow_each_other(
    redis_client: redis.Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows of a minute: APP_KEY's waiters stay blocked however slow the machine.
    minute = [RateLimit(P, scope, TrKind.ANY, 5, 60.0) for scope in LimitScope]
    a, b = (RedisOutboundLimiter(minute, redis=redis_client, prefix=redis_prefix) for _ in range(2))
    paused = prescribed_waits(monkeypatch, b)  # b's own queue aside
    await fire(a, APP_KEY, "ka10001", 5)  # APP_KEY's windows are now full
    busy = asyncio.create_task(fire(a, APP_KEY, "ka10001", 5))
    try:
        await asyncio.gather(*(b.acquire(OTHER_KEY, "ka10001") for _ in range(5)))
        assert b.utilisation[(key_fingerprint(OTHER_KEY), "ka10001")].acquired == 5
        assert paused == []
        assert not busy.done()  # APP_KEY really was waiting meanwhile
    finally:
        busy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await busy


async def test_disabled_never_waits_nor_writes(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    lim = RedisOutboundLimiter(rules(1, 1), redis=redis_client, prefix=redis_prefix, enabled=False)
    waits = [await lim.acquire(APP_KEY, "ka10001") for _ in range(20)]
    assert waits == [0.0] * 20
    assert [key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")] == []


async def test_redis_down_falls_back_to_local_limits(caplog: pytest.LogCaptureFixture) -> None:
    down = redis.Redis.from_url(
        "redis://:hunter2@127.0.0.1:1/0", socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    limit = 3
    lim = RedisOutboundLimiter(
        rules(limit), redis=down, prefix="qtp-test-down:", margin_seconds=MARGIN
    )
    try:
        with caplog.at_level(logging.WARNING, logger="quantum.kiwoom.shared_ratelimit"):
            grants = await fire(lim, APP_KEY, "ka10001", 7)
    finally:
        await down.aclose()
    assert most_in_window(grants, WINDOW) <= limit
    warnings = [r for r in caplog.records if r.name == "quantum.kiwoom.shared_ratelimit"]
    assert len(warnings) == 1
    assert APP_KEY not in warnings[0].getMessage() and "hunter2" not in warnings[0].getMessage()


async def test_redis_keys_name_the_fingerprint_not_the_app_key(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    settings = KiwoomSettings.for_url(
        "http://h", APP_KEY, "secret", rate_limit_per_second=3, rate_limit_global_per_second=9
    )
    lim = RedisOutboundLimiter.from_settings(settings, redis=redis_client, prefix=redis_prefix)
    await lim.acquire(APP_KEY, "ka10001")
    await lim.acquire(APP_KEY, "kt10000")
    keys = sorted([k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")])
    fingerprint = key_fingerprint(APP_KEY)
    assert len(keys) == 3
    assert all(fingerprint in key and APP_KEY not in key for key in keys)
    assert all(0 < ttl <= 3000 for ttl in [await redis_client.pttl(key) for key in keys])
    assert await redis_client.zcard(next(k for k in keys if k.endswith(":*"))) == 2
