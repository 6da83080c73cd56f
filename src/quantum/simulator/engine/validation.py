"""Order checks and price resolution: pure functions that raise before anything changes.

Each check looks only at its inputs (the order-type row, the stock's state, the
book), so the engine can run all of them first and mutate afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from quantum.krx.rules import ceil_tick, floor_tick, is_on_tick, price_limits
from quantum.krx.sessions import Phase
from quantum.simulator.engine.book import OrderBook
from quantum.simulator.engine.errors import OrderRejected, RejectReason
from quantum.simulator.engine.order_types import CloseRef, OrderTypeSpec, Pricing, lookup
from quantum.simulator.engine.orders import Side
from quantum.simulator.market import StockState

_R = RejectReason


@dataclass(frozen=True, slots=True)
class OrderPrices:
    """Where an order trades: ``book_price`` is its limit, ``reserve_price`` its worst fill."""

    book_price: int
    reserve_price: int


def order_type(trde_tp: str | int) -> OrderTypeSpec:
    spec = lookup(trde_tp)
    if spec is None:
        raise OrderRejected(_R.UNKNOWN_ORDER_TYPE, f"trde_tp {trde_tp!r}")
    return spec


def check_quantity(qty: int) -> None:
    if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
        raise OrderRejected(_R.INVALID_QUANTITY, f"quantity {qty!r}")


def check_session(phases: frozenset[Phase], allowed: frozenset[Phase], name: str) -> None:
    """Closed market first (night, weekend, holiday), then the type's own phases."""
    if phases <= {Phase.CLOSED}:
        raise OrderRejected(_R.NOT_IN_SESSION, "the market is closed")
    if not phases & allowed:
        active = ", ".join(sorted(phases))
        raise OrderRejected(_R.ORDER_TYPE_NOT_IN_SESSION, f"{name} not accepted during {active}")


def close_reference(spec: OrderTypeSpec, state: StockState) -> int:
    """The close a CLOSE_PRICE order trades at: the base price or today's last."""
    return state.base_price if spec.close_ref is CloseRef.PREVIOUS else state.last


def check_price(spec: OrderTypeSpec, price: int | None, state: StockState) -> int:
    """The client's limit price, validated (0 for types that take no price)."""
    if not spec.needs_price:
        return 0
    if price is None or isinstance(price, bool) or price <= 0:
        raise OrderRejected(_R.PRICE_REQUIRED, f"{spec.name} needs a price")
    check_tick_and_limits(price, state, "price")
    if spec.band is not None:
        band = price_limits(close_reference(spec, state), spec.band)
        if not band.contains(price):
            raise OrderRejected(
                _R.OUTSIDE_PRICE_LIMIT, f"price {price} outside {band.lower}..{band.upper}"
            )
    return price


def check_tick_and_limits(price: int, state: StockState, what: str) -> None:
    if not is_on_tick(price):
        raise OrderRejected(_R.INVALID_TICK, f"{what} {price} is not on the tick grid")
    if not state.lower_limit <= price <= state.upper_limit:
        raise OrderRejected(
            _R.OUTSIDE_PRICE_LIMIT,
            f"{what} {price} outside {state.lower_limit}..{state.upper_limit}",
        )


def check_stop(spec: OrderTypeSpec, stop_price: int | None, state: StockState) -> int:
    """The stop trigger of a stop-limit order (0 for every other type)."""
    if spec.pricing is not Pricing.STOP_LIMIT:
        return 0
    if stop_price is None or isinstance(stop_price, bool) or stop_price <= 0:
        raise OrderRejected(_R.STOP_PRICE_REQUIRED, f"{spec.name} needs a stop price")
    check_tick_and_limits(stop_price, state, "stop price")
    return stop_price


def _quote(price: int | None, what: str) -> int:
    """A quote a best/first/mid order needs; none (a locked limit) means KRX refuses the type."""
    if price is None:
        raise OrderRejected(_R.ORDER_TYPE_NOT_IN_SESSION, f"no {what} to price the order against")
    return price


def resolve_prices(
    spec: OrderTypeSpec,
    side: Side,
    price: int,
    state: StockState,
    book: OrderBook,
    account_no: str,
) -> OrderPrices:
    """The order's limit (``book_price``) and the worst price it can fill at.

    Market orders walk to the day's limit; best/first/mid orders become limits
    at the quote they reference right now; close-price orders fill at the close.
    """
    buy = side is Side.BUY
    pricing = spec.pricing
    if pricing in (Pricing.LIMIT, Pricing.STOP_LIMIT):
        return OrderPrices(price, price)
    if pricing is Pricing.MARKET:
        limit = state.upper_limit if buy else state.lower_limit
        return OrderPrices(limit, limit)
    if pricing is Pricing.CLOSE_PRICE:
        close = close_reference(spec, state)
        return OrderPrices(price or close, price or close)
    counter = book.best_ask(account_no) if buy else book.best_bid(account_no)
    own = book.best_bid() if buy else book.best_ask()
    if pricing is Pricing.BEST:
        resolved = _quote(counter, "counter-side quote")
    elif pricing is Pricing.FIRST:
        resolved = _quote(own, "own-side quote")
    else:
        total = _quote(counter, "counter-side quote") + _quote(own, "own-side quote")
        resolved = floor_tick(total // 2) if buy else ceil_tick(-(-total // 2))
    return OrderPrices(resolved, resolved)


def close_marketable(side: Side, limit: int, close: int) -> bool:
    """Whether a close-price order with ``limit`` trades at ``close``."""
    return limit >= close if side is Side.BUY else limit <= close
