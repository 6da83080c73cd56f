"""The trading engine's public face: accounts, order entry, order lists, depth, sync.

Every entry point checks everything first and raises :class:`OrderRejected`
before it changes anything; only then does it reserve, record and route the
order. Time-driven work (auctions ending, stops, day-order expiry) runs at the
start of every call for the stock concerned, and for all stocks in :meth:`sync`.
"""

from __future__ import annotations

from quantum.krx.sessions import Phase
from quantum.simulator.engine.accounts import Account
from quantum.simulator.engine.errors import OrderRejected, RejectReason
from quantum.simulator.engine.events import EventKind, EventListener
from quantum.simulator.engine.lifecycle import SessionRules
from quantum.simulator.engine.order_types import Pricing, modified_type
from quantum.simulator.engine.orders import Order, OrderKind, OrderStatus, Side
from quantum.simulator.engine.validation import (
    check_price,
    check_quantity,
    check_session,
    check_stop,
    order_type,
    resolve_prices,
)
from quantum.simulator.market import Level, StockState

_R = RejectReason


class TradingEngine(SessionRules):
    """KRX order handling for simulated accounts on top of :class:`Market`.

    ``TradingEngine(market, calendar, clock, fees=None)``; register with
    :meth:`add_listener` for :class:`OrderEvent` / :class:`BalanceEvent`.
    """

    # -- accounts and listeners ----------------------------------------------------------

    def open_account(self, account_no: str, cash: int) -> Account:
        """A new account holding ``cash`` KRW (an existing one is returned unchanged)."""
        if cash < 0:
            raise ValueError(f"starting cash must not be negative, got {cash}")
        account = self._accounts.get(account_no)
        if account is None:
            account = self._accounts[account_no] = Account(account_no, cash)
            self._by_account[account_no] = []
        return account

    def account(self, account_no: str) -> Account:
        """The live account (``KeyError`` if it was never opened)."""
        return self._accounts[account_no]

    def add_listener(self, cb: EventListener) -> None:
        self._listeners.append(cb)

    def remove_listener(self, cb: EventListener) -> None:
        self._listeners.remove(cb)

    # -- order entry -----------------------------------------------------------------------

    def submit(
        self,
        account_no: str,
        side: Side | str,
        code: str,
        qty: int,
        trde_tp: str | int,
        price: int | None,
        stop_price: int | None = None,
    ) -> Order:
        """Place a new order (kt10000 / kt10001); returns it as accepted and routed."""
        account = self.account(account_no)
        side = Side(side)
        spec = order_type(trde_tp)
        self._touch(code)
        with self._operation():
            self._transitions(code)
            phases = self._phases()
            check_quantity(qty)
            check_session(phases, spec.phases, spec.name)
            state = self.market.state(code)
            limit = check_price(spec, price, state)
            stop = check_stop(spec, stop_price, state)
            prices = resolve_prices(spec, side, limit, state, self._book(code), account_no)
            if side is Side.BUY:
                need = self.fees.buy_reservation(qty, prices.reserve_price, 0)
                if need > account.available_cash:
                    raise OrderRejected(
                        _R.INSUFFICIENT_CASH, f"needs {need}, {account.available_cash} available"
                    )
            elif account.holding(code).sellable_qty < qty:
                sellable = account.holding(code).sellable_qty
                raise OrderRejected(_R.INSUFFICIENT_HOLDINGS, f"{qty} > {sellable} sellable")
            order = self._new_order(
                account_no, side, code, qty, spec.code, limit,
                stop_price=stop, book_price=prices.book_price,
                pending=spec.pricing is Pricing.STOP_LIMIT,
            )  # fmt: skip
            order.reserve_price = prices.reserve_price
            self._accept(order)
            self._start(order, phases)
        return order

    def modify(
        self, account_no: str, orig_order_no: str, code: str, qty: int, new_price: int
    ) -> Order:
        """정정 (kt10002): ``qty`` (0 = the whole remainder) moves to a new order at ``new_price``.

        The new order gets a new number and joins the back of the queue; the
        original keeps whatever was not moved.
        """
        self.account(account_no)
        self._touch(code)
        with self._operation():
            self._transitions(code)
            original = self._open_original(account_no, orig_order_no, code)
            moved = self._portion(original, qty)
            spec = modified_type(self._spec(original))
            phases = self._phases()
            check_session(phases, spec.phases, spec.name)
            state = self.market.state(code)
            limit = check_price(spec, new_price, state)
            check_stop(spec, original.stop_price or None, state)
            prices = resolve_prices(spec, original.side, limit, state, self._book(code), account_no)
            if original.side is Side.BUY:
                self._check_modify_cash(original, moved, prices.reserve_price)
            self._withdraw(original, moved)
            order = self._new_order(
                account_no, original.side, code, moved, spec.code, limit,
                kind=OrderKind.MODIFY, orig_order_no=original.order_no,
                stop_price=original.stop_price, book_price=prices.book_price,
                pending=spec.pricing is Pricing.STOP_LIMIT,
            )  # fmt: skip
            order.reserve_price = prices.reserve_price
            self._accept(order)
            self._emit(EventKind.CONFIRMED, order)
            self._start(order, phases)
        return order

    def cancel(self, account_no: str, orig_order_no: str, code: str, qty: int) -> Order:
        """취소 (kt10003): ``qty`` (0 = the whole remainder) of an open order stops.

        Returns the cancel record: its own number, ``orig_order_no`` the original.
        """
        self.account(account_no)
        self._touch(code)
        with self._operation():
            self._transitions(code)
            original = self._open_original(account_no, orig_order_no, code)
            moved = self._portion(original, qty)
            check_session(self._phases(), self._spec(original).alive, self._spec(original).name)
            record = self._new_order(
                account_no, original.side, code, moved, original.trde_tp, original.price,
                kind=OrderKind.CANCEL, orig_order_no=original.order_no,
                stop_price=original.stop_price, book_price=original.book_price,
            )  # fmt: skip
            self._register(record)
            self._emit(EventKind.ACCEPTED, record)
            self._withdraw(original, moved)
            record.transition(OrderStatus.CONFIRMED)
            self._emit(EventKind.CONFIRMED, record)
        return record

    # -- queries ---------------------------------------------------------------------------

    def orders(self, account_no: str) -> list[Order]:
        """Today's orders of the account (cancel records included), oldest first."""
        return list(self._by_account.get(account_no, []))

    def open_orders(self, account_no: str, code: str | None = None) -> list[Order]:
        """ka10075: orders that may still trade, oldest first."""
        return [o for o in self.orders(account_no) if o.is_open and code in (None, o.code)]

    def filled_orders(self, account_no: str, code: str | None = None) -> list[Order]:
        """ka10076: orders with at least one fill today, newest first."""
        orders = self.orders(account_no)
        return [o for o in reversed(orders) if o.filled_qty and code in (None, o.code)]

    def order(self, order_no: str) -> Order | None:
        return self._orders.get(order_no)

    def depth(self, code: str, levels: int = 10) -> tuple[list[Level], list[Level]]:
        """(bids, asks) best first, user orders merged into the market maker's quotes."""
        liquidity = self._book(code).depth(levels)
        return liquidity.bids, liquidity.asks

    def sync(self) -> None:
        """Bring every stock with open orders up to the clock: steps, auctions, expiry."""
        codes = [code for code, live in self._live.items() if live]
        for code in codes:
            self.market.state(code)  # runs due steps; the step listener matches them
        with self._operation():
            for code in codes:
                self._transitions(code)

    # -- helpers ---------------------------------------------------------------------------

    def _phases(self) -> frozenset[Phase]:
        return self.calendar.phases_at(self.clock.now())

    def _touch(self, code: str) -> StockState:
        """Advance the stock to now with the step listener live (so no step is skipped)."""
        try:
            return self.market.state(code)
        except KeyError:
            raise OrderRejected(_R.UNKNOWN_STOCK, f"no stock {code!r}") from None

    def _new_order(
        self,
        account_no: str,
        side: Side,
        code: str,
        qty: int,
        trde_tp: str,
        price: int,
        *,
        kind: OrderKind = OrderKind.NEW,
        orig_order_no: str | None = None,
        stop_price: int = 0,
        book_price: int = 0,
        pending: bool = False,
    ) -> Order:
        order = Order(
            order_no=self._order_numbers.next(),
            account_no=account_no,
            code=code,
            name=self.market.listing(code).name,
            side=side,
            trde_tp=trde_tp,
            qty=qty,
            price=price,
            created_at=self._now(),
            kind=kind,
            stop_price=stop_price,
            status=OrderStatus.PENDING_TRIGGER if pending else OrderStatus.ACCEPTED,
            remaining=0 if kind is OrderKind.CANCEL else qty,
            book_price=book_price,
            reserve_price=book_price,
        )
        if orig_order_no is not None:
            order.orig_order_no = orig_order_no
        return order

    def _accept(self, order: Order) -> None:
        self._reserve(order)
        self._register(order)
        self._emit(EventKind.ACCEPTED, order)

    def _open_original(self, account_no: str, order_no: str, code: str) -> Order:
        order = self._orders.get(str(order_no).zfill(7))
        if order is None or order.account_no != account_no or order.code != code:
            raise OrderRejected(_R.UNKNOWN_ORDER, f"no order {order_no} for {code}")
        if order.kind is OrderKind.CANCEL or not order.is_open:
            raise OrderRejected(_R.ORDER_NOT_OPEN, f"order {order_no} is {order.status}")
        return order

    @staticmethod
    def _portion(order: Order, qty: int) -> int:
        """The quantity a modify/cancel moves: ``0`` means the whole remainder."""
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            raise OrderRejected(_R.INVALID_QUANTITY, f"quantity {qty!r}")
        if qty > order.remaining:
            raise OrderRejected(
                _R.QUANTITY_EXCEEDS_REMAINING, f"{qty} > {order.remaining} remaining"
            )
        return qty or order.remaining

    def _check_modify_cash(self, original: Order, moved: int, price: int) -> None:
        """The moved shares at the new price must fit in what they free plus spare cash."""
        left = original.remaining - moved
        keeps = (
            self.fees.buy_reservation(left, original.reserve_price, original.filled_amount)
            if left
            else 0
        )
        freed = original.reserved_cash - keeps
        need = self.fees.buy_reservation(moved, price, 0)
        available = self._accounts[original.account_no].available_cash + freed
        if need > available:
            raise OrderRejected(_R.INSUFFICIENT_CASH, f"needs {need}, {available} available")


__all__ = ["TradingEngine"]
