"""The day's price limits: one quote per stock and trading day, shared by every
key on one host; a new day asks again, and a quote without limits is not kept."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from pydantic import SecretStr

from quantum.adapter.broker import Broker, Credentials
from quantum.adapter.schema import Environment, Quote
from quantum.platform.trading.limits import DayLimits, PriceLimits

# 09:30 KST on each day
MONDAY = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
TUESDAY = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
LATE_MONDAY_UTC = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
"""08:30 KST on Tuesday: the KST day decides, not the UTC one."""


class QuoteSource:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.lower, self.upper = 49_000, 91_000

    async def quote(self, stock_code: str, credentials: Credentials | None = None) -> Quote:
        self.asked.append(stock_code)
        return Quote(
            stock_code=stock_code,
            name="Test",
            price=70_000,
            base_price=70_000,
            change=0,
            change_rate=Decimal(0),
            open=None,
            high=None,
            low=None,
            volume=0,
            upper_limit=self.upper,
            lower_limit=self.lower,
            time=datetime(2026, 11, 24, tzinfo=UTC),
        )


def _key(name: str) -> Credentials:
    return Credentials(SecretStr(name), SecretStr("secret"), Environment.SIMULATOR)


async def test_one_quote_per_stock_and_day() -> None:
    source = QuoteSource()
    limits = PriceLimits(cast(Broker, cast(Any, source)))
    first = await limits.of("005930", _key("a"), MONDAY)
    assert first == DayLimits(49_000, 91_000)
    assert await limits.of("005930", _key("b"), MONDAY) == first  # another key, same host
    assert source.asked == ["005930"]

    source.lower, source.upper = 50_000, 92_000  # the next day's base price
    assert await limits.of("005930", _key("a"), LATE_MONDAY_UTC) == DayLimits(50_000, 92_000)
    assert await limits.of("005930", _key("a"), TUESDAY) == DayLimits(50_000, 92_000)
    assert await limits.of("000660", _key("a"), TUESDAY) == DayLimits(50_000, 92_000)
    assert source.asked == ["005930", "005930", "000660"]


async def test_a_quote_without_limits_is_asked_again() -> None:
    source = QuoteSource()
    source.lower = source.upper = 0  # not published yet
    limits = PriceLimits(cast(Broker, cast(Any, source)))
    assert await limits.of("005930", _key("a"), MONDAY) == DayLimits(0, 0)
    source.lower, source.upper = 49_000, 91_000
    assert await limits.of("005930", _key("a"), MONDAY) == DayLimits(49_000, 91_000)
    assert len(source.asked) == 2
