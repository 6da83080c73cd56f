"""Quotes, order books and charts for a user: inputs checked against the listing
before anything reaches Kiwoom, every broker call attributed to the caller."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from typing import Final

from quantum.adapter.broker import Broker
from quantum.adapter.charts import MAX_COUNT, MINUTE_PERIODS
from quantum.adapter.schema import Candle, Listing, OrderBook, Period, Quote
from quantum.kiwoom.wire import KST
from quantum.platform.errors import NotFound, Unprocessable
from quantum.platform.market.listing import DEFAULT_TTL, ListingCache, Listings, SearchResult
from quantum.platform.services.accounts import Trading
from quantum.platform.services.usage import acting_for

STOCK_CODE: Final = re.compile(r"[0-9A-Z]{6}")
MAX_BATCH: Final = 50
MAX_SEARCH: Final = 100
MAX_CHART: Final = MAX_COUNT
BATCH_CONCURRENCY: Final = 4
SESSION_END: Final = clock_time(16, 0)


@dataclass(frozen=True)
class StockQuote:
    listing: Listing
    quote: Quote


@dataclass(frozen=True)
class ChartRange:
    """``from``/``to`` of a chart request: dates, or (minute charts) KST datetimes."""

    start: date | datetime | None = None
    end: date | datetime | None = None

    def until(self) -> date | None:
        """The broker's ``until`` day."""
        if isinstance(self.end, datetime):
            return self.end.astimezone(KST).date()
        return self.end

    def later_candles(self, period: Period) -> int:
        """At most how many candles of ``until``'s day come after a datetime ``to``
        (the session ends by 16:00 KST): fetched on top of ``limit``, then dropped."""
        minutes = MINUTE_PERIODS.get(period)
        if minutes is None or not isinstance(self.end, datetime):
            return 0
        end = self.end.astimezone(KST)
        close = datetime.combine(end.date(), SESSION_END, KST)
        return max(0, int((close - end).total_seconds() // 60) // minutes + 1)

    def keeps(self, candle: Candle) -> bool:
        moment = candle.time.astimezone(KST)
        if self.start is not None:
            if isinstance(self.start, datetime):
                if moment < self.start:
                    return False
            elif moment.date() < self.start:
                return False
        if self.end is not None:
            if isinstance(self.end, datetime):
                if moment > self.end:
                    return False
            elif moment.date() > self.end:
                return False
        return True


@dataclass(frozen=True)
class ChartResult:
    stock_code: str
    period: Period
    candles: list[Candle]


def check_stock_code(value: str) -> str:
    code = value.strip().upper()
    if not STOCK_CODE.fullmatch(code):
        raise Unprocessable(
            f"stock code must be 6 characters (0-9, A-Z): {value[:20]!r}",
            code="invalid_stock_code",
            details={"stockCode": value[:20]},
        )
    return code


def check_stock_codes(values: Iterable[str]) -> list[str]:
    """Format-checked, upper-cased, de-duplicated codes in their first order."""
    codes: list[str] = []
    invalid: list[str] = []
    for raw in values:
        code = raw.strip().upper()
        if not STOCK_CODE.fullmatch(code):
            invalid.append(raw[:20])
        elif code not in codes:
            codes.append(code)
    if invalid:
        raise Unprocessable(
            f"stock codes must be 6 characters (0-9, A-Z): {', '.join(invalid[:10])}",
            code="invalid_stock_code",
            details={"invalidCodes": invalid[:MAX_BATCH]},
        )
    if not 1 <= len(codes) <= MAX_BATCH:
        raise Unprocessable(
            f"give 1..{MAX_BATCH} distinct stock codes (got {len(codes)})",
            details={"count": len(codes), "max": MAX_BATCH},
        )
    return codes


def check_chart_range(period: Period, chart_range: ChartRange) -> ChartRange:
    minutes = period in MINUTE_PERIODS
    for name, value in (("from", chart_range.start), ("to", chart_range.end)):
        if isinstance(value, datetime) and not minutes:
            raise Unprocessable(f"{name}: {period.value} charts take dates (YYYY-MM-DD)")
    start, end = chart_range.start, chart_range.end
    if start is not None and end is not None:
        first = start if isinstance(start, datetime) else datetime.combine(start, clock_time(), KST)
        last = end if isinstance(end, datetime) else datetime.combine(end, clock_time.max, KST)
        if first > last:
            raise Unprocessable("from is after to")
    return chart_range


class MarketService:
    def __init__(
        self,
        broker: Broker,
        *,
        listing_ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        batch_concurrency: int = BATCH_CONCURRENCY,
    ) -> None:
        self.broker = broker
        self.listings = ListingCache(broker, ttl=listing_ttl, clock=clock)
        self._batch_concurrency = batch_concurrency

    async def listing(self, user_id: str, trading: Trading) -> Listings:
        with acting_for(user_id, trading.kiwoom_account_id):
            return await self.listings.get(trading.credentials)

    async def known(self, user_id: str, trading: Trading, code: str) -> Listing:
        """``code`` (format-checked) as listed; 404 ``unknown_stock`` otherwise."""
        listings = await self.listing(user_id, trading)
        listed = listings.get(code)
        if listed is None:
            raise NotFound(
                f"no listed stock {code}", code="unknown_stock", details={"stockCodes": [code]}
            )
        return listed

    async def search(
        self, user_id: str, trading: Trading, query: str, *, market: str | None, limit: int
    ) -> SearchResult:
        if not query.strip():
            raise Unprocessable("query must not be blank")
        listings = await self.listing(user_id, trading)
        return listings.search(query, market=market, limit=min(limit, MAX_SEARCH))

    async def stock(self, user_id: str, trading: Trading, stock_code: str) -> StockQuote:
        code = check_stock_code(stock_code)
        listed = await self.known(user_id, trading, code)
        with acting_for(user_id, trading.kiwoom_account_id):
            quote = await self.broker.quote(code, trading.credentials)
        return StockQuote(listed, quote)

    async def quotes(
        self, user_id: str, trading: Trading, stock_codes: list[str]
    ) -> list[StockQuote]:
        codes = check_stock_codes(stock_codes)
        listings = await self.listing(user_id, trading)
        unknown = listings.unknown(codes)
        if unknown:
            raise NotFound(
                f"no listed stock {', '.join(unknown)}",
                code="unknown_stock",
                details={"stockCodes": unknown},
            )
        gate = asyncio.Semaphore(max(1, self._batch_concurrency))

        async def one(code: str) -> Quote:
            async with gate:
                return await self.broker.quote(code, trading.credentials)

        with acting_for(user_id, trading.kiwoom_account_id):
            quotes = await asyncio.gather(*(one(code) for code in codes))
        return [
            StockQuote(listings.by_code[code], quote)
            for code, quote in zip(codes, quotes, strict=True)
        ]

    async def order_book(self, user_id: str, trading: Trading, stock_code: str) -> OrderBook:
        code = check_stock_code(stock_code)
        await self.known(user_id, trading, code)
        with acting_for(user_id, trading.kiwoom_account_id):
            return await self.broker.order_book(code, trading.credentials)

    async def chart(
        self,
        user_id: str,
        trading: Trading,
        stock_code: str,
        period: Period,
        *,
        limit: int,
        chart_range: ChartRange,
    ) -> ChartResult:
        """The newest ``limit`` candles up to ``to`` (the broker's ``until``), then
        only those at or after ``from``; oldest first."""
        code = check_stock_code(stock_code)
        if not 1 <= limit <= MAX_CHART:
            raise Unprocessable(f"limit must be in 1..{MAX_CHART}")
        check_chart_range(period, chart_range)
        await self.known(user_id, trading, code)
        with acting_for(user_id, trading.kiwoom_account_id):
            chart = await self.broker.chart(
                code,
                period,
                count=min(MAX_CHART, limit + chart_range.later_candles(period)),
                until=chart_range.until(),
                credentials=trading.credentials,
            )
        candles = [candle for candle in chart.candles if chart_range.keeps(candle)]
        candles.sort(key=lambda candle: candle.time)
        return ChartResult(stock_code=code, period=period, candles=candles[-limit:])
