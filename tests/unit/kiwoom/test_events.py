"""REAL frames into typed events (PROTOCOL.md §8.3–§8.5)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from quantum.kiwoom.event_parsing import parse_entry, parse_real
from quantum.kiwoom.events import (
    BalanceEvent,
    BookEvent,
    BookLevel,
    OrderEvent,
    QuoteEvent,
    StatusEvent,
    StreamState,
    TradeEvent,
)
from quantum.kiwoom.realtime import (
    BALANCE_FIDS,
    BOOK_FIDS,
    ORDER_FIDS,
    DirectionCode,
    OrderStatusText,
    SideCode,
)
from quantum.kiwoom.wire import KST, WireFormatError

DAY = date(2026, 11, 24)

DOC_TRADE: dict[str, Any] = {
    "type": "0B",
    "name": "주식체결",
    "item": "005930",
    "values": {
        "20": "101503",
        "10": "+74600",
        "11": "+600",
        "12": "+0.81",
        "27": "+74700",
        "28": "+74600",
        "15": "+35",
        "13": "3120490",
        "14": "232611",
        "16": "+74300",
        "17": "+75000",
        "18": "-73800",
        "25": "2",
        "228": "132.45",
        "290": "2",
        "9081": "1",
    },
}
"""The 0B entry of PROTOCOL.md §8.3, verbatim."""

SELLER_TRADE: dict[str, Any] = {
    "type": "0B",
    "name": "주식체결",
    "item": "000660_NX",
    "values": {
        "20": "101504",
        "10": "-181200",
        "11": "-1800",
        "12": "-0.98",
        "27": "-181300",
        "28": "-181200",
        "15": "-120",
        "13": "885000",
        "14": "160420",
        "16": "183000",
        "17": "+183500",
        "18": "-180900",
        "25": "5",
        "228": "87.10",
        "290": "2",
        "9081": "2",
        "1032": "47.50",
    },
}


def _frame(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"trnm": "REAL", "data": list(entries)}


def _book_values() -> dict[str, str]:
    values = {BOOK_FIDS["time"]: "101505"}
    for n in range(1, 11):
        values[BOOK_FIDS[f"ask_price_{n}"]] = f"+{74600 + 100 * n}"
        values[BOOK_FIDS[f"bid_price_{n}"]] = f"-{74600 - 100 * n}" if n > 1 else "74600"
        values[BOOK_FIDS[f"ask_qty_{n}"]] = str(100 * n)
        values[BOOK_FIDS[f"bid_qty_{n}"]] = str(200 * n)
        values[BOOK_FIDS[f"ask_qty_change_{n}"]] = "-5" if n == 1 else "0"
        values[BOOK_FIDS[f"bid_qty_change_{n}"]] = "+7" if n == 1 else "0"
    values.update(
        {
            BOOK_FIDS["total_ask_qty"]: "5500",
            BOOK_FIDS["total_bid_qty"]: "11000",
            BOOK_FIDS["total_ask_qty_change"]: "-5",
            BOOK_FIDS["total_bid_qty_change"]: "+7",
            BOOK_FIDS["net_bid_qty"]: "+5500",
            BOOK_FIDS["net_ask_qty"]: "-5500",
            BOOK_FIDS["bid_ratio"]: "66.67",
            BOOK_FIDS["ask_ratio"]: "33.33",
            BOOK_FIDS["expected_price"]: "0",
            BOOK_FIDS["cum_volume"]: "3120490",
            BOOK_FIDS["market_operation"]: "2",
            "6064": "5500",  # KRX 총잔량: no name in BOOK_FIDS
        }
    )
    return values


def _order_values(**overrides: str) -> dict[str, str]:
    named = {
        "account_no": "5012345678",
        "order_no": "0000123",
        "stock_code": "A005930",
        "business_type": "JJ",
        "status": "접수",
        "stock_name": "삼성전자",
        "order_qty": "10",
        "order_price": "74700",
        "unfilled_qty": "10",
        "filled_amount": "0",
        "orig_order_no": "0000000",
        "order_label": "+매수",
        "trade_type": "보통",
        "side": "2",
        "time": "101506",
        "fill_no": "",
        "fill_price": "",
        "fill_qty": "",
        "price": "+74600",
        "best_ask": "+74700",
        "best_bid": "+74600",
        "commission": "0",
        "tax": "0",
        "reject_reason": "0",
        "exchange_code": "1",
        "exchange_name": "KRX",
        "sor": "N",
    }
    named.update(overrides)
    return {ORDER_FIDS[name]: value for name, value in named.items()}


def _balance_values() -> dict[str, str]:
    named = {
        "account_no": "5012345678",
        "stock_code": "005930",
        "credit_type": "00",
        "stock_name": "삼성전자",
        "price": "-73900",
        "quantity": "10",
        "avg_price": "74700",
        "purchase_amount": "747000",
        "sellable_qty": "10",
        "today_net_buy_qty": "10",
        "side": "2",
        "today_sell_pnl": "-1200",
        "best_ask": "-74000",
        "best_bid": "-73900",
        "base_price": "74000",
        "profit_rate": "-1.07",
        "realized_pnl": "-1200",
        "realized_rate": "-0.16",
        "credit_amount": "0",
        "credit_interest": "0",
        "credit_realized_pnl": "0",
        "credit_realized_rate": "0.00",
        "collateral_qty": "0",
    }
    return {BALANCE_FIDS[name]: value for name, value in named.items()}


# --------------------------------------------------------------------------- 0B


def test_doc_trade_frame_parses_every_field() -> None:
    [trade] = parse_real(_frame(DOC_TRADE), DAY)
    assert isinstance(trade, TradeEvent)
    assert trade.item == trade.code == "005930"
    assert trade.time == datetime(2026, 11, 24, 10, 15, 3, tzinfo=KST)
    assert trade.time.utcoffset() is not None
    assert trade.price == 74600
    assert trade.change == 600
    assert trade.change_rate == Decimal("0.81")
    assert (trade.qty, trade.buyer_initiated) == (35, True)
    assert (trade.cum_volume, trade.cum_turnover) == (3120490, 232611)
    assert (trade.open, trade.high, trade.low) == (74300, 75000, 73800)
    assert (trade.best_ask, trade.best_bid) == (74700, 74600)
    assert trade.direction is DirectionCode.UP
    assert trade.strength == Decimal("132.45")
    assert (trade.session, trade.exchange) == ("2", "1")
    assert trade.extra == {}


def test_several_entries_per_frame_keep_their_order_and_unknown_types_are_skipped() -> None:
    index_entry = {"type": "0J", "name": "업종지수", "item": "001", "values": {"10": "2500.12"}}
    quote_entry = {"type": "0C", "item": "005930", "values": {"27": "+74700", "28": "74600"}}
    events = parse_real(_frame(DOC_TRADE, index_entry, SELLER_TRADE, quote_entry), DAY)
    assert [type(e) for e in events] == [TradeEvent, TradeEvent, QuoteEvent]
    assert [e.item for e in events] == ["005930", "000660_NX", "005930"]


def test_seller_initiated_trade_signs() -> None:
    [trade] = parse_real(_frame(SELLER_TRADE), DAY)
    assert isinstance(trade, TradeEvent)
    assert trade.code == "000660" and trade.item == "000660_NX"
    assert trade.price == 181200, "a direction sign is not arithmetic"
    assert trade.change == -1800 and trade.change_rate == Decimal("-0.98")
    assert trade.qty == 120 and trade.buyer_initiated is False
    assert (trade.open, trade.high, trade.low) == (183000, 183500, 180900)
    assert trade.best_ask == 181300 and trade.best_bid == 181200
    assert trade.direction is DirectionCode.DOWN
    assert trade.extra == {"1032": "47.50"}, "FIDs outside TRADE_FIDS are kept"


def test_odd_zero_rates_and_missing_values() -> None:
    values = dict(DOC_TRADE["values"])
    values.update({"11": "0", "12": "-0", "25": "", "228": ""})
    del values["13"]
    [trade] = parse_real(_frame({**DOC_TRADE, "values": values}), DAY)
    assert isinstance(trade, TradeEvent)
    assert trade.change == 0 and trade.change_rate == 0
    assert trade.cum_volume == 0 and trade.strength == 0
    assert trade.direction is None


def test_values_given_as_a_list_are_accepted() -> None:
    pairs = [[fid, value] for fid, value in DOC_TRADE["values"].items()]
    [as_pairs] = parse_real(_frame({**DOC_TRADE, "values": pairs}), DAY)
    [as_objects] = parse_real(_frame({**DOC_TRADE, "values": [{fid: v} for fid, v in pairs]}), DAY)
    [reference] = parse_real(_frame(DOC_TRADE), DAY)
    assert as_pairs == as_objects == reference


def test_malformed_entry_is_skipped_but_the_rest_of_the_frame_is_kept() -> None:
    broken = {**DOC_TRADE, "values": {**DOC_TRADE["values"], "20": "10:15"}}
    with pytest.raises(WireFormatError):
        parse_entry(broken, DAY)
    events = parse_real({"trnm": "REAL", "data": [broken, "not an entry", SELLER_TRADE]}, DAY)
    assert [e.item for e in events] == ["000660_NX"]


def test_frames_without_data() -> None:
    assert parse_real({"trnm": "REAL"}, DAY) == []
    assert parse_real({"trnm": "REAL", "data": []}, DAY) == []
    assert parse_entry({"type": "0s", "values": {}}, DAY) is None


def test_events_are_frozen() -> None:
    [trade] = parse_real(_frame(DOC_TRADE), DAY)
    assert isinstance(trade, TradeEvent)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trade.price = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- 0C / 0D


def test_best_quote() -> None:
    [quote] = parse_real(
        _frame({"type": "0C", "item": "005930", "values": {"27": "-73900", "28": "-73800"}}), DAY
    )
    assert quote == QuoteEvent(item="005930", code="005930", best_ask=73900, best_bid=73800)


def test_book_has_ten_levels_a_side() -> None:
    [book] = parse_real(_frame({"type": "0D", "item": "005930", "values": _book_values()}), DAY)
    assert isinstance(book, BookEvent)
    assert book.time == datetime(2026, 11, 24, 10, 15, 5, tzinfo=KST)
    assert len(book.asks) == len(book.bids) == 10
    assert book.asks[0] == BookLevel(74700, 100)
    assert book.asks[-1] == BookLevel(75600, 1000)
    assert book.bids[0] == BookLevel(74600, 200) and book.bids[1] == BookLevel(74400, 400)
    assert [level.price for level in book.asks] == sorted(level.price for level in book.asks)
    assert book.ask_qty_changes[0] == -5 and book.bid_qty_changes[0] == 7
    assert (book.total_ask_qty, book.total_bid_qty) == (5500, 11000)
    assert (book.total_ask_qty_change, book.total_bid_qty_change) == (-5, 7)
    assert (book.net_bid_qty, book.net_ask_qty) == (5500, -5500)
    assert (book.bid_ratio, book.ask_ratio) == (Decimal("66.67"), Decimal("33.33"))
    assert book.cum_volume == 3120490 and book.market_operation == "2"
    assert book.extra == {"6064": "5500"}


# --------------------------------------------------------------------------- 00 / 04


def test_order_accepted() -> None:
    [order] = parse_real(_frame({"type": "00", "item": "", "values": _order_values()}), DAY)
    assert isinstance(order, OrderEvent)
    assert order.account_no == "5012345678" and order.order_no == "0000123"
    assert order.code == "005930", "the A prefix some servers send is dropped"
    assert order.status == "접수"
    assert order.status is OrderStatusText.ACCEPTED
    assert (order.order_qty, order.order_price, order.unfilled_qty) == (10, 74700, 10)
    assert order.orig_order_no is None
    assert order.label == "+매수" and order.order_type == "보통"
    assert order.side is SideCode.BUY
    assert order.time == datetime(2026, 11, 24, 10, 15, 6, tzinfo=KST)
    assert order.fill_no is None and order.fill_price is None and order.fill_qty is None
    assert not order.is_fill
    assert order.current_price == 74600 and order.best_ask == 74700


def test_order_fill_and_cancel() -> None:
    fill_values = _order_values(
        status="체결",
        unfilled_qty="4",
        filled_amount="448200",
        fill_no="0000045",
        fill_price="74700",
        fill_qty="6",
        unit_fill_price="74700",
        unit_fill_qty="6",
        commission="60",
        tax="0",
    )
    cancel_values = _order_values(
        order_no="0000124",
        orig_order_no="0000123",
        status="확인",
        order_label="매수취소",
        stock_code="005930",
    )
    fill, cancel = parse_real(
        _frame(
            {"type": "00", "item": "", "values": fill_values},
            {"type": "00", "item": "", "values": cancel_values},
        ),
        DAY,
    )
    assert isinstance(fill, OrderEvent) and isinstance(cancel, OrderEvent)
    assert fill.is_fill and fill.status is OrderStatusText.FILLED
    assert (fill.fill_no, fill.fill_price, fill.fill_qty) == ("0000045", 74700, 6)
    assert (fill.unit_fill_price, fill.unit_fill_qty) == (74700, 6)
    assert (fill.unfilled_qty, fill.filled_amount, fill.commission) == (4, 448200, 60)
    assert cancel.status is OrderStatusText.CONFIRMED and cancel.label == "매수취소"
    assert cancel.orig_order_no == "0000123" and cancel.code == "005930"


def test_unknown_order_status_is_kept_as_text() -> None:
    [order] = parse_real(
        _frame({"type": "00", "values": _order_values(status="정정접수", side="")}), DAY
    )
    assert isinstance(order, OrderEvent)
    assert order.status == "정정접수" and order.side is None


def test_balance() -> None:
    [balance] = parse_real(
        _frame({"type": "04", "name": "현물잔고", "item": "", "values": _balance_values()}), DAY
    )
    assert isinstance(balance, BalanceEvent)
    assert balance.code == "005930" and balance.stock_name == "삼성전자"
    assert (balance.qty, balance.avg_price, balance.purchase_amount) == (10, 74700, 747000)
    assert balance.sellable_qty == 10 and balance.today_net_buy_qty == 10
    assert balance.current_price == 73900 and balance.base_price == 74000
    assert balance.realized_pnl == -1200 and balance.today_sell_pnl == -1200
    assert balance.profit_rate == Decimal("-1.07")
    assert balance.realized_rate == Decimal("-0.16")
    assert balance.side is SideCode.BUY
    assert balance.extra == {}


def test_status_event_defaults() -> None:
    assert StatusEvent(StreamState.LIVE) == StatusEvent(StreamState.LIVE, "")
    assert {s.value for s in StreamState} == {
        "connecting",
        "live",
        "stalled",
        "reconnecting",
        "closed",
    }
