"""Property tests: random order flows on the real Market keep every books-and-money invariant."""

from __future__ import annotations

from typing import Any

from engine_testkit import CASH as CASH_FAKE
from engine_testkit import CHEAP, SAMSUNG, Env, at, build_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantum.krx.rules import is_on_tick, tick_down, tick_up
from quantum.krx.sessions import KrxCalendar
from quantum.simulator.clock import ClockMode, SimClock
from quantum.simulator.engine import (
    ORDER_TYPES,
    OrderKind,
    OrderRejected,
    Pricing,
    Side,
    TimeInForce,
)
from quantum.simulator.listings import Listing
from quantum.simulator.market import Market

ACCOUNTS = ("A", "B")
CODES = (SAMSUNG, CHEAP)
CASH = 30_000_000
SEED_QTY = 300
CONTINUOUS_TYPES = ("0", "3", "5", "6", "7", "10", "13", "16", "20", "23", "26", "28", "29")
CONTINUOUS_TYPES += ("30", "31")

account = st.sampled_from(ACCOUNTS)
submit_op = st.tuples(
    st.just("submit"),
    account,
    st.sampled_from(Side),
    st.sampled_from(CODES),
    st.integers(1, 40),
    st.sampled_from(CONTINUOUS_TYPES),
    st.integers(-6, 6),
    st.integers(-3, 3),
)
#: (kind, account, index, quantity (0 = all), open orders only?, price offset in ticks)
change_op = st.tuples(
    st.sampled_from(("cancel", "modify")),
    account,
    st.integers(0, 30),
    st.integers(0, 25),
    st.booleans() | st.just(True),
    st.integers(-6, 6),
)
wait_op = st.tuples(st.just("wait"), st.integers(0, 90))
operations = st.lists(st.one_of(submit_op, submit_op, change_op, wait_op), min_size=3, max_size=30)


def offset_price(last: int, ticks: int) -> int:
    return tick_up(last, ticks) if ticks >= 0 else tick_down(last, -ticks)


