"""Order model: the status table, fills, labels, numbering, the order-type table."""

from __future__ import annotations

from datetime import datetime

import pytest

from quantum.simulator.clock import KST
from quantum.simulator.engine import (
    NO_ORDER,
    ORDER_TYPES,
    Fill,
    Order,
    OrderKind,
    OrderLabel,
    OrderStatus,
    Pricing,
    Side,
    TimeInForce,
)
from quantum.simulator.engine.order_types import lookup, modified_type, normalize_code
from quantum.simulator.engine.orders import (
    OPEN_STATUSES,
    TRANSITIONS,
    IllegalTransitionError,
    OrderNumbers,
)

NOW = datetime(2026, 11, 24, 10, tzinfo=KST)


def order(**changes: object) -> Order:
    fields: dict[str, object] = {
        "order_no": "0000001",
        "account_no": "A",
        "code": "005930",
        "name": "삼성전자",
        "side": Side.BUY,
        "trde_tp": "0",
        "qty": 10,
        "price": 70_000,
        "created_at": NOW,
        "remaining": 10,
    }
    fields.update(changes)
    return Order(**fields)  # type: ignore[arg-type]


def fill(qty: int, price: int = 70_000) -> Fill:
    return Fill("0000001", price, qty, NOW, 10, 0)


@pytest.mark.parametrize(
    ("start", "target"),
    [(s, t) for s in OrderStatus for t in OrderStatus],
)
def test_transitions_follow_the_table(start: OrderStatus, target: OrderStatus) -> None:
    subject = order(status=start)
    if target in TRANSITIONS[start]:
        subject.transition(target)
        assert subject.status is target
    else:
        with pytest.raises(IllegalTransitionError):
            subject.transition(target)


def test_terminal_statuses_have_no_way_out() -> None:
    for status in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        assert not TRANSITIONS[status]
        assert status not in OPEN_STATUSES


def test_fills_move_status_quantities_and_amounts() -> None:
    subject = order()
    subject.record_fill(fill(4, 69_900))
    assert subject.status is OrderStatus.PARTIALLY_FILLED
    subject.record_fill(fill(6, 70_000))
    assert subject.status is OrderStatus.FILLED
    assert (subject.remaining, subject.filled_qty) == (0, 10)
    assert subject.filled_amount == 4 * 69_900 + 6 * 70_000
    assert subject.avg_fill_price == 69_960
    assert subject.commission == 20
    assert not subject.is_open
    with pytest.raises(IllegalTransitionError):
        subject.record_fill(fill(1))


def test_overfill_is_refused() -> None:
    with pytest.raises(IllegalTransitionError):
        order().record_fill(fill(11))


def test_withdraw_part_then_all() -> None:
    subject = order()
    subject.withdraw(3)
    assert (subject.remaining, subject.status) == (7, OrderStatus.ACCEPTED)
    subject.withdraw(7)
    assert (subject.remaining, subject.status) == (0, OrderStatus.CANCELLED)
    with pytest.raises(IllegalTransitionError):
        subject.withdraw(1)


def test_snapshot_keeps_its_state() -> None:
    subject = order()
    copy = subject.snapshot()
    subject.record_fill(fill(10))
    assert (copy.remaining, copy.fills, copy.status) == (10, [], OrderStatus.ACCEPTED)
    done = subject.snapshot()
    assert (done.remaining, done.status) == (0, OrderStatus.FILLED)


@pytest.mark.parametrize(
    ("side", "kind", "label"),
    [
        (Side.BUY, OrderKind.NEW, "+매수"),
        (Side.SELL, OrderKind.NEW, "-매도"),
        (Side.BUY, OrderKind.MODIFY, "매수정정"),
        (Side.SELL, OrderKind.MODIFY, "매도정정"),
        (Side.BUY, OrderKind.CANCEL, "매수취소"),
        (Side.SELL, OrderKind.CANCEL, "매도취소"),
    ],
)
def test_labels(side: Side, kind: OrderKind, label: str) -> None:
    assert order(side=side, kind=kind).label == OrderLabel(label)


