"""Continuous-session order types on a scripted market maker (exact prices)."""

from __future__ import annotations

import pytest
from engine_testkit import SAMSUNG, Env, EnvFactory

from quantum.simulator.engine import (
    NO_ORDER,
    BalanceEvent,
    EventKind,
    OrderEvent,
    OrderKind,
    OrderLabel,
    OrderRejected,
    OrderStatus,
    RejectReason,
    Side,
)
from quantum.simulator.engine.orders import Queue

A = EventKind.ACCEPTED
F = EventKind.FILLED
C = EventKind.CONFIRMED

BIDS = [(69_900, 5), (69_800, 5)]
ASKS = [(70_000, 5), (70_100, 5)]


@pytest.fixture
def env(fake_env: EnvFactory) -> Env:
    env = fake_env()
    env.market.quote(SAMSUNG, BIDS, ASKS, last=69_900)
    return env


def fills(env: Env, order_no: str) -> list[tuple[int, int]]:
    order = env.engine.order(order_no)
    assert order is not None
    return [(f.price, f.qty) for f in order.fills]


def test_marketable_limit_fills_then_rests_with_events(env: Env) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 15, "0", 70_100)
    assert fills(env, order.order_no) == [(70_000, 5), (70_100, 5)]
    assert (order.status, order.remaining) == (OrderStatus.PARTIALLY_FILLED, 5)
    assert env.kinds() == [A, F, F]
    assert [e.order.remaining for e in env.order_events()] == [15, 10, 5]
    first = env.order_events()[1]
    assert (first.fill_price, first.fill_qty, first.label) == (70_000, 5, OrderLabel.BUY)
    assert first.order_type_name == "보통"
    assert len(env.balances()) == 2
    assert env.engine.depth(SAMSUNG, 1)[0][0].price == 70_100  # the remainder is the best bid
    assert env.market.takes == [(SAMSUNG, "ask", 70_000, 5), (SAMSUNG, "ask", 70_100, 5)]
    assert env.market.prints == [(SAMSUNG, 70_000, 5, True), (SAMSUNG, 70_100, 5, True)]
    account = env.account("A")
    paid = 5 * 70_000 + 5 * 70_100 + env.engine.fees.commission(700_500)
    assert account.cash == 100_000_000 - paid
    assert account.reserved_cash == order.reserved_cash > 5 * 70_100


def test_resting_buy_fills_at_the_ask_when_the_market_maker_requotes(env: Env) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 10, "0", 69_900)
    assert order.filled_qty == 0
    env.market.quote(SAMSUNG, [(69_700, 5)], [(69_800, 4), (69_900, 10)], last=69_800)
    assert fills(env, order.order_no) == [(69_800, 4), (69_900, 6)]
    assert order.status is OrderStatus.FILLED
    assert env.account("A").reserved_cash == 0


def test_resting_sell_fills_at_the_bid_when_bids_reach_it(env: Env) -> None:
    env.give("A", SAMSUNG, 10, 60_000)
    order = env.engine.submit("A", Side.SELL, SAMSUNG, 10, "0", 70_100)
    assert order.filled_qty == 0
    assert env.account("A").holding(SAMSUNG).sellable_qty == 0
    env.market.quote(SAMSUNG, [(70_200, 3), (70_100, 3), (70_000, 9)], [(70_300, 5)])
    assert fills(env, order.order_no) == [(70_200, 3), (70_100, 3)]
    assert order.remaining == 4
    position = env.account("A").holding(SAMSUNG)
    assert (position.qty, position.reserved_qty, position.avg_price) == (4, 4, 60_000)


def test_market_order_walks_the_book_and_rests_at_the_limit(env: Env) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 12, "3", None)
    assert fills(env, order.order_no) == [(70_000, 5), (70_100, 5)]
    assert (order.price, order.book_price, order.remaining) == (0, 91_000, 2)
    assert order.reserved_cash == env.engine.fees.buy_reservation(2, 91_000, 700_500)
    env.market.quote(SAMSUNG, BIDS, [(70_300, 1), (70_400, 5)])
    assert fills(env, order.order_no)[2:] == [(70_300, 1), (70_400, 1)]
    assert order.status is OrderStatus.FILLED
    assert env.account("A").reserved_cash == 0


