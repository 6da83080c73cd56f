"""Market: lazy stepping, determinism, sessions, day rollover, book depletion, bars."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum.krx.rules import is_on_tick, price_limits
from quantum.krx.sessions import KrxCalendar
from quantum.simulator.clock import KST, ClockMode, SimClock
from quantum.simulator.listings import Listing, load_listings
from quantum.simulator.market import Market, StockState, Trade

TUESDAY = date(2026, 11, 24)
SAMSUNG, CHEAP = "005930", "000100"


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=KST)


@pytest.fixture(scope="module")
def calendar() -> KrxCalendar:
    return KrxCalendar()


@pytest.fixture(scope="module")
def listings() -> dict[str, Listing]:
    real = load_listings()
    template = next(iter(real.values()))
    return {
        SAMSUNG: dataclasses.replace(template, code=SAMSUNG, base_price=70_000),
        CHEAP: dataclasses.replace(template, code=CHEAP, base_price=1_995),
    }


class Env:
    """Builds a Market on a fixed clock (default: Tuesday 09:00) with the test listings."""

    def __init__(self, calendar: KrxCalendar, listings: dict[str, Listing]) -> None:
        self.calendar, self.listings = calendar, listings

    def __call__(
        self,
        start: datetime | None = None,
        seed: int = 1,
        step_seconds: float = 1.0,
        liquidity_scale: float = 1.0,
        history_years: int = 5,
    ) -> tuple[Market, SimClock]:
        clock = SimClock(mode=ClockMode.FIXED, start=start or at(TUESDAY, 9))
        market = Market(
            self.listings,
            self.calendar,
            clock,
            seed,
            step_seconds=step_seconds,
            liquidity_scale=liquidity_scale,
            history_years=history_years,
        )
        return market, clock


@pytest.fixture
def make(calendar: KrxCalendar, listings: dict[str, Listing]) -> Env:
    return Env(calendar, listings)


def test_same_seed_same_market_and_different_seeds_differ(make: Env) -> None:
    (a, _), (b, _), (c, _) = make(at(TUESDAY, 11)), make(at(TUESDAY, 11)), make(at(TUESDAY, 11), 2)
    assert a.state(SAMSUNG) == b.state(SAMSUNG)
    assert a.minute_bars(SAMSUNG) == b.minute_bars(SAMSUNG)
    assert a.liquidity(SAMSUNG) == b.liquidity(SAMSUNG)
    assert a.daily_bars(SAMSUNG) == b.daily_bars(SAMSUNG)
    assert a.minute_bars(SAMSUNG) != c.minute_bars(SAMSUNG)
    assert a.daily_bars(SAMSUNG)[:-1] != c.daily_bars(SAMSUNG)[:-1]


def test_observing_does_not_change_the_path(make: Env) -> None:
    watched, clock = make()
    watched.add_step_listener(lambda code, state, trade: None)
    for _ in range(12):
        clock.advance(600)
        watched.state(SAMSUNG)
        book = watched.liquidity(SAMSUNG)
        watched.take(SAMSUNG, "ask", book.asks[0].price, 1)
    unwatched, _ = make(clock.now())
    assert watched.state(SAMSUNG) == unwatched.state(SAMSUNG)
    assert watched.minute_bars(SAMSUNG) == unwatched.minute_bars(SAMSUNG)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_every_price_on_grid_and_within_limits(
    calendar: KrxCalendar, listings: dict[str, Listing], seed: int
) -> None:
    market, clock = Env(calendar, listings)(seed=seed, step_seconds=5.0)
    trades: list[Trade] = []
    market.add_step_listener(lambda code, state, trade: trades.append(trade) if trade else None)
    clock.advance(2 * 86_400 - 3_600)  # to Wednesday 23:00
    assert trades == []  # nothing happens until someone looks
    for code in (SAMSUNG, CHEAP):
        market.state(code)
    assert len(trades) == 2 * 2 * 4_560  # two stocks, two days, 22,800 s / 5 s each
    assert all(is_on_tick(trade.price) for trade in trades)
    for code in (SAMSUNG, CHEAP):
        bars = market.daily_bars(code)
        for before, after in itertools.pairwise(bars):
            limits = price_limits(before.close)
            assert limits.contains(after.low)
            assert limits.contains(after.high)


def test_catch_up_from_11_00(make: Env) -> None:
    """Its cost is bench.simulator's ``market_catch_up_open_to_11_ms``."""
    market, _ = make(at(TUESDAY, 11))
    state = market.state(SAMSUNG)
    assert state.step == 7_201  # 09:00:00, 09:00:01, …, 11:00:00
    assert state.last_trade is not None
    assert state.last_trade.at == at(TUESDAY, 11)


