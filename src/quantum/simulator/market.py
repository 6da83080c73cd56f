"""Per-stock live market state: lazy price stepping, market-maker book and bars.

Nothing here runs on its own. A stock is advanced to ``clock.now()`` only when
someone asks about it (:meth:`Market.state`, :meth:`Market.liquidity`, …): one
price step per ``step_seconds`` of continuous-session time, so a clock that
starts at 11:00 replays 09:00→11:00 on the first look (about 7,200 cheap steps).
Prices freeze outside the continuous session (auctions, after hours, holidays).

The market maker's book is quoted lazily too: the book of step *n* is a pure
function of the seed, the stock, the day, *n* and the step's price (see
:meth:`PriceWalk.reseed_book`), so looking at it or not never changes the path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import attrgetter
from typing import Any, Literal

from quantum.krx.rules import PriceLimits, is_on_tick, price_limits
from quantum.krx.sessions import KrxCalendar, Phase
from quantum.simulator.clock import KST, SimClock
from quantum.simulator.history import Bar, aggregate_minutes, daily_history
from quantum.simulator.listings import Listing
from quantum.simulator.pricing import PriceWalk, round_tick

#: Trading days per year of generated history.
DAYS_PER_YEAR = 250

_MINUTE = timedelta(minutes=1)
_NO_MINUTE = -(10**9)


@dataclass(frozen=True, slots=True)
class Level:
    price: int
    qty: int


@dataclass(frozen=True, slots=True)
class Liquidity:
    """The market maker's quotes, best first (fewer than 10 levels near a price limit)."""

    bids: list[Level]
    asks: list[Level]


@dataclass(frozen=True, slots=True)
class Trade:
    at: datetime
    price: int
    qty: int
    buyer_initiated: bool


@dataclass(slots=True)
class StockState:
    """A snapshot of one stock; ``open/high/low`` are None before the day's first trade.

    Each call returns a fresh copy (not frozen only because frozen dataclasses are
    ~10x slower to build, and one is built per step while listeners are attached).
    """

    code: str
    trading_date: date
    base_price: int
    lower_limit: int
    upper_limit: int
    last: int
    open: int | None
    high: int | None
    low: int | None
    volume: int
    turnover: int
    last_trade: Trade | None
    step: int


StepListener = Callable[[str, StockState, Trade | None], None]

#: The fields the stepping loop keeps in locals (see :meth:`Market._run`).
_HOT = (
    "last", "open", "high", "low", "volume", "turnover", "step", "quote_price",
    "m_idx", "m_start", "m_open", "m_high", "m_low", "m_close", "m_vol", "m_turn",
)  # fmt: skip
_load = attrgetter(*_HOT)


def _store(st: _Stock, values: tuple[Any, ...]) -> None:
    """The inverse of ``_load`` (one unpacking: much faster than ``setattr`` in a loop)."""
    (st.last, st.open, st.high, st.low, st.volume, st.turnover, st.step, st.quote_price,
     st.m_idx, st.m_start, st.m_open, st.m_high, st.m_low, st.m_close, st.m_vol, st.m_turn,
     ) = values  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Day:
    """A trading day's continuous session: its start, end and number of steps."""

    start: datetime
    end: datetime
    steps: int


