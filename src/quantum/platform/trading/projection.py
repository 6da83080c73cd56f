"""Order events and the order view they fold into.

``apply(view, event)`` is the only code that changes an order's view: the store
uses it for every new event (in the same transaction) and for a full replay, so
the table ``order_view`` is always what the events say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from quantum.platform.trading.states import EventType, OrderState, next_state

E = EventType


@dataclass(frozen=True)
class OrderEvent:
    order_id: str
    seq: int
    type: EventType
    occurred_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    """Unique across all events: a broker report (fill, confirmation) seen twice is
    written once."""


@dataclass(frozen=True)
class OrderView:
    order_id: str
    user_id: str
    kiwoom_account_id: str
    stock_code: str
    side: str
    order_type: str
    quantity: int
    price: int | None
    stop_price: int | None
    client_order_id: str | None
    state: OrderState
    created_at: datetime
    updated_at: datetime
    version: int
    prior_state: OrderState | None = None
    broker_order_no: str | None = None
    filled_quantity: int = 0
    filled_amount: int = 0
    cancelled_quantity: int = 0
    base_filled_quantity: int = 0
    base_filled_amount: int = 0
    """Filled before the current broker order number (Kiwoom numbers a modified
    order anew and counts its fills from zero)."""
    reason: str | None = None
    reason_code: str | None = None

    @property
    def remaining_quantity(self) -> int:
        if self.state.is_final:
            return 0
        return max(self.quantity - self.filled_quantity - self.cancelled_quantity, 0)

    @property
    def broker_filled_quantity(self) -> int:
        """What the broker reports as filled on the current broker order number."""
        return self.filled_quantity - self.base_filled_quantity

    @property
    def broker_filled_amount(self) -> int:
        return self.filled_amount - self.base_filled_amount

    @property
    def average_fill_price(self) -> int | None:
        if not self.filled_quantity:
            return None
        return round(self.filled_amount / self.filled_quantity)


def _submitted(event: OrderEvent) -> OrderView:
    d = event.data
    return OrderView(
        order_id=event.order_id,
        user_id=d["user_id"],
        kiwoom_account_id=d["kiwoom_account_id"],
        stock_code=d["stock_code"],
        side=d["side"],
        order_type=d["order_type"],
        quantity=int(d["quantity"]),
        price=d.get("price"),
        stop_price=d.get("stop_price"),
        client_order_id=d.get("client_order_id"),
        state=OrderState.PENDING_NEW,
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
        version=event.seq,
    )


def apply(view: OrderView | None, event: OrderEvent) -> OrderView:
    """The view after ``event``; raises InvalidTransition for an illegal event."""
    state = next_state(view.state if view else None, event.type, view.prior_state if view else None)
    if view is None:
        return _submitted(event)
    d = event.data
    changes: dict[str, Any] = {
        "state": state,
        "updated_at": event.occurred_at,
        "version": event.seq,
    }
    kind = event.type
    if kind in (E.CANCEL_REQUESTED, E.MODIFY_REQUESTED):
        changes["prior_state"] = view.state
    elif kind in (E.CANCEL_REJECTED, E.MODIFY_REJECTED, E.MODIFIED, E.CANCELLED):
        changes["prior_state"] = None
    if kind is E.ACCEPTED and d.get("broker_order_no"):
        changes["broker_order_no"] = d["broker_order_no"]
    if kind in (E.PARTIALLY_FILLED, E.FILLED):
        qty, price = int(d["fill_quantity"]), int(d["fill_price"])
        changes["filled_quantity"] = view.filled_quantity + qty
        changes["filled_amount"] = view.filled_amount + qty * price
        if state.is_final:
            changes["prior_state"] = None
        elif view.prior_state is not None:  # a fill while a cancel/modify is pending
            changes["prior_state"] = OrderState.PARTIALLY_FILLED
        if d.get("broker_order_no") and view.broker_order_no is None:
            changes["broker_order_no"] = d["broker_order_no"]
    if kind is E.MODIFIED:
        new_no = d.get("broker_order_no")
        if new_no and new_no != view.broker_order_no:
            # Kiwoom numbers a re-priced order anew and counts its fills from zero
            changes["broker_order_no"] = new_no
            changes["base_filled_quantity"] = view.filled_quantity
            changes["base_filled_amount"] = view.filled_amount
        if d.get("price") is not None:
            changes["price"] = int(d["price"])
        if d.get("remaining_quantity") is not None:
            changes["quantity"] = view.filled_quantity + int(d["remaining_quantity"])
    if kind is E.CANCELLED:
        changes["cancelled_quantity"] = max(view.quantity - view.filled_quantity, 0)
    if kind in (E.REJECTED, E.OUTCOME_UNKNOWN, E.CANCEL_REJECTED, E.MODIFY_REJECTED, E.EXPIRED):
        changes["reason"] = d.get("reason")
        changes["reason_code"] = d.get("code")
    return replace(view, **changes)


def project(events: Iterable[OrderEvent]) -> OrderView | None:
    """Fold one order's events (in ``seq`` order) into its view."""
    view: OrderView | None = None
    for event in events:
        view = apply(view, event)
    return view
