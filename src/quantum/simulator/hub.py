"""Realtime fan-out: collects REAL entries as the market steps and the engine
reports, and sends each WebSocket session one frame per push interval holding
every entry due for its registrations (several entries per frame).

Entries are serialized once per (item, type) and shared by every session that
registered them; sessions with the same registrations share the frame too.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

import orjson

from quantum.kiwoom.endpoints import split_stock_code
from quantum.kiwoom.realtime import ACCOUNT_TYPES, REALTIME_TYPES
from quantum.kiwoom.wire import format_time
from quantum.simulator.engine.events import BalanceEvent, Event, OrderEvent
from quantum.simulator.market import StockState, Trade
from quantum.simulator.realtime_values import (
    balance_values,
    best_quote_values,
    book_values,
    order_values,
    trade_values,
)

if TYPE_CHECKING:
    from quantum.simulator.core import Simulator

log = logging.getLogger(__name__)

MARKET_TYPES = frozenset({"0B", "0C", "0D"})
"""Market types the simulator produces; other known types register but stay quiet."""
MAX_ENTRIES_PER_FRAME = 200

Registration = tuple[str, str]
"""(item as registered, type)."""


class Subscriber(Protocol):
    @property
    def account_no(self) -> str | None: ...

    @property
    def signature(self) -> frozenset[Registration]: ...

    @property
    def account_types(self) -> frozenset[str]: ...

    def enqueue(self, frame: str) -> None: ...


def _entry(type_code: str, item: str, values: dict[str, str]) -> bytes:
    return orjson.dumps(
        {"type": type_code, "name": REALTIME_TYPES[type_code], "item": item, "values": values}
    )


def real_frame(entries: Iterable[bytes]) -> str:
    return (b'{"trnm":"REAL","data":[' + b",".join(entries) + b"]}").decode()


class RealtimeHub:
    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._subscribers: set[Subscriber] = set()
        self._items_by_code: dict[str, dict[str, frozenset[str]]] = {}
        self._pending: dict[Registration, list[bytes]] = defaultdict(list)
        self._account_pending: dict[tuple[str, str], list[bytes]] = defaultdict(list)
        self._last_best: dict[str, tuple[int, int]] = {}
        self._flow: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        sim.market.add_step_listener(self._on_step)
        sim.engine.add_listener(self._on_event)

    # ----------------------------------------------------------------- sessions

    def attach(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)
        self.reindex()

    def detach(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        self.reindex()

    @property
    def subscribers(self) -> set[Subscriber]:
        return set(self._subscribers)

    def reindex(self) -> None:
        """Rebuild code → {registered item → market types} after a REG/REMOVE."""
        index: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for subscriber in self._subscribers:
            for item, type_code in subscriber.signature:
                if type_code in MARKET_TYPES:
                    code, _ = split_stock_code(item)
                    index[code][item].add(type_code)
        market = self._sim.market
        for code in index.keys() - self._items_by_code.keys():
            market.state(code)  # catch up before watching: history is not realtime
        self._items_by_code = {
            code: {item: frozenset(types) for item, types in items.items()}
            for code, items in index.items()
        }

    def watched_codes(self) -> list[str]:
        return list(self._items_by_code)

    # ----------------------------------------------------------------- producers

    def _on_step(self, code: str, state: StockState, trade: Trade | None) -> None:
        items = self._items_by_code.get(code)
        if trade is not None:
            flow = self._flow[code]
            flow[0 if trade.buyer_initiated else 1] += trade.qty
        if not items:
            return
        wanted = frozenset().union(*items.values())
        sim = self._sim
        levels = 10 if "0D" in wanted else 1
        bids, asks = sim.engine.depth(code, levels)
        best_ask = asks[0].price if asks else 0
        best_bid = bids[0].price if bids else 0
        per_type: dict[str, dict[str, str]] = {}
        if "0B" in wanted and trade is not None:
            bought, sold = self._flow[code]
            strength = Decimal(bought * 100) / Decimal(sold) if sold else Decimal(0)
            per_type["0B"] = trade_values(
                state,
                trade,
                best_ask,
                best_bid,
                sim.listings[code].listed_shares,
                min(strength, Decimal(9999)),
                sim.calendar.market_session_code(trade.at),
            )
        if "0C" in wanted and self._last_best.get(code) != (best_ask, best_bid):
            self._last_best[code] = (best_ask, best_bid)
            per_type["0C"] = best_quote_values(best_ask, best_bid, state.base_price)
        if "0D" in wanted:
            moment = trade.at if trade is not None else sim.clock.now()
            per_type["0D"] = book_values(state, bids, asks, format_time(moment))
        for item, types in items.items():
            for type_code, values in per_type.items():
                if type_code in types:
                    self._pending[(item, type_code)].append(_entry(type_code, item, values))

    def _on_event(self, event: Event) -> None:
        if isinstance(event, OrderEvent):
            entry = _entry("00", "", order_values(event))
            self._account_pending[(event.account_no, "00")].append(entry)
        elif isinstance(event, BalanceEvent):
            entry = _entry("04", "", balance_values(event))
            self._account_pending[(event.account_no, "04")].append(entry)

    # ----------------------------------------------------------------- delivery

    def pump(self) -> int:
        """Advance every watched stock to now, then deliver; returns entries sent."""
        market = self._sim.market
        for code in self.watched_codes():
            market.state(code)
        return self.flush()

    def flush(self) -> int:
        if not self._pending and not self._account_pending:
            return 0
        frames_by_signature: dict[frozenset[Registration], tuple[list[str], int]] = {}
        sent = 0
        for subscriber in list(self._subscribers):
            signature = subscriber.signature
            cached = frames_by_signature.get(signature)
            if cached is None:
                entries = [e for key in sorted(signature) for e in self._pending.get(key, ())]
                cached = frames_by_signature[signature] = (_frames(entries), len(entries))
            frames, count = cached
            own = self._own_entries(subscriber)
            if own:
                entries = own + [e for key in sorted(signature) for e in self._pending.get(key, ())]
                frames, count = _frames(entries), len(entries)
            for frame in frames:
                subscriber.enqueue(frame)
            sent += count
        self._pending.clear()
        self._account_pending.clear()
        return sent

    def _own_entries(self, subscriber: Subscriber) -> list[bytes]:
        account_no = subscriber.account_no
        if account_no is None or not self._account_pending:
            return []
        own: list[bytes] = []
        for type_code in subscriber.account_types:
            own.extend(self._account_pending.get((account_no, type_code), ()))
        return own


def _frames(entries: list[bytes]) -> list[str]:
    return [
        real_frame(entries[start : start + MAX_ENTRIES_PER_FRAME])
        for start in range(0, len(entries), MAX_ENTRIES_PER_FRAME)
    ]


def account_types(types: Iterable[str]) -> frozenset[str]:
    return frozenset(t for t in types if t in ACCOUNT_TYPES)
