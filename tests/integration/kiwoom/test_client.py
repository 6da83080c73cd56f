"""KiwoomClient against a real simulator (fixed clock 2026-11-24 10:00 KST)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from tests.integration.kiwoom.conftest import Harness, settings_for
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator

from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.exceptions import InputError
from quantum.kiwoom.models import Candle
from quantum.kiwoom.orders import InvalidArgumentError, OrderType, Side
from quantum.kiwoom.transport import KiwoomTransport
from quantum.kiwoom.wire import KST

CODE = "005930"
TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=KST)


@pytest.fixture
def running(start_simulator: StartSimulator) -> RunningSimulator:
    return start_simulator(rate_limit={"per_second": 1000})


@pytest.fixture
def client(running: RunningSimulator, harness: Harness) -> KiwoomClient:
    return KiwoomClient(harness.transport(running), today=lambda: running.sim.clock.now().date())


def calls(harness: Harness, api_id: str) -> int:
    return sum(1 for record in harness.records if record.api_id == api_id)


def assert_oldest_first(candles: list[Candle]) -> None:
    times = [candle.time for candle in candles]
    assert times == sorted(times)
    for candle in candles:
        assert candle.time.tzinfo is not None
        assert 0 < candle.low <= min(candle.open, candle.close)
        assert max(candle.open, candle.close) <= candle.high


# -- quotes ------------------------------------------------------------------------------------


async def test_account_number(client: KiwoomClient, running: RunningSimulator) -> None:
    answer = await client.account_number()
    assert answer.account_no
    assert answer.account_no.isdigit()


async def test_stock_info_and_order_book_agree(client: KiwoomClient) -> None:
    info = await client.stock_info(CODE)
    assert info.code == CODE and info.name
    assert info.lower_limit <= info.price <= info.upper_limit
    assert info.change == info.price - info.base_price
    expected_rate = Decimal(info.change * 100) / Decimal(info.base_price)
    assert abs(info.change_rate - expected_rate) <= Decimal("0.005")
    assert info.market_cap and info.market_cap % 100_000_000 == 0
    assert info.listed_shares and info.per is not None

    book = await client.order_book(CODE)
    assert book.time == NOW
    assert book.asks and book.bids
    assert book.best_ask is not None and book.best_bid is not None
    assert book.best_bid < book.best_ask
    assert [level.price for level in book.asks] == sorted(level.price for level in book.asks)
    bid_prices = [level.price for level in book.bids]
    assert bid_prices == sorted(bid_prices, reverse=True)
    assert all(level.qty > 0 for level in (*book.asks, *book.bids))
    assert book.total_ask_qty >= sum(level.qty for level in book.asks)
    assert info.lower_limit <= book.best_bid and book.best_ask <= info.upper_limit


async def test_stock_list(client: KiwoomClient) -> None:
    kospi = await client.stock_list("KOSPI")
    kosdaq = await client.stock_list("KOSDAQ")
    assert CODE in {listing.code for listing in kospi}
    assert kosdaq
    assert not {listing.code for listing in kospi} & {listing.code for listing in kosdaq}
    assert {listing.market_name for listing in kospi} == {"거래소"}
    assert all(listing.last_price and listing.listed_shares for listing in kospi)


async def test_server_errors_come_back_as_kiwoom_errors(client: KiwoomClient) -> None:
    with pytest.raises(InputError) as caught:
        await client.stock_info("999999")
    assert caught.value.code == "1902"


# -- charts ------------------------------------------------------------------------------------


async def test_daily_chart_walks_every_page_oldest_first(
    client: KiwoomClient, harness: Harness
) -> None:
    candles = await client.daily_chart(CODE, TODAY)
    assert calls(harness, "ka10081") == 3  # 600 rows a page, five years of history
    assert len(candles) > 1200
    assert_oldest_first(candles)
    assert len({candle.time for candle in candles}) == len(candles)
    assert candles[-1].time == datetime(2026, 11, 24, tzinfo=KST)
    assert all(candle.turnover is not None and candle.turnover > 0 for candle in candles[:-1])

    info = await client.stock_info(CODE)
    assert candles[-1].close == info.price

    before = calls(harness, "ka10081")
    newest = await client.daily_chart(CODE, TODAY, max_rows=700)
    assert calls(harness, "ka10081") - before == 2  # stops after the page holding row 700
    assert newest == candles[-700:]


async def test_daily_chart_base_date_and_raw_prices(client: KiwoomClient) -> None:
    base = date(2026, 6, 30)
    candles = await client.daily_chart(CODE, base, adjusted=False, max_rows=5)
    assert len(candles) == 5
    assert_oldest_first(candles)
    assert candles[-1].time.date() <= base
    assert candles[-1].time.date() >= base - timedelta(days=7)


@pytest.mark.parametrize(
    ("method", "max_days"),
    [("weekly_chart", 7), ("monthly_chart", 31), ("yearly_chart", 366)],
)
async def test_period_charts(client: KiwoomClient, method: str, max_days: int) -> None:
    chart: Callable[..., Awaitable[list[Candle]]] = getattr(client, method)
    candles = await chart(CODE, TODAY)
    assert len(candles) >= 2
    assert_oldest_first(candles)
    assert candles[-1].time.date() <= TODAY
    steps = [(b.time - a.time).days for a, b in itertools.pairwise(candles)]
    assert all(0 < step <= max_days + 7 for step in steps)
    assert all(candle.turnover is not None for candle in candles)
    limited = await chart(CODE, TODAY, max_rows=2)
    assert limited == candles[-2:]


async def test_minute_chart(client: KiwoomClient, running: RunningSimulator) -> None:
    running.advance(600)  # ten simulated minutes of trading
    candles = await client.minute_chart(CODE, 1)
    assert candles
    assert_oldest_first(candles)
    assert candles[-1].time <= NOW + timedelta(seconds=600)
    assert all(candle.turnover is None for candle in candles)
    three = await client.minute_chart(CODE, 3, max_rows=2)
    assert len(three) == 2
    assert_oldest_first(three)
    assert (three[1].time - three[0].time) == timedelta(minutes=3)
    today = await client.minute_chart(CODE, 1, base_date=TODAY, max_rows=3)
    assert today == candles[-3:]


async def test_tick_chart(client: KiwoomClient, running: RunningSimulator) -> None:
    running.advance(300)
    candles = await client.tick_chart(CODE, 1)
    assert len(candles) >= 3
    assert_oldest_first(candles)
    assert all(candle.open == candle.close == candle.high == candle.low for candle in candles)
    newest = await client.tick_chart(CODE, 1, max_rows=3)
    assert newest == candles[-3:]
    fives = await client.tick_chart(CODE, 5, max_rows=2)
    assert len(fives) == 2


# -- orders and the account --------------------------------------------------------------------


async def test_order_round_trip(client: KiwoomClient) -> None:
    start = await client.deposit()
    assert start.deposit == start.orderable == start.withdrawable > 0
    assert (await client.balance()).holdings == ()

    book = await client.order_book(CODE)
    assert book.best_ask is not None
    bought = await client.buy(CODE, 10, OrderType.LIMIT, price=book.best_ask)
    assert len(bought.order_no) == 7 and bought.exchange == "KRX"
    assert bought.message

    (buy_fill,) = await client.fills()
    assert buy_fill.order_no == bought.order_no
    assert buy_fill.side is Side.BUY and buy_fill.order_type is OrderType.LIMIT
    assert buy_fill.filled_qty == 10 and buy_fill.remaining_qty == 0
    assert buy_fill.fill_price is not None and buy_fill.fill_price <= book.best_ask
    assert buy_fill.code == CODE
    assert buy_fill.time == NOW
    assert await client.open_orders() == []
    cost = buy_fill.fill_price * 10
    buy_fee = buy_fill.fee or 0

    after_buy = await client.deposit()
    assert after_buy.deposit == start.deposit - cost - buy_fee

    balance = await client.balance()
    (holding,) = balance.holdings
    assert holding.code == CODE
    assert (holding.qty, holding.sellable_qty) == (10, 10)
    assert holding.avg_price == buy_fill.fill_price
    assert holding.purchase_amount == cost
    assert holding.eval_amount == holding.price * 10
    assert balance.total_purchase == cost
    assert balance.total_evaluation == holding.eval_amount
    assert isinstance(holding.profit_rate, Decimal)
    assert balance.estimated_assets == after_buy.deposit + holding.eval_amount

    sold = await client.sell(CODE, 10, OrderType.MARKET)
    fills = await client.fills()
    assert [fill.order_no for fill in fills] == [sold.order_no, bought.order_no]  # newest first
    sell_fill = fills[0]
    assert sell_fill.side is Side.SELL and sell_fill.order_type is OrderType.MARKET
    assert sell_fill.filled_qty == 10 and sell_fill.fill_price
    assert [f.order_no for f in await client.fills(side=Side.SELL)] == [sold.order_no]
    assert [f.order_no for f in await client.fills(CODE, Side.BUY)] == [bought.order_no]

    assert (await client.balance()).holdings == ()
    end = await client.deposit()
    proceeds = sell_fill.fill_price * 10 - (sell_fill.fee or 0) - (sell_fill.tax or 0)
    assert end.deposit == after_buy.deposit + proceeds
    assert end.orderable == end.deposit


async def test_modify_and_cancel_a_resting_order(client: KiwoomClient) -> None:
    book = await client.order_book(CODE)
    low, lower = book.bids[-2].price, book.bids[-1].price
    placed = await client.buy(CODE, 10, price=low)

    (resting,) = await client.open_orders()
    assert resting.order_no == placed.order_no
    assert (resting.qty, resting.remaining_qty, resting.price) == (10, 10, low)
    assert resting.side is Side.BUY and resting.order_type is OrderType.LIMIT
    assert resting.original_order_no is None
    assert resting.time == NOW
    assert resting.best_ask == book.best_ask
    assert await client.open_orders(side=Side.SELL) == []
    assert [o.order_no for o in await client.open_orders(CODE, Side.BUY)] == [placed.order_no]

    deposit = await client.deposit()
    assert deposit.orderable < deposit.deposit  # cash held by the open order

    modified = await client.modify(placed.order_no, CODE, 10, lower)
    assert modified.original_order_no == placed.order_no
    assert modified.qty == 10 and modified.order_no != placed.order_no
    (moved,) = await client.open_orders()
    assert moved.order_no == modified.order_no
    assert moved.original_order_no == placed.order_no
    assert moved.price == lower and moved.remaining_qty == 10

    cancelled = await client.cancel(modified.order_no, CODE)
    assert cancelled.original_order_no == modified.order_no
    assert cancelled.qty == 10
    assert await client.open_orders() == []
    assert await client.fills() == []
    after = await client.deposit()
    assert after.orderable == after.deposit == deposit.deposit


async def test_partial_cancel(client: KiwoomClient) -> None:
    book = await client.order_book(CODE)
    placed = await client.buy(CODE, 10, price=book.bids[-1].price)
    cancelled = await client.cancel(placed.order_no, CODE, qty=4)
    assert cancelled.qty == 4
    remaining = {order.remaining_qty for order in await client.open_orders()}
    assert remaining == {6}


# -- argument checks ---------------------------------------------------------------------------

BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("stock_info", ("5930",), {}),
    ("stock_info", ("0059301",), {}),
    ("stock_info", (5930,), {}),
    ("order_book", ("abcdef",), {}),
    ("stock_list", ("NASDAQ",), {}),
    ("tick_chart", (CODE, 2), {}),
    ("tick_chart", (CODE, 1), {"max_rows": 0}),
    ("minute_chart", (CODE, 7), {}),
    ("minute_chart", (CODE, 1, "20261124"), {}),
    ("daily_chart", (CODE, "20261124"), {}),
    ("weekly_chart", (CODE, TODAY), {"max_rows": -1}),
    ("buy", (CODE, 0), {"price": 70000}),
    ("buy", (CODE, -1), {"price": 70000}),
    ("buy", (CODE, 1.5), {"price": 70000}),
    ("buy", (CODE, True), {"price": 70000}),
    ("buy", (CODE, 10), {}),  # LIMIT needs a price
    ("buy", (CODE, 10, OrderType.MARKET), {"price": 70000}),  # MARKET takes none
    ("buy", (CODE, 10, OrderType.STOP_LIMIT), {"price": 70000}),  # no stop price
    ("buy", (CODE, 10, OrderType.LIMIT), {"price": 70000, "stop_price": 69000}),
    ("buy", (CODE, 10, "0"), {"price": 70000}),
    ("buy", (CODE, 10), {"price": 0}),
    ("buy", (CODE, 10), {"price": 70000, "exchange": "NYSE"}),
    ("buy", ("005930_NX", 10), {"price": 70000}),
    ("sell", ("A005930", 10, OrderType.MARKET), {}),
    ("modify", ("48213x", CODE, 10, 70000), {}),
    ("modify", ("0048213", CODE, 10, 0), {}),
    ("modify", ("0048213", CODE, -1, 70000), {}),
    ("cancel", ("", CODE), {}),
    ("cancel", ("0048213", CODE, -5), {}),
    ("balance", ("SOR",), {}),
    ("open_orders", ("12345",), {}),
    ("open_orders", (), {"side": "buy"}),
    ("fills", (), {"side": 2}),
]


class RefusingTransport:
    """Stands in for the transport where nothing may be sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def call(self, api_id: str, body: Any, *, next_key: str | None = None) -> Any:
        self.sent.append(api_id)
        raise AssertionError(f"{api_id} was sent: {body}")