def test_side_codes_and_defaults() -> None:
    assert (Side.SELL.kiwoom_code, Side.BUY.kiwoom_code) == ("1", "2")
    assert Side.BUY.opposite is Side.SELL
    assert order().orig_order_no == NO_ORDER == "0000000"


def test_order_numbers_are_seven_digits() -> None:
    numbers = OrderNumbers()
    assert [numbers.next() for _ in range(3)] == ["0000001", "0000002", "0000003"]


EXPECTED_NAMES = {
    "0": "보통", "3": "시장가", "5": "조건부지정가", "6": "최유리지정가", "7": "최우선지정가",
    "10": "보통(IOC)", "13": "시장가(IOC)", "16": "최유리(IOC)", "20": "보통(FOK)",
    "23": "시장가(FOK)", "26": "최유리(FOK)", "28": "스톱지정가", "29": "중간가",
    "30": "중간가(IOC)", "31": "중간가(FOK)", "61": "장시작전시간외", "62": "시간외단일가",
    "81": "장마감후시간외",
}  # fmt: skip


def test_table_has_every_kiwoom_code_with_its_display_name() -> None:
    assert {code: spec.name for code, spec in ORDER_TYPES.items()} == EXPECTED_NAMES
    assert all(code == spec.code for code, spec in ORDER_TYPES.items())


@pytest.mark.parametrize(
    ("code", "pricing", "tif", "needs_price"),
    [
        ("0", Pricing.LIMIT, TimeInForce.DAY, True),
        ("3", Pricing.MARKET, TimeInForce.DAY, False),
        ("5", Pricing.LIMIT, TimeInForce.DAY, True),
        ("6", Pricing.BEST, TimeInForce.DAY, False),
        ("7", Pricing.FIRST, TimeInForce.DAY, False),
        ("10", Pricing.LIMIT, TimeInForce.IOC, True),
        ("13", Pricing.MARKET, TimeInForce.IOC, False),
        ("16", Pricing.BEST, TimeInForce.IOC, False),
        ("20", Pricing.LIMIT, TimeInForce.FOK, True),
        ("23", Pricing.MARKET, TimeInForce.FOK, False),
        ("26", Pricing.BEST, TimeInForce.FOK, False),
        ("28", Pricing.STOP_LIMIT, TimeInForce.DAY, True),
        ("29", Pricing.MID, TimeInForce.DAY, False),
        ("30", Pricing.MID, TimeInForce.IOC, False),
        ("31", Pricing.MID, TimeInForce.FOK, False),
        ("61", Pricing.CLOSE_PRICE, TimeInForce.DAY, False),
        ("62", Pricing.CLOSE_PRICE, TimeInForce.DAY, True),
        ("81", Pricing.CLOSE_PRICE, TimeInForce.DAY, False),
    ],
)
def test_pricing_rules(code: str, pricing: Pricing, tif: TimeInForce, needs_price: bool) -> None:
    spec = ORDER_TYPES[code]
    assert (spec.pricing, spec.tif, spec.needs_price) == (pricing, tif, needs_price)


def test_lookup_normalizes_and_rejects_unknown_codes() -> None:
    assert normalize_code("00") == "0"
    assert normalize_code(" 3 ") == "3"
    assert lookup(3) is ORDER_TYPES["3"]
    assert lookup("4") is None
    assert lookup("abc") is None


def test_modify_keeps_priced_types_and_turns_the_rest_into_limits() -> None:
    assert modified_type(ORDER_TYPES["5"]).code == "5"
    assert modified_type(ORDER_TYPES["28"]).code == "28"
    assert modified_type(ORDER_TYPES["62"]).code == "62"
    for code in ("3", "6", "7", "29"):
        assert modified_type(ORDER_TYPES[code]).code == "0"
