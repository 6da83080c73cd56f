"""cache: TTLCache, CandleCache (serve / refresh the newest page / refetch) and charts mapping."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from quantum.adapter.broker import BrokerInputError
from quantum.adapter.cache import CandleCache, TTLCache, merge
from quantum.adapter.charts import api_id_for, fetch_candles, parse_period
from quantum.adapter.schema import Candle, Period
from quantum.kiwoom import models
from quantum.kiwoom.wire import KST

START = datetime(2026, 1, 1, tzinfo=KST)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def candles(first: int, last: int, close: int = 100) -> list[Candle]:
    return [
        Candle(
            time=START + timedelta(days=n), open=close, high=close, low=close, close=close, volume=n
        )
        for n in range(first, last + 1)
    ]


class History:
    """A fake Kiwoom chart: days 0..size-1, the newest candle's close set by ``close``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.close = 100
        self.calls: list[int] = []

    async def fetch(self, max_rows: int) -> list[Candle]:
        self.calls.append(max_rows)
        rows = candles(0, self.size - 1)
        rows[-1] = rows[-1].model_copy(update={"close": self.close})
        return rows[-max_rows:]


def test_ttl_cache() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(1.0, clock=clock)
    cache.put("a", 1)
    assert cache.get("a") == 1
    clock.now = 0.99
    assert cache.get("a") == 1
    clock.now = 1.0
    assert cache.get("a") is None
    disabled: TTLCache[str, int] = TTLCache(0.0, clock=clock)
    disabled.put("a", 1)
    assert disabled.get("a") is None


async def test_ttl_cache_loads_once_for_concurrent_callers() -> None:
    cache: TTLCache[str, int] = TTLCache(1.0, clock=Clock())  # no expiry by a stall
    started = asyncio.Event()
    release = asyncio.Event()
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        started.set()
        await release.wait()
        return 42

    first = asyncio.create_task(cache.get_or_load("q", load))
    await started.wait()
    others = [asyncio.create_task(cache.get_or_load("q", load)) for _ in range(50)]
    await asyncio.sleep(0)
    first.cancel()  # the first caller gives up: the others still get the value
    release.set()
    assert await asyncio.gather(*others) == [42] * 50
    assert loads == 1 and cache.get("q") == 42
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_ttl_cache_shares_a_failed_load_and_tries_again_later() -> None:
    cache: TTLCache[str, int] = TTLCache(1.0, clock=Clock())
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("broker down")

    results = await asyncio.gather(
        *(cache.get_or_load("q", failing) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1 and all(isinstance(r, RuntimeError) for r in results)

    async def working() -> int:
        return 7

    assert await cache.get_or_load("q", working) == 7


def test_merge() -> None:
    cached = candles(0, 9)
    fresh = candles(8, 10, close=5)
    merged = merge(cached, fresh)
    assert merged is not None
    assert [c.volume for c in merged] == list(range(11))
    assert merged[-3:] == fresh
    assert merge(cached, candles(11, 12)) is None  # a gap: refetch everything
    assert merge(cached, []) == cached


async def test_candle_cache_serves_refreshes_and_refetches() -> None:
    clock = Clock()
    history = History(50)
    cache: CandleCache[str] = CandleCache(1.0, refresh_rows=5, clock=clock)

    first = await cache.get("k", 30, history.fetch)
    assert len(first) == 30 and history.calls == [30]
    assert [c.time for c in first] == sorted(c.time for c in first)
    assert await cache.get("k", 10, history.fetch) == first[-10:]
    assert history.calls == [30]  # fresh and covering: no fetch

    clock.now = 2.0
    history.close = 123
    refreshed = await cache.get("k", 30, history.fetch)
    assert history.calls == [30, 5]  # only the newest page
    assert refreshed[-1].close == 123 and refreshed[:-1] == first[:-1]

    more = await cache.get("k", 40, history.fetch)  # beyond the cache
    assert history.calls == [30, 5, 40] and len(more) == 40

    everything = await cache.get("k", 500, history.fetch)  # all of it: complete
    assert len(everything) == 50
    assert await cache.get("k", 400, history.fetch) == everything
    assert history.calls[-1] == 500 and len(history.calls) == 4

    other = await cache.get("other", 3, history.fetch)  # another key, another entry
    assert len(other) == 3 and len(cache) == 2


@pytest.mark.parametrize(
    ("value", "period", "api_id"),
    [
        ("D", Period.DAY, "ka10081"),
        ("W", Period.WEEK, "ka10082"),
        ("M", Period.MONTH, "ka10083"),
        ("Y", Period.YEAR, "ka10094"),
        ("1", Period.MIN_1, "ka10080"),
        ("60", Period.MIN_60, "ka10080"),
    ],
)
def test_periods(value: str, period: Period, api_id: str) -> None:
    assert parse_period(value) is period
    assert api_id_for(period) == api_id


@pytest.mark.parametrize("value", ["7", "X", "d", "", "3"])
def test_bad_periods(value: str) -> None:
    with pytest.raises(BrokerInputError):
        parse_period(value)


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def _rows(self, n: int) -> list[models.Candle]:
        return [
            models.Candle(time=START + timedelta(days=i), open=1, high=1, low=1, close=1, volume=i)
            for i in range(n)
        ]

    async def minute_chart(self, *args: Any, **kwargs: Any) -> list[models.Candle]:
        self.calls.append(("minute_chart", args, kwargs))
        return self._rows(10)

    def __getattr__(self, name: str) -> Any:
        async def chart(*args: Any, **kwargs: Any) -> list[models.Candle]:
            self.calls.append((name, args, kwargs))
            return self._rows(10)

        return chart


async def test_fetch_candles_calls_the_right_chart() -> None:
    client = FakeClient()
    today = date(2026, 11, 24)
    got = await fetch_candles(
        client,  # type: ignore[arg-type]
        "005930",
        Period.MIN_30,
        max_rows=4,
        until=None,
        today=today,
    )
    assert len(got) == 4 and got[-1].volume == 9
    assert client.calls[-1] == (
        "minute_chart",
        ("005930", 30),
        {"base_date": None, "max_rows": 4},
    )
    until = date(2026, 6, 30)
    await fetch_candles(
        client,  # type: ignore[arg-type]
        "005930",
        Period.MONTH,
        max_rows=4,
        until=until,
        today=today,
    )
    assert client.calls[-1] == ("monthly_chart", ("005930", until), {"max_rows": 4})
    await fetch_candles(
        client,  # type: ignore[arg-type]
        "005930",
        Period.YEAR,
        max_rows=4,
        until=None,
        today=today,
    )
    assert client.calls[-1] == ("yearly_chart", ("005930", today), {"max_rows": 4})
