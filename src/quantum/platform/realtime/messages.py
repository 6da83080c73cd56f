"""The platform's realtime frames (camelCase JSON), built from the broker's messages."""

from __future__ import annotations

from typing import Any

import orjson

from quantum.adapter.schema import OrderBook, TickMessage


def dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def error_message(code: str, message: str) -> dict[str, Any]:
    return {"type": "ERROR", "code": code, "message": message}


def tick_message(tick: TickMessage) -> dict[str, Any]:
    return {
        "type": "TICK",
        "stockCode": tick.stock_code,
        "price": tick.price,
        "change": tick.change,
        "changeRate": float(tick.change_rate),
        "volume": tick.quantity,
        "cumulativeVolume": tick.cum_volume,
        "time": tick.time.isoformat(),
        "seq": tick.seq,
    }


def orderbook_message(book: OrderBook) -> dict[str, Any]:
    return {
        "type": "ORDERBOOK",
        "stockCode": book.stock_code,
        "asks": [{"price": level.price, "quantity": level.quantity} for level in book.asks],
        "bids": [{"price": level.price, "quantity": level.quantity} for level in book.bids],
        "time": book.time.isoformat(),
    }
