"""Kiwoom REAL frames (PROTOCOL.md §8.3–§8.5) read into the typed events of
:mod:`quantum.kiwoom.events`.

Every value is read through the declarative FID maps in :mod:`quantum.kiwoom.realtime`
(the same tables the simulator writes with) and the value parsers in
:mod:`quantum.kiwoom.wire`; entries of types we do not model are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from quantum.kiwoom.events import (
    BalanceEvent,
    BookEvent,
    BookLevel,
    OrderEvent,
    QuoteEvent,
    RealtimeEvent,
    TradeEvent,
)
from quantum.kiwoom.realtime import (
    BALANCE_FIDS,
    BEST_QUOTE_FIDS,
    BOOK_DEPTH,
    BOOK_FIDS,
    ORDER_FIDS,
    TRADE_FIDS,
    DirectionCode,
    OrderStatusText,
    SideCode,
)
from quantum.kiwoom.wire import (
    NO_ORDER,
    WireFormatError,
    parse_decimal,
    parse_int,
    parse_price,
    parse_time,
)

log = logging.getLogger(__name__)

__all__ = ["PARSERS", "parse_entry", "parse_real"]


class _Fields:
    """The values of one REAL entry read by our names through one FID map."""

    def __init__(self, fids: Mapping[str, str], values: Mapping[str, str]) -> None:
        self._fids = fids
        self._values = values

    def text(self, name: str) -> str:
        return self._values.get(self._fids[name], "").strip()

    def price(self, name: str) -> int:
        return parse_price(self.text(name))

    def integer(self, name: str) -> int:
        return parse_int(self.text(name))

    def decimal(self, name: str) -> Decimal:
        return parse_decimal(self.text(name))

    def time(self, name: str, session_date: date) -> datetime:
        return parse_time(self.text(name), session_date)

    def optional_price(self, name: str) -> int | None:
        return parse_price(self.text(name)) if self.text(name) else None

    def optional_int(self, name: str) -> int | None:
        return parse_int(self.text(name)) if self.text(name) else None

    def extra(self) -> dict[str, str]:
        known = set(self._fids.values())
        return {fid: value for fid, value in self._values.items() if fid not in known}


def _stock_code(text: str) -> str:
    """``"005930_NX"`` → ``"005930"``; ``"A005930"`` (some 00/04 fixtures) → ``"005930"``."""
    code = text.strip().split("_", 1)[0]
    if len(code) == 7 and code[0] == "A" and code[1:].isalnum():
        return code[1:]
    return code


def _direction(text: str) -> DirectionCode | None:
    try:
        return DirectionCode(text)
    except ValueError:
        return None


def _side(text: str) -> SideCode | None:
    try:
        return SideCode(text)
    except ValueError:
        return None


def _status(text: str) -> OrderStatusText | str:
    try:
        return OrderStatusText(text)
    except ValueError:
        return text


def _trade(item: str, values: Mapping[str, str], session_date: date) -> TradeEvent:
    f = _Fields(TRADE_FIDS, values)
    signed_qty = f.integer("trade_qty")
    return TradeEvent(
        item=item,
        code=_stock_code(item),
        time=f.time("time", session_date),
        price=f.price("price"),
        change=f.integer("change"),
        change_rate=f.decimal("change_rate"),
        qty=abs(signed_qty),
        buyer_initiated=signed_qty > 0,
        cum_volume=abs(f.integer("cum_volume")),
        cum_turnover=abs(f.integer("cum_turnover")),
        open=f.price("open"),
        high=f.price("high"),
        low=f.price("low"),
        best_ask=f.price("best_ask"),
        best_bid=f.price("best_bid"),
        direction=_direction(f.text("direction")),
        strength=f.decimal("strength"),
        market_cap=f.integer("market_cap"),
        turnover_rate=f.decimal("turnover_rate"),
        session=f.text("session"),
        exchange=f.text("exchange"),
        volume_vs_previous=f.integer("volume_vs_previous"),
        turnover_change=f.integer("turnover_change"),
        volume_vs_previous_rate=f.decimal("volume_vs_previous_rate"),
        trade_cost=f.decimal("trade_cost"),
        extra=f.extra(),
    )


def _quote(item: str, values: Mapping[str, str], session_date: date) -> QuoteEvent:
    f = _Fields(BEST_QUOTE_FIDS, values)
    return QuoteEvent(
        item=item,
        code=_stock_code(item),
        best_ask=f.price("best_ask"),
        best_bid=f.price("best_bid"),
        extra=f.extra(),
    )


def _book(item: str, values: Mapping[str, str], session_date: date) -> BookEvent:
    f = _Fields(BOOK_FIDS, values)
    levels = range(1, BOOK_DEPTH + 1)
    return BookEvent(
        item=item,
        code=_stock_code(item),
        time=f.time("time", session_date),
        asks=tuple(BookLevel(f.price(f"ask_price_{n}"), f.integer(f"ask_qty_{n}")) for n in levels),
        bids=tuple(BookLevel(f.price(f"bid_price_{n}"), f.integer(f"bid_qty_{n}")) for n in levels),
        ask_qty_changes=tuple(f.integer(f"ask_qty_change_{n}") for n in levels),
        bid_qty_changes=tuple(f.integer(f"bid_qty_change_{n}") for n in levels),
        total_ask_qty=f.integer("total_ask_qty"),
        total_bid_qty=f.integer("total_bid_qty"),
        total_ask_qty_change=f.integer("total_ask_qty_change"),
        total_bid_qty_change=f.integer("total_bid_qty_change"),
        expected_price=f.price("expected_price"),
        expected_qty=f.integer("expected_qty"),
        net_bid_qty=f.integer("net_bid_qty"),
        net_ask_qty=f.integer("net_ask_qty"),
        bid_ratio=f.decimal("bid_ratio"),
        ask_ratio=f.decimal("ask_ratio"),
        cum_volume=f.integer("cum_volume"),
        market_operation=f.text("market_operation"),
        extra=f.extra(),
    )


def _order(item: str, values: Mapping[str, str], session_date: date) -> OrderEvent:
    f = _Fields(ORDER_FIDS, values)
    orig = f.text("orig_order_no")
    fill_no = f.text("fill_no")
    return OrderEvent(
        account_no=f.text("account_no"),
        order_no=f.text("order_no"),
        code=_stock_code(f.text("stock_code")),
        stock_name=f.text("stock_name"),
        status=_status(f.text("status")),
        order_qty=f.integer("order_qty"),
        order_price=f.price("order_price"),
        unfilled_qty=f.integer("unfilled_qty"),
        filled_amount=f.integer("filled_amount"),
        orig_order_no=None if orig in ("", NO_ORDER) else orig,
        label=f.text("order_label"),
        order_type=f.text("trade_type"),
        side=_side(f.text("side")),
        time=f.time("time", session_date),
        fill_no=fill_no or None,
        fill_price=f.optional_price("fill_price"),
        fill_qty=f.optional_int("fill_qty"),
        unit_fill_price=f.optional_price("unit_fill_price"),
        unit_fill_qty=f.optional_int("unit_fill_qty"),
        current_price=f.price("price"),
        best_ask=f.price("best_ask"),
        best_bid=f.price("best_bid"),
        commission=f.integer("commission"),
        tax=f.integer("tax"),
        reject_reason=f.text("reject_reason"),
        business_type=f.text("business_type"),
        credit_type=f.text("credit_type"),
        exchange_code=f.text("exchange_code"),
        exchange_name=f.text("exchange_name"),
        sor=f.text("sor"),
        item=item,
        extra=f.extra(),
    )


def _balance(item: str, values: Mapping[str, str], session_date: date) -> BalanceEvent:
    f = _Fields(BALANCE_FIDS, values)
    return BalanceEvent(
        account_no=f.text("account_no"),
        code=_stock_code(f.text("stock_code")),
        stock_name=f.text("stock_name"),
        current_price=f.price("price"),
        qty=f.integer("quantity"),
        avg_price=f.price("avg_price"),
        purchase_amount=f.integer("purchase_amount"),
        sellable_qty=f.integer("sellable_qty"),
        today_net_buy_qty=f.integer("today_net_buy_qty"),
        side=_side(f.text("side")),
        today_sell_pnl=f.integer("today_sell_pnl"),
        best_ask=f.price("best_ask"),
        best_bid=f.price("best_bid"),
        base_price=f.price("base_price"),
        profit_rate=f.decimal("profit_rate"),
        realized_pnl=f.integer("realized_pnl"),
        realized_rate=f.decimal("realized_rate"),
        credit_type=f.text("credit_type"),
        loan_date=f.text("loan_date"),
        expiry_date=f.text("expiry_date"),
        credit_amount=f.integer("credit_amount"),
        credit_interest=f.integer("credit_interest"),
        credit_realized_pnl=f.integer("credit_realized_pnl"),
        credit_realized_rate=f.decimal("credit_realized_rate"),
        collateral_qty=f.integer("collateral_qty"),
        item=item,
        extra=f.extra(),
    )


_Parser = Callable[[str, Mapping[str, str], date], RealtimeEvent]

PARSERS: Mapping[str, _Parser] = {
    "0B": _trade,
    "0C": _quote,
    "0D": _book,
    "00": _order,
    "04": _balance,
}
"""Realtime type code → parser; entries of any other type are skipped."""


def _values(raw: object) -> dict[str, str]:
    """``values`` is an object FID → string; one client also met a list of such
    objects or of ``[fid, value]`` pairs, so both are accepted."""
    if isinstance(raw, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    merged: dict[str, str] = {}
    if isinstance(raw, list):
        for part in raw:
            if isinstance(part, Mapping):
                merged.update(_values(part))
            elif isinstance(part, list | tuple) and len(part) == 2:
                merged[str(part[0])] = "" if part[1] is None else str(part[1])
            else:
                raise WireFormatError("REAL values: unexpected element")
        return merged
    raise WireFormatError("REAL values: neither an object nor a list")


def parse_entry(entry: Mapping[str, Any], session_date: date) -> RealtimeEvent | None:
    """One element of a REAL frame's ``data``; ``None`` for a type we do not model.

    Raises :class:`~quantum.kiwoom.wire.WireFormatError` for a malformed entry.
    """
    type_code = str(entry.get("type", ""))
    parser = PARSERS.get(type_code)
    if parser is None:
        return None
    item = entry.get("item", "")
    return parser("" if item is None else str(item), _values(entry.get("values")), session_date)


def parse_real(frame: Mapping[str, Any], session_date: date) -> list[RealtimeEvent]:
    """All the events of one REAL frame, in the frame's order.

    ``session_date`` is the KST trading date the frame's ``HHMMSS`` times belong to.
    Entries of types we do not model are skipped; malformed entries are logged
    and skipped, so one bad entry never hides the others.
    """
    data = frame.get("data")
    if not isinstance(data, list):
        return []
    events: list[RealtimeEvent] = []
    for entry in data:
        if not isinstance(entry, Mapping):
            log.warning("skipping a REAL entry that is not an object")
            continue
        try:
            event = parse_entry(entry, session_date)
        except WireFormatError as exc:
            log.warning("skipping a malformed REAL %s entry: %s", entry.get("type"), exc)
            continue
        if event is not None:
            events.append(event)
    return events