def test_market_sell_rests_at_the_lower_limit(env: Env) -> None:
    env.give("A", SAMSUNG, 20, 60_000)
    order = env.engine.submit("A", Side.SELL, SAMSUNG, 20, "3", None)
    assert fills(env, order.order_no) == [(69_900, 5), (69_800, 5)]
    assert order.book_price == 49_000
    assert env.engine.depth(SAMSUNG)[1][0].price == 49_000


@pytest.mark.parametrize(("code", "price"), [("10", 70_100), ("13", None)])
def test_ioc_cancels_the_remainder(env: Env, code: str, price: int | None) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 12, code, price)
    assert order.filled_qty == 10
    assert (order.status, order.remaining) == (OrderStatus.CANCELLED, 0)
    assert env.kinds() == [A, F, F, C]
    assert env.account("A").reserved_cash == 0
    assert env.engine.open_orders("A") == []


@pytest.mark.parametrize(("code", "price"), [("20", 70_100), ("23", None), ("26", None)])
def test_fok_without_enough_quantity_trades_nothing(env: Env, code: str, price: int | None) -> None:
    before = env.account("A").snapshot()
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 11, code, price)
    assert (order.filled_qty, order.status) == (0, OrderStatus.CANCELLED)
    assert env.kinds() == [A, C]
    assert env.market.takes == []
    assert env.account("A") == before


@pytest.mark.parametrize(("code", "price", "qty"), [("20", 70_100, 10), ("23", None, 10)])
def test_fok_with_enough_quantity_fills_all(
    env: Env, code: str, price: int | None, qty: int
) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, qty, code, price)
    assert (order.filled_qty, order.status) == (qty, OrderStatus.FILLED)


def test_best_limit_prices_at_the_counter_best_and_rests_there(env: Env) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 8, "6", None)
    assert order.book_price == 70_000
    assert fills(env, order.order_no) == [(70_000, 5)]
    assert (order.remaining, order.status) == (3, OrderStatus.PARTIALLY_FILLED)
    ioc = env.engine.submit("B", Side.BUY, SAMSUNG, 8, "16", None)
    assert ioc.book_price == 70_100
    assert (ioc.filled_qty, ioc.status) == (5, OrderStatus.CANCELLED)
    with pytest.raises(OrderRejected) as info:  # nothing left on the ask side to price at
        env.engine.submit("B", Side.BUY, SAMSUNG, 1, "26", None)
    assert info.value.reason is RejectReason.ORDER_TYPE_NOT_IN_SESSION


def test_first_limit_prices_at_the_own_side_best(env: Env) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 3, "7", None)
    assert (order.book_price, order.filled_qty, order.price) == (69_900, 0, 0)
    env.give("B", SAMSUNG, 5, 60_000)
    sell = env.engine.submit("B", Side.SELL, SAMSUNG, 2, "7", None)
    assert sell.book_price == 70_000


@pytest.mark.parametrize(
    ("bids", "asks", "side", "expected"),
    [
        ([(69_900, 5)], [(70_100, 5)], Side.BUY, 70_000),
        ([(69_900, 5)], [(70_000, 5)], Side.BUY, 69_900),  # one tick wide: toward own side
        ([(69_900, 5)], [(70_000, 5)], Side.SELL, 70_000),
        ([(49_950, 5)], [(50_000, 5)], Side.SELL, 50_000),  # across a tick band
    ],
)
def test_mid_price_rounds_toward_the_own_side(
    fake_env: EnvFactory, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
    side: Side, expected: int,
) -> None:  # fmt: skip
    env = fake_env()
    env.market.quote(SAMSUNG, bids, asks)
    env.give("A", SAMSUNG, 5, 60_000)
    order = env.engine.submit("A", side, SAMSUNG, 1, "29", None)
    assert order.book_price == expected


def test_mid_ioc_and_fok(env: Env) -> None:
    env.market.quote(SAMSUNG, [(69_900, 5)], [(70_000, 5)])
    ioc = env.engine.submit("A", Side.BUY, SAMSUNG, 2, "30", None)
    assert (ioc.book_price, ioc.filled_qty, ioc.status) == (69_900, 0, OrderStatus.CANCELLED)
    env.give("B", SAMSUNG, 5, 60_000)
    fok = env.engine.submit("B", Side.SELL, SAMSUNG, 5, "31", None)
    assert (fok.book_price, fok.filled_qty) == (70_000, 0)


