"""Market data for the signed-in user: stocks (quote + company), search, order
books, batch quotes and the guide's chart endpoint.

Bad input answers 4xx before any Kiwoom call: a malformed code 422
``invalid_stock_code``, a code not in the listing 404 ``unknown_stock``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from quantum.adapter.schema import Listing, OrderBook, Period
from quantum.kiwoom.wire import KST
from quantum.platform.api.deps import Trader
from quantum.platform.api.responses import CALLS_KIWOOM, SIGNED_IN
from quantum.platform.api.routing import DeclaredQueryRoute
from quantum.platform.api.schemas import Camel
from quantum.platform.errors import Unprocessable
from quantum.platform.market.service import (
    MAX_CHART,
    MAX_SEARCH,
    ChartRange,
    ChartResult,
    StockQuote,
)

router = APIRouter(
    route_class=DeclaredQueryRoute,
    prefix="/api/v1",
    tags=["market"],
    responses=SIGNED_IN | CALLS_KIWOOM,
)


# -- bodies ------------------------------------------------------------------------------


class StockOut(Camel):
    stock_code: str
    name: str
    market: str
    listed_shares: int
    price: int
    base_price: int
    change: int
    change_rate: float
    open: int | None
    high: int | None
    low: int | None
    volume: int
    upper_limit: int
    lower_limit: int
    time: datetime

    @classmethod
    def of(cls, found: StockQuote) -> StockOut:
        quote, listed = found.quote, found.listing
        return cls(
            stock_code=quote.stock_code,
            name=listed.name or quote.name,
            market=listed.market,
            listed_shares=listed.listed_shares,
            price=quote.price,
            base_price=quote.base_price,
            change=quote.change,
            change_rate=float(quote.change_rate),
            open=quote.open,
            high=quote.high,
            low=quote.low,
            volume=quote.volume,
            upper_limit=quote.upper_limit,
            lower_limit=quote.lower_limit,
            time=quote.time,
        )


class ListingOut(Camel):
    stock_code: str
    name: str
    market: str
    listed_shares: int
    last_price: int

    @classmethod
    def of(cls, listed: Listing) -> ListingOut:
        return cls(
            stock_code=listed.stock_code,
            name=listed.name,
            market=listed.market,
            listed_shares=listed.listed_shares,
            last_price=listed.last_price,
        )


class SearchOut(Camel):
    query: str
    market: str | None
    total: int
    items: list[ListingOut]


class LevelOut(Camel):
    price: int
    quantity: int


class OrderBookOut(Camel):
    stock_code: str
    time: datetime
    asks: list[LevelOut]
    bids: list[LevelOut]
    total_ask_quantity: int
    total_bid_quantity: int

    @classmethod
    def of(cls, book: OrderBook) -> OrderBookOut:
        return cls(
            stock_code=book.stock_code,
            time=book.time,
            asks=[LevelOut(price=level.price, quantity=level.quantity) for level in book.asks],
            bids=[LevelOut(price=level.price, quantity=level.quantity) for level in book.bids],
            total_ask_quantity=book.total_ask_quantity,
            total_bid_quantity=book.total_bid_quantity,
        )


class QuotesOut(Camel):
    quotes: list[StockOut]


class CandleOut(Camel):
    time: datetime
    open: int
    high: int
    low: int
    close: int
    volume: int


class ChartOut(Camel):
    stock_code: str
    period: str | None
    """D/W/M/Y, or None for a minute chart."""
    interval: int | None
    """Minutes per candle, or None for a D/W/M/Y chart."""
    count: int
    candles: list[CandleOut]
    """Oldest first."""

    @classmethod
    def of(cls, result: ChartResult) -> ChartOut:
        minutes = result.period.value.isdigit()
        return cls(
            stock_code=result.stock_code,
            period=None if minutes else result.period.value,
            interval=int(result.period.value) if minutes else None,
            count=len(result.candles),
            candles=[
                CandleOut(
                    time=c.time, open=c.open, high=c.high, low=c.low, close=c.close, volume=c.volume
                )
                for c in result.candles
            ],
        )


# -- input parsing -----------------------------------------------------------------------


def _market(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    market = value.strip().upper()
    if market not in ("KOSPI", "KOSDAQ"):
        raise Unprocessable(f"market must be KOSPI or KOSDAQ: {value[:20]!r}")
    return market


def _moment(name: str, value: str | None) -> date | datetime | None:
    """``YYYY-MM-DD`` or an ISO datetime (naive = KST)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Unprocessable(
            f"{name} must be YYYY-MM-DD or an ISO datetime: {value[:40]!r}"
        ) from None
    return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment.astimezone(KST)


