"""One contract for both Brokers: InProcessBroker and RemoteBroker (over the adapter API)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from tests.integration.adapter.conftest import CODE, MakeBroker
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator

from quantum.adapter.broker import (
    Broker,
    BrokerInputError,
    BrokerNotFound,
    BrokerRejected,
)
from quantum.adapter.schema import (
    CancelRequest,
    ModifyRequest,
    OrderRequest,
    Period,
    Side,
)
from quantum.kiwoom.wire import KST

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=KST)
TODAY = date(2026, 11, 24)


async def test_token(broker: Broker) -> None:
    token = await broker.token()
    assert token.token and token.token_type == "Bearer"
    assert token.expires_at > NOW
    assert (await broker.token()).token == token.token  # one session per app key


async def test_quote_and_order_book(broker: Broker) -> None:
    quote = await broker.quote(CODE)
    assert quote.stock_code == CODE and quote.name
    assert quote.lower_limit <= quote.price <= quote.upper_limit
    assert quote.change == quote.price - quote.base_price
    assert isinstance(quote.change_rate, Decimal)
    assert quote.time == NOW

    book = await broker.order_book(CODE)
    assert book.stock_code == CODE and book.time == NOW
    assert book.asks and book.bids
    assert book.bids[0].price < book.asks[0].price
    assert [lv.price for lv in book.asks] == sorted(lv.price for lv in book.asks)
    assert [lv.price for lv in book.bids] == sorted((lv.price for lv in book.bids), reverse=True)
    assert book.total_ask_quantity >= sum(lv.quantity for lv in book.asks)


async def test_listings(broker: Broker) -> None:
    kospi = await broker.listings("KOSPI")
    kosdaq = await broker.listings("KOSDAQ")
    assert CODE in {row.stock_code for row in kospi}
    assert kosdaq and all(row.market == "KOSDAQ" for row in kosdaq)
    assert all(row.last_price > 0 and row.listed_shares > 0 for row in kospi)


async def test_chart_every_period(broker: Broker, running: RunningSimulator) -> None:
    running.advance(300)  # five simulated minutes of trading for the minute charts
    for period in Period:
        chart = await broker.chart(CODE, period, count=3)
        assert chart.stock_code == CODE and chart.period == period
        assert 1 <= len(chart.candles) <= 3, period
        if period in (Period.DAY, Period.WEEK, Period.MONTH, Period.MIN_1):
            assert len(chart.candles) == 3, period
        times = [candle.time for candle in chart.candles]
        assert times == sorted(times) and len(set(times)) == len(times), period
        for candle in chart.candles:
            assert 0 < candle.low <= min(candle.open, candle.close)
            assert max(candle.open, candle.close) <= candle.high


async def test_daily_chart_count_and_until(broker: Broker) -> None:
    chart = await broker.chart(CODE, Period.DAY, count=700)
    assert len(chart.candles) == 700
    assert chart.candles[-1].time == NOW.replace(hour=0)
    older = await broker.chart(CODE, Period.DAY, count=5, until=date(2026, 6, 30))
    assert len(older.candles) == 5
    assert older.candles[-1].time.date() <= date(2026, 6, 30)
    quote = await broker.quote(CODE)
    assert chart.candles[-1].close == quote.price


async def test_place_modify_cancel_resting_order(broker: Broker) -> None:
    book = await broker.order_book(CODE)
    low, lower = book.bids[-2].price, book.bids[-1].price
    placed = await broker.place_order(
        OrderRequest(stock_code=CODE, side=Side.BUY, order_type="LIMIT", quantity=10, price=low)
    )
    assert len(placed.order_no) == 7

    (resting,) = await broker.open_orders()
    assert resting.order_no == placed.order_no and resting.stock_code == CODE
    assert (resting.side, resting.order_type) == (Side.BUY, "LIMIT")
    assert (resting.quantity, resting.remaining_quantity, resting.price) == (10, 10, low)
    assert resting.filled_quantity == 0 and resting.time == NOW

    modified = await broker.modify_order(
        placed.order_no, ModifyRequest(stock_code=CODE, quantity=10, price=lower)
    )
    assert modified.original_order_no == placed.order_no and modified.quantity == 10
    (moved,) = await broker.open_orders()
    assert moved.order_no == modified.order_no and moved.price == lower
    assert moved.original_order_no == placed.order_no

    cancelled = await broker.cancel_order(modified.order_no, CancelRequest(stock_code=CODE))
    assert cancelled.original_order_no == modified.order_no and cancelled.quantity == 10
    assert await broker.open_orders() == []
    assert await broker.fills() == []


async def test_fills_deposit_and_balance(broker: Broker) -> None:
    start = await broker.deposit()
    assert start.cash == start.orderable == start.withdrawable > 0
    assert (await broker.balance()).holdings == []

    book = await broker.order_book(CODE)
    ack = await broker.place_order(
        OrderRequest(
            stock_code=CODE,
            side=Side.BUY,
            order_type="LIMIT",
            quantity=10,
            price=book.asks[0].price,
        )
    )
    (fill,) = await broker.fills()
    assert fill.order_no == ack.order_no and fill.side is Side.BUY
    assert fill.filled_quantity == 10 and fill.remaining_quantity == 0
    assert 0 < fill.filled_price <= book.asks[0].price
    assert await broker.open_orders() == []

    deposit = await broker.deposit()
    assert deposit.cash < start.cash
    balance = await broker.balance()
    (holding,) = balance.holdings
    assert holding.stock_code == CODE and holding.quantity == holding.sellable_quantity == 10
    assert holding.average_price == fill.filled_price
    assert holding.purchase_amount == fill.filled_price * 10
    assert holding.evaluation == holding.price * 10
    assert balance.total_purchase == holding.purchase_amount
    assert balance.total_evaluation == holding.evaluation
    assert balance.estimated_assets == deposit.cash + holding.evaluation

    await broker.place_order(
        OrderRequest(stock_code=CODE, side=Side.SELL, order_type="MARKET", quantity=10)
    )
    fills = await broker.fills()
    assert [f.side for f in fills] == [Side.SELL, Side.BUY]
    assert fills[0].order_type == "MARKET"
    assert (await broker.balance()).holdings == []


async def test_unknown_stock_is_not_found(broker: Broker) -> None:
    with pytest.raises(BrokerNotFound) as caught:
        await broker.quote("999999")
    assert caught.value.kiwoom_code == "1902"


BAD_ORDERS = [
    OrderRequest(stock_code=CODE, side=Side.BUY, order_type="NOPE", quantity=1, price=100),
    OrderRequest(stock_code=CODE, side=Side.BUY, order_type="LIMIT", quantity=1),
    OrderRequest(stock_code=CODE, side=Side.BUY, order_type="MARKET", quantity=1, price=70000),
    OrderRequest(stock_code=CODE, side=Side.SELL, order_type="STOP_LIMIT", quantity=1, price=70000),
]
"""Unknown type, limit without price, market with price, stop limit without stop price."""


async def test_bad_orders_are_input_errors(broker: Broker, running: RunningSimulator) -> None:
    for order in BAD_ORDERS:
        with pytest.raises(BrokerInputError):
            await broker.place_order(order)
    assert not {"kt10000", "kt10001"} & set(running.sim.requests)


async def test_bad_arguments_are_input_errors(broker: Broker) -> None:
    with pytest.raises(BrokerInputError):
        await broker.listings("NASDAQ")
    with pytest.raises(BrokerInputError):
        await broker.chart(CODE, Period.DAY, count=0)
    with pytest.raises((BrokerInputError, BrokerNotFound)):
        await broker.quote("12345")


async def test_market_closed_is_rejected(
    make_broker: MakeBroker, start_simulator: StartSimulator
) -> None:
    closed = start_simulator(start="2026-11-24T20:00:00+09:00")
    broker = await make_broker(closed)
    with pytest.raises(BrokerRejected) as caught:
        await broker.place_order(
            OrderRequest(
                stock_code=CODE, side=Side.BUY, order_type="LIMIT", quantity=1, price=70000
            )
        )
    assert caught.value.kiwoom_code == "RC4058"


async def test_subscribe_streams_ticks_in_order(broker: Broker, running: RunningSimulator) -> None:
    import asyncio

    from quantum.adapter.schema import SubscribedMessage, TickMessage

    subscription = await broker.subscribe([CODE])
    messages = subscription.messages()
    ticks: list[TickMessage] = []
    subscribed = False
    async with asyncio.timeout(20):
        while len(ticks) < 5:
            if subscribed:
                await asyncio.to_thread(running.advance, 2)
            message = await anext(messages)
            if isinstance(message, SubscribedMessage):
                assert message.stock_codes == [CODE]
                subscribed = True
            elif isinstance(message, TickMessage):
                ticks.append(message)
    assert {tick.stock_code for tick in ticks} == {CODE}
    assert [tick.seq for tick in ticks] == sorted({tick.seq for tick in ticks})
    assert all(tick.price > 0 and tick.quantity > 0 for tick in ticks)
    await subscription.close()


async def test_verify_credentials_asks_kiwoom_even_with_a_cached_token(broker: Broker) -> None:
    """A pair is only "verified" by Kiwoom: a cached token for the same app key must
    not make a wrong secret look right, and a right pair replaces the key's session."""
    from pydantic import SecretStr

    from quantum.adapter.broker import BrokerAuthError, Credentials
    from quantum.adapter.schema import Environment

    def pair(secret: str) -> Credentials:
        return Credentials(SecretStr("verify-key"), SecretStr(secret), Environment.SIMULATOR)

    first = await broker.verify_credentials(pair("right-secret"))
    assert (await broker.token(pair("right-secret"))).token == first.token
    with pytest.raises(BrokerAuthError):
        await broker.verify_credentials(pair("wrong-secret"))
    again = await broker.verify_credentials(pair("right-secret"))
    assert again.token == first.token  # Kiwoom hands back the live token
