"""Kiwoom's realtime WebSocket protocol: message names, type codes and FID maps.

The FID maps are declarative (our name → FID) so the simulator writes and the
client reads realtime values through the same table (PROTOCOL.md §8).
"""

from __future__ import annotations

from enum import StrEnum


class Trnm(StrEnum):
    LOGIN = "LOGIN"
    PING = "PING"
    REG = "REG"
    REMOVE = "REMOVE"
    REAL = "REAL"
    SYSTEM = "SYSTEM"
    CNSRLST = "CNSRLST"
    CNSRREQ = "CNSRREQ"
    CNSRCLR = "CNSRCLR"


REALTIME_TYPES: dict[str, str] = {
    "00": "주문체결",
    "04": "현물잔고",
    "0A": "주식기세",
    "0B": "주식체결",
    "0C": "주식우선호가",
    "0D": "주식호가잔량",
    "0E": "주식시간외호가",
    "0F": "주식당일거래원",
    "0G": "ETF NAV",
    "0H": "주식예상체결",
    "0I": "국제금환산가격",
    "0J": "업종지수",
    "0U": "업종등락",
    "0g": "주식종목정보",
    "0m": "ELW 이론가",
    "0s": "장시작시간",
    "0u": "ELW 지표",
    "0w": "종목프로그램매매",
    "1h": "VI발동/해제",
}
"""Realtime type code → the Korean ``name`` the server puts in REAL entries."""

ACCOUNT_TYPES = frozenset({"00", "04"})
"""Types pushed for the token's own account, whatever ``item`` says."""


class SystemCode(StrEnum):
    DUPLICATE_SESSION = "R10001"
    HEARTBEAT_MISSED = "R10002"
    LOGIN_MISSING = "R10004"


SYSTEM_MESSAGES: dict[SystemCode, str] = {
    SystemCode.DUPLICATE_SESSION: "동일한 App key로 접속이 되었습니다. 기존 세션은 종료가 됩니다",
    SystemCode.HEARTBEAT_MISSED: (
        "사용자 프로그램으로부터 Heartbeat(연결유지) 메시지가 오지않아서 접속을 종료합니다"
    ),
    SystemCode.LOGIN_MISSING: "접속허용요청(토큰)이 들어오지 않았습니다",
}

LOGIN_FAILED_CODE = 805004
LOGIN_FAILED_MESSAGE = (
    "토큰 인증에 실패했습니다. 접속을 종료합니다 [CODE=8005, MESSAGE=Token이 유효하지 않습니다]"
)

TRADE_FIDS: dict[str, str] = {
    "time": "20",
    "price": "10",
    "change": "11",
    "change_rate": "12",
    "best_ask": "27",
    "best_bid": "28",
    "trade_qty": "15",
    "cum_volume": "13",
    "cum_turnover": "14",
    "open": "16",
    "high": "17",
    "low": "18",
    "direction": "25",
    "volume_vs_previous": "26",
    "turnover_change": "29",
    "volume_vs_previous_rate": "30",
    "turnover_rate": "31",
    "trade_cost": "32",
    "strength": "228",
    "market_cap": "311",
    "session": "290",
    "exchange": "9081",
}
"""0B 주식체결. ``trade_qty`` is + for buyer-initiated, − for seller-initiated."""

BEST_QUOTE_FIDS: dict[str, str] = {"best_ask": "27", "best_bid": "28"}
"""0C 주식우선호가."""

BOOK_DEPTH = 10
BOOK_FIDS: dict[str, str] = {
    "time": "21",
    **{f"ask_price_{n}": str(40 + n) for n in range(1, BOOK_DEPTH + 1)},
    **{f"bid_price_{n}": str(50 + n) for n in range(1, BOOK_DEPTH + 1)},
    **{f"ask_qty_{n}": str(60 + n) for n in range(1, BOOK_DEPTH + 1)},
    **{f"bid_qty_{n}": str(70 + n) for n in range(1, BOOK_DEPTH + 1)},
    **{f"ask_qty_change_{n}": str(80 + n) for n in range(1, BOOK_DEPTH + 1)},
    **{f"bid_qty_change_{n}": str(90 + n) for n in range(1, BOOK_DEPTH + 1)},
    "total_ask_qty": "121",
    "total_ask_qty_change": "122",
    "total_bid_qty": "125",
    "total_bid_qty_change": "126",
    "expected_price": "23",
    "expected_qty": "24",
    "net_bid_qty": "128",
    "bid_ratio": "129",
    "net_ask_qty": "138",
    "ask_ratio": "139",
    "cum_volume": "13",
    "market_operation": "215",
}
"""0D 주식호가잔량: 10 levels per side (41–50 asks, 51–60 bids, 61–80 quantities)."""

ORDER_FIDS: dict[str, str] = {
    "account_no": "9201",
    "order_no": "9203",
    "manager_no": "9205",
    "stock_code": "9001",
    "business_type": "912",
    "status": "913",
    "stock_name": "302",
    "order_qty": "900",
    "order_price": "901",
    "unfilled_qty": "902",
    "filled_amount": "903",
    "orig_order_no": "904",
    "order_label": "905",
    "trade_type": "906",
    "side": "907",
    "time": "908",
    "fill_no": "909",
    "fill_price": "910",
    "fill_qty": "911",
    "price": "10",
    "best_ask": "27",
    "best_bid": "28",
    "unit_fill_price": "914",
    "unit_fill_qty": "915",
    "commission": "938",
    "tax": "939",
    "reject_reason": "919",
    "screen_no": "920",
    "terminal_no": "921",
    "credit_type": "922",
    "loan_date": "923",
    "after_hours_price": "10010",
    "exchange_code": "2134",
    "exchange_name": "2135",
    "sor": "2136",
}
"""00 주문체결 for the token's own orders."""

BALANCE_FIDS: dict[str, str] = {
    "account_no": "9201",
    "stock_code": "9001",
    "credit_type": "917",
    "loan_date": "916",
    "stock_name": "302",
    "price": "10",
    "quantity": "930",
    "avg_price": "931",
    "purchase_amount": "932",
    "sellable_qty": "933",
    "today_net_buy_qty": "945",
    "side": "946",
    "today_sell_pnl": "950",
    "best_ask": "27",
    "best_bid": "28",
    "base_price": "307",
    "profit_rate": "8019",
    "credit_amount": "957",
    "credit_interest": "958",
    "expiry_date": "918",
    "realized_pnl": "990",
    "realized_rate": "991",
    "credit_realized_pnl": "992",
    "credit_realized_rate": "993",
    "collateral_qty": "959",
}
"""04 잔고 for the token's own account."""


class OrderStatusText(StrEnum):
    """FID 913 주문상태."""

    ACCEPTED = "접수"
    FILLED = "체결"
    CONFIRMED = "확인"
    CANCELLED = "취소"
    REJECTED = "거부"


class SideCode(StrEnum):
    """FID 907 매도수구분."""

    SELL = "1"
    BUY = "2"


class DirectionCode(StrEnum):
    """``pre_sig`` / FID 25: the change's direction against the previous close."""

    UPPER_LIMIT = "1"
    UP = "2"
    FLAT = "3"
    LOWER_LIMIT = "4"
    DOWN = "5"


def direction_code(price: int, base: int, upper: int, lower: int) -> DirectionCode:
    if price >= upper:
        return DirectionCode.UPPER_LIMIT
    if price <= lower:
        return DirectionCode.LOWER_LIMIT
    if price > base:
        return DirectionCode.UP
    if price < base:
        return DirectionCode.DOWN
    return DirectionCode.FLAT
