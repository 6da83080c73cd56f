"""A submit as the platform takes it, before any check."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from quantum.platform.trading.order_types import OrderSide


@dataclass(frozen=True)
class NewOrder:
    stock_code: str
    side: OrderSide
    order_type: str
    quantity: int
    price: int | None = None
    stop_price: int | None = None
    client_order_id: str | None = None

    def digest(self) -> str:
        """What makes two submits "the same request" for an idempotency key."""
        fields = {k: v for k, v in self.__dict__.items() if k != "client_order_id"}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
