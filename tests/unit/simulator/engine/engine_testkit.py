"""Helpers for the engine tests: a scripted market, the test environment, constants.

The real market gives realistic thin books (small ``liquidity_scale``); the
scripted one lets a test set the market maker's exact quotes and fire a step,
for assertions about specific prices. Fixtures live in ``conftest.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal, cast

from quantum.krx.rules import price_limits
from quantum.krx.sessions import KrxCalendar
from quantum.simulator.clock import KST, SimClock
from quantum.simulator.engine import (
    Account,
    BalanceEvent,
    Event,
    EventKind,
    FeeSchedule,
    Holding,
    OrderEvent,
    TradingEngine,
)
from quantum.simulator.listings import Listing
from quantum.simulator.market import Level, Liquidity, Market, StepListener, StockState, Trade

TUESDAY = date(2026, 11, 24)
SAMSUNG, CHEAP = "005930", "000100"
CASH = 100_000_000


def at(hour: int, minute: int = 0, second: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=KST)


class FakeMarket:
    """A market whose quotes the test sets; :meth:`quote` is one price step."""

    def __init__(self, listings: dict[str, Listing], clock: SimClock) -> None:
        self.clock = clock
        self._listings = listings
        self._listeners: list[StepListener] = []
        self._states: dict[str, StockState] = {}
        self._books: dict[str, tuple[list[list[int]], list[list[int]]]] = {}
        self.prints: list[tuple[str, int, int, bool]] = []
        self.takes: list[tuple[str, str, int, int]] = []
        for code, listing in listings.items():
            limits = price_limits(listing.base_price)
            self._states[code] = StockState(
                code, clock.now().date(), listing.base_price, limits.lower, limits.upper,
                listing.base_price, None, None, None, 0, 0, None, 0,
            )  # fmt: skip
            self._books[code] = ([], [])

    def listing(self, code: str) -> Listing:
        return self._listings[code]

    def add_step_listener(self, cb: StepListener) -> None:
        self._listeners.append(cb)

    def state(self, code: str) -> StockState:
        return self._states[code]

    def liquidity(self, code: str) -> Liquidity:
        bids, asks = self._books[code]
        return Liquidity(
            bids=[Level(p, q) for p, q in bids if q > 0],
            asks=[Level(p, q) for p, q in asks if q > 0],
        )

    def take(self, code: str, book_side: Literal["bid", "ask"], price: int, qty: int) -> None:
        bids, asks = self._books[code]
        for level in bids if book_side == "bid" else asks:
            if level[0] == price and level[1] >= qty:
                level[1] -= qty
                self.takes.append((code, book_side, price, qty))
                return
        raise ValueError(f"no {qty} at {price} on the {book_side}")

    def record_trade(self, code: str, price: int, qty: int, buyer_initiated: bool) -> Trade:
        trade = Trade(self.clock.now(), price, qty, buyer_initiated)
        state = self._states[code]
        self._states[code] = dataclasses.replace(
            state, last=price, volume=state.volume + qty, last_trade=trade
        )
        self.prints.append((code, price, qty, buyer_initiated))
        self._notify(code, trade)
        return trade

    def set_state(self, code: str, **changes: Any) -> None:
        self._states[code] = dataclasses.replace(self._states[code], **changes)

    def quote(
        self,
        code: str,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        last: int | None = None,
        step: bool = True,
    ) -> None:
        """Re-quote the market maker (and optionally move the last price), then step."""
        self._books[code] = ([[p, q] for p, q in bids], [[p, q] for p, q in asks])
        state = self._states[code]
        self._states[code] = dataclasses.replace(
            state, last=state.last if last is None else last, step=state.step + 1
        )
        if step:
            self._notify(code, Trade(self.clock.now(), self._states[code].last, 1, True))

    def _notify(self, code: str, trade: Trade) -> None:
        for cb in tuple(self._listeners):
            cb(code, self._states[code], trade)


@dataclasses.dataclass
class Env:
    engine: TradingEngine
    market: Any  # Market or FakeMarket
    clock: SimClock
    events: list[Event]

    def account(self, account_no: str = "A") -> Account:
        return self.engine.account(account_no)

    def order_events(self, order_no: str | None = None) -> list[OrderEvent]:
        return [
            e
            for e in self.events
            if isinstance(e, OrderEvent) and order_no in (None, e.order.order_no)
        ]

    def kinds(self, order_no: str | None = None) -> list[EventKind]:
        return [e.kind for e in self.order_events(order_no)]

    def balances(self) -> list[BalanceEvent]:
        return [e for e in self.events if isinstance(e, BalanceEvent)]

    def set(self, moment: datetime) -> None:
        self.clock.set(moment)

    def give(self, account_no: str, code: str, qty: int, avg_price: int) -> None:
        """Seed a position without trading (tests only)."""
        self.engine.account(account_no).holdings[code] = Holding(
            code, qty=qty, purchase_amount=qty * avg_price
        )


EnvFactory = Callable[..., Env]


def build_env(
    market: Any, clock: SimClock, calendar: KrxCalendar, accounts: tuple[str, ...], cash: int
) -> Env:
    engine = TradingEngine(cast(Market, market), calendar, clock, FeeSchedule())
    events: list[Event] = []
    engine.add_listener(events.append)
    for account_no in accounts:
        engine.open_account(account_no, cash)
    return Env(engine, market, clock, events)