def test_best_price_without_a_counter_quote_is_rejected(fake_env: EnvFactory) -> None:
    env = fake_env()
    env.market.quote(SAMSUNG, [(69_900, 5)], [])
    with pytest.raises(OrderRejected) as info:
        env.engine.submit("A", Side.BUY, SAMSUNG, 1, "6", None)
    assert info.value.reason is RejectReason.ORDER_TYPE_NOT_IN_SESSION


def test_stop_limit_waits_then_becomes_a_limit(env: Env) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 5, "28", 70_600, stop_price=70_500)
    assert order.status is OrderStatus.PENDING_TRIGGER
    assert order.reserved_cash > 0
    assert env.engine.depth(SAMSUNG)[0][0].price == 69_900  # not in the book yet
    env.market.quote(SAMSUNG, BIDS, [(70_500, 2), (70_600, 9)], last=70_400)
    assert order.status is OrderStatus.PENDING_TRIGGER
    env.market.quote(SAMSUNG, BIDS, [(70_600, 2), (70_700, 9)], last=70_500)
    assert fills(env, order.order_no) == [(70_600, 2)]
    assert (order.status, order.remaining) == (OrderStatus.PARTIALLY_FILLED, 3)
    assert env.engine.depth(SAMSUNG)[0][0].price == 70_600


def test_stop_already_reached_triggers_at_once(env: Env) -> None:
    env.give("A", SAMSUNG, 5, 60_000)
    order = env.engine.submit("A", Side.SELL, SAMSUNG, 5, "28", 69_800, stop_price=70_000)
    assert fills(env, order.order_no) == [(69_900, 5)]


def test_user_orders_trade_with_each_other_first_but_never_with_themselves(env: Env) -> None:
    env.give("B", SAMSUNG, 10, 60_000)
    env.give("A", SAMSUNG, 10, 60_000)
    rest_b = env.engine.submit("B", Side.SELL, SAMSUNG, 3, "0", 70_000)
    own = env.engine.submit("A", Side.SELL, SAMSUNG, 3, "0", 70_000)
    buy = env.engine.submit("A", Side.BUY, SAMSUNG, 10, "0", 70_000)
    assert fills(env, buy.order_no) == [(70_000, 3), (70_000, 5)]
    assert rest_b.status is OrderStatus.FILLED
    assert own.remaining == 3  # A's own sell was skipped
    assert env.market.prints[-2:] == [(SAMSUNG, 70_000, 3, True), (SAMSUNG, 70_000, 5, True)]
    assert env.account("B").holding(SAMSUNG).qty == 7
    assert env.account("B").cash > 100_000_000


def test_modify_moves_quantity_to_a_new_order_at_the_back(env: Env) -> None:
    original = env.engine.submit("A", Side.BUY, SAMSUNG, 10, "0", 69_000)
    other = env.engine.submit("B", Side.BUY, SAMSUNG, 2, "0", 69_100)
    env.events.clear()
    new = env.engine.modify("A", original.order_no, SAMSUNG, 4, 69_100)
    assert (new.kind, new.orig_order_no) == (OrderKind.MODIFY, original.order_no)
    assert (new.qty, new.price, new.trde_tp) == (4, 69_100, "0")
    assert new.order_no > other.order_no
    assert original.remaining == 6
    assert env.kinds() == [A, C]
    assert {e.label for e in env.order_events()} == {OrderLabel.BUY_MODIFY}
    reservation = env.engine.fees.buy_reservation
    assert original.reserved_cash == reservation(6, 69_000, 0)
    assert new.reserved_cash == reservation(4, 69_100, 0)
    assert env.account("A").reserved_cash == original.reserved_cash + new.reserved_cash
    # Time priority: B's older order at 69,100 trades before the modified one.
    env.market.quote(SAMSUNG, [(68_000, 1)], [(71_000, 1)])
    env.engine.open_account("C", 0)
    env.give("C", SAMSUNG, 3, 60_000)
    sell = env.engine.submit("C", Side.SELL, SAMSUNG, 3, "0", 69_100)
    assert fills(env, sell.order_no) == [(69_100, 2), (69_100, 1)]
    assert (other.status, new.remaining) == (OrderStatus.FILLED, 3)


