"""Pre-trade checks, all before anything reaches the broker: the order's shape and
tick grid, the day's price limits, the trading session, buying power, holdings.

Each failed check is an :class:`ApiError` with its own code; nothing is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from quantum.adapter.schema import Balance, Deposit
from quantum.kiwoom.orders import OrderType
from quantum.krx.rules import is_on_tick, tick_size
from quantum.krx.sessions import KrxCalendar, Phase
from quantum.platform.errors import Conflict, Unprocessable
from quantum.platform.trading.order_types import ORDER_TYPES, OrderSide

ORDER_PHASES: Final = frozenset({Phase.PRE_OPEN_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION})
"""When KRX takes regular-session orders: the opening auction, continuous trading
and the closing auction (08:30-15:30 KST on trading days)."""

MAX_QUANTITY: Final = 10_000_000


class PriceBand(Protocol):
    """The day's price limits (a quote has them)."""

    @property
    def lower_limit(self) -> int: ...

    @property
    def upper_limit(self) -> int: ...


@dataclass(frozen=True)
class OrderIntent:
    stock_code: str
    side: OrderSide
    order_type: OrderType
    quantity: int
    price: int | None
    stop_price: int | None

    @property
    def reserve_price(self) -> int | None:
        """The price the order may cost at most per share (None: decided by the quote)."""
        return self.price


def order_type_named(name: str) -> OrderType:
    found = ORDER_TYPES.get(name.strip().upper())
    if found is None:
        raise Unprocessable(
            f"unknown orderType {name!r}",
            code="invalid_order_type",
            details={"allowed": sorted(ORDER_TYPES)},
        )
    return found


def check_shape(intent: OrderIntent) -> None:
    t = intent.order_type
    if not 1 <= intent.quantity <= MAX_QUANTITY:
        raise Unprocessable(f"quantity must be 1..{MAX_QUANTITY}", code="invalid_quantity")
    for field, value, needed in (
        ("price", intent.price, t.needs_price),
        ("stopPrice", intent.stop_price, t.needs_stop_price),
    ):
        if needed and value is None:
            raise Unprocessable(f"{t.name} orders need {field}", code=f"missing_{field}")
        if not needed and value is not None:
            raise Unprocessable(f"{t.name} orders take no {field}", code=f"unexpected_{field}")
        if value is not None:
            check_tick(field, value)


def check_tick(field: str, value: int) -> None:
    if not is_on_tick(value):
        tick = tick_size(max(value, 1))
        raise Unprocessable(
            f"{field} {value} is not on the KRX tick grid (tick {tick} KRW)",
            code="invalid_tick",
            details={"field": field, "tick": tick},
        )


def check_limits(intent: OrderIntent, quote: PriceBand) -> None:
    for field, value in (("price", intent.price), ("stopPrice", intent.stop_price)):
        if value is not None:
            check_in_band(field, value, quote)


def check_in_band(field: str, value: int, quote: PriceBand) -> None:
    if not quote.lower_limit <= value <= quote.upper_limit:
        raise Unprocessable(
            f"{field} {value} is outside today's limits {quote.lower_limit}..{quote.upper_limit}",
            code="price_out_of_limits",
            details={
                "field": field,
                "lowerLimit": quote.lower_limit,
                "upperLimit": quote.upper_limit,
            },
        )


def check_session(now: datetime, calendar: KrxCalendar) -> None:
    if not calendar.phases_at(now) & ORDER_PHASES:
        raise Conflict(
            "the KRX regular session is closed (orders 08:30-15:30 KST on trading days)",
            code="market_closed",
        )


def required_cash(intent: OrderIntent, quote: PriceBand) -> int:
    """Cash an order can use up: its price (or the upper limit, for price-less
    types) times the quantity; fees are the broker's to check."""
    price = intent.price if intent.order_type.needs_price else quote.upper_limit
    return int(price or quote.upper_limit) * intent.quantity


def check_buying_power(
    intent: OrderIntent, quote: PriceBand, deposit: Deposit, reserved: int
) -> int:
    needed = required_cash(intent, quote)
    available = deposit.orderable - reserved
    if needed > available:
        raise Conflict(
            f"not enough buying power: this order needs {needed:,} KRW, {available:,} available",
            code="insufficient_buying_power",
            details={"required": needed, "available": available},
        )
    return needed


def check_holdings(intent: OrderIntent, balance: Balance, reserved: int) -> None:
    held = next((h for h in balance.holdings if h.stock_code == intent.stock_code), None)
    sellable = (held.sellable_quantity if held else 0) - reserved
    if intent.quantity > sellable:
        raise Conflict(
            f"not enough shares to sell: {intent.quantity} asked, {max(sellable, 0)} sellable",
            code="insufficient_holdings",
            details={"requested": intent.quantity, "sellable": max(sellable, 0)},
        )
