"""How the engine's order rejections read on the wire.

Kiwoom documents only a few back-office codes (RC4058 market closed on mock,
RC9000 unsupported on mock). The others below are the simulator's own, in the
same ``[2000](RCnnnn:text)`` shape, so a client sees one form for every
business rejection. Input problems use the documented 4-digit input codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from quantum.kiwoom.errors import ErrorAnswer, business_answer, error_answer
from quantum.simulator.config import Mode
from quantum.simulator.engine import RejectReason

MOCK_PREFIX = "모의투자 "


@dataclass(frozen=True, slots=True)
class Business:
    rc_code: str
    text: str
    mock_text: str | None = None


@dataclass(frozen=True, slots=True)
class Input:
    code: int
    param: str
    reason: str = ""


_R = RejectReason

REJECTIONS: dict[RejectReason, Business | Input] = {
    _R.UNKNOWN_STOCK: Input(1902, "stk_cd"),
    _R.UNKNOWN_ORDER_TYPE: Input(1517, "trde_tp", "지원하지 않는 매매구분입니다"),
    _R.INVALID_QUANTITY: Input(1517, "ord_qty", "주문수량이 올바르지 않습니다"),
    _R.PRICE_REQUIRED: Input(1511, "ord_uv"),
    _R.STOP_PRICE_REQUIRED: Input(1511, "cond_uv"),
    _R.INVALID_TICK: Business("RC4003", "호가단위에 맞지 않는 주문가격입니다"),
    _R.OUTSIDE_PRICE_LIMIT: Business("RC4004", "주문가격이 상하한가 범위를 벗어났습니다"),
    _R.INSUFFICIENT_CASH: Business("RC4025", "주문가능금액이 부족합니다"),
    _R.INSUFFICIENT_HOLDINGS: Business("RC4032", "매도가능수량이 부족합니다"),
    _R.NOT_IN_SESSION: Business("RC4058", "장운영시간이 아닙니다", "모의투자 장종료"),
    _R.ORDER_TYPE_NOT_IN_SESSION: Business("RC4060", "현재 시간에 주문할 수 없는 매매구분입니다"),
    _R.UNKNOWN_ORDER: Business("RC4071", "원주문번호가 존재하지 않습니다"),
    _R.ORDER_NOT_OPEN: Business("RC4072", "정정/취소 가능한 미체결수량이 없습니다"),
    _R.QUANTITY_EXCEEDS_REMAINING: Business("RC4073", "정정/취소수량이 미체결수량을 초과합니다"),
}


def rejection_answer(reason: RejectReason, mode: Mode, stock_code: str = "") -> ErrorAnswer:
    rule = REJECTIONS[reason]
    if isinstance(rule, Input):
        if rule.code == 1902:
            return error_answer(1902, stk_cd=stock_code)
        if rule.code == 1511:
            return error_answer(1511, param=rule.param)
        return error_answer(rule.code, param=rule.param, reason=rule.reason)
    if mode is Mode.MOCK:
        return business_answer(rule.rc_code, rule.mock_text or MOCK_PREFIX + rule.text)
    return business_answer(rule.rc_code, rule.text)