class Run:
    """One random session: applies operations and checks the invariants after each."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.engine = env.engine
        self.initial: dict[str, int] = {}
        for account_no in ACCOUNTS:
            for code in CODES:
                env.give(account_no, code, SEED_QTY, env.market.state(code).base_price)
            held = env.engine.account(account_no).holdings.values()
            self.initial[account_no] = CASH + sum(h.purchase_amount for h in held)

    def apply(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "wait":
            self.env.clock.advance(op[1])
            for code in CODES:
                self.env.market.state(code)
            self.engine.sync()
            return
        before = self.engine_state()
        try:
            self.place(op)
        except OrderRejected:
            assert self.engine_state() == before

    def place(self, op: tuple[Any, ...]) -> None:
        engine = self.engine
        if op[0] == "submit":
            _, account_no, side, code, qty, trde_tp, ticks, stop_ticks = op
            last = self.env.market.state(code).last
            spec = ORDER_TYPES[trde_tp]
            price = offset_price(last, ticks) if spec.needs_price else None
            stop = offset_price(last, stop_ticks) if spec.pricing is Pricing.STOP_LIMIT else None
            engine.submit(account_no, side, code, qty, trde_tp, price, stop_price=stop)
            return
        _, account_no, index, qty, open_only, ticks = op
        orders = engine.open_orders(account_no) if open_only else engine.orders(account_no)
        if not orders:
            return
        target = orders[index % len(orders)]
        if op[0] == "cancel":
            engine.cancel(account_no, target.order_no, target.code, qty)
        else:
            last = self.env.market.state(target.code).last
            engine.modify(account_no, target.order_no, target.code, qty, offset_price(last, ticks))

    def engine_state(self) -> object:
        engine = self.engine
        return (
            [engine.account(no).snapshot() for no in ACCOUNTS],
            [
                (o.order_no, o.status, o.remaining, o.reserved_cash, o.book_price)
                for no in ACCOUNTS
                for o in engine.orders(no)
            ],
            len(self.env.events),
            engine._order_numbers.peek(),
            [(r.order_no, r.qty, r.price) for code in CODES for r in engine._book(code)],
        )

    def check(self) -> None:
        for account_no in ACCOUNTS:
            self.check_account(account_no)
        for code in CODES:
            self.check_book(code)

    def check_account(self, account_no: str) -> None:
        engine = self.engine
        account = engine.account(account_no)
        orders = engine.orders(account_no)
        trading = [o for o in orders if o.kind is not OrderKind.CANCEL]
        open_orders = [o for o in orders if o.is_open]
        assert engine.open_orders(account_no) == open_orders
        assert engine.filled_orders(account_no) == [o for o in reversed(orders) if o.fills]
        # Reservations: never negative, always the sum of what open orders hold.
        assert 0 <= account.reserved_cash <= account.cash
        assert account.reserved_cash == sum(
            o.reserved_cash for o in open_orders if o.side is Side.BUY
        )
        assert all(o.reserved_cash == 0 for o in orders if not o.is_open)
        for code in CODES:
            position = account.holding(code)
            sells = [o for o in open_orders if o.side is Side.SELL and o.code == code]
            assert position.reserved_qty == sum(o.remaining for o in sells)
            assert 0 <= position.reserved_qty <= position.qty
            bought = sum(o.filled_qty for o in trading if o.code == code and o.side is Side.BUY)
            sold = sum(o.filled_qty for o in trading if o.code == code and o.side is Side.SELL)
            assert position.qty == SEED_QTY + bought - sold
        # Money: cash + holdings at cost only moves by fees, tax and realized P&L.
        buy_commission = sum(o.commission for o in trading if o.side is Side.BUY)
        at_cost = account.cash + sum(h.purchase_amount for h in account.holdings.values())
        assert at_cost == self.initial[account_no] + account.realized_pnl - buy_commission
        assert account.commission == sum(o.commission for o in trading)
        assert account.tax == sum(o.tax for o in trading if o.side is Side.SELL)
        for order in trading:
            self.check_order(order)

    def check_order(self, order: Any) -> None:
        state = self.env.market.state(order.code)
        spec = ORDER_TYPES[order.trde_tp]
        assert order.filled_qty + order.remaining <= order.qty
        assert order.filled_qty == sum(f.qty for f in order.fills)
        assert order.filled_amount == sum(f.qty * f.price for f in order.fills)
        for fill in order.fills:
            assert is_on_tick(fill.price)
            assert state.lower_limit <= fill.price <= state.upper_limit
            if order.side is Side.BUY:
                assert fill.price <= order.book_price
            else:
                assert fill.price >= order.book_price
            if spec.pricing is Pricing.LIMIT:
                assert order.book_price == order.price
        if spec.tif is TimeInForce.FOK:
            assert order.filled_qty in (0, order.qty)
        if spec.tif is not TimeInForce.DAY:
            assert not order.is_open

    def check_book(self, code: str) -> None:
        engine = self.engine
        book = engine._book(code)
        quote = self.env.market.liquidity(code)
        for entry in book:
            order = engine.order(entry.order_no)
            assert order is not None and order.is_open
            assert (entry.qty, entry.price) == (order.remaining, order.book_price)
            # A resting order never stays crossed with the market maker's quote.
            if entry.side is Side.BUY and quote.asks:
                assert entry.price < quote.asks[0].price
            if entry.side is Side.SELL and quote.bids:
                assert entry.price > quote.bids[0].price

    def finish(self) -> None:
        """Once every order has ended, nothing stays reserved.

        Orders end by cancel here: jumping the clock to the close would replay
        the whole day's steps in every example (expiry has its own tests).
        """
        for account_no in ACCOUNTS:
            for order in self.engine.open_orders(account_no):
                self.engine.cancel(account_no, order.order_no, order.code, 0)
        for account_no in ACCOUNTS:
            assert self.engine.open_orders(account_no) == []
            account = self.engine.account(account_no)
            assert account.reserved_cash == 0
            assert all(h.reserved_qty == 0 for h in account.holdings.values())


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, seed=st.integers(1, 5))
def test_random_order_flow_keeps_invariants(
    ops: list[tuple[Any, ...]],
    seed: int,
    calendar: KrxCalendar,
    listings: dict[str, Listing],
) -> None:
    clock = SimClock(mode=ClockMode.FIXED, start=at(9, 5))
    market = Market(listings, calendar, clock, seed, liquidity_scale=0.005)
    run = Run(build_env(market, clock, calendar, ACCOUNTS, CASH))
    run.check()
    for op in ops:
        run.apply(op)
        run.check()
    run.finish()
    run.check()


#: (account, side, quantity, trde_tp, price offset in ticks from 70,000)
flow_op = st.tuples(
    st.sampled_from(("A", "B", "C")),
    st.sampled_from(Side),
    st.integers(1, 30),
    st.sampled_from(("0", "0", "3", "10", "20", "23")),
    st.integers(-4, 4),
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(flow=st.lists(flow_op, min_size=1, max_size=25))
def test_shares_and_cash_only_enter_or_leave_through_the_market_maker(
    flow: list[tuple[str, Side, int, str, int]], fake_env: Any
) -> None:
    """Users trading with each other and a static quote: what they gain in shares the
    market maker gave up, and their cash moves by the same trades plus fees and tax."""
    env: Env = fake_env(accounts=("A", "B", "C"))
    env.market.quote(SAMSUNG, [(69_900, 7), (69_800, 7)], [(70_000, 7), (70_100, 7)])
    for account_no in ("A", "B", "C"):
        env.give(account_no, SAMSUNG, 100, 70_000)
    for account_no, side, qty, trde_tp, ticks in flow:
        price = offset_price(70_000, ticks) if ORDER_TYPES[trde_tp].needs_price else None
        try:
            order = env.engine.submit(account_no, side, SAMSUNG, qty, trde_tp, price)
        except OrderRejected:
            continue
        if ORDER_TYPES[trde_tp].tif is TimeInForce.FOK:
            assert order.filled_qty in (0, qty)
    accounts = [env.engine.account(no) for no in ("A", "B", "C")]
    bought = sum(q for _, side, _, q in env.market.takes if side == "ask")
    sold = sum(q for _, side, _, q in env.market.takes if side == "bid")
    assert sum(a.holding(SAMSUNG).qty for a in accounts) == 300 + bought - sold
    paid = sum(p * q for _, side, p, q in env.market.takes if side == "ask")
    received = sum(p * q for _, side, p, q in env.market.takes if side == "bid")
    fees = sum(a.commission + a.tax for a in accounts)
    assert sum(a.cash for a in accounts) == 3 * CASH_FAKE - paid + received - fees
    # Every print is one trade: user-vs-user prints have no take behind them.
    printed = sum(q for _, _, q, _ in env.market.prints)
    filled = sum(o.filled_qty for no in ("A", "B", "C") for o in env.engine.orders(no))
    assert filled == 2 * printed - bought - sold
