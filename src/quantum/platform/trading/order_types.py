"""The order types a user may send: every Kiwoom type of the continuous session.

One table, ``quantum.kiwoom.orders.OrderType`` (name -> ``trde_tp`` code -> needs a
price / a stop price), minus the types only accepted outside regular hours
(``quantum.krx.sessions.PHASE_BY_ORDER_TYPE``)."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final

from quantum.kiwoom.orders import OrderType
from quantum.krx.sessions import PHASE_BY_ORDER_TYPE


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


ORDER_TYPES: Final = MappingProxyType(
    {t.name: t for t in OrderType if t.code not in PHASE_BY_ORDER_TYPE}
)
"""The platform's ``orderType`` names (``LIMIT``, ``MARKET``, ``BEST_IOC`` ...)."""

MARKET_LIKE: Final = frozenset(name for name, t in ORDER_TYPES.items() if not t.needs_price)
"""Types that take no price: checked for buying power at the upper price limit."""

ENDS_AT_ONCE: Final = frozenset(name for name in ORDER_TYPES if name.endswith(("_IOC", "_FOK")))
"""IOC and FOK types: what is not filled at once is cancelled by the exchange, so an
order of them that traded nothing is in neither of Kiwoom's lists (open, filled)."""
