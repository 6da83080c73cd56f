"""The listing: ranked search, and the cache (one load at a time, per environment,
refreshed after its ttl, the previous copy kept when a refresh fails)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr

from quantum.adapter.broker import BrokerUnavailable, Credentials
from quantum.adapter.schema import Environment, Listing
from quantum.platform.market.listing import ListingCache, Listings, search_listings


def listed(code: str, name: str, market: str = "KOSPI", shares: int = 1, price: int = 1) -> Listing:
    return Listing(
        stock_code=code, name=name, market=market, listed_shares=shares, last_price=price
    )


LISTINGS = Listings(
    [
        listed("005930", "삼성전자", shares=5_000, price=70_000),
        listed("005935", "삼성전자우", shares=800, price=58_000),
        listed("006400", "삼성SDI", shares=68, price=235_000),
        listed("066570", "LG전자", shares=160, price=90_000),
        listed("000660", "SK하이닉스", shares=728, price=267_000),
        listed("950210", "프레스티지바이오파마", "KOSDAQ", shares=60, price=10_000),
        listed("247540", "에코프로비엠", "KOSDAQ", shares=97, price=200_000),
        listed("005380", "현대차", shares=200, price=250_000),
        listed("123450", "전자부품", "KOSDAQ", shares=1, price=1_000),
        listed("0059A0", "테스트005930", "KOSDAQ"),
    ]
)


def codes(query: str, **kwargs: Any) -> list[str]:
    return [item.stock_code for item in search_listings(LISTINGS, query, **kwargs).items]


def test_exact_code_then_code_prefix_then_name_prefix_then_substring() -> None:
    # the name "테스트005930" only contains the code: it comes after every code match
    assert codes("005930") == ["005930", "0059A0"]
    assert codes("00593") == ["005930", "005935", "0059A0"]
    assert codes("0059") == ["005930", "005935", "0059A0"]
    # names starting with the query, then containing it
    assert codes("전자") == ["123450", "005930", "005935", "066570"]


def test_ties_go_to_the_exact_name_then_the_larger_company() -> None:
    assert codes("삼성") == ["005930", "005935", "006400"]
    assert codes("삼성전자") == ["005930", "005935"]
    assert codes("삼성전자우") == ["005935"]


def test_case_insensitive_and_whitespace() -> None:
    assert codes("sdi") == ["006400"]
    assert codes("  lg전자 ") == ["066570"]
    assert codes("sk하이") == ["000660"]
    assert codes("0059a0") == ["0059A0"]


def test_market_filter_limit_and_total() -> None:
    assert codes("0", market="kosdaq") == ["0059A0"]
    assert codes("바이오", market="KOSDAQ") == ["950210"]
    assert codes("바이오", market="KOSPI") == []
    result = search_listings(LISTINGS, "삼성", limit=2)
    assert result.total == 3
    assert [item.stock_code for item in result.items] == ["005930", "005935"]
    assert codes("없음") == []


def test_blank_query_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        search_listings(LISTINGS, "  ")


def test_listings_lookup() -> None:
    assert LISTINGS.get("005930") is not None
    assert "000660" in LISTINGS and "999999" not in LISTINGS
    assert LISTINGS.unknown(["005930", "999999", "111111"]) == ["999999", "111111"]
    assert len(LISTINGS) == 10


class FakeBroker:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Environment]] = []
        self.fail = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def listings(self, market: str, credentials: Credentials | None = None) -> list[Listing]:
        assert credentials is not None
        self.calls.append((market, credentials.environment))
        await self.gate.wait()
        if self.fail:
            raise BrokerUnavailable("down")
        if market == "KOSPI":
            return [listed("005930", "삼성전자")]
        return [listed("247540", "에코프로비엠", "KOSDAQ")]


def credentials(environment: Environment = Environment.SIMULATOR) -> Credentials:
    return Credentials(SecretStr("key"), SecretStr("secret"), environment)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_cache_loads_once_for_concurrent_callers() -> None:
    broker = FakeBroker()
    broker.gate.clear()
    cache = ListingCache(broker, ttl=60)  # type: ignore[arg-type]
    waiting = [asyncio.create_task(cache.get(credentials())) for _ in range(5)]
    await asyncio.sleep(0.01)
    broker.gate.set()
    results = await asyncio.gather(*waiting)
    assert all(result is results[0] for result in results)
    assert broker.calls == [("KOSPI", Environment.SIMULATOR), ("KOSDAQ", Environment.SIMULATOR)]
    assert cache.loads == 1
    assert set(results[0].by_code) == {"005930", "247540"}


async def test_cache_expires_and_is_per_environment() -> None:
    broker, clock = FakeBroker(), Clock()
    cache = ListingCache(broker, ttl=60, clock=clock)  # type: ignore[arg-type]
    first = await cache.get(credentials())
    clock.now += 59
    assert await cache.get(credentials()) is first
    assert cache.loads == 1
    await cache.get(credentials(Environment.MOCK))
    assert cache.loads == 2
    clock.now += 2
    assert await cache.get(credentials()) is not first
    assert cache.loads == 3
    cache.invalidate()
    assert cache.cached(Environment.SIMULATOR) is None


async def test_failed_refresh_keeps_the_previous_copy() -> None:
    broker, clock = FakeBroker(), Clock()
    cache = ListingCache(broker, ttl=600, clock=clock)  # type: ignore[arg-type]
    first = await cache.get(credentials())
    broker.fail = True
    clock.now += 601
    assert await cache.get(credentials()) is first
    assert cache.loads == 2
    clock.now += 30  # retried only a minute later
    assert await cache.get(credentials()) is first
    assert cache.loads == 2
    clock.now += 31
    await cache.get(credentials())
    assert cache.loads == 3


async def test_first_load_failure_propagates() -> None:
    broker = FakeBroker()
    broker.fail = True
    cache = ListingCache(broker)  # type: ignore[arg-type]
    with pytest.raises(BrokerUnavailable):
        await cache.get(credentials())
    assert cache.cached(Environment.SIMULATOR) is None
