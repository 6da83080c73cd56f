"""The error hierarchy and the classifier of Kiwoom answers (PROTOCOL.md §4)."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest

from quantum.kiwoom.errors import ERRORS, business_answer, error_answer
from quantum.kiwoom.exceptions import (
    AuthError,
    BusinessError,
    InputError,
    KiwoomError,
    MockUnsupportedError,
    OutcomeUnknownError,
    RateLimitedError,
    TransportError,
    UnavailableError,
    classify,
    from_answer,
    from_http_error,
    redact,
    register_secret,
)
from quantum.kiwoom.http import httpx_failure


def _answer(code: int, **params: Any) -> tuple[int, dict[str, Any]]:
    answer = error_answer(code, **params)
    return answer.http_status, dict(answer.body())


@pytest.mark.parametrize(
    ("body", "status", "cls", "code"),
    [
        (
            {"return_code": 3, "return_msg": "인증에 실패했습니다[8005:Token이 유효하지 않습니다]"},
            200,
            AuthError,
            "8005",
        ),
        (
            {
                "return_code": 2,
                "return_msg": "입력 값 오류입니다[1511:필수 입력 값에 값이 존재하지 않습니다. "
                "필수입력 파라미터=cncl_qty]",
            },
            200,
            InputError,
            "1511",
        ),
        (
            {
                "return_code": 5,
                "return_msg": "허용된 요청 개수를 초과하였습니다[1700:허용된 API 요청 개수를 "
                "초과하였습니다. 유량=5, API ID=ka10080]",
            },
            429,
            RateLimitedError,
            "1700",
        ),
        (
            {
                "return_code": 20,
                "return_msg": "[2000](RC9000:모의투자에서는 해당업무가 제공되지 않습니다.)",
            },
            200,
            MockUnsupportedError,
            "RC9000",
        ),
        (
            {"return_code": 20, "return_msg": "[2000](RC4058:모의투자 장종료)"},
            200,
            BusinessError,
            "RC4058",
        ),
        (
            {
                "return_code": 2,
                "return_msg": "입력 값 오류입니다[8104:모의투자에서 지원하지 않는 API 입니다.]",
            },
            200,
            MockUnsupportedError,
            "8104",
        ),
        (
            {
                "return_code": 1,
                "return_msg": "잘못된 요청입니다[1504:해당 URI에서는 지원하는 API ID가 아닙니다]",
            },
            200,
            InputError,
            "1504",
        ),
        # one client's test uses family 3 for a 1504: the inner code decides
        (
            {"return_code": 3, "return_msg": "인증에 실패했습니다[1504:x]"},
            200,
            InputError,
            "1504",
        ),
        (
            {
                "return_code": 2,
                "return_msg": "입력 값 오류입니다[8030:투자구분(실전/모의)이 달라서]",
            },
            200,
            AuthError,
            "8030",
        ),
        (
            {"return_code": 3, "return_msg": "인증에 실패했습니다[8050:IP가 등록되지 않았습니다.]"},
            200,
            AuthError,
            "8050",
        ),
        # a bare 4-digit top-level code (kwcli's note)
        ({"return_code": 8005, "return_msg": "Token이 유효하지 않습니다"}, 200, AuthError, "8005"),
        ({"return_code": 1902, "return_msg": "종목 정보가 없습니다"}, 200, InputError, "1902"),
        # a family without a readable inner code
        ({"return_code": 3, "return_msg": "인증에 실패했습니다"}, 200, AuthError, None),
        ({"return_code": 20, "return_msg": "뭔가 실패"}, 200, BusinessError, None),
        ({"return_code": 5, "return_msg": "초과"}, 429, RateLimitedError, None),
        ({"return_code": "3", "return_msg": "[8005:x]"}, 200, AuthError, "8005"),
    ],
)
def test_classifies_kiwoom_answers(
    body: dict[str, Any], status: int, cls: type[KiwoomError], code: str | None
) -> None:
    error = from_answer("ka10001", status, body)
    assert type(error) is cls
    assert error.code == code and error.api_id == "ka10001"
    assert error.http_status == status
    assert error.message


def test_every_documented_code_maps_to_a_specific_class() -> None:
    for code in ERRORS:
        status, body = _answer(
            code, api_id="ka10001", param="p", reason="r", limit="5", stk_cd="000000"
        )
        error = from_answer("ka10001", status, body)
        assert error is not None and type(error) is not KiwoomError, code
        assert error.code == str(code)
        assert error.return_code == body["return_code"]


def test_rate_limit_carries_retry_after() -> None:
    status, body = _answer(1701, limit="20")
    error = from_answer("kt10000", status, body, retry_after=1.5)
    assert isinstance(error, RateLimitedError) and error.retry_after == 1.5
    assert error.code == "1701"


def test_success_is_none() -> None:
    assert from_answer("ka10001", 200, {"return_code": 0, "return_msg": "정상"}) is None


def test_answers_without_a_kiwoom_body() -> None:
    limited = from_answer("ka10001", 429, None, retry_after=2)
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 2
    assert isinstance(from_answer("ka10001", 503, None), UnavailableError)
    assert isinstance(from_answer("ka10001", 500, {"error": "x"}), UnavailableError)
    waf = from_answer("ka10001", 400, None)
    assert type(waf) is KiwoomError and waf.http_status == 400
    assert type(from_answer("ka10001", 200, {"no": "code"})) is KiwoomError


def test_business_answer_round_trip() -> None:
    answer = business_answer("RC4025", "주문가능금액이 부족합니다")
    error = from_answer("kt10000", answer.http_status, dict(answer.body()))
    assert isinstance(error, BusinessError)
    assert (error.code, error.message) == ("RC4025", "주문가능금액이 부족합니다")


def test_classify_falls_back_to_family_then_http() -> None:
    assert classify(None, "1799", None) is RateLimitedError
    assert classify(2, "4321", None) is InputError
    assert classify(None, None, 429) is RateLimitedError
    assert classify(None, None, 502) is UnavailableError
    assert classify(99, None, 200) is KiwoomError


def test_str_and_repr_carry_the_fields() -> None:
    error = AuthError("ka10001", "8005", "Token이 유효하지 않습니다", 3, 200)
    text = str(error)
    assert "[8005]" in text and "ka10001" in text and "return_code 3" in text
    assert "AuthError" in repr(error)


def test_errors_pickle_with_their_fields() -> None:
    error = RateLimitedError("ka10080", "1700", "too many", 5, 429, retry_after=1.0)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, RateLimitedError)
    assert (copy.api_id, copy.code, copy.retry_after, copy.http_status) == (
        "ka10080",
        "1700",
        1.0,
        429,
    )
    sent = pickle.loads(pickle.dumps(TransportError("ka10001", None, "x", sent=False)))
    assert sent.sent is False


def test_registered_secrets_never_show() -> None:
    secret = "PSrecognizableAPPKEYforRedaction42"
    register_secret(secret)
    error = AuthError("au10001", "8001", f"App Key 검증에 실패했습니다 appkey={secret}", 3, 200)
    assert secret not in str(error) and secret not in repr(error)
    assert secret not in error.message and "***" in error.message
    assert redact(f"x {secret} y") == "x *** y"
    # registered after the error was built: still hidden when shown
    later = "SElateRegisteredSecret9999"
    error2 = KiwoomError("ka10001", None, f"echo {later}")
    register_secret(later)
    assert later not in str(error2) and later not in repr(error2)


def _request() -> httpx.Request:
    return httpx.Request("POST", "http://127.0.0.1/api/dostk/ordr")


def test_http_failures_before_sending_are_retryable_transport_errors() -> None:
    for exc in (
        httpx.ConnectError("refused", request=_request()),
        httpx.ConnectTimeout("slow", request=_request()),
        httpx.PoolTimeout("pool", request=_request()),
    ):
        for order in (False, True):
            error = from_http_error("kt10000", httpx_failure(exc), order=order)
            assert type(error) is TransportError and error.sent is False


def test_http_failures_after_sending_an_order_are_outcome_unknown() -> None:
    for exc in (
        httpx.ReadTimeout("slow", request=_request()),
        httpx.WriteTimeout("slow", request=_request()),
        httpx.RemoteProtocolError("dropped", request=_request()),
        httpx.ReadError("reset", request=_request()),
    ):
        order_error = from_http_error("kt10000", httpx_failure(exc), order=True)
        assert isinstance(order_error, OutcomeUnknownError)
        query_error = from_http_error("ka10001", httpx_failure(exc), order=False)
        assert type(query_error) is TransportError and query_error.sent is True