class _Stock:
    """Mutable per-stock state (internal; the outside world sees :class:`StockState`)."""

    __slots__ = (
        "base", "book", "book_step", "busy", "code", "day", "finished", "high", "history",
        "last", "last_trade", "limits", "listing", "listing_base", "low", "m_close",
        "m_high", "m_idx", "m_low", "m_open", "m_start", "m_turn", "m_vol", "minutes",
        "open", "quote_price", "step", "step_at", "turnover", "volume", "walk",
    )  # fmt: skip

    def __init__(self, listing: Listing, day: date, base: int, walk: PriceWalk) -> None:
        self.listing = listing
        self.code = listing.code
        self.listing_base = base  # the close the generated history ends at
        self.history: list[Bar] | None = None
        self.finished: list[Bar] = []  # simulated days already over
        self.minutes: list[Bar] = []  # finished minute bars, all simulated days
        self.busy = False  # while stepping (and calling listeners): no re-entrant stepping
        self.step_at: datetime | None = None  # the time of the step listeners are told of
        self.new_day(day, base, walk)

    def new_day(self, day: date, base: int, walk: PriceWalk) -> None:
        self.day, self.base, self.walk = day, base, walk
        self.limits: PriceLimits = price_limits(base)
        self.last = self.quote_price = base
        self.open: int | None = None
        self.high: int | None = None
        self.low: int | None = None
        self.volume = self.turnover = self.step = 0
        self.last_trade: Trade | None = None
        self.book: tuple[list[list[int]], list[list[int]]] | None = None
        self.book_step = -1
        self.m_start: datetime | None = None
        self.m_idx = _NO_MINUTE
        self.m_open = self.m_high = self.m_low = self.m_close = self.m_vol = self.m_turn = 0

    def minute_bar(self) -> Bar | None:
        """The minute bar in progress, if any."""
        if self.m_start is None:
            return None
        return Bar(
            self.m_start, self.m_open, self.m_high, self.m_low, self.m_close,
            self.m_vol, self.m_turn,
        )  # fmt: skip

    def day_bar(self) -> Bar | None:
        """Today's daily bar so far (None before the first trade)."""
        if self.open is None or self.high is None or self.low is None:
            return None
        start = datetime.combine(self.day, time(0), tzinfo=KST)
        return Bar(start, self.open, self.high, self.low, self.last, self.volume, self.turnover)

    def snapshot(self) -> StockState:
        return StockState(
            self.code, self.day, self.base, self.limits.lower, self.limits.upper, self.last,
            self.open, self.high, self.low, self.volume, self.turnover, self.last_trade,
            self.step,
        )  # fmt: skip


