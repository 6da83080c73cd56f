"""The chart and quote caches against the simulator's request counters."""

from __future__ import annotations

from tests.integration.adapter.conftest import CODE, inprocess_broker, sim_requests
from tests.integration.simulator.conftest import RunningSimulator

from quantum.adapter.cache import CandleCache
from quantum.adapter.schema import Period


def daily_pages(running: RunningSimulator) -> int:
    return sim_requests(running).get("ka10081", 0)


async def test_completed_candles_are_not_refetched(running: RunningSimulator) -> None:
    broker = inprocess_broker(running)
    now = [0.0]
    broker.charts.cache = CandleCache(0.3, clock=lambda: now[0])  # time moves only when told
    try:
        first = await broker.chart(CODE, Period.DAY, count=1000)
        assert len(first.candles) == 1000
        assert daily_pages(running) == 2  # 600 rows a page

        again = await broker.chart(CODE, Period.DAY, count=500)  # fresh: from the cache
        assert daily_pages(running) == 2
        assert again.candles == first.candles[-500:]

        now[0] += 0.35  # the newest candle is stale: only the first page again
        refreshed = await broker.chart(CODE, Period.DAY, count=1000)
        assert daily_pages(running) == 3
        assert refreshed.candles == first.candles

        more = await broker.chart(CODE, Period.DAY, count=1240)  # beyond the cache: refetch
        assert len(more.candles) == 1240
        assert daily_pages(running) == 6
        assert more.candles[-1000:] == first.candles

        everything = await broker.chart(CODE, Period.DAY, count=5000)  # all the history
        assert 1240 < len(everything.candles) < 5000
        assert daily_pages(running) == 9
        assert (await broker.chart(CODE, Period.DAY, count=4000)) == everything
        assert daily_pages(running) == 9

        other = await broker.chart(CODE, Period.WEEK, count=5)  # its own cache entry
        assert len(other.candles) == 5
        assert sim_requests(running).get("ka10082", 0) == 1
    finally:
        await broker.close()


async def test_minute_candle_is_refreshed(running: RunningSimulator) -> None:
    broker = inprocess_broker(running, chart_ttl=0.0)
    try:
        running.advance(120)
        before = await broker.chart(CODE, Period.MIN_1, count=3)
        running.advance(120)
        after = await broker.chart(CODE, Period.MIN_1, count=3)
        assert after.candles[-1].time > before.candles[-1].time
        assert [c.time for c in after.candles] == sorted(c.time for c in after.candles)
        assert sim_requests(running)["ka10080"] == 2
    finally:
        await broker.close()


async def test_quotes_are_cached_for_their_ttl(running: RunningSimulator) -> None:
    cached = inprocess_broker(running, quote_ttl=60.0)
    uncached = inprocess_broker(running, quote_ttl=0.0)
    try:
        assert await cached.quote(CODE) == await cached.quote(CODE)
        assert sim_requests(running)["ka10001"] == 1
        await uncached.quote(CODE)
        await uncached.quote(CODE)
        assert sim_requests(running)["ka10001"] == 3
    finally:
        await cached.close()
        await uncached.close()
