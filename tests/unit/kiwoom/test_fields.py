"""Field parsers and ``map_fields`` (PROTOCOL.md §7), plus the order-type table."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from quantum.kiwoom import fields as f
from quantum.kiwoom.fields import Field, FieldError, map_fields
from quantum.kiwoom.orders import InvalidArgumentError, OrderType, Side
from quantum.kiwoom.wire import KST, WireFormatError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("-73800", 73800), ("+74600", 74600), ("74000", 74000), ("000000074600", 74600), ("", 0)],
)
def test_price_drops_the_direction_sign(raw: str, expected: int) -> None:
    assert f.price(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("+600", 600), ("-350", -350), ("0", 0), ("-0", 0), ("", 0)]
)
def test_signed_int_keeps_the_sign(raw: str, expected: int) -> None:
    assert f.signed_int(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("-00000000013920", -13920),
        ("000000010250000", 10250000),
        ("000000000010", 10),
        ("000000000000000", 0),
    ],
)
def test_amount_reads_padded_signed_values(raw: str, expected: int) -> None:
    assert f.amount(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+0.81", Decimal("0.81")), ("-0.19", Decimal("-0.19")), ("0.00", Decimal(0)), ("-0", 0)],
)
def test_rate_is_a_decimal(raw: str, expected: Decimal) -> None:
    value = f.rate(raw)
    assert isinstance(value, Decimal)
    assert value == expected


def test_text_date_timestamp_and_time() -> None:
    assert f.text("  삼성전자 ") == "삼성전자"
    assert f.date("20260312") == date(2026, 3, 12)
    moment = f.timestamp("20260313101500")
    assert moment == datetime(2026, 3, 13, 10, 15, tzinfo=KST)
    assert moment.utcoffset() is not None
    assert f.date_start("20260312") == datetime(2026, 3, 12, tzinfo=KST)
    parse = f.time_on(date(2026, 11, 24))
    assert parse("101503") == datetime(2026, 11, 24, 10, 15, 3, tzinfo=KST)
    with pytest.raises(WireFormatError):
        f.timestamp("2026031310150")
    with pytest.raises(WireFormatError):
        f.date("")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("A005930", "005930"), ("005930", "005930"), ("J550001", "550001"), ("Q500001", "500001")],
)
def test_stock_code_strips_the_account_prefix(raw: str, expected: str) -> None:
    assert f.stock_code(raw) == expected


def test_order_numbers() -> None:
    assert f.order_no("0048213") == "0048213"
    assert f.original_order_no("0000000") is None
    assert f.original_order_no("") is None
    assert f.original_order_no("0048213") == "0048213"
    with pytest.raises(WireFormatError):
        f.order_no("48x")


def test_flags_sides_and_order_type_texts() -> None:
    assert f.yes_no("Y") is True
    assert f.yes_no("n") is False
    with pytest.raises(WireFormatError):
        f.yes_no("maybe")
    assert f.side("+매수") is Side.BUY
    assert f.side("-매도") is Side.SELL
    assert f.side("매수정정") is Side.BUY
    assert f.side("매도취소") is Side.SELL
    assert f.side("+매수신용") is Side.BUY
    with pytest.raises(WireFormatError):
        f.side("?")
    assert f.order_type_text("보통") is OrderType.LIMIT
    assert f.order_type_text("시장가(IOC)") is OrderType.MARKET_IOC
    assert f.order_type_text("무엇") is None


def test_unit_scaling_parsers() -> None:
    assert f.millions("951230") == 951_230_000_000
    assert f.hundred_millions("4453458") == 445_345_800_000_000
    assert f.thousands("5969783") == 5_969_783_000


def test_optional_parsers_read_blank_as_none() -> None:
    for parser in (
        f.optional_price,
        f.optional_signed_int,
        f.optional_amount,
        f.optional_rate,
        f.optional_text,
        f.optional_date,
        f.optional_timestamp,
        f.optional_stock_code,
        f.optional_yes_no,
        f.optional_millions,
        f.optional_hundred_millions,
        f.optional_thousands,
        f.optional_time_on(date(2026, 11, 24)),
    ):
        assert parser("") is None
        assert parser("  ") is None
    assert f.optional_price("-51800") == 51800
    assert f.optional_amount("-00000000013920") == -13920
    assert f.optional_rate("+0.81") == Decimal("0.81")
    assert f.optional_stock_code("A005930") == "005930"
    assert f.optional_date("20260312") == date(2026, 3, 12)


FIELDS = (
    Field("cur_prc", "price", f.price),
    Field("flu_rt", "change_rate", f.rate),
    Field("oyr_hgst", "year_high", f.optional_price),
    Field("setl_mm", "settlement_month", f.optional_text),
)


def test_map_fields_parses_and_keeps_unknown_fields() -> None:
    raw = {
        "cur_prc": "+74600",
        "flu_rt": "+0.81",
        "oyr_hgst": "",
        "new_field": "+1",
        "nested": [{"a": "1"}],
        "return_code": 0,
        "return_msg": "정상적으로 처리되었습니다",
    }
    values, extra = map_fields(raw, FIELDS, api_id="ka10001")
    assert values == {
        "price": 74600,
        "change_rate": Decimal("0.81"),
        "year_high": None,
        "settlement_month": None,  # missing optional field
    }
    assert extra == {"new_field": "+1", "nested": [{"a": "1"}]}


def test_map_fields_accepts_json_numbers_and_null_optionals() -> None:
    values, _ = map_fields({"cur_prc": 74600, "flu_rt": "1", "oyr_hgst": None}, FIELDS)
    assert values["price"] == 74600
    assert values["year_high"] is None


def test_missing_required_field_names_field_and_api_id() -> None:
    with pytest.raises(FieldError) as caught:
        map_fields({"flu_rt": "+0.81"}, FIELDS, api_id="ka10001")
    assert caught.value.field == "cur_prc"
    assert caught.value.api_id == "ka10001"
    assert "cur_prc" in str(caught.value)
    assert "ka10001" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_unreadable_value_names_the_field() -> None:
    with pytest.raises(FieldError, match=r"ka10001.*flu_rt"):
        map_fields({"cur_prc": "1", "flu_rt": "abc"}, FIELDS, api_id="ka10001")
    with pytest.raises(FieldError, match="cur_prc"):
        map_fields({"cur_prc": ["1"], "flu_rt": "1"}, FIELDS, api_id="ka10001")


def test_field_optionality_follows_its_parser() -> None:
    assert Field("a", "a", f.optional_price).optional
    assert not Field("a", "a", f.price).optional


# -- orders table -----------------------------------------------------------------------------

EXPECTED_TYPES = [
    ("LIMIT", "0", "보통", True, False),
    ("MARKET", "3", "시장가", False, False),
    ("CONDITIONAL_LIMIT", "5", "조건부지정가", True, False),
    ("BEST_LIMIT", "6", "최유리지정가", False, False),
    ("FIRST_LIMIT", "7", "최우선지정가", False, False),
    ("LIMIT_IOC", "10", "보통(IOC)", True, False),
    ("MARKET_IOC", "13", "시장가(IOC)", False, False),
    ("BEST_IOC", "16", "최유리(IOC)", False, False),
    ("LIMIT_FOK", "20", "보통(FOK)", True, False),
    ("MARKET_FOK", "23", "시장가(FOK)", False, False),
    ("BEST_FOK", "26", "최유리(FOK)", False, False),
    ("STOP_LIMIT", "28", "스톱지정가", True, True),
    ("MID_PRICE", "29", "중간가", False, False),
    ("MID_PRICE_IOC", "30", "중간가(IOC)", False, False),
    ("MID_PRICE_FOK", "31", "중간가(FOK)", False, False),
    ("PRE_MARKET_CLOSE_PRICE", "61", "장시작전시간외", False, False),
    ("AFTER_HOURS_SINGLE_PRICE", "62", "시간외단일가", True, False),
    ("POST_MARKET_CLOSE_PRICE", "81", "장마감후시간외", False, False),
]


@pytest.mark.parametrize(("name", "code", "text", "price", "stop"), EXPECTED_TYPES)
def test_order_type_table(name: str, code: str, text: str, price: bool, stop: bool) -> None:
    order_type = OrderType[name]
    assert (order_type.code, order_type.text) == (code, text)
    assert (order_type.needs_price, order_type.needs_stop_price) == (price, stop)
    assert OrderType.from_name(name.lower()) is order_type
    assert OrderType.from_code(code) is order_type
    assert OrderType.from_text(text) is order_type


def test_order_type_table_is_complete_and_frozen() -> None:
    assert [t.name for t in OrderType] == [row[0] for row in EXPECTED_TYPES]
    assert OrderType.from_code("00") is OrderType.LIMIT
    assert OrderType.from_code(3) is OrderType.MARKET
    with pytest.raises(AttributeError):
        OrderType.LIMIT.row.code = "9"  # type: ignore[misc]


def test_order_type_lookups_refuse_unknown_values() -> None:
    for lookup, value in (
        (OrderType.from_code, "99"),
        (OrderType.from_text, "없음"),
        (OrderType.from_name, "NOPE"),
    ):
        with pytest.raises(InvalidArgumentError):
            lookup(value)


def test_the_simulator_agrees_with_the_order_type_table() -> None:
    from quantum.simulator.engine.order_types import ORDER_TYPES

    assert {t.code for t in OrderType} == set(ORDER_TYPES)
    for order_type in OrderType:
        spec = ORDER_TYPES[order_type.code]
        assert spec.name == order_type.text
        assert spec.needs_price == order_type.needs_price


def test_sides() -> None:
    assert Side.BUY.api_id == "kt10000"
    assert Side.SELL.api_id == "kt10001"
    assert (Side.BUY.filter_code, Side.SELL.filter_code) == ("2", "1")
    with pytest.raises(ValueError, match="side"):
        Side.from_label("정정")