def _period(period: str | None, interval: str | None) -> Period:
    if (period is None) == (interval is None):
        raise Unprocessable(
            "give exactly one of period (D, W, M, Y) or interval (1, 5, 10, 30, 60)"
        )
    chosen = period if period is not None else interval
    assert chosen is not None
    return Period(chosen)


# -- routes ------------------------------------------------------------------------------


@router.get("/stocks", response_model=SearchOut)
async def search_stocks(
    trader: Trader,
    query: Annotated[str, Query(min_length=1, max_length=64, description="code prefix or name")],
    market: Annotated[str | None, Query(description="KOSPI or KOSDAQ")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH)] = 20,
) -> SearchOut:
    """Listed stocks by code prefix or name substring (case-insensitive), ranked:
    exact code, code prefix, name prefix, substring."""
    wanted = _market(market)
    if not query.strip():
        raise Unprocessable("query must not be blank")
    result = await trader.market.search(
        trader.user_id, trader.trading, query, market=wanted, limit=limit
    )
    return SearchOut(
        query=query.strip(),
        market=wanted,
        total=result.total,
        items=[ListingOut.of(item) for item in result.items],
    )


@router.get("/stocks/{stockCode}", response_model=StockOut)
async def stock(
    stockCode: str,  # noqa: N803 - the guide's path parameter
    trader: Trader,
) -> StockOut:
    """The stock's quote and company info (name, market, listed shares)."""
    return StockOut.of(await trader.market.stock(trader.user_id, trader.trading, stockCode))


@router.get("/stocks/{stockCode}/orderbook", response_model=OrderBookOut)
async def order_book(
    stockCode: str,  # noqa: N803
    trader: Trader,
) -> OrderBookOut:
    """Asks (best = lowest first) and bids (best = highest first) with totals."""
    return OrderBookOut.of(
        await trader.market.order_book(trader.user_id, trader.trading, stockCode)
    )


@router.get("/quotes", response_model=QuotesOut)
async def quotes(
    trader: Trader,
    codes: Annotated[
        str, Query(min_length=1, max_length=1000, description="comma-separated stock codes")
    ],
) -> QuotesOut:
    """Quotes of 1..50 stocks, duplicates dropped, in the order given."""
    parts = [part for part in codes.split(",") if part.strip()]
    found = await trader.market.quotes(trader.user_id, trader.trading, parts)
    return QuotesOut(quotes=[StockOut.of(item) for item in found])


@router.get("/charts/{stockCode}", response_model=ChartOut)
async def chart(
    stockCode: str,  # noqa: N803
    trader: Trader,
    period: Annotated[Literal["D", "W", "M", "Y"] | None, Query()] = None,
    interval: Annotated[Literal["1", "5", "10", "30", "60"] | None, Query()] = None,
    start: Annotated[
        str | None, Query(alias="from", description="YYYY-MM-DD (or datetime)")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD (or datetime)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CHART)] = 200,
) -> ChartOut:
    """Candles, oldest first: ``period`` D/W/M/Y or ``interval`` 1/5/10/30/60 minutes
    (exactly one). The newest ``limit`` up to ``to``, then those from ``from`` on;
    minute charts also take datetimes (without an offset: KST)."""
    chosen = _period(period, interval)
    chart_range = ChartRange(_moment("from", start), _moment("to", end))
    result = await trader.market.chart(
        trader.user_id, trader.trading, stockCode, chosen, limit=limit, chart_range=chart_range
    )
    return ChartOut.of(result)
