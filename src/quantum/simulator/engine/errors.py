"""Why the engine refuses an order: machine-readable reasons for the REST layer.

The engine raises :class:`OrderRejected` before it changes anything; the REST
layer maps each :class:`RejectReason` to the Kiwoom error text a client expects.
"""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    UNKNOWN_STOCK = "unknown_stock"
    INVALID_QUANTITY = "invalid_quantity"
    PRICE_REQUIRED = "price_required"
    INVALID_TICK = "invalid_tick"
    OUTSIDE_PRICE_LIMIT = "outside_price_limit"
    INSUFFICIENT_CASH = "insufficient_cash"
    INSUFFICIENT_HOLDINGS = "insufficient_holdings"
    NOT_IN_SESSION = "not_in_session"  # the market is closed (night, weekend, holiday)
    ORDER_TYPE_NOT_IN_SESSION = "order_type_not_in_session"
    STOP_PRICE_REQUIRED = "stop_price_required"
    UNKNOWN_ORDER = "unknown_order"  # no such order number in this account and stock
    ORDER_NOT_OPEN = "order_not_open"
    QUANTITY_EXCEEDS_REMAINING = "quantity_exceeds_remaining"
    UNKNOWN_ORDER_TYPE = "unknown_order_type"


class OrderRejected(Exception):
    """An order, modify or cancel the exchange would refuse; nothing was changed."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail
