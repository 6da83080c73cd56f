"""Typed realtime events of Kiwoom's REAL frames (PROTOCOL.md §8.3–§8.5), and the
stream's own status; :mod:`quantum.kiwoom.event_parsing` reads frames into them.

Prices lose their direction sign; differences, P&L and rates keep their real sign.
FIDs a map does not know are kept in each event's ``extra`` dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, TypeAlias

from quantum.kiwoom.realtime import DirectionCode, OrderStatusText, SideCode

__all__ = [
    "BalanceEvent",
    "BookEvent",
    "BookLevel",
    "OrderEvent",
    "QuoteEvent",
    "RealtimeEvent",
    "StatusEvent",
    "StreamEvent",
    "StreamState",
    "TradeEvent",
]


# --------------------------------------------------------------------------- status


class StreamState(StrEnum):
    """Where a :class:`~quantum.kiwoom.stream.KiwoomStream` connection stands."""

    CONNECTING = "connecting"
    """First connection (or a login) under way."""
    LIVE = "live"
    """Logged in and every registration is (re)confirmed: events flow."""
    STALLED = "stalled"
    """Connected, but no frame at all arrived for ``stall_seconds``; the socket is replaced."""
    RECONNECTING = "reconnecting"
    """The connection was lost; waiting out the backoff before the next attempt."""
    CLOSED = "closed"
    """Stopped for good: ``close()`` was called or the login failed."""


@dataclass(frozen=True, slots=True)
class StatusEvent:
    state: StreamState
    detail: str = ""


# --------------------------------------------------------------------------- market data


class BookLevel(NamedTuple):
    price: int
    qty: int


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """0B 주식체결: one print."""

    item: str
    """The item as registered (``"005930"``, ``"005930_NX"``)."""
    code: str
    """The 6-character stock code."""
    time: datetime
    price: int
    change: int
    """Against the previous close, with its real sign."""
    change_rate: Decimal
    qty: int
    buyer_initiated: bool
    cum_volume: int
    cum_turnover: int
    """Cumulative turnover in 백만원 (millions of won)."""
    open: int
    high: int
    low: int
    best_ask: int
    best_bid: int
    direction: DirectionCode | None
    strength: Decimal
    """체결강도 (buy volume / sell volume × 100)."""
    market_cap: int
    """In 억원."""
    turnover_rate: Decimal
    session: str
    """FID 290: 1 pre-market after-hours, 2 regular, 3 post-market after-hours."""
    exchange: str
    volume_vs_previous: int = 0
    turnover_change: int = 0
    volume_vs_previous_rate: Decimal = Decimal(0)
    trade_cost: Decimal = Decimal(0)
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuoteEvent:
    """0C 주식우선호가: the best ask and bid changed."""

    item: str
    code: str
    best_ask: int
    best_bid: int
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BookEvent:
    """0D 주식호가잔량: ``BOOK_DEPTH`` (10) levels a side, best first.

    A level Kiwoom reports as empty has price 0 and quantity 0.
    """

    item: str
    code: str
    time: datetime
    asks: tuple[BookLevel, ...]
    bids: tuple[BookLevel, ...]
    ask_qty_changes: tuple[int, ...]
    bid_qty_changes: tuple[int, ...]
    total_ask_qty: int
    total_bid_qty: int
    total_ask_qty_change: int
    total_bid_qty_change: int
    expected_price: int
    expected_qty: int
    net_bid_qty: int
    net_ask_qty: int
    bid_ratio: Decimal
    ask_ratio: Decimal
    cum_volume: int
    market_operation: str
    extra: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- account


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """00 주문체결: one step of one of the token's own orders.

    ``status`` is 913 주문상태 (``접수`` accepted, ``체결`` filled, ``확인`` a
    modify/cancel confirmed, ``거부`` rejected); it stays a plain string when
    Kiwoom sends a value we do not know. The ``fill_*`` fields are ``None``
    unless this event reports a fill.
    """

    account_no: str
    order_no: str
    code: str
    stock_name: str
    status: OrderStatusText | str
    order_qty: int
    order_price: int
    unfilled_qty: int
    filled_amount: int
    orig_order_no: str | None
    """``None`` when Kiwoom reports ``0000000`` (no original order)."""
    label: str
    """905 주문구분: ``+매수``, ``-매도``, ``매수정정``, ``매도취소`` ..."""
    order_type: str
    """906 매매구분 as text: ``보통``, ``시장가`` ..."""
    side: SideCode | None
    time: datetime
    fill_no: str | None
    fill_price: int | None
    fill_qty: int | None
    unit_fill_price: int | None
    unit_fill_qty: int | None
    current_price: int
    best_ask: int
    best_bid: int
    commission: int
    tax: int
    reject_reason: str
    business_type: str
    credit_type: str
    exchange_code: str
    exchange_name: str
    sor: str
    item: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_fill(self) -> bool:
        return self.status == OrderStatusText.FILLED and bool(self.fill_qty)


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    """04 잔고: one stock of the token's own account after it changed."""

    account_no: str
    code: str
    stock_name: str
    current_price: int
    qty: int
    avg_price: int
    purchase_amount: int
    sellable_qty: int
    today_net_buy_qty: int
    side: SideCode | None
    today_sell_pnl: int
    best_ask: int
    best_bid: int
    base_price: int
    profit_rate: Decimal
    realized_pnl: int
    realized_rate: Decimal
    credit_type: str
    loan_date: str
    expiry_date: str
    credit_amount: int
    credit_interest: int
    credit_realized_pnl: int
    credit_realized_rate: Decimal
    collateral_qty: int
    item: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


RealtimeEvent: TypeAlias = TradeEvent | QuoteEvent | BookEvent | OrderEvent | BalanceEvent
StreamEvent: TypeAlias = RealtimeEvent | StatusEvent