def test_prices_move_only_in_the_continuous_session(make: Env) -> None:
    market, clock = make(at(TUESDAY, 8, 30))
    state = market.state(SAMSUNG)
    assert (state.step, state.open, state.high, state.low, state.volume) == (0, None, None, None, 0)
    assert state.last == state.base_price == 70_000
    assert state.last_trade is None
    assert market.minute_bars(SAMSUNG) == []
    clock.set(at(TUESDAY, 9))
    state = market.state(SAMSUNG)
    assert state.step == 1
    assert state.open == state.last
    clock.set(at(TUESDAY, 15, 20))
    closing = market.state(SAMSUNG)
    assert closing.step == 22_800
    for moment in (at(TUESDAY, 15, 25), at(TUESDAY, 18), at(TUESDAY, 23, 59)):
        clock.set(moment)
        assert market.state(SAMSUNG) == closing


def test_minute_bars_agree_with_the_state(make: Env) -> None:
    market, _ = make(at(TUESDAY, 11, 0, 30))
    state = market.state(SAMSUNG)
    bars = market.minute_bars(SAMSUNG)
    assert len(bars) == 121
    assert [bar.start for bar in bars] == [
        at(TUESDAY, 9) + timedelta(minutes=n) for n in range(121)
    ]
    assert bars[-1].close == state.last
    assert bars[0].open == state.open
    assert sum(bar.volume for bar in bars) == state.volume
    assert sum(bar.turnover for bar in bars) == state.turnover
    assert max(bar.high for bar in bars) == state.high
    assert min(bar.low for bar in bars) == state.low
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    fifteen = market.minute_bars(SAMSUNG, 15)
    assert [bar.start.minute for bar in fifteen[:5]] == [0, 15, 30, 45, 0]
    assert sum(bar.volume for bar in fifteen) == state.volume
    assert fifteen[-1].close == state.last


def test_daily_bars_continue_the_history(make: Env) -> None:
    market, clock = make(at(TUESDAY, 10))
    bars = market.daily_bars(SAMSUNG)
    assert len(bars) == 1_250 + 1
    assert bars[-2].start == at(date(2026, 11, 23), 0)  # Monday: the history's last day
    assert bars[-2].close == 70_000  # the listing's base price
    state = market.state(SAMSUNG)
    today = bars[-1]
    assert today.start == at(TUESDAY, 0)
    assert (today.open, today.high, today.low, today.close) == (
        state.open,
        state.high,
        state.low,
        state.last,
    )
    assert today.volume == state.volume
    three_years, _ = make(at(TUESDAY, 8), history_years=3)
    assert len(three_years.daily_bars(SAMSUNG)) == 750  # the day has not started yet
    clock.advance(1)
    assert market.daily_bars(SAMSUNG)[:-1] == bars[:-1]  # history is cached and stable


