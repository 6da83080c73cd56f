"""The two-level error form (PROTOCOL.md §4) and the TR table."""

from __future__ import annotations

import pytest

from quantum.kiwoom.endpoints import TRS, Category, Exchange, MockSupport, split_stock_code
from quantum.kiwoom.errors import (
    ERRORS,
    ReturnCode,
    business_answer,
    error_answer,
    parse_error,
)


def test_token_error_reads_like_kiwoom() -> None:
    answer = error_answer(8005)
    assert (answer.http_status, answer.return_code) == (200, 3)
    assert answer.return_msg == "인증에 실패했습니다[8005:Token이 유효하지 않습니다]"


def test_rate_limit_is_http_429() -> None:
    answer = error_answer(1700, limit="5", api_id="ka10080")
    assert (answer.http_status, answer.return_code) == (429, 5)
    assert "유량=5, API ID=ka10080" in answer.return_msg


def test_every_code_has_a_family_with_a_prefix() -> None:
    for spec in ERRORS.values():
        assert spec.family in (
            ReturnCode.BAD_REQUEST,
            ReturnCode.INPUT,
            ReturnCode.AUTH,
            ReturnCode.RATE_LIMITED,
        )


@pytest.mark.parametrize(
    ("return_code", "message", "code"),
    [
        (3, "인증에 실패했습니다[8005:Token이 유효하지 않습니다]", "8005"),
        (20, "[2000](RC4058:모의투자 장종료)", "RC4058"),
        (8005, "Token이 유효하지 않습니다", "8005"),
        (0, "정상적으로 처리되었습니다", None),
    ],
)
def test_parse_error_finds_the_real_code(return_code: int, message: str, code: str | None) -> None:
    assert parse_error(return_code, message).code == code


def test_business_answer_round_trips() -> None:
    answer = business_answer("RC9000", "모의투자에서는 해당업무가 제공되지 않습니다.")
    parsed = parse_error(answer.return_code, answer.return_msg)
    assert (parsed.return_code, parsed.code) == (20, "RC9000")


def test_tr_table_paths_and_mock_rules() -> None:
    assert TRS["ka10001"].path == "/api/dostk/stkinfo"
    assert TRS["kt10000"].category is Category.ORDER
    assert TRS["ka10081"].list_key == "stk_dt_pole_chart_qry"
    assert TRS["ka01690"].mock is MockSupport.UNSUPPORTED_API
    assert TRS["kt00005"].mock is MockSupport.UNSUPPORTED_BUSINESS
    assert split_stock_code("005930_NX") == ("005930", Exchange.NXT)
    assert split_stock_code("005930") == ("005930", Exchange.KRX)
