"""The engine's state and its one way of trading: plan with the book, then apply.

:class:`ExecutionCore` owns accounts, orders and books, and every state change
that follows a decision: reserving, filling (money, shares, fees, the market's
print), resting, withdrawing and ending orders, plus the events they cause.
Events are queued and delivered when the outermost engine operation finishes,
so a listener that calls back into the engine never sees a half-applied fill.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from quantum.krx.sessions import KrxCalendar, Phase
from quantum.simulator.clock import SimClock
from quantum.simulator.engine.accounts import Account, FeeSchedule
from quantum.simulator.engine.book import BookFill, OrderBook
from quantum.simulator.engine.events import (
    BalanceEvent,
    Event,
    EventKind,
    EventListener,
    OrderEvent,
    percent,
)
from quantum.simulator.engine.order_types import ORDER_TYPES, OrderTypeSpec, TimeInForce
from quantum.simulator.engine.orders import Fill, Order, OrderNumbers, OrderStatus, Side
from quantum.simulator.market import Market, StockState, Trade

log = logging.getLogger(__name__)

#: Rounds of follow-up work (stops triggered by our own prints, ...) before giving up.
MAX_FOLLOW_UPS = 100
#: Consecutive failed market-maker takes (a re-quote between plan and take) tolerated.
MAX_RETAKES = 3


class _RequotedError(Exception):
    """The market maker re-quoted between planning a fill and taking its quantity."""


class ExecutionCore:
    """State, fills and events; :class:`TradingEngine` adds the rules on top."""

    def __init__(
        self,
        market: Market,
        calendar: KrxCalendar,
        clock: SimClock,
        fees: FeeSchedule | None = None,
    ) -> None:
        self.market = market
        self.calendar = calendar
        self.clock = clock
        self.fees = fees or FeeSchedule()
        self._accounts: dict[str, Account] = {}
        self._orders: dict[str, Order] = {}  # today's orders by number
        self._by_account: dict[str, list[Order]] = {}
        self._live: dict[str, dict[str, Order]] = {}  # code → open orders by number
        self._books: dict[str, OrderBook] = {}
        self._order_numbers = OrderNumbers()
        self._fill_numbers = OrderNumbers()
        self._listeners: list[EventListener] = []
        self._events: list[Event] = []
        self._busy = False
        self._dirty: set[str] = set()  # stocks whose market moved while we were busy
        self._moment: datetime | None = None  # the market step being processed, if any
        self._day: date = clock.now().date()
        self._settled: dict[str, tuple[date, frozenset[Phase]]] = {}
        """Per stock, the (day, phases) the session rules last ran to the end for."""
        market.add_step_listener(self._on_step)

    # -- operations and events ---------------------------------------------------------

    @contextmanager
    def _operation(self, moment: datetime | None = None) -> Iterator[None]:
        """Run engine work; nested calls join the outer one, events go out at the end."""
        if self._busy:
            yield
            return
        self._busy, saved, self._moment = True, self._moment, moment
        try:
            self._roll_day()
            yield
            self._follow_up()
        finally:
            self._busy, self._moment = False, saved
            self._flush()

    def _flush(self) -> None:
        events, self._events = self._events, []
        for event in events:
            for listener in tuple(self._listeners):
                try:
                    listener(event)
                except Exception:
                    log.exception("engine event listener failed")

    def _now(self) -> datetime:
        return self._moment or self.clock.now()

    def _continuous_now(self) -> bool:
        """Inside a market step, or the clock is in the continuous session."""
        return self._moment is not None or Phase.CONTINUOUS in self.calendar.phases_at(
            self.clock.now()
        )

    def _on_step(self, code: str, state: StockState, trade: Trade | None) -> None:
        """Market listener: a step (or a print) may cross resting orders or trigger stops."""
        if not self._live.get(code):
            return
        if self._busy:
            self._dirty.add(code)
            return
        with self._operation(trade.at if trade is not None else None):
            self._on_market_step(code, state)

    def _on_market_step(self, code: str, state: StockState) -> None:
        """Hook for the session rules (overridden)."""

    def _react(self, code: str) -> None:
        """Hook: trigger stops and match resting orders of ``code`` (overridden)."""

    def _follow_up(self) -> None:
        """React to prints we caused ourselves, until nothing moves any more."""
        for _ in range(MAX_FOLLOW_UPS):
            if not self._dirty:
                return
            codes, self._dirty = sorted(self._dirty), set()
            if self._continuous_now():
                for code in codes:
                    self._react(code)
        log.warning("engine follow-ups did not settle for %s", sorted(self._dirty))

    def _roll_day(self) -> None:
        """A new trading day: stale orders expire, today-counters reset, old orders go."""
        today = self.clock.now().date()
        if today <= self._day:
            return
        self._day = today
        for live in list(self._live.values()):
            for order in list(live.values()):
                self._end(order, OrderStatus.EXPIRED)
        self._orders = {no: o for no, o in self._orders.items() if o.trading_date >= today}
        for account_no, orders in self._by_account.items():
            self._by_account[account_no] = [o for o in orders if o.trading_date >= today]
        for account in self._accounts.values():
            account.new_day()

    def _quotes(self, code: str) -> tuple[StockState, int, int]:
        """(state, best ask, best bid); a missing side is 0, as the FIDs show it."""
        book = self._book(code)
        return self.market.state(code), book.best_ask() or 0, book.best_bid() or 0

    def _emit(
        self, kind: EventKind, order: Order, fill: Fill | None = None, reason: str = ""
    ) -> None:
        state, ask, bid = self._quotes(order.code)
        self._events.append(
            OrderEvent(
                kind=kind,
                order=order.snapshot(),
                label=order.label,
                order_type_name=ORDER_TYPES[order.trde_tp].name,
                at=fill.at if fill is not None else self._now(),
                current_price=state.last,
                best_ask=ask,
                best_bid=bid,
                commission=order.commission,
                tax=order.tax,
                fill_no=fill.fill_no if fill is not None else "",
                fill_price=fill.price if fill is not None else 0,
                fill_qty=fill.qty if fill is not None else 0,
                reason=reason,
            )
        )

    def _emit_balance(self, order: Order) -> None:
        state, ask, bid = self._quotes(order.code)
        account = self._accounts[order.account_no]
        position = account.holding(order.code)
        self._events.append(
            BalanceEvent(
                account_no=account.account_no,
                code=order.code,
                name=order.name,
                at=self._now(),
                side=order.side,
                current_price=state.last,
                base_price=state.base_price,
                best_ask=ask,
                best_bid=bid,
                qty=position.qty,
                avg_price=position.avg_price,
                purchase_amount=position.purchase_amount,
                purchase_commission=position.purchase_commission,
                sellable_qty=position.sellable_qty,
                today_net_buy_qty=position.today_net_buy_qty,
                realized_pnl=position.realized_pnl,
                realized_rate=percent(position.realized_pnl, position.today_sold_cost),
                profit_rate=percent(
                    state.last * position.qty - position.purchase_amount,
                    position.purchase_amount,
                ),
                available_cash=account.available_cash,
            )
        )

    # -- registry ------------------------------------------------------------------------

    def _book(self, code: str) -> OrderBook:
        book = self._books.get(code)
        if book is None:
            market = self.market
            book = self._books[code] = OrderBook(code, lambda: market.liquidity(code))
        return book

    def _spec(self, order: Order) -> OrderTypeSpec:
        return ORDER_TYPES[order.trde_tp]

    def _live_orders(self, code: str, status: OrderStatus | None = None) -> list[Order]:
        """``code``'s open orders (only those in ``status``), oldest first (a copy:
        processing may end some)."""
        live = self._live.get(code, {}).values()
        chosen = live if status is None else [order for order in live if order.status is status]
        return sorted(chosen, key=lambda o: o.order_no)

    def _register(self, order: Order) -> None:
        self._orders[order.order_no] = order
        self._by_account.setdefault(order.account_no, []).append(order)
        if order.is_open:
            self._live.setdefault(order.code, {})[order.order_no] = order

    def _retire(self, order: Order) -> None:
        if not order.is_open:
            self._live.get(order.code, {}).pop(order.order_no, None)
            self._book(order.code).remove(order.order_no)

    # -- money ---------------------------------------------------------------------------

    def _reserve(self, order: Order) -> None:
        """Hold back what a newly accepted order may need (validated beforehand)."""
        account = self._accounts[order.account_no]
        if order.side is Side.BUY:
            need = self.fees.buy_reservation(
                order.remaining, order.reserve_price, order.filled_amount
            )
            account.reserve_cash(need)
            order.reserved_cash = need
        else:
            account.reserve_shares(order.code, order.remaining)

    def _rereserve(self, order: Order) -> None:
        """Bring a buy's reservation in line with its remainder and worst price."""
        account = self._accounts[order.account_no]
        need = (
            self.fees.buy_reservation(order.remaining, order.reserve_price, order.filled_amount)
            if order.is_open
            else 0
        )
        if need > order.reserved_cash:
            account.reserve_cash(need - order.reserved_cash)
        else:
            account.release_cash(order.reserved_cash - need)
        order.reserved_cash = need

    def _withdraw(self, order: Order, qty: int) -> None:
        """Take ``qty`` off an open order (cancel / modify) and free what it held."""
        order.withdraw(qty)
        book = self._book(order.code)
        if order.order_no in book:
            if order.is_open:
                book.reduce(order.order_no, qty)
            else:
                book.remove(order.order_no)
        if order.side is Side.BUY:
            self._rereserve(order)
        else:
            self._accounts[order.account_no].release_shares(order.code, qty)
        self._retire(order)

    def _end(self, order: Order, status: OrderStatus, confirm: bool = False) -> None:
        """Cancel or expire an order's remainder, releasing its reservation."""
        if not order.is_open:
            return
        stopped = order.end(status)
        if order.side is Side.BUY:
            self._rereserve(order)
        else:
            self._accounts[order.account_no].release_shares(order.code, stopped)
        self._retire(order)
        if confirm:
            self._emit(EventKind.CONFIRMED, order)

    # -- trading -------------------------------------------------------------------------

    def _fill(self, order: Order, price: int, qty: int) -> None:
        """One execution: fees on the order's cumulative amount, money, shares, events."""
        amount = price * qty
        total = order.filled_amount + amount
        commission = self.fees.commission(total) - order.commission
        tax = self.fees.tax(total) - order.tax if order.side is Side.SELL else 0
        fill = Fill(self._fill_numbers.next(), price, qty, self._now(), commission, tax)
        book = self._book(order.code)
        if order.order_no in book:
            book.reduce(order.order_no, qty)
        order.record_fill(fill)
        account = self._accounts[order.account_no]
        if order.side is Side.BUY:
            held = order.reserved_cash
            order.reserved_cash = (
                self.fees.buy_reservation(order.remaining, order.reserve_price, order.filled_amount)
                if order.remaining
                else 0
            )
            account.settle_buy(order.code, qty, amount, commission, held - order.reserved_cash)
        else:
            account.settle_sell(order.code, qty, amount, commission, tax)
        self._retire(order)
        self._emit(EventKind.FILLED, order, fill)
        self._emit_balance(order)

    def _trade(self, taker: Order, planned: BookFill) -> None:
        """Apply one planned execution: the counterparty, the taker, then the print."""
        buy = taker.side is Side.BUY
        if planned.order_no is None:
            try:
                self.market.take(taker.code, "ask" if buy else "bid", planned.price, planned.qty)
            except ValueError as exc:
                raise _RequotedError(str(exc)) from exc
        else:
            self._fill(self._orders[planned.order_no], planned.price, planned.qty)
        self._fill(taker, planned.price, planned.qty)
        self.market.record_trade(taker.code, planned.price, planned.qty, buy)

    def _sweep(self, order: Order) -> None:
        """Trade ``order`` against the book up to its limit, one planned fill at a time.

        Re-planning after each fill keeps the plan true to the market maker's
        current quote even if the market re-quotes in between.
        """
        book = self._book(order.code)
        failures = 0
        while order.remaining > 0 and failures < MAX_RETAKES:
            plan = book.match(order.side, order.remaining, order.book_price, order.account_no)
            if not plan:
                return
            try:
                self._trade(order, plan[0])
                failures = 0
            except _RequotedError:
                log.warning("re-quote between plan and take for %s", order.order_no)
                failures += 1

    def _execute(self, order: Order) -> None:
        """Continuous matching by time in force: FOK all-or-nothing, IOC drops the rest."""
        spec = self._spec(order)
        book = self._book(order.code)
        if spec.tif is TimeInForce.FOK:
            fillable = book.fillable_qty(
                order.side, order.remaining, order.book_price, order.account_no
            )
            if fillable < order.remaining:
                self._end(order, OrderStatus.CANCELLED, confirm=True)
                return
        self._sweep(order)
        if not order.is_open:
            return
        if spec.tif is TimeInForce.DAY:
            book.add(
                order.order_no, order.account_no, order.side, order.book_price, order.remaining
            )
        else:
            self._end(order, OrderStatus.CANCELLED, confirm=True)
