"""When orders trade: routing by session phase, auctions, stops, conversion, expiry.

Time only moves through the clock, so every rule here is written as "what
must have happened by now": an auction queue whose phase is over is uncrossed,
a conditional limit past the continuous session is converted, an order whose
type has no live phase left expires. Running the rules twice at the same
moment does nothing the second time, so callers may run them as often as they
like (every request, every market step, every tick).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

from quantum.krx.sessions import Phase
from quantum.simulator.engine.book import crosses
from quantum.simulator.engine.execution import ExecutionCore
from quantum.simulator.engine.order_types import ORDER_TYPES, Pricing
from quantum.simulator.engine.orders import Order, OrderStatus, Queue, Side
from quantum.simulator.engine.validation import close_marketable, close_reference, resolve_prices
from quantum.simulator.market import StockState

_BEFORE_CLOSE = frozenset({Phase.PRE_OPEN_AUCTION, Phase.CONTINUOUS})

#: Auction phase → the queue its orders wait in; they trade when the phase ends.
AUCTION_QUEUES: Mapping[Phase, Queue] = MappingProxyType(
    {Phase.PRE_OPEN_AUCTION: Queue.OPEN_AUCTION, Phase.CLOSING_AUCTION: Queue.CLOSE_AUCTION}
)


def stop_triggered(order: Order, last: int) -> bool:
    """A buy stop fires when the last price reaches the stop from below, a sell from above."""
    return last >= order.stop_price if order.side is Side.BUY else last <= order.stop_price


class SessionRules(ExecutionCore):
    """Applies the KRX session rules to accepted orders."""

    def _start(self, order: Order, phases: frozenset[Phase]) -> None:
        """Route a freshly accepted order: trade now, wait for a trigger, or queue."""
        spec = self._spec(order)
        if spec.pricing is Pricing.CLOSE_PRICE:
            self._close_trade(order)
        elif Phase.CONTINUOUS in phases:
            if order.status is OrderStatus.PENDING_TRIGGER:
                if not stop_triggered(order, self.market.state(order.code).last):
                    return
                order.transition(OrderStatus.ACCEPTED)
            self._execute(order)
        else:
            order.queue = next(q for p, q in AUCTION_QUEUES.items() if p in phases)

    def _close_trade(self, order: Order) -> None:
        """After-hours close-price orders trade their whole quantity at the close.

        They are off the regular tape: the market maker supplies the shares
        and no print moves the day's price or volume (a 08:30 print would
        otherwise fix the day's open before the opening auction).
        """
        close = close_reference(self._spec(order), self.market.state(order.code))
        if close_marketable(order.side, order.book_price, close):
            self._fill(order, close, order.remaining)

    def _on_market_step(self, code: str, state: StockState) -> None:
        """A continuous-session step: day change, opening auction, stops, crossings."""
        for order in self._live_orders(code):
            if order.trading_date < state.trading_date:
                self._end(order, OrderStatus.EXPIRED)
        self._uncross(code, Queue.OPEN_AUCTION, state.trading_date)
        self._react(code)

    def _react(self, code: str) -> None:
        """Trigger stops the last price reached, then let crossed resting orders trade."""
        last = self.market.state(code).last
        for order in self._live_orders(code, OrderStatus.PENDING_TRIGGER):
            if order.is_open and stop_triggered(order, last):
                order.transition(OrderStatus.ACCEPTED)
                self._execute(order)
        book = self._book(code)
        if not len(book):
            return
        # Resting orders of different accounts never cross each other (each order
        # trades before it rests), so only the market maker's new quote can cross.
        quote = self.market.liquidity(code)
        best_ask = quote.asks[0].price if quote.asks else None
        best_bid = quote.bids[0].price if quote.bids else None
        for side, best in ((Side.BUY, best_ask), (Side.SELL, best_bid)):
            for entry in book.resting(side):
                if best is None or not crosses(side, entry.price, best):
                    break  # priority order: nothing further back crosses either
                resting = self._orders.get(entry.order_no)
                if resting is not None and resting.is_open and entry.order_no in book:
                    self._sweep(resting)

    def _transitions(self, code: str) -> None:
        """Everything the clock says must have happened to ``code``'s orders by now.

        The day's and the phases' rules have nothing new to do while neither changed
        since they last ran for ``code`` (orders accepted meanwhile were routed by
        the same phases), so they run once per (day, phases); stops and crossings
        follow the market and run every time."""
        now = self.clock.now()
        phases, today = self.calendar.phases_at(now), now.date()
        if self._settled.get(code) == (today, phases):
            if Phase.CONTINUOUS in phases:
                self._react(code)
            return
        for order in self._live_orders(code):
            if order.trading_date < today:
                self._end(order, OrderStatus.EXPIRED)
        if Phase.PRE_OPEN_AUCTION not in phases:
            self._uncross(code, Queue.OPEN_AUCTION, today)
        if not phases & _BEFORE_CLOSE:
            self._convert_at_close(code, today)
        if Phase.CLOSING_AUCTION not in phases:
            self._uncross(code, Queue.CLOSE_AUCTION, today)
        if Phase.CONTINUOUS in phases:
            self._react(code)
        for order in self._live_orders(code):
            if order.queue is Queue.NONE and not self._spec(order).alive & phases:
                self._end(order, OrderStatus.EXPIRED)
        self._settled[code] = (today, phases)

    def _uncross(self, code: str, queue: Queue, day: date) -> None:
        """An auction ends: its queued orders trade in time order against the book."""
        for order in self._live_orders(code):
            if order.queue is queue and order.trading_date == day and order.is_open:
                order.queue = Queue.NONE
                self._execute(order)

    def _convert_at_close(self, code: str, day: date) -> None:
        """Conditional limits become market orders for the closing auction at 15:20.

        A buy whose account cannot cover the wider reservation (at the upper
        limit) expires instead of joining the auction.
        """
        for order in self._live_orders(code):
            target_code = self._spec(order).at_close
            if target_code is None or order.queue is not Queue.NONE or order.trading_date != day:
                continue
            target = ORDER_TYPES[target_code]
            state = self.market.state(code)
            prices = resolve_prices(
                target, order.side, 0, state, self._book(code), order.account_no
            )
            if order.side is Side.BUY:
                need = self.fees.buy_reservation(
                    order.remaining, prices.reserve_price, order.filled_amount
                )
                extra = need - order.reserved_cash
                if extra > self._accounts[order.account_no].available_cash:
                    self._end(order, OrderStatus.EXPIRED)
                    continue
            self._book(code).remove(order.order_no)
            order.book_price, order.reserve_price = prices.book_price, prices.reserve_price
            if order.side is Side.BUY:
                self._rereserve(order)
            order.queue = Queue.CLOSE_AUCTION
