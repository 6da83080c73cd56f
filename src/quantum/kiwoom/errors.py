"""Kiwoom's error answers: a small top-level ``return_code`` with the documented
4-digit code inside ``return_msg`` as ``[CODE:text]`` (PROTOCOL.md §4).

One table drives both the simulator's answers and the client's parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum


class ReturnCode(IntEnum):
    """Top-level ``return_code`` families seen on the real service."""

    OK = 0
    BAD_REQUEST = 1
    INPUT = 2
    AUTH = 3
    RATE_LIMITED = 5
    BUSINESS = 20


FAMILY_PREFIX: dict[ReturnCode, str] = {
    ReturnCode.BAD_REQUEST: "잘못된 요청입니다",
    ReturnCode.INPUT: "입력 값 오류입니다",
    ReturnCode.AUTH: "인증에 실패했습니다",
    ReturnCode.RATE_LIMITED: "허용된 요청 개수를 초과하였습니다",
}

SUCCESS_MESSAGE = "정상적으로 처리되었습니다"
QUERY_DONE_MESSAGE = "조회가 완료되었습니다."


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: int
    family: ReturnCode
    template: str
    http_status: int = 200


def _spec(code: int, family: ReturnCode, template: str, http_status: int = 200) -> ErrorSpec:
    return ErrorSpec(code, family, template, http_status)


_B, _I, _A, _R = ReturnCode.BAD_REQUEST, ReturnCode.INPUT, ReturnCode.AUTH, ReturnCode.RATE_LIMITED

ERRORS: dict[int, ErrorSpec] = {
    s.code: s
    for s in (
        _spec(1501, _B, "API ID가 Null이거나 값이 없습니다"),
        _spec(1504, _B, "해당 URI에서는 지원하는 API ID가 아닙니다. API ID={api_id}"),
        _spec(1505, _B, "해당 API ID는 존재하지 않습니다. API ID={api_id}"),
        _spec(1511, _I, "필수 입력 값에 값이 존재하지 않습니다. 필수입력 파라미터={param}"),
        _spec(1512, _B, "Http header에 값이 설정되지 않았거나 읽을 수 없습니다"),
        _spec(1513, _A, "Http Header에 authorization 필드가 설정되어 있어야 합니다"),
        _spec(1514, _A, "입력으로 들어온 Http Header의 authorization 필드 형식이 맞지 않습니다"),
        _spec(
            1515, _A, "Http Header의 authorization 필드 내 Grant Type이 미리 정의된 형식이 아닙니다"
        ),
        _spec(1516, _A, "Http Header의 authorization 필드 내 Token이 정의되어 있지 않습니다"),
        _spec(1517, _I, "입력 값 형식이 올바르지 않습니다. 파라미터={param}, 사유={reason}"),
        _spec(1687, _B, "재귀 호출이 발생하여 API 호출을 제한합니다"),
        _spec(
            1700, _R, "허용된 API 요청 개수를 초과하였습니다. 유량={limit}, API ID={api_id}", 429
        ),
        _spec(1701, _R, "허용된 전체 API 요청 개수를 초과하였습니다. 총유량={limit}", 429),
        _spec(1702, _R, "허용된 그룹 API 요청 개수를 초과하였습니다", 429),
        _spec(1901, _I, "시장 코드값이 존재하지 않습니다"),
        _spec(1902, _I, "종목 정보가 없습니다. 종목코드={stk_cd}"),
        _spec(1903, _I, "해당 거래소의 종목 정보가 없습니다. 종목코드={stk_cd}"),
        _spec(1999, _B, "예기치 못한 에러가 발생했습니다"),
        _spec(8001, _A, "App Key 검증에 실패했습니다"),
        _spec(8002, _A, "Secret Key 검증에 실패했습니다"),
        _spec(8003, _A, "Token 정보를 찾을 수 없습니다"),
        _spec(8005, _A, "Token이 유효하지 않습니다"),
        _spec(8006, _A, "Access Token 생성에 실패했습니다"),
        _spec(8009, _A, "Token 발급에 실패했습니다"),
        _spec(8010, _A, "Token을 발급받은 IP와 서비스를 요청한 IP가 동일하지 않습니다"),
        _spec(8011, _I, "grant_type이 입력되지 않았습니다"),
        _spec(8012, _I, "grant_type 값이 올바르지 않습니다"),
        _spec(8015, _A, "Token 폐기에 실패했습니다"),
        _spec(8016, _I, "Token 폐기시 Token이 입력되지 않았습니다"),
        _spec(8020, _I, "appkey 또는 secretkey가 입력되지 않았습니다"),
        _spec(8030, _I, "투자구분(실전/모의)이 달라서 Appkey를 사용할수가 없습니다"),
        _spec(8031, _A, "투자구분(실전/모의)이 달라서 Token를 사용할수가 없습니다"),
        _spec(8040, _A, "단말기 인증에 실패했습니다"),
        _spec(8050, _A, "지정단말기 인증에 실패했습니다"),
        _spec(8103, _A, "Token 또는 단말기 인증에 실패했습니다"),
        _spec(8104, _I, "모의투자에서 지원하지 않는 API 입니다."),
        _spec(8200, _A, "법인 고객은 이용할 수 없는 서비스입니다"),
    )
}

BUSINESS_CODE = 2000
"""The outer code of back-office (business) errors: ``[2000](RCnnnn:text)``."""


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """What the server answers: HTTP status plus the JSON body's two fields."""

    http_status: int
    return_code: int
    return_msg: str

    def body(self) -> dict[str, int | str]:
        return {"return_code": self.return_code, "return_msg": self.return_msg}


def error_answer(code: int, **params: object) -> ErrorAnswer:
    """The answer for one of the documented 4-digit codes, its template filled in."""
    spec = ERRORS[code]
    text = spec.template.format(**params)
    message = f"{FAMILY_PREFIX[spec.family]}[{spec.code}:{text}]"
    return ErrorAnswer(spec.http_status, int(spec.family), message)


def business_answer(rc_code: str, text: str) -> ErrorAnswer:
    """A back-office error such as ``[2000](RC4058:모의투자 장종료)``."""
    return ErrorAnswer(200, int(ReturnCode.BUSINESS), f"[{BUSINESS_CODE}]({rc_code}:{text})")


@dataclass(frozen=True, slots=True)
class ParsedError:
    """A Kiwoom error read back: the family, the inner code (``"8005"``,
    ``"RC4058"``) when there is one, and its text."""

    return_code: int
    code: str | None
    text: str


_BRACKET = re.compile(r"\[(\d{4}):([^\]]*)\]")
_BUSINESS = re.compile(r"\[2000\]\((RC\d+):(.*)\)\s*$", re.DOTALL)


def parse_error(return_code: int, return_msg: str) -> ParsedError:
    """Find the real code inside ``return_msg``; a bare 4-digit top-level code
    (seen from some gateways) counts as the code itself."""
    if match := _BUSINESS.search(return_msg):
        return ParsedError(return_code, match.group(1), match.group(2).strip())
    if match := _BRACKET.search(return_msg):
        return ParsedError(return_code, match.group(1), match.group(2).strip())
    if 1000 <= return_code <= 9999:
        return ParsedError(return_code, str(return_code), return_msg.strip())
    return ParsedError(return_code, None, return_msg.strip())
