"""What the engine tells listeners: one event per realtime ``00`` / ``04`` frame.

Each event is a frozen snapshot carrying every value the WebSocket layer needs
for its FIDs, taken at the moment it happened, so a listener running later
(or on another task) never reads an order or account that moved on since.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from quantum.simulator.engine.orders import Order, OrderLabel, Side

_CENT = Decimal("0.01")


def percent(numerator: int, denominator: int) -> Decimal:
    """``numerator / denominator`` in percent with two decimals (0.00 for a zero base)."""
    if denominator == 0:
        return Decimal("0.00")
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(_CENT, ROUND_HALF_UP)


class EventKind(StrEnum):
    """FID 913 주문상태."""

    ACCEPTED = "접수"
    FILLED = "체결"
    CONFIRMED = "확인"  # a modify/cancel took effect, or an IOC/FOK remainder was cancelled
    REJECTED = "거부"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A realtime ``00`` (주문체결) frame's worth of facts about one order.

    FIDs: 9201 ``order.account_no`` · 9203 ``order.order_no`` · 9001 ``order.code`` ·
    913 ``kind`` · 302 ``order.name`` · 900 ``order.qty`` · 901 ``order.price`` ·
    902 ``order.remaining`` · 903 ``order.filled_amount`` · 904 ``order.orig_order_no`` ·
    905 ``label`` · 906 ``order_type_name`` · 907 ``order.side.kiwoom_code`` · 908 ``at`` ·
    909 ``fill_no`` · 910/914 ``fill_price`` · 911 ``order.filled_qty`` (cumulative) ·
    915 ``fill_qty`` (this fill) · 10 ``current_price`` ·
    27 ``best_ask`` · 28 ``best_bid`` · 938 ``commission`` · 939 ``tax`` · 919 ``reason``.
    """

    kind: EventKind
    order: Order  # a snapshot taken when the event happened
    label: OrderLabel
    order_type_name: str
    at: datetime
    current_price: int
    best_ask: int  # 0 when that side of the book is empty
    best_bid: int
    commission: int  # the order's commission so far today
    tax: int  # the order's tax so far today
    fill_no: str = ""
    fill_price: int = 0
    fill_qty: int = 0
    reason: str = ""

    @property
    def account_no(self) -> str:
        return self.order.account_no

    @property
    def code(self) -> str:
        return self.order.code


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    """A realtime ``04`` (잔고) frame: one stock of one account after a fill.

    FIDs: 9201 ``account_no`` · 9001 ``code`` · 302 ``name`` · 10 ``current_price`` ·
    930 ``qty`` · 931 ``avg_price`` · 932 ``purchase_amount`` · 933 ``sellable_qty`` ·
    945 ``today_net_buy_qty`` · 946 ``side.kiwoom_code`` · 950/990 ``realized_pnl`` ·
    991 ``realized_rate`` · 8019 ``profit_rate`` · 307 ``base_price`` · 27 ``best_ask`` ·
    28 ``best_bid``.
    """

    account_no: str
    code: str
    name: str
    at: datetime
    side: Side  # the trade that changed the balance
    current_price: int
    base_price: int
    best_ask: int
    best_bid: int
    qty: int
    avg_price: int
    purchase_amount: int
    purchase_commission: int
    sellable_qty: int
    today_net_buy_qty: int
    realized_pnl: int  # today, this stock, net of sell fees
    realized_rate: Decimal  # realized P&L over the cost of the shares sold today, %
    profit_rate: Decimal  # valuation at current price over purchase amount, %
    available_cash: int  # the account's 주문가능금액 after the trade


Event = OrderEvent | BalanceEvent
EventListener = Callable[[Event], None]
