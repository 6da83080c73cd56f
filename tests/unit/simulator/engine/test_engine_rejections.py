"""Every rejection raises its reason and leaves accounts, books and orders untouched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from engine_testkit import CHEAP, SAMSUNG, Env, EnvFactory, at

from quantum.simulator.engine import OrderRejected, RejectReason, Side

R = RejectReason
BIDS = [(69_900, 5), (69_800, 5)]
ASKS = [(70_000, 5), (70_100, 5)]


@dataclass
class World:
    env: Env
    resting_buy: str  # A: 10 @ 69,000
    resting_sell: str  # A: 5 @ 71,000 (of 11 held)
    filled: str  # A: 1 @ market
    cancel_record: str
    other: str  # B: 3 @ 69,500


@pytest.fixture
def world(fake_env: EnvFactory) -> World:
    env = fake_env(cash=900_000)
    env.market.quote(SAMSUNG, BIDS, ASKS, last=69_900)
    env.market.quote(CHEAP, [(1_990, 50)], [(1_995, 50)], last=1_990)
    env.give("A", SAMSUNG, 10, 60_000)
    engine = env.engine
    buy = engine.submit("A", Side.BUY, SAMSUNG, 10, "0", 69_000)
    sell = engine.submit("A", Side.SELL, SAMSUNG, 5, "0", 71_000)
    filled = engine.submit("A", Side.BUY, SAMSUNG, 1, "3", None)
    spare = engine.submit("A", Side.BUY, CHEAP, 2, "0", 1_900)
    record = engine.cancel("A", spare.order_no, CHEAP, 0)
    other = engine.submit("B", Side.BUY, SAMSUNG, 3, "0", 69_500)
    return World(env, buy.order_no, sell.order_no, filled.order_no, record.order_no, other.order_no)


def state_of(env: Env) -> object:
    engine = env.engine
    orders = [*engine.orders("A"), *engine.orders("B")]
    return (
        {no: engine.account(no).snapshot() for no in ("A", "B")},
        engine.depth(SAMSUNG, 100),
        engine.depth(CHEAP, 100),
        [
            (o.order_no, o.status, o.remaining, o.reserved_cash, o.queue, o.book_price)
            for o in orders
        ],
        len(env.events),
        list(env.market.takes),
        list(env.market.prints),
        engine._order_numbers.peek(),
    )


Call = Callable[[World], object]


def submit(side: Side, code: str, qty: int, tp: str, price: int | None, **kw: int) -> Call:
    return lambda w: w.env.engine.submit("A", side, code, qty, tp, price, **kw)


def modify(which: str, qty: int, price: int, code: str = SAMSUNG, account: str = "A") -> Call:
    return lambda w: w.env.engine.modify(account, getattr(w, which), code, qty, price)


def cancel(which: str, qty: int, code: str = SAMSUNG, account: str = "A") -> Call:
    return lambda w: w.env.engine.cancel(account, getattr(w, which), code, qty)


B, S = Side.BUY, Side.SELL
CASES: dict[str, tuple[Call, RejectReason]] = {
    "unknown stock": (submit(B, "999999", 1, "0", 70_000), R.UNKNOWN_STOCK),
    "unknown stock on cancel": (cancel("resting_buy", 0, code="999999"), R.UNKNOWN_STOCK),
    "zero quantity": (submit(B, SAMSUNG, 0, "0", 70_000), R.INVALID_QUANTITY),
    "negative quantity": (submit(B, SAMSUNG, -3, "0", 70_000), R.INVALID_QUANTITY),
    "negative cancel quantity": (cancel("resting_buy", -1), R.INVALID_QUANTITY),
    "limit without price": (submit(B, SAMSUNG, 1, "0", None), R.PRICE_REQUIRED),
    "limit at zero": (submit(B, SAMSUNG, 1, "10", 0), R.PRICE_REQUIRED),
    "modify to zero": (modify("resting_buy", 0, 0), R.PRICE_REQUIRED),
    "off the tick grid": (submit(B, SAMSUNG, 1, "0", 70_050), R.INVALID_TICK),
    "modify off the grid": (modify("resting_buy", 0, 69_010), R.INVALID_TICK),
    "stop off the grid": (submit(B, SAMSUNG, 1, "28", 70_000, stop_price=70_010), R.INVALID_TICK),
    "above the upper limit": (submit(B, SAMSUNG, 1, "0", 91_100), R.OUTSIDE_PRICE_LIMIT),
    "below the lower limit": (submit(S, SAMSUNG, 1, "0", 48_900), R.OUTSIDE_PRICE_LIMIT),
    "stop outside": (submit(B, SAMSUNG, 1, "28", 70_000, stop_price=92_000), R.OUTSIDE_PRICE_LIMIT),
    "not enough cash": (submit(B, SAMSUNG, 200, "0", 70_000), R.INSUFFICIENT_CASH),
    "market buy at upper": (submit(B, SAMSUNG, 2, "3", None), R.INSUFFICIENT_CASH),
    "modify beyond cash": (modify("resting_buy", 0, 91_000), R.INSUFFICIENT_CASH),
    "sell unheld": (submit(S, CHEAP, 1, "0", 1_990), R.INSUFFICIENT_HOLDINGS),
    "sell reserved": (submit(S, SAMSUNG, 7, "0", 70_000), R.INSUFFICIENT_HOLDINGS),
    "type out of session": (submit(B, SAMSUNG, 1, "61", None), R.ORDER_TYPE_NOT_IN_SESSION),
    "stop without stop": (submit(B, SAMSUNG, 1, "28", 70_000), R.STOP_PRICE_REQUIRED),
    "unknown order": (lambda w: w.env.engine.cancel("A", "0099999", SAMSUNG, 0), R.UNKNOWN_ORDER),
    "another's order": (cancel("other", 0), R.UNKNOWN_ORDER),
    "wrong stock": (cancel("resting_buy", 0, code=CHEAP), R.UNKNOWN_ORDER),
    "modify filled": (modify("filled", 0, 69_000), R.ORDER_NOT_OPEN),
    "cancel filled": (cancel("filled", 0), R.ORDER_NOT_OPEN),
    "cancel a cancel": (cancel("cancel_record", 0, code=CHEAP), R.ORDER_NOT_OPEN),
    "cancel too many": (cancel("resting_buy", 11), R.QUANTITY_EXCEEDS_REMAINING),
    "modify too many": (modify("resting_sell", 6, 71_000), R.QUANTITY_EXCEEDS_REMAINING),
    "unknown type": (submit(B, SAMSUNG, 1, "4", 70_000), R.UNKNOWN_ORDER_TYPE),
    "garbage type": (submit(B, SAMSUNG, 1, "abc", 70_000), R.UNKNOWN_ORDER_TYPE),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rejection_changes_nothing(world: World, case: str) -> None:
    call, reason = CASES[case]
    before = state_of(world.env)
    with pytest.raises(OrderRejected) as info:
        call(world)
    assert info.value.reason is reason
    assert state_of(world.env) == before


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        (at(15, 35), R.NOT_IN_SESSION),
        (at(12, day=date(2026, 11, 28)), R.NOT_IN_SESSION),  # Saturday
        (at(15, 45), R.ORDER_TYPE_NOT_IN_SESSION),
    ],
)
def test_session_rejections(fake_env: EnvFactory, moment: datetime, reason: RejectReason) -> None:
    env = fake_env(start=moment)
    before = env.account("A").snapshot()
    with pytest.raises(OrderRejected) as info:
        env.engine.submit("A", Side.BUY, SAMSUNG, 1, "0", 70_000)
    assert info.value.reason is reason
    assert env.account("A") == before
    assert env.events == []


def test_open_order_expired_by_the_clock_can_no_longer_be_cancelled(world: World) -> None:
    world.env.set(at(15, 35))
    with pytest.raises(OrderRejected) as info:
        world.env.engine.cancel("A", world.resting_buy, SAMSUNG, 0)
    assert info.value.reason is R.ORDER_NOT_OPEN
    assert world.env.account("A").reserved_cash == 0


def test_market_buy_reserves_at_the_upper_limit(fake_env: EnvFactory) -> None:
    env = fake_env(cash=80_000)
    env.market.quote(SAMSUNG, BIDS, ASKS)
    with pytest.raises(OrderRejected) as info:
        env.engine.submit("A", Side.BUY, SAMSUNG, 1, "3", None)
    assert info.value.reason is R.INSUFFICIENT_CASH
    order = env.engine.submit("A", Side.BUY, SAMSUNG, 1, "0", 70_000)
    assert order.filled_qty == 1
    assert env.account("A").cash == 80_000 - 70_000 - 10  # 10.5 KRW commission → 10