def test_modify_whole_remainder_cancels_the_original_and_may_trade(env: Env) -> None:
    original = env.engine.submit("A", Side.BUY, SAMSUNG, 4, "0", 69_000)
    new = env.engine.modify("A", original.order_no, SAMSUNG, 0, 70_000)
    assert (original.status, original.remaining) == (OrderStatus.CANCELLED, 0)
    assert (new.qty, new.status) == (4, OrderStatus.FILLED)
    assert env.kinds(new.order_no) == [A, C, F]
    assert all(e.label is OrderLabel.BUY_MODIFY for e in env.order_events(new.order_no))


def test_modify_of_a_market_order_becomes_a_limit(env: Env) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 12, "3", None)
    new = env.engine.modify("A", order.order_no, SAMSUNG, 0, 69_000)
    assert (new.trde_tp, new.book_price) == ("0", 69_000)
    assert env.account("A").reserved_cash == new.reserved_cash


def test_cancel_partial_then_all(env: Env) -> None:
    env.give("A", SAMSUNG, 10, 60_000)
    order = env.engine.submit("A", Side.SELL, SAMSUNG, 10, "0", 71_000)
    env.events.clear()
    record = env.engine.cancel("A", order.order_no, SAMSUNG, 4)
    assert (record.kind, record.qty, record.orig_order_no) == (OrderKind.CANCEL, 4, order.order_no)
    assert record.order_no != order.order_no
    assert record.status is OrderStatus.CONFIRMED
    assert order.remaining == 6
    assert env.kinds() == [A, C]
    assert {e.label for e in env.order_events()} == {OrderLabel.SELL_CANCEL}
    assert env.account("A").holding(SAMSUNG).reserved_qty == 6
    env.engine.cancel("A", order.order_no, SAMSUNG, 0)
    assert order.status is OrderStatus.CANCELLED
    assert env.account("A").holding(SAMSUNG).reserved_qty == 0
    assert env.engine.depth(SAMSUNG)[1][0].price == 70_000
    assert env.engine.open_orders("A") == []
    with pytest.raises(OrderRejected) as info:
        env.engine.cancel("A", order.order_no, SAMSUNG, 0)
    assert info.value.reason is RejectReason.ORDER_NOT_OPEN


def test_sell_fill_books_fees_tax_and_realized_pnl(env: Env) -> None:
    env.give("A", SAMSUNG, 10, 60_000)
    order = env.engine.submit("A", Side.SELL, SAMSUNG, 10, "3", None)
    amount = 5 * 69_900 + 5 * 69_800
    fees = env.engine.fees
    assert (order.commission, order.tax) == (fees.commission(amount), fees.tax(amount))
    account = env.account("A")
    assert account.realized_pnl == amount - order.commission - order.tax - 600_000
    assert account.cash == 100_000_000 + amount - order.commission - order.tax
    last = env.balances()[-1]
    assert isinstance(last, BalanceEvent)
    assert (last.qty, last.side, last.realized_pnl) == (0, Side.SELL, account.realized_pnl)
    assert last.today_net_buy_qty == -10
    event = env.order_events()[-1]
    assert isinstance(event, OrderEvent)
    assert (event.commission, event.tax, event.label) == (
        order.commission,
        order.tax,
        OrderLabel.SELL,
    )


def test_order_fields_for_the_account_trs(env: Env) -> None:
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 15, "0", 70_100)
    assert (order.order_no, order.orig_order_no, order.name) == ("0000001", NO_ORDER, "삼성전자")
    assert order.avg_fill_price == 70_050
    assert order.queue is Queue.NONE
    assert env.engine.filled_orders("A") == [order]
    assert env.engine.open_orders("A", SAMSUNG) == [order]
    assert env.engine.open_orders("A", "000100") == []
    assert [f.fill_no for f in order.fills] == ["0000001", "0000002"]