class Market:
    """Live state of every listed stock, advanced lazily to ``clock.now()``.

    The first simulated trading day is the clock's day at construction (or the
    next trading day on a weekend or holiday); each listing's ``base_price`` is
    the close of the trading day before it, where the generated history ends.
    Not thread-safe and never blocking: meant to be driven from one event loop.
    """

    def __init__(
        self,
        listings: dict[str, Listing],
        calendar: KrxCalendar,
        clock: SimClock,
        seed: int,
        step_seconds: float = 1.0,
        liquidity_scale: float = 1.0,
        history_years: int = 5,
    ) -> None:
        if step_seconds <= 0:
            raise ValueError(f"step_seconds must be positive, got {step_seconds}")
        if liquidity_scale <= 0:
            raise ValueError(f"liquidity_scale must be positive, got {liquidity_scale}")
        self.calendar = calendar
        self.clock = clock
        self.seed = seed
        self.step_seconds = step_seconds
        self.liquidity_scale = liquidity_scale
        self.history_years = history_years
        # The clock's day if it trades, else the next trading day.
        self.first_day = calendar.next_trading_day(clock.now().date() - timedelta(days=1))
        self._listings = dict(listings)
        self._stocks: dict[str, _Stock] = {}
        self._days: dict[date, _Day] = {}
        self._history_days: list[date] | None = None
        self._listeners: list[StepListener] = []

    # -- public API ------------------------------------------------------------------

    def codes(self) -> list[str]:
        return list(self._listings)

    def listing(self, code: str) -> Listing:
        return self._listings[code]

    def add_step_listener(self, cb: StepListener) -> None:
        """``cb(code, state, trade)`` after every price step and every recorded trade."""
        self._listeners.append(cb)

    def remove_step_listener(self, cb: StepListener) -> None:
        self._listeners.remove(cb)

    def state(self, code: str) -> StockState:
        return self._advanced(code).snapshot()

    def liquidity(self, code: str) -> Liquidity:
        """The market maker's book after the depletion by :meth:`take` since the last quote."""
        bids, asks = self._quote(self._advanced(code))
        return Liquidity(
            bids=[Level(price, qty) for price, qty in bids if qty > 0],
            asks=[Level(price, qty) for price, qty in asks if qty > 0],
        )

    def take(self, code: str, book_side: Literal["bid", "ask"], price: int, qty: int) -> None:
        """Remove ``qty`` at ``price`` from the market maker's ``book_side`` till the next quote."""
        bids, asks = self._quote(self._advanced(code))
        if book_side not in ("bid", "ask"):
            raise ValueError(f"book_side must be 'bid' or 'ask', got {book_side!r}")
        if qty <= 0:
            raise ValueError(f"quantity must be positive, got {qty}")
        for level in bids if book_side == "bid" else asks:
            if level[0] == price:
                if qty > level[1]:
                    raise ValueError(f"only {level[1]} available at {price}, asked {qty}")
                level[1] -= qty
                return
        raise ValueError(f"no {book_side} level at {price}")

    def record_trade(self, code: str, price: int, qty: int, buyer_initiated: bool) -> Trade:
        """A user trade: moves last/OHLC/volume and the minute bar, then tells listeners."""
        st = self._advanced(code)
        if not is_on_tick(price) or not st.limits.contains(price):
            raise ValueError(f"price {price} is off the tick grid or outside {st.limits}")
        if qty <= 0:
            raise ValueError(f"quantity must be positive, got {qty}")
        # Inside a step listener the stock lives at that step's time, not the clock's.
        at = st.step_at if st.busy and st.step_at is not None else self.clock.now()
        trade = Trade(at, price, qty, buyer_initiated)
        value = price * qty
        st.last, st.last_trade = price, trade
        st.volume, st.turnover = st.volume + qty, st.turnover + value
        if st.open is None or st.high is None or st.low is None:
            st.open = st.high = st.low = price
        else:
            st.high, st.low = max(st.high, price), min(st.low, price)
        minute = at.replace(second=0, microsecond=0)
        if st.m_start is not None and minute <= st.m_start:
            st.m_high, st.m_low = max(st.m_high, price), min(st.m_low, price)
            st.m_close, st.m_vol, st.m_turn = price, st.m_vol + qty, st.m_turn + value
        else:
            self._close_minute(st)
            start = self._day(st.day).start
            st.m_idx = int((minute - start) // _MINUTE)
            st.m_start = minute
            st.m_open = st.m_high = st.m_low = st.m_close = price
            st.m_vol, st.m_turn = qty, value
        self._notify(st, trade)
        return trade

    def daily_bars(self, code: str) -> list[Bar]:
        """History, finished simulated days and today's bar so far; oldest first."""
        st = self._advanced(code)
        if st.history is None:
            st.history = daily_history(self.seed, code, st.listing_base, self.history_days())
        today = st.day_bar()
        return [*st.history, *st.finished, *([today] if today else [])]

    def minute_bars(self, code: str, minutes: int = 1) -> list[Bar]:
        """Every simulated minute so far (all days), oldest first, the current one included."""
        st = self._advanced(code)
        current = st.minute_bar()
        bars = [*st.minutes, *([current] if current else [])]
        return bars if minutes == 1 else aggregate_minutes(bars, minutes)

    def history_days(self) -> list[date]:
        """The trading days covered by the generated history (before :attr:`first_day`)."""
        if self._history_days is None:
            count = DAYS_PER_YEAR * self.history_years
            self._history_days = self.calendar.trading_days_before(self.first_day, count)
        return self._history_days

    # -- stepping --------------------------------------------------------------------

    def _advanced(self, code: str) -> _Stock:
        st = self._stocks.get(code)
        if st is None:
            listing = self._listings[code]  # KeyError for an unknown code
            base = round_tick(listing.base_price)  # already on the grid for real listings
            st = _Stock(listing, self.first_day, base, self._walk(code, self.first_day))
            self._stocks[code] = st
        if not st.busy:
            self._advance(st, self.clock.now())
        return st

    def _walk(self, code: str, day: date) -> PriceWalk:
        return PriceWalk(self.seed, code, day, self.liquidity_scale)

    def _day(self, day: date) -> _Day:
        info = self._days.get(day)
        if info is None:
            schedule = self.calendar.schedule(day)
            window = schedule.window(Phase.CONTINUOUS) if schedule else None
            if window is None:
                nine = datetime.combine(day, time(9), tzinfo=KST)
                info = _Day(nine, nine, 0)  # not a trading day: no steps
            else:
                total = (window[1] - window[0]).total_seconds()
                info = _Day(window[0], window[1], math.ceil(total / self.step_seconds - 1e-9))
            self._days[day] = info
        return info

    def _due(self, info: _Day, now: datetime) -> int:
        """Steps of ``info``'s day that have happened by ``now`` (step k at k·step_seconds)."""
        if now < info.start:
            return 0
        if now >= info.end:
            return info.steps
        elapsed = (now - info.start).total_seconds()
        return min(info.steps, int(elapsed // self.step_seconds) + 1)

    def _advance(self, st: _Stock, now: datetime) -> None:
        today = now.date()
        while st.day < today:
            self._run(st, self._day(st.day).steps)
            following = self.calendar.next_trading_day(st.day)
            if following > today:
                break
            self._rollover(st, following)
        if st.day == today:
            self._run(st, self._due(self._day(st.day), now))

    def _rollover(self, st: _Stock, day: date) -> None:
        """Close the day: daily bar, last minute bar; the close becomes the new base price."""
        self._close_minute(st)
        bar = st.day_bar()
        if bar is None:  # a day without a single trade stays flat
            start = datetime.combine(st.day, time(0), tzinfo=KST)
            bar = Bar(start, st.last, st.last, st.last, st.last, 0, 0)
        st.finished.append(bar)
        st.new_day(day, st.last, self._walk(st.code, day))

    @staticmethod
    def _close_minute(st: _Stock) -> None:
        bar = st.minute_bar()
        if bar is not None:
            st.minutes.append(bar)
        st.m_start, st.m_idx = None, _NO_MINUTE

    def _run(self, st: _Stock, target: int) -> None:
        """Step ``st`` until it has taken ``target`` steps today (the hot loop: locals only).

        ``st.busy`` is set throughout, so a listener's calls see the stock as of
        the step it is told about instead of stepping it re-entrantly.
        """
        k = st.step
        if k >= target:
            return
        info = self._day(st.day)
        walk, base, limits, listeners = st.walk, st.base, st.limits, self._listeners
        step, trade_qty, rand = walk.step, walk.trade_qty, walk.rng.random
        step_seconds, minutes, code = self.step_seconds, st.minutes, st.code
        (last, opening, high, low, volume, turnover, _, _,
         m_idx, m_start, m_open, m_high, m_low, m_close, m_vol, m_turn) = _load(st)  # fmt: skip
        price = qty = 0
        buyer = False
        st.busy = True
        try:
            while k < target:
                offset = k * step_seconds
                if opening is None or high is None or low is None:
                    price = walk.open_price(base, limits)
                    opening = high = low = price
                else:
                    price = step(last, limits, base)
                    if price > high:
                        high = price
                    elif price < low:
                        low = price
                qty = trade_qty(price)
                buyer = price > last if price != last else rand() < 0.5
                value = price * qty
                last, volume, turnover, k = price, volume + qty, turnover + value, k + 1
                idx = int(offset // 60.0)
                if idx != m_idx:
                    if m_start is not None:
                        minutes.append(Bar(m_start, m_open, m_high, m_low, m_close, m_vol, m_turn))
                    m_idx, m_start = idx, info.start + idx * _MINUTE
                    m_open = m_high = m_low = m_close = price
                    m_vol, m_turn = qty, value
                else:
                    if price > m_high:
                        m_high = price
                    elif price < m_low:
                        m_low = price
                    m_close, m_vol, m_turn = price, m_vol + qty, m_turn + value
                if listeners:
                    _store(st, (last, opening, high, low, volume, turnover, k, price, m_idx,
                                m_start, m_open, m_high, m_low, m_close, m_vol,
                                m_turn))  # fmt: skip
                    st.step_at = info.start + timedelta(seconds=offset)
                    st.last_trade = trade = Trade(st.step_at, price, qty, buyer)
                    state = st.snapshot()
                    for cb in tuple(listeners):
                        cb(code, state, trade)
                    # A listener may have recorded user trades: pick their effects up.
                    (last, opening, high, low, volume, turnover, _, _, m_idx, m_start,
                     m_open, m_high, m_low, m_close, m_vol, m_turn) = _load(st)  # fmt: skip
        finally:
            st.busy = False
        if not listeners:
            _store(st, (last, opening, high, low, volume, turnover, k, price, m_idx,
                        m_start, m_open, m_high, m_low, m_close, m_vol, m_turn))  # fmt: skip
            at = info.start + timedelta(seconds=(k - 1) * step_seconds)
            st.last_trade = Trade(at, price, qty, buyer)

    def _notify(self, st: _Stock, trade: Trade) -> None:
        if self._listeners:
            state = st.snapshot()
            for cb in tuple(self._listeners):
                cb(st.code, state, trade)

    @staticmethod
    def _quote(st: _Stock) -> tuple[list[list[int]], list[list[int]]]:
        """The book of the current step, quoted around that step's price on first use."""
        if st.book is None or st.book_step != st.step:
            st.book, st.book_step = st.walk.quote(st.quote_price, st.limits, st.step), st.step
        return st.book