def test_day_rollover(make: Env) -> None:
    market, clock = make(at(TUESDAY, 14))
    clock.set(at(TUESDAY, 16))
    tuesday = market.state(SAMSUNG)
    tuesday_minutes = market.minute_bars(SAMSUNG)
    clock.set(at(date(2026, 11, 25), 8))
    wednesday = market.state(SAMSUNG)
    assert wednesday.trading_date == date(2026, 11, 25)
    assert wednesday.base_price == tuesday.last
    limits = price_limits(tuesday.last)
    assert (wednesday.lower_limit, wednesday.upper_limit) == (limits.lower, limits.upper)
    assert (wednesday.open, wednesday.volume, wednesday.step) == (None, 0, 0)
    bars = market.daily_bars(SAMSUNG)
    assert bars[-1].start == at(TUESDAY, 0)
    assert (bars[-1].close, bars[-1].volume) == (tuesday.last, tuesday.volume)
    assert market.minute_bars(SAMSUNG) == tuesday_minutes  # kept across the rollover
    clock.set(at(date(2026, 11, 25), 9, 1))
    assert len(market.minute_bars(SAMSUNG)) == len(tuesday_minutes) + 2
    assert market.daily_bars(SAMSUNG)[-1].start == at(date(2026, 11, 25), 0)


def test_weekends_freeze_and_a_weekend_start_waits_for_monday(make: Env) -> None:
    friday, saturday, monday = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30)
    market, clock = make(at(friday, 15))
    clock.set(at(saturday, 12))
    state = market.state(SAMSUNG)
    assert state.trading_date == friday
    assert state.step == 22_800
    clock.set(at(monday, 9, 30))
    assert market.state(SAMSUNG).trading_date == monday
    assert market.state(SAMSUNG).base_price == state.last

    weekend, clock = make(at(saturday, 10))
    assert weekend.first_day == monday
    assert weekend.state(SAMSUNG).trading_date == monday
    assert weekend.state(SAMSUNG).step == 0
    assert weekend.daily_bars(SAMSUNG)[-1].start == at(friday, 0)
    assert weekend.daily_bars(SAMSUNG)[-1].close == 70_000
    clock.set(at(monday, 9, 0, 9))
    assert weekend.state(SAMSUNG).step == 10


def test_rollover_over_many_days(make: Env) -> None:
    market, clock = make(at(TUESDAY, 9))
    clock.set(at(date(2026, 12, 8), 12))  # two weeks
    state = market.state(SAMSUNG)
    bars = market.daily_bars(SAMSUNG)
    simulated = bars[1_250:]
    assert [bar.start.date() for bar in simulated] == market.calendar.trading_days(
        TUESDAY, date(2026, 12, 8)
    )
    for before, after in itertools.pairwise(simulated):
        assert price_limits(before.close).contains(after.high)
    assert state.base_price == simulated[-2].close


def test_take_depletes_the_book_until_the_next_step(make: Env) -> None:
    market, clock = make(at(TUESDAY, 10))
    book = market.liquidity(SAMSUNG)
    state = market.state(SAMSUNG)
    assert len(book.bids) == len(book.asks) == 10
    assert book.bids[0].price == state.last
    assert book.asks[0].price == state.last + 100
    assert [level.price for level in book.asks] == [state.last + 100 * n for n in range(1, 11)]
    assert [level.price for level in book.bids] == [state.last - 100 * n for n in range(10)]
    best = book.asks[0]
    market.take(SAMSUNG, "ask", best.price, 1)
    assert market.liquidity(SAMSUNG).asks[0].qty == best.qty - 1
    market.take(SAMSUNG, "ask", best.price, best.qty - 1)
    assert market.liquidity(SAMSUNG).asks[0] == book.asks[1]  # the level is gone
    with pytest.raises(ValueError, match="available"):
        market.take(SAMSUNG, "bid", book.bids[0].price, book.bids[0].qty + 1)
    with pytest.raises(ValueError, match="level"):
        market.take(SAMSUNG, "bid", state.last + 100, 1)
    with pytest.raises(ValueError, match="positive"):
        market.take(SAMSUNG, "bid", state.last, 0)
    assert market.liquidity(SAMSUNG).bids == book.bids  # failed takes change nothing
    clock.advance(1)
    fresh = market.liquidity(SAMSUNG)
    assert fresh.asks[0].price == market.state(SAMSUNG).last + 100
    assert fresh.asks[0].qty > 0


