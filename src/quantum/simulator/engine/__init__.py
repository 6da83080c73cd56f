"""The simulator's trading engine: accounts, order book, matching, order types, events.

See ``docs/simulator-contracts.md``; :class:`TradingEngine` is the entry point.
"""

from quantum.simulator.engine.accounts import Account, FeeSchedule, Holding
from quantum.simulator.engine.book import BookFill, OrderBook
from quantum.simulator.engine.engine import TradingEngine
from quantum.simulator.engine.errors import OrderRejected, RejectReason
from quantum.simulator.engine.events import BalanceEvent, Event, EventKind, OrderEvent
from quantum.simulator.engine.order_types import (
    ORDER_TYPES,
    OrderTypeSpec,
    Pricing,
    TimeInForce,
)
from quantum.simulator.engine.orders import (
    NO_ORDER,
    Fill,
    Order,
    OrderKind,
    OrderLabel,
    OrderStatus,
    Side,
)

__all__ = [
    "NO_ORDER",
    "ORDER_TYPES",
    "Account",
    "BalanceEvent",
    "BookFill",
    "Event",
    "EventKind",
    "FeeSchedule",
    "Fill",
    "Holding",
    "Order",
    "OrderBook",
    "OrderEvent",
    "OrderKind",
    "OrderLabel",
    "OrderRejected",
    "OrderStatus",
    "OrderTypeSpec",
    "Pricing",
    "RejectReason",
    "Side",
    "TimeInForce",
    "TradingEngine",
]
