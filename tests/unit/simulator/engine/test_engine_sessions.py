"""Session rules on the real Market: which type when, auctions, conversion, expiry."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from engine_testkit import SAMSUNG, TUESDAY, Env, EnvFactory, at

from quantum.krx.rules import tick_down, tick_up
from quantum.simulator.engine import (
    ORDER_TYPES,
    EventKind,
    OrderRejected,
    OrderStatus,
    Pricing,
    RejectReason,
    Side,
)
from quantum.simulator.engine.orders import Queue

SATURDAY = date(2026, 11, 28)
CHRISTMAS = date(2026, 12, 25)
WEDNESDAY = TUESDAY + timedelta(days=1)

#: The brief's session rules, written out independently of the engine's table.
ALLOWED: dict[str, set[str]] = {
    "0": {"pre_open", "continuous", "closing"},
    "3": {"pre_open", "continuous", "closing"},
    "5": {"pre_open", "continuous"},
    "61": {"pre_hours"},
    "81": {"post_close"},
    "62": {"single"},
    **{code: {"continuous"} for code in ("6", "7", "10", "13", "16", "20", "23", "26")},
    **{code: {"continuous"} for code in ("28", "29", "30", "31")},
}
MOMENTS: dict[str, tuple[datetime, set[str]]] = {
    "08:35": (at(8, 35), {"pre_hours", "pre_open"}),
    "08:45": (at(8, 45), {"pre_open"}),
    "10:00": (at(10), {"continuous"}),
    "15:25": (at(15, 25), {"closing"}),
    "15:45": (at(15, 45), {"post_close"}),
    "16:30": (at(16, 30), {"single"}),
}
CLOSED_MOMENTS = {
    "08:00": at(8),
    "15:35": at(15, 35),
    "18:30": at(18, 30),
    "saturday": at(10, day=SATURDAY),
    "christmas": at(10, day=CHRISTMAS),
}


def submit_any(env: Env, code: str) -> None:
    """A buy of type ``code`` with a price and stop that are valid right now."""
    last = env.market.state(SAMSUNG).last
    spec = ORDER_TYPES[code]
    price = last if spec.needs_price else None
    stop = last if spec.pricing is Pricing.STOP_LIMIT else None
    env.engine.submit("A", Side.BUY, SAMSUNG, 1, code, price, stop_price=stop)


@pytest.mark.parametrize("moment", sorted(MOMENTS))
@pytest.mark.parametrize("code", sorted(ALLOWED, key=int))
def test_each_type_only_in_its_phases(make_env: EnvFactory, code: str, moment: str) -> None:
    start, phases = MOMENTS[moment]
    env = make_env(start=start)
    if ALLOWED[code] & phases:
        submit_any(env, code)
        assert env.kinds()[0] is EventKind.ACCEPTED
    else:
        with pytest.raises(OrderRejected) as info:
            submit_any(env, code)
        assert info.value.reason is RejectReason.ORDER_TYPE_NOT_IN_SESSION
        assert env.events == []


@pytest.mark.parametrize("moment", sorted(CLOSED_MOMENTS))
def test_closed_market_rejects_everything(make_env: EnvFactory, moment: str) -> None:
    env = make_env(start=CLOSED_MOMENTS[moment])
    for code in ("0", "3", "61", "81", "62"):
        with pytest.raises(OrderRejected) as info:
            submit_any(env, code)
        assert info.value.reason is RejectReason.NOT_IN_SESSION


def test_pre_open_orders_queue_and_uncross_at_the_open_in_time_order(make_env: EnvFactory) -> None:
    env = make_env(start=at(8, 45))
    first = env.engine.submit("A", Side.BUY, SAMSUNG, 6, "3", None)
    second = env.engine.submit("B", Side.BUY, SAMSUNG, 6, "3", None)
    env.engine.sync()
    assert (first.queue, first.filled_qty, second.filled_qty) == (Queue.OPEN_AUCTION, 0, 0)
    assert all(level.qty < 1_000 for level in env.engine.depth(SAMSUNG)[0])  # not in the book
    env.set(at(9))
    env.engine.sync()
    assert first.filled_qty == 6
    assert second.filled_qty > 0
    assert max(f.price for f in first.fills) <= min(f.price for f in second.fills)
    assert first.fills[0].at == at(9)


def test_unmarketable_pre_open_limit_rests_after_the_open(make_env: EnvFactory) -> None:
    env = make_env(start=at(8, 45))
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 2, "0", 60_000)
    assert order.queue is Queue.OPEN_AUCTION
    env.set(at(9, 0, 1))
    env.engine.sync()
    assert (order.queue, order.status) == (Queue.NONE, OrderStatus.ACCEPTED)
    assert any(level.price == 60_000 for level in env.engine.depth(SAMSUNG, 100)[0])


def test_closing_auction_uncrosses_at_1530_and_day_orders_expire(make_env: EnvFactory) -> None:
    env = make_env(start=at(15))
    resting = env.engine.submit("A", Side.BUY, SAMSUNG, 5, "0", 60_000)
    env.set(at(15, 25))
    queued = env.engine.submit("B", Side.BUY, SAMSUNG, 3, "3", None)
    env.engine.sync()
    assert (queued.queue, queued.filled_qty) == (Queue.CLOSE_AUCTION, 0)
    env.set(at(15, 30))
    env.engine.sync()
    assert queued.status is OrderStatus.FILLED
    assert resting.status is OrderStatus.EXPIRED
    assert env.account("A").reserved_cash == 0
    assert env.engine.open_orders("A") == env.engine.open_orders("B") == []


def test_conditional_limit_turns_into_a_market_order_for_the_close(make_env: EnvFactory) -> None:
    env = make_env(start=at(10))
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 4, "5", 60_000)
    upper = env.market.state(SAMSUNG).upper_limit
    env.set(at(15, 20))
    env.engine.sync()
    assert (order.queue, order.book_price) == (Queue.CLOSE_AUCTION, upper)
    assert order.reserved_cash == env.engine.fees.buy_reservation(4, upper, 0)
    assert env.account("A").reserved_cash == order.reserved_cash
    assert all(level.price != 60_000 for level in env.engine.depth(SAMSUNG, 100)[0])
    env.set(at(15, 30))
    env.engine.sync()
    assert order.status is OrderStatus.FILLED
    assert env.account("A").reserved_cash == 0


def test_conditional_buy_that_cannot_cover_the_upper_limit_expires(make_env: EnvFactory) -> None:
    env = make_env(start=at(10), cash=300_000)
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 4, "5", 60_000)
    env.set(at(15, 21))
    env.engine.sync()
    assert order.status is OrderStatus.EXPIRED
    assert env.account("A").reserved_cash == 0


def test_untriggered_stop_expires_at_the_close(make_env: EnvFactory) -> None:
    env = make_env(start=at(10))
    upper = env.market.state(SAMSUNG).upper_limit
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 1, "28", upper, stop_price=upper)
    assert order.status is OrderStatus.PENDING_TRIGGER
    env.set(at(15, 30))
    env.engine.sync()
    assert order.status is OrderStatus.EXPIRED
    assert env.account("A").reserved_cash == 0


def test_pre_hours_close_price_fills_at_the_previous_close(make_env: EnvFactory) -> None:
    env = make_env(start=at(8, 35))
    state = env.market.state(SAMSUNG)
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 500, "61", None)
    assert (order.status, order.avg_fill_price) == (OrderStatus.FILLED, state.base_price)
    assert env.market.state(SAMSUNG).volume == state.volume  # off the regular tape
    assert env.account("A").holding(SAMSUNG).qty == 500


def test_post_hours_close_price_fills_at_todays_close(make_env: EnvFactory) -> None:
    env = make_env(start=at(15, 45))
    close = env.market.state(SAMSUNG).last
    env.give("A", SAMSUNG, 10, 50_000)
    order = env.engine.submit("A", Side.SELL, SAMSUNG, 10, "81", None)
    assert (order.status, order.avg_fill_price) == (OrderStatus.FILLED, close)
    assert env.account("A").realized_pnl == 10 * (close - 50_000) - order.commission - order.tax


def test_single_price_after_hours(make_env: EnvFactory) -> None:
    env = make_env(start=at(16, 30))
    close = env.market.state(SAMSUNG).last
    marketable = env.engine.submit("A", Side.BUY, SAMSUNG, 3, "62", tick_up(close, 2))
    assert (marketable.status, marketable.avg_fill_price) == (OrderStatus.FILLED, close)
    waiting = env.engine.submit("A", Side.BUY, SAMSUNG, 3, "62", tick_down(close))
    assert waiting.status is OrderStatus.ACCEPTED
    assert env.account("A").reserved_cash == waiting.reserved_cash > 0
    with pytest.raises(OrderRejected) as info:
        env.engine.submit("A", Side.BUY, SAMSUNG, 3, "62", close * 111 // 100 // 100 * 100)
    assert info.value.reason is RejectReason.OUTSIDE_PRICE_LIMIT
    env.set(at(18))
    env.engine.sync()
    assert waiting.status is OrderStatus.EXPIRED
    assert env.account("A").reserved_cash == 0


def test_next_day_starts_clean(make_env: EnvFactory) -> None:
    env = make_env(start=at(10))
    bought = env.engine.submit("A", Side.BUY, SAMSUNG, 3, "3", None)
    resting = env.engine.submit("A", Side.BUY, SAMSUNG, 3, "0", 60_000)
    assert bought.status is OrderStatus.FILLED
    env.set(at(9, 30, day=WEDNESDAY))
    env.engine.sync()
    account = env.account("A")
    assert resting.status is OrderStatus.EXPIRED
    assert env.engine.orders("A") == []
    assert (account.commission, account.reserved_cash) == (0, 0)
    position = account.holding(SAMSUNG)
    assert (position.qty, position.today_buy_qty) == (3, 0)
    order = env.engine.submit("A", Side.SELL, SAMSUNG, 3, "3", None)
    assert order.status is OrderStatus.FILLED


def test_resting_order_fills_as_the_market_moves_and_never_stays_crossed(
    make_env: EnvFactory,
) -> None:
    env = make_env(start=at(10))
    bid = env.engine.depth(SAMSUNG, 1)[0][0].price
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 5, "0", tick_down(bid, 3))
    volume = env.market.state(SAMSUNG).volume
    for _ in range(360):
        env.clock.advance(10)
        env.engine.sync()
        book = env.engine._book(SAMSUNG)
        if order.is_open:
            assert book.match(Side.BUY, 1, order.book_price, "A") == []
        if not order.is_open:
            break
    assert order.status is OrderStatus.FILLED
    assert all(f.price <= order.price for f in order.fills)
    assert env.market.state(SAMSUNG).volume > volume