def test_the_book_is_thin_enough_to_walk(make: Env) -> None:
    market, _ = make(at(TUESDAY, 10))
    asks = market.liquidity(SAMSUNG).asks
    total = sum(level.qty for level in asks)
    assert 1_000 < total < 100_000  # a 100,000-share order walks all 10 levels
    deep, _ = make(at(TUESDAY, 10), liquidity_scale=100.0)
    assert sum(level.qty for level in deep.liquidity(SAMSUNG).asks) > 20 * total


def test_record_trade_moves_the_market_and_is_announced(make: Env) -> None:
    market, clock = make(at(TUESDAY, 10))
    seen: list[tuple[str, StockState, Trade | None]] = []
    before = market.state(SAMSUNG)
    market.add_step_listener(lambda code, state, trade: seen.append((code, state, trade)))
    high = before.high
    assert high is not None
    price = high + 300
    trade = market.record_trade(SAMSUNG, price, 500, buyer_initiated=True)
    assert trade == Trade(at(TUESDAY, 10), price, 500, True)
    state = market.state(SAMSUNG)
    assert (state.last, state.high, state.volume) == (price, price, before.volume + 500)
    assert state.turnover == before.turnover + price * 500
    assert state.last_trade == trade
    assert seen == [(SAMSUNG, state, trade)]
    minute = market.minute_bars(SAMSUNG)[-1]
    assert (minute.start, minute.close, minute.high) == (at(TUESDAY, 10), price, price)
    clock.advance(90)  # a user trade in a later minute opens a new minute bar
    market.state(SAMSUNG)
    market.record_trade(SAMSUNG, state.lower_limit, 1, buyer_initiated=False)
    assert market.minute_bars(SAMSUNG)[-1].close == state.lower_limit
    assert sum(bar.volume for bar in market.minute_bars(SAMSUNG)) == market.state(SAMSUNG).volume
    for bad in (price + 1, state.upper_limit + 100, state.lower_limit - 100):
        with pytest.raises(ValueError, match="tick"):
            market.record_trade(SAMSUNG, bad, 1, buyer_initiated=True)
    with pytest.raises(ValueError, match="positive"):
        market.record_trade(SAMSUNG, price, 0, buyer_initiated=True)


def test_listeners_hear_every_step_and_can_trade_from_inside(make: Env) -> None:
    market, clock = make(at(TUESDAY, 9, 59, 59))
    steps: list[int] = []

    def react(code: str, state: StockState, trade: Trade | None) -> None:
        steps.append(state.step)
        if state.step % 100 == 0 and steps.count(state.step) == 1:
            market.record_trade(code, state.last, 7, buyer_initiated=True)  # re-entrant

    market.add_step_listener(react)
    state = market.state(SAMSUNG)
    assert state.step == 3_600
    assert steps.count(3_600) == 2  # the step itself and the user trade it triggered
    assert len(steps) == 3_600 + 36
    bars = market.minute_bars(SAMSUNG)
    assert sum(bar.volume for bar in bars) == state.volume
    assert bars[-1].close == state.last
    market.remove_step_listener(react)
    clock.advance(60)
    market.state(SAMSUNG)
    assert len(steps) == 3_636


def test_unknown_codes_and_bad_arguments(make: Env) -> None:
    market, _ = make()
    for call in (market.state, market.liquidity, market.daily_bars, market.minute_bars):
        with pytest.raises(KeyError):
            call("999999")
    with pytest.raises(KeyError):
        market.listing("999999")
    assert market.codes() == [SAMSUNG, CHEAP]
    assert market.listing(SAMSUNG).base_price == 70_000
    with pytest.raises(ValueError, match="step_seconds"):
        make(step_seconds=0)
