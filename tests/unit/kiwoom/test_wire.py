"""Kiwoom's value formats, both directions (PROTOCOL.md §7)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantum.kiwoom.wire import (
    KST,
    WireFormatError,
    direction_sign,
    format_timestamp,
    order_number,
    padded,
    parse_date,
    parse_decimal,
    parse_int,
    parse_price,
    parse_time,
    parse_timestamp,
    plain_rate,
    signed_number,
    signed_price,
    signed_rate,
)


def test_signed_prices_follow_the_reference() -> None:
    assert signed_price(74600, 74000) == "+74600"
    assert signed_price(73800, 74000) == "-73800"
    assert signed_price(74000, 74000) == "74000"
    assert direction_sign(1, 1) == ""


def test_real_signs_and_rates() -> None:
    assert signed_number(600) == "+600"
    assert signed_number(-600) == "-600"
    assert signed_number(0) == "0"
    assert signed_rate(Decimal("0.806")) == "+0.81"
    assert signed_rate(-0.24) == "-0.24"
    assert signed_rate(0) == "0.00"
    assert signed_rate(Decimal("-0.001")) == "0.00"
    assert plain_rate(Decimal("46.25")) == "46.25"
    assert plain_rate(Decimal("-0.19")) == "-0.19"


def test_fixed_width_amounts() -> None:
    assert padded(10_250_000) == "000000010250000"
    assert padded(-13_920) == "-00000000013920"
    assert padded(74600, 12) == "000000074600"
    assert order_number(48213) == "0048213"


@given(st.integers(min_value=-(10**13), max_value=10**14))
def test_padded_round_trips(value: int) -> None:
    text = padded(value)
    assert len(text) == 15
    assert parse_int(text) == value


@given(st.integers(min_value=1, max_value=10**7), st.integers(min_value=1, max_value=10**7))
def test_signed_price_parses_back_to_the_price(price: int, reference: int) -> None:
    assert parse_price(signed_price(price, reference)) == price


@pytest.mark.parametrize(
    ("text", "value"), [("", 0), ("-0", 0), ("+", 0), ("+74600", 74600), ("1,234", 1234)]
)
def test_parse_int_accepts_kiwoom_shapes(text: str, value: int) -> None:
    assert parse_int(text) == value


def test_parse_errors_are_wire_errors() -> None:
    with pytest.raises(WireFormatError):
        parse_int("12a")
    with pytest.raises(WireFormatError):
        parse_decimal("x")
    with pytest.raises(WireFormatError):
        parse_date("2026-01-01")
    assert parse_decimal("-0") == 0


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_date, "20261301"),  # month 13
        (parse_date, "20260230"),
        (parse_date, "2026112"),  # not fixed-width
        (parse_date, "２０２６０１０１"),  # digits, but not ASCII ones
        (parse_timestamp, "20260315241502"),  # hour 24
        (parse_timestamp, "2026031509150"),
        (lambda text: parse_time(text, date(2026, 3, 12)), "096000"),  # minute 60
        (lambda text: parse_time(text, date(2026, 3, 12)), "0915"),
    ],
)
def test_impossible_dates_and_times_are_wire_errors(parse: Any, text: str) -> None:
    with pytest.raises(WireFormatError):
        parse(text)


def test_dates_and_times_are_kst() -> None:
    moment = parse_timestamp("20260315091502")
    assert moment == datetime(2026, 3, 15, 9, 15, 2, tzinfo=KST)
    assert format_timestamp(moment.astimezone(KST)) == "20260315091502"
    assert parse_date("20260312") == date(2026, 3, 12)
    assert parse_time("101503", date(2026, 3, 12)).hour == 10
