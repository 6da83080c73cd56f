"""Generated trader programs with the simulator's books (Kiwoom's, in production) as the
oracle: Hypothesis draws runs of buys and sells of every continuous-session order type,
cancels, re-prices, reductions, clock moves (a thin book: orders fill in pieces),
reconciliations and broker faults (a lost or failed submit, a refused one, a lost answer
to a cancel or change, a dropped order stream) for the REST API. After each step the
platform must come to agree with the broker: one broker order chain per order, fills
counted once, no broker order it does not know, views their events replay to, refusals
that reached no broker; at the end, the broker's portfolio. A second test runs two
traders (two users, two accounts) on the same thin book, some steps sent at once, so
that each trades with the other's orders. The parts are in order_programs.py."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, note, settings
from hypothesis import strategies as st
from tests.integration.platform.order_programs import (
    FAULTS,
    KIWOOM_TIMEOUT_SECONDS,
    Action,
    Advance,
    At,
    Buy,
    Cancel,
    Drop,
    LostAnswer,
    PairAction,
    Reconcile,
    Reduce,
    Reprice,
    Sell,
    Step,
    SubmitFault,
    Together,
    agree,
    cross_trade_disagreements,
    fresh_platform,
    new_trader,
    run_step,
    watch_cross_trades,
)

from quantum.platform.trading.order_types import ORDER_TYPES

QUANTITIES = st.integers(1, 20)
PICKS = st.integers(0, 99)
"""An earlier order (none placed yet: nothing to do): an even pick chooses among those open
at the broker, if any, an odd one among all (``pick // 2`` modulo their number)."""
AT_LIMIT = st.sampled_from([At("lowerLimit"), At("upperLimit")])
NEAR_BID = st.integers(-3, 1).map(lambda n: At("bid", n))
NEAR_ASK = st.integers(-1, 3).map(lambda n: At("ask", n))
RESTING_BUY = st.one_of(st.just(At("lowerLimit")), st.integers(-3, 0).map(lambda n: At("bid", n)))
MARKETABLE_BUY_PRICE = st.one_of(
    st.just(At("upperLimit")), st.integers(0, 2).map(lambda n: At("ask", n))
)
MARKETABLE_BUY = st.one_of(st.none(), MARKETABLE_BUY_PRICE)
SELL_PRICE = st.one_of(AT_LIMIT, st.integers(-2, 0).map(lambda n: At("bid", n)), NEAR_ASK)
ANY_SELL = st.one_of(st.none(), SELL_PRICE)
BUY_PRICE = st.one_of(MARKETABLE_BUY_PRICE, RESTING_BUY)
BUY_STOP = st.integers(-1, 3).map(lambda n: At("last", n))
"""A buy stop triggers once the last price reaches it: at or under the last, at once."""
SELL_STOP = st.integers(-3, 1).map(lambda n: At("last", n))

PRICED = sorted(n for n, t in ORDER_TYPES.items() if t.needs_price and not t.needs_stop_price)
PRICED.remove("LIMIT")
PRICELESS = sorted(n for n, t in ORDER_TYPES.items() if not t.needs_price)
PRICELESS.remove("MARKET")
STOPPED = sorted(n for n, t in ORDER_TYPES.items() if t.needs_stop_price)
"""The types besides LIMIT and MARKET: IOC/FOK variants, conditional, best, first,
mid-price and stop-limit orders."""


def other_types(
    side: type[Buy] | type[Sell],
    sizes: st.SearchStrategy[int],
    price: st.SearchStrategy[At],
    stop: st.SearchStrategy[At],
) -> st.SearchStrategy[Buy | Sell]:
    """Well-formed orders of the other types: a price where one is needed, a stop too."""
    return st.one_of(
        st.builds(side, sizes, price, st.sampled_from(PRICED)),
        st.builds(side, sizes, st.none(), st.sampled_from(PRICELESS)),
        st.builds(side, sizes, price, st.sampled_from(STOPPED), stop),
    )


OTHER_BUYS = other_types(Buy, QUANTITIES, BUY_PRICE, BUY_STOP)
OTHER_SELLS = other_types(Sell, st.integers(1, 10), SELL_PRICE, SELL_STOP)


def misshapen_orders(
    side: type[Buy] | type[Sell],
    sizes: st.SearchStrategy[int],
    price: st.SearchStrategy[At],
    stop: st.SearchStrategy[At],
) -> st.SearchStrategy[Buy | Sell]:
    """Orders of any type with a shape it does not have: a price or a stop given or not."""

    def wrong(name: str) -> st.SearchStrategy[Buy | Sell]:
        spec = ORDER_TYPES[name]
        needed = (spec.needs_price, spec.needs_stop_price)
        shapes = [(p, s) for p in (False, True) for s in (False, True) if (p, s) != needed]
        return st.sampled_from(shapes).flatmap(
            lambda shape: st.builds(
                side,
                sizes,
                price if shape[0] else st.none(),
                st.just(name),
                stop if shape[1] else st.none(),
            )
        )

    return st.sampled_from(sorted(ORDER_TYPES)).flatmap(wrong)


MISSHAPEN = st.one_of(
    misshapen_orders(Buy, QUANTITIES, BUY_PRICE, BUY_STOP),
    misshapen_orders(Sell, st.integers(1, 12), SELL_PRICE, SELL_STOP),
)
"""A price for a type that takes none, none for one that needs it, a stop-limit without
its stop, a stop for any other type: refused before the broker."""
ANY_ORDER = st.one_of(
    st.builds(Buy, QUANTITIES, MARKETABLE_BUY),
    st.builds(Buy, QUANTITIES, RESTING_BUY),
    st.builds(Sell, st.integers(1, 10), ANY_SELL),
    OTHER_BUYS,
    OTHER_SELLS,
)
AMENDS = st.one_of(
    st.builds(Cancel, PICKS),
    st.builds(Reprice, PICKS, st.one_of(AT_LIMIT, NEAR_BID, NEAR_ASK)),
    st.builds(Reduce, PICKS, st.integers(0, 19)),
)
WEIGHED_ACTIONS: list[tuple[int, st.SearchStrategy[Action]]] = [
    (2, st.builds(Buy, QUANTITIES, MARKETABLE_BUY)),
    (1, st.builds(Buy, QUANTITIES, RESTING_BUY)),
    (2, st.builds(Sell, st.integers(1, 12), ANY_SELL)),
    (2, st.builds(Cancel, PICKS)),
    (2, st.builds(Reprice, PICKS, st.one_of(AT_LIMIT, NEAR_BID, NEAR_ASK))),
    (2, st.builds(Reduce, PICKS, st.integers(0, 19))),
    (2, st.builds(Advance, st.integers(5, 90))),
    (1, st.just(Reconcile())),
    (2, OTHER_BUYS),
    (1, OTHER_SELLS),
    (1, MISSHAPEN),
    (2, st.builds(SubmitFault, st.sampled_from(list(FAULTS)), ANY_ORDER)),
    (1, st.builds(LostAnswer, AMENDS)),
    (1, st.builds(Drop, st.integers(5, 90))),
]
"""Marketable LIMIT and MARKET buys, sells, clock moves and the other types' buys come
twice as often: sells need the holdings those buys make, and the clock fills the
remainders they leave; faults once each, as they cost a Kiwoom timeout or a reconnect."""
ACTIONS = st.sampled_from(
    [action for weight, action in WEIGHED_ACTIONS for _ in range(weight)]
).flatmap(lambda action: action)
"""Weighed by repetition in a sample (``one_of`` would count each strategy object once)."""

# Programs that always run, for the paths a few generated ones may miss. On a fresh
# simulator: 3 of the 12 fill at two prices; 7 of the second 20 at market; 26 of 33 sold.
AMEND_A_PARTLY_FILLED_ORDER: list[Action] = [
    Buy(12, At("ask", 1)),
    Reprice(0, At("bid", -1)),
    Advance(60),
    Reduce(0, 2),
    Cancel(0),
]
SELL_WHAT_IS_HELD_AND_MORE: list[Action] = [
    Buy(6, At("upperLimit")),
    Sell(12, At("lowerLimit")),
    Sell(5, At("ask", 1)),
    Advance(90),
    Reconcile(),
    Cancel(1),
]
MARKET_REMAINDERS: list[Action] = [
    Buy(20, None),
    Buy(20, None),
    Reduce(0, 5),
    Reprice(0, At("bid", 0)),
    Advance(30),
    Sell(10, None),
]
# An IOC remainder and a FOK cancelled by the exchange, a stop-limit and a mid-price
# order resting (the second not re-priceable), shapes refused before the broker, the
# asks swept away (a best order then refused by the broker), a first-price order.
OTHER_ORDER_TYPES: list[Action] = [
    Buy(10, At("ask", 2), "LIMIT_IOC"),
    Buy(8, None, "BEST_FOK"),
    Buy(5, At("bid", 0), "STOP_LIMIT", At("last", 3)),
    Buy(4, None, "MID_PRICE"),
    Reprice(0, At("bid", -1)),
    Reprice(2, At("bid", 0)),
    Sell(10, None, "MARKET_IOC"),
    Sell(5, At("bid", 0), "LIMIT", At("last", 0)),
    Buy(3, At("lowerLimit"), "MARKET"),
    Buy(20, None, "MARKET_IOC"),
    Buy(20, None, "MARKET_IOC"),
    Buy(2, None, "BEST_LIMIT"),
    Buy(2, None, "FIRST_LIMIT"),
    Advance(60),
]
# Every fault: submits whose answers are lost (one that rests, one that fills, one the
# exchange kills unfilled), one answered HTTP 500, two refused; the stream dropped while
# the clock moves; lost answers to a cancel, a reduction and a re-price.
BROKER_FAULTS: list[Action] = [
    SubmitFault("lost", Buy(8, At("bid", -1))),
    SubmitFault("lost", Buy(6, None, "MARKET_IOC")),
    SubmitFault("lost", Sell(10, None, "MID_PRICE_FOK")),
    SubmitFault("http500", Buy(3, None)),
    SubmitFault("business", Buy(2, At("upperLimit"))),
    SubmitFault("error_code", Sell(5, At("ask", 1))),
    Drop(60),
    Buy(10, At("lowerLimit")),
    LostAnswer(Cancel(0)),
    Buy(10, At("lowerLimit")),
    LostAnswer(Reduce(0, 3)),
    LostAnswer(Reprice(0, At("bid", 0))),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Each program gets a database of its own, of the kinds ``database_url`` has."""
    kind: str = request.param
    return kind


@pytest.fixture
def scratch(tmp_path: Path) -> Callable[[], Path]:
    """A new directory for each program (Hypothesis runs them all in one test)."""
    numbers = itertools.count()

    def new() -> Path:
        path = tmp_path / f"program{next(numbers)}"
        path.mkdir()
        return path

    return new


@pytest.fixture
def short_kiwoom_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lost answer costs the platform's whole Kiwoom timeout: keep it short."""
    monkeypatch.setenv("KIWOOM_TIMEOUT_SECONDS", str(KIWOOM_TIMEOUT_SECONDS))


PROGRAMS = settings(
    deadline=None,
    derandomize=True,
    # not shrunk: a program is short enough to read as drawn, and each failing try
    # would wait out the whole agreement timeout
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""What the program tests share (each sets its number of examples)."""


@pytest.mark.usefixtures("short_kiwoom_timeout")
@settings(PROGRAMS, max_examples=24)
@example(program=AMEND_A_PARTLY_FILLED_ORDER)
@example(program=SELL_WHAT_IS_HELD_AND_MORE)
@example(program=MARKET_REMAINDERS)
@example(program=OTHER_ORDER_TYPES)
@example(program=BROKER_FAULTS)
@given(program=st.lists(ACTIONS, min_size=3, max_size=12))
async def test_the_platform_keeps_the_brokers_books(
    database_kind: str, scratch: Callable[[], Path], program: list[Action]
) -> None:
    note(f"program: {program}")
    async with fresh_platform(database_kind, scratch()) as harness:
        trader = await new_trader(harness)
        for step, action in enumerate(program, 1):
            event(f"drawn: {type(action).__name__}")
            for what in await trader.run(action):
                event(what)
            await agree(trader.disagreements, f"after step {step}, {action}")
        await harness.platform.supervisor.run_once()
        await agree(trader.disagreements, "after reconciling at the end")
        await trader.check_portfolio()
        for order in trader.placed:
            await trader.cancel(order)
        await agree(trader.disagreements, "after cancelling every order at the end")
        assert not any(o.is_open for o in trader.books().values())


# -- two traders on one book ---------------------------------------------------------------

AT_THE_TOUCH = st.integers(-1, 1)
"""Prices about the best bid or ask: a user order there rests ahead of the market maker's
at that price, so the other trader's marketable order trades with it first."""
TWO_BUYS = st.one_of(
    st.builds(Buy, st.integers(1, 10), MARKETABLE_BUY),
    st.builds(Buy, st.integers(1, 10), AT_THE_TOUCH.map(lambda n: At("bid", n))),
)
TWO_SELLS = st.builds(
    Sell,
    st.integers(1, 12),
    st.one_of(st.none(), AT_THE_TOUCH.map(lambda n: At("ask", n)), st.just(At("bid"))),
)
PAIR_ACTIONS: st.SearchStrategy[PairAction] = st.one_of(
    TWO_BUYS, TWO_SELLS, st.builds(Cancel, PICKS)
)
TWO_ACTIONS = st.sampled_from(
    [
        *[TWO_BUYS] * 3,
        *[TWO_SELLS] * 3,
        st.builds(Cancel, PICKS),
        st.builds(Reprice, PICKS, st.one_of(NEAR_BID, NEAR_ASK)),
        st.builds(Reduce, PICKS, st.integers(0, 19)),
        st.builds(Advance, st.integers(5, 60)),
        st.just(Reconcile()),
    ]
).flatmap(lambda action: action)
"""LIMIT and MARKET orders only: no fault, and no type the broker prices from a quote
the other trader's orders make (``Trader.missing_quote`` assumes one account)."""
TWO_STEPS: st.SearchStrategy[Step] = st.one_of(
    st.tuples(st.integers(0, 1), TWO_ACTIONS),
    st.tuples(st.integers(0, 1), TWO_ACTIONS),
    st.tuples(st.integers(0, 1), TWO_ACTIONS),
    st.builds(Together, PAIR_ACTIONS, PAIR_ACTIONS),
)

OPENING: list[Step] = [(0, Buy(10, At("upperLimit"))), (1, Buy(10, At("upperLimit")))]
"""Generated programs start with shares on both sides: sells, which the other trader's
resting buys can take, are then rarely refused."""

# 0 buys 10; 1 bids ahead of the maker; 0 sells into it; 1 offers what it got at the ask;
# at once 0 lifts it while 1 bids again; at once 0 offers while 1 cancels its offer
# (a sell: 0's sell cannot trade with it); 1 re-prices its bid into 0's offer.
TRADE_WITH_EACH_OTHER: list[Step] = [
    (0, Buy(10, At("upperLimit"))),
    (1, Buy(5, At("bid", 0))),
    (0, Sell(5, At("bid", 0))),
    (1, Sell(10, At("ask", 0))),
    Together(Buy(3, At("ask", 0)), Buy(2, At("bid", 0))),
    Together(Sell(5, At("ask", -1)), Cancel(0)),
    (1, Reprice(0, At("ask", 0))),
    (0, Advance(30)),
    (1, Reconcile()),
]
# Both at once on either side of the touch, marketable into each other's book.
CROSS_AT_ONCE: list[Step] = [
    (0, Buy(8, At("upperLimit"))),
    (1, Buy(6, At("bid", 0))),
    Together(Sell(10, At("bid", 0)), Buy(4, None)),
    Together(Buy(5, At("bid", 1)), Sell(10, None)),
]


@pytest.mark.usefixtures("short_kiwoom_timeout")
@settings(PROGRAMS, max_examples=12)
@example(program=TRADE_WITH_EACH_OTHER)
@example(program=CROSS_AT_ONCE)
@given(program=st.lists(TWO_STEPS, min_size=4, max_size=10).map(lambda p: [*OPENING, *p]))
async def test_two_traders_on_one_book(
    database_kind: str, scratch: Callable[[], Path], program: list[Step]
) -> None:
    """Two users, each with an account of its own, trade on one thin book, one with the
    other's orders too, some steps sent at once: each must see its own account's orders
    and fills, a trade between them once in each account."""
    note(f"program: {program}")
    async with fresh_platform(database_kind, scratch()) as harness:
        traders = [await new_trader(harness, key) for key in ("key-a", "key-b")]
        assert traders[0].account_no != traders[1].account_no
        crossed = watch_cross_trades(harness)
        for step, action in enumerate(program, 1):
            before = len(crossed)
            for what in await run_step(traders, action):
                event(what)
            if len(crossed) > before:
                event("a step the traders traded with each other in")
            for index, trader in enumerate(traders):
                await agree(trader.disagreements, f"trader {index} after step {step}, {action}")
        await harness.platform.supervisor.run_once()
        event(f"trades between the traders: {min(len(crossed), 3)}{'+' * (len(crossed) >= 3)}")
        assert not (found := cross_trade_disagreements(traders, crossed)), found
        for index, trader in enumerate(traders):
            await agree(trader.disagreements, f"trader {index} after reconciling at the end")
            await trader.check_portfolio()
        for trader in traders:
            for order in trader.placed:
                await trader.cancel(order)
        for index, trader in enumerate(traders):
            await agree(trader.disagreements, f"trader {index} after cancelling at the end")
            assert not any(o.is_open for o in trader.books().values())
