"""Orders, their fills and the status machine, as the account TRs and FIDs need them.

An :class:`Order` carries every field ka10075 / ka10076 and the realtime ``00``
frame report (numbers, labels, quantities, cumulative amounts, fees), plus the
engine's bookkeeping (effective book price, cash reserved, auction queue). The
legal status changes are one table; anything else raises, so a bug in the
engine shows up as an exception instead of a silently wrong order list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

#: "No original order" in every Kiwoom order-number field.
NO_ORDER = "0000000"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def kiwoom_code(self) -> str:
        """FID 907 / 946 매도수구분: 1 sell, 2 buy."""
        return SIDE_CODES[self]


SIDE_CODES: Mapping[Side, str] = MappingProxyType({Side.SELL: "1", Side.BUY: "2"})


class OrderKind(StrEnum):
    NEW = "new"
    MODIFY = "modify"  # 정정: a new order carrying the moved quantity at a new price
    CANCEL = "cancel"  # 취소: a record only; it never trades


class OrderStatus(StrEnum):
    PENDING_TRIGGER = "pending_trigger"  # stop-limit waiting for its stop price
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    CONFIRMED = "confirmed"  # a cancel record after the exchange confirmed it


_S = OrderStatus
_ENDED = frozenset({_S.CANCELLED, _S.EXPIRED})

#: Every legal status change; a status missing from a value set cannot follow the key.
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        _S.PENDING_TRIGGER: frozenset({_S.ACCEPTED, *_ENDED}),
        _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CONFIRMED, *_ENDED}),
        _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, *_ENDED}),
        _S.FILLED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.EXPIRED: frozenset(),
        _S.CONFIRMED: frozenset(),
    }
)

#: Statuses of orders that may still trade (ka10075 lists these).
OPEN_STATUSES = frozenset({_S.PENDING_TRIGGER, _S.ACCEPTED, _S.PARTIALLY_FILLED})


class OrderLabel(StrEnum):
    """FID 905 주문구분 / ka10075 ``io_tp_nm``."""

    BUY = "+매수"
    SELL = "-매도"
    BUY_MODIFY = "매수정정"
    SELL_MODIFY = "매도정정"
    BUY_CANCEL = "매수취소"
    SELL_CANCEL = "매도취소"


LABELS: Mapping[tuple[Side, OrderKind], OrderLabel] = MappingProxyType(
    {
        (Side.BUY, OrderKind.NEW): OrderLabel.BUY,
        (Side.SELL, OrderKind.NEW): OrderLabel.SELL,
        (Side.BUY, OrderKind.MODIFY): OrderLabel.BUY_MODIFY,
        (Side.SELL, OrderKind.MODIFY): OrderLabel.SELL_MODIFY,
        (Side.BUY, OrderKind.CANCEL): OrderLabel.BUY_CANCEL,
        (Side.SELL, OrderKind.CANCEL): OrderLabel.SELL_CANCEL,
    }
)


class Queue(StrEnum):
    """Where an accepted order waits before it may trade."""

    NONE = "none"  # in the book (or done)
    OPEN_AUCTION = "open_auction"  # uncrossed when the pre-open auction ends (09:00)
    CLOSE_AUCTION = "close_auction"  # uncrossed when the closing auction ends (15:30)


class IllegalTransitionError(RuntimeError):
    """The engine tried a status change the table forbids: a bug, never user input."""


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one order (FIDs 909 체결번호, 914 단위체결가, 915 단위체결량)."""

    fill_no: str
    price: int
    qty: int
    at: datetime
    commission: int  # this fill's share of the order's commission
    tax: int


@dataclass(slots=True)
class Order:
    order_no: str
    account_no: str
    code: str
    name: str
    side: Side
    trde_tp: str
    qty: int
    price: int  # as submitted; 0 = no price (market, best, close, ...)
    created_at: datetime
    kind: OrderKind = OrderKind.NEW
    orig_order_no: str = NO_ORDER
    stop_price: int = 0
    status: OrderStatus = OrderStatus.ACCEPTED
    remaining: int = 0
    filled_qty: int = 0
    filled_amount: int = 0
    commission: int = 0
    tax: int = 0
    fills: list[Fill] = field(default_factory=list)
    # Engine bookkeeping, not wire fields:
    book_price: int = 0  # the limit it trades at (market buys: the upper limit)
    reserve_price: int = 0  # the worst price it can fill at; buy reservations use it
    reserved_cash: int = 0  # cash this (buy) order holds back right now
    queue: Queue = Queue.NONE

    @property
    def trading_date(self) -> date:
        return self.created_at.date()

    @property
    def label(self) -> OrderLabel:
        return LABELS[(self.side, self.kind)]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES and self.remaining > 0

    @property
    def avg_fill_price(self) -> int:
        """Volume-weighted fill price, truncated to KRW (0 before the first fill)."""
        return self.filled_amount // self.filled_qty if self.filled_qty else 0

    @property
    def last_fill(self) -> Fill | None:
        return self.fills[-1] if self.fills else None

    def transition(self, new: OrderStatus) -> None:
        if new not in TRANSITIONS[self.status]:
            raise IllegalTransitionError(f"order {self.order_no}: {self.status} -> {new}")
        self.status = new

    def record_fill(self, fill: Fill) -> None:
        """Book one execution: quantities, amounts, fees and the status that follows."""
        if not 0 < fill.qty <= self.remaining:
            raise IllegalTransitionError(
                f"order {self.order_no}: fill of {fill.qty} with {self.remaining} remaining"
            )
        self.fills.append(fill)
        self.remaining -= fill.qty
        self.filled_qty += fill.qty
        self.filled_amount += fill.price * fill.qty
        self.commission += fill.commission
        self.tax += fill.tax
        self.transition(OrderStatus.FILLED if self.remaining == 0 else _S.PARTIALLY_FILLED)

    def end(self, status: OrderStatus) -> int:
        """Cancel or expire the remainder; returns the quantity that stopped."""
        stopped = self.remaining
        self.transition(status)
        self.remaining = 0
        return stopped

    def withdraw(self, qty: int) -> None:
        """Take ``qty`` off the remainder (cancel / modify); taking it all cancels the order."""
        if not 0 < qty <= self.remaining:
            raise IllegalTransitionError(
                f"order {self.order_no}: withdraw {qty} with {self.remaining} remaining"
            )
        if qty == self.remaining:
            self.end(OrderStatus.CANCELLED)
        else:
            self.remaining -= qty

    def snapshot(self) -> Order:
        """An independent copy, so an event keeps the state it was sent with."""
        copy = dataclasses.replace(self)
        copy.fills = list(self.fills)
        return copy


class OrderNumbers:
    """One counter per engine: 7-digit zero-padded strings, as Kiwoom sends them."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def next(self) -> str:
        number = self.peek()
        self._next += 1
        return number

    def peek(self) -> str:
        """The number :meth:`next` will hand out (a rejection must not use one up)."""
        return f"{self._next:07d}"