@pytest.mark.parametrize(("method", "args", "kwargs"), BAD_CALLS)
async def test_bad_arguments_never_reach_kiwoom(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    transport = RefusingTransport()
    client = KiwoomClient(cast(KiwoomTransport, transport))
    with pytest.raises(InvalidArgumentError) as caught:
        await getattr(client, method)(*args, **kwargs)
    assert isinstance(caught.value, ValueError)
    assert transport.sent == []


async def test_stop_limit_order_is_accepted(client: KiwoomClient) -> None:
    book = await client.order_book(CODE)
    price = book.bids[-1].price
    ack = await client.buy(CODE, 1, OrderType.STOP_LIMIT, price=price, stop_price=price)
    (order,) = await client.open_orders()
    assert order.order_no == ack.order_no
    assert order.order_type is OrderType.STOP_LIMIT
    assert order.stop_price == price


# -- construction ------------------------------------------------------------------------------


async def test_from_settings_owns_and_closes_its_transport(running: RunningSimulator) -> None:
    settings = settings_for(running)
    async with KiwoomClient.from_settings(settings, today=lambda: TODAY) as client:
        assert (await client.stock_info(CODE)).code == CODE
        transport = client.transport
    assert transport._http.is_closed

    shared = KiwoomClient(transport)
    await shared.aclose()  # a client given a transport leaves it to its owner
