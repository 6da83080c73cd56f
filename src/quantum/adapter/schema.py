"""The adapter's normalized JSON: what the Broker returns and what the adapter
API and its WebSocket send. Ints for money and quantities, ISO-8601 times with
offset, our snake_case names; Kiwoom's own names never leave ``quantum.kiwoom``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Schema(BaseModel):
    model_config = ConfigDict(frozen=True)


class Environment(StrEnum):
    PRODUCTION = "production"
    MOCK = "mock"
    SIMULATOR = "simulator"
    """The built-in simulator (imitating the production host)."""


class TokenInfo(Schema):
    token: str = Field(repr=False)
    token_type: str = "Bearer"
    expires_at: datetime


class Quote(Schema):
    stock_code: str
    name: str
    price: int
    base_price: int
    change: int
    change_rate: Decimal
    open: int | None
    high: int | None
    low: int | None
    volume: int
    upper_limit: int
    lower_limit: int
    time: datetime


class BookLevel(Schema):
    price: int
    quantity: int


class OrderBook(Schema):
    stock_code: str
    time: datetime
    asks: list[BookLevel]
    """Best (lowest) first."""
    bids: list[BookLevel]
    """Best (highest) first."""
    total_ask_quantity: int
    total_bid_quantity: int


class Listing(Schema):
    stock_code: str
    name: str
    market: str
    listed_shares: int
    last_price: int


class Period(StrEnum):
    """Chart periods of the adapter API: D/W/M/Y or minute intervals."""

    DAY = "D"
    WEEK = "W"
    MONTH = "M"
    YEAR = "Y"
    MIN_1 = "1"
    MIN_5 = "5"
    MIN_10 = "10"
    MIN_30 = "30"
    MIN_60 = "60"


class Candle(Schema):
    time: datetime
    """Start of the bar (00:00 KST of the first trading day for D/W/M/Y)."""
    open: int
    high: int
    low: int
    close: int
    volume: int


class Chart(Schema):
    stock_code: str
    period: Period
    candles: list[Candle]
    """Oldest first."""


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderRequest(Schema):
    stock_code: str = Field(pattern=r"^[0-9A-Z]{6}$")
    side: Side
    order_type: str = Field(description="quantum.kiwoom.orders.OrderType name, e.g. LIMIT")
    quantity: int = Field(gt=0)
    price: int | None = Field(default=None, gt=0)
    stop_price: int | None = Field(default=None, gt=0)


class ModifyRequest(Schema):
    stock_code: str = Field(pattern=r"^[0-9A-Z]{6}$")
    quantity: int = Field(ge=0, description="0 = the whole remainder")
    price: int = Field(gt=0)


class CancelRequest(Schema):
    stock_code: str = Field(pattern=r"^[0-9A-Z]{6}$")
    quantity: int = Field(default=0, ge=0, description="0 = the whole remainder")


class OrderAck(Schema):
    order_no: str
    original_order_no: str | None = None
    quantity: int | None = None
    message: str = ""


class BrokerOrder(Schema):
    """An order as the broker reports it (open orders and fills)."""

    order_no: str
    original_order_no: str | None
    stock_code: str
    name: str
    side: Side
    order_type: str
    quantity: int
    price: int
    filled_quantity: int
    filled_price: int
    """Average fill price (0 before any fill)."""
    remaining_quantity: int
    time: datetime | None


class Deposit(Schema):
    cash: int
    orderable: int
    withdrawable: int


class Holding(Schema):
    stock_code: str
    name: str
    quantity: int
    sellable_quantity: int
    average_price: int
    purchase_amount: int
    price: int
    evaluation: int
    profit: int
    profit_rate: Decimal


class Balance(Schema):
    total_purchase: int
    total_evaluation: int
    total_profit: int
    estimated_assets: int
    holdings: list[Holding]


# ----------------------------------------------------------------- realtime messages


class StreamStatus(StrEnum):
    CONNECTING = "CONNECTING"
    LIVE = "LIVE"
    STALLED = "STALLED"
    RECONNECTING = "RECONNECTING"
    CLOSED = "CLOSED"


class TickMessage(Schema):
    type: Literal["TICK"] = "TICK"
    stock_code: str
    seq: int
    """Per stock, increasing; a subscriber never sees it go backwards."""
    time: datetime
    price: int
    change: int
    change_rate: Decimal
    quantity: int
    buyer_initiated: bool
    cum_volume: int
    best_ask: int
    best_bid: int


class OrderUpdateMessage(Schema):
    """One step of one of the app key's own orders: a Kiwoom ``00`` 주문체결 frame.

    Sent only to subscriptions made with ``orders=True`` (``WS /ws/realtime?orders=1``),
    never conflated. Mapping from :class:`quantum.kiwoom.events.OrderEvent` (FIDs):

    ==========================  ===================================================
    ``order_no``                ``order_no`` (9203)
    ``original_order_no``       ``orig_order_no`` (904; ``None`` for ``0000000``)
    ``stock_code``              ``code`` (9001, without ``A`` prefix / ``_NX`` suffix)
    ``side``                    ``side`` (907: ``2`` → BUY, ``1`` → SELL, else ``None``)
    ``status``                  ``status`` (913 as received: 접수, 체결, 확인, 거부, ...)
    ``order_quantity``          ``order_qty`` (900)
    ``order_price``             ``order_price`` (901, unsigned)
    ``filled_quantity``         ``fill_qty`` (911 체결량, Kiwoom's cumulative quantity);
                                the adapter also sums the unit fills (915) it saw per
                                order number and sends the larger of the two (a source
                                that put the unit quantity in 911 would still give the
                                cumulative of what the stream saw); 0 before a fill
    ``remaining_quantity``      ``unfilled_qty`` (902 미체결수량)
    ``fill_no``                 ``fill_no`` (909; ``None`` when empty)
    ``fill_price``              ``unit_fill_price`` (914) if present, else
                                ``fill_price`` (910); ``None`` unless a fill
    ``fill_quantity``           ``unit_fill_qty`` (915) if present, else
                                ``fill_qty`` (911); ``None`` unless a fill
    ``label``                   ``label`` (905: ``+매수``, ``-매도``, ``매수정정``, ``매도취소``)
    ``order_type``              ``order_type`` (906 as text: ``보통``, ``시장가``, ...)
    ``reject_reason``           ``reject_reason`` (919)
    ``time``                    ``time`` (908 HHMMSS on the session date, KST)
    ==========================  ===================================================

    A cancel (or modify) has its own ``order_no``; ``original_order_no`` names
    the order it applies to (Kiwoom sends ``접수`` then ``확인`` for it).
    """

    type: Literal["ORDER"] = "ORDER"
    order_no: str
    original_order_no: str | None
    stock_code: str
    side: Side | None
    status: str
    """Kiwoom's 913 text as received: "접수", "체결", "확인", "거부", ..."""
    order_quantity: int
    order_price: int
    filled_quantity: int
    """Cumulative filled on this order number (911)."""
    remaining_quantity: int
    """902 미체결수량."""
    fill_no: str | None
    fill_price: int | None
    """This fill's price (the unit fill price when present)."""
    fill_quantity: int | None
    """This fill's quantity (the unit fill quantity when present)."""
    label: str
    """905, e.g. "+매수", "매수정정", "매도취소"."""
    order_type: str
    """906 text, e.g. "보통"."""
    reject_reason: str
    time: datetime


class StatusMessage(Schema):
    type: Literal["STATUS"] = "STATUS"
    status: StreamStatus
    detail: str = ""


class SubscribedMessage(Schema):
    type: Literal["SUBSCRIBED"] = "SUBSCRIBED"
    stock_codes: list[str]


class UnsubscribedMessage(Schema):
    type: Literal["UNSUBSCRIBED"] = "UNSUBSCRIBED"
    stock_codes: list[str]


class ErrorMessage(Schema):
    type: Literal["ERROR"] = "ERROR"
    code: str
    message: str


class SubscribeCommand(Schema):
    type: Literal["SUBSCRIBE", "UNSUBSCRIBE"]
    stock_codes: list[str] = Field(min_length=1, max_length=100)


RealtimeMessage = (
    TickMessage
    | OrderUpdateMessage
    | StatusMessage
    | SubscribedMessage
    | UnsubscribedMessage
    | ErrorMessage
)
