"""Kiwoom order types (``trde_tp``) as one data table.

Each row says how an order of that type is priced, how long its remainder
lives (time in force), whether the client must send a price, in which session
phases KRX accepts it, and during which phases it stays alive once accepted.
The engine reads the table; it never branches on a type code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from quantum.krx.sessions import Phase


class Pricing(StrEnum):
    """How an order's limit price is found."""

    LIMIT = "limit"  # the client's price
    MARKET = "market"  # no price: walk the book within the day's limits
    BEST = "best"  # counter side's best quote at submission (최유리)
    FIRST = "first"  # own side's best quote at submission (최우선)
    MID = "mid"  # midpoint of best bid and ask, rounded toward the own side (중간가)
    STOP_LIMIT = "stop_limit"  # a limit that waits for the last price to reach the stop
    CLOSE_PRICE = "close_price"  # fills at a fixed close price (시간외 종가)


class CloseRef(StrEnum):
    """Which close a CLOSE_PRICE order trades at."""

    PREVIOUS = "previous"  # the day's base price (yesterday's close)
    TODAY = "today"  # today's last price once the regular session is over


class TimeInForce(StrEnum):
    DAY = "day"  # the remainder rests until the session ends
    IOC = "ioc"  # the remainder is cancelled at once
    FOK = "fok"  # all at once or nothing


@dataclass(frozen=True, slots=True)
class OrderTypeSpec:
    """One ``trde_tp`` row; ``name`` is the text Kiwoom shows in 매매구분 fields."""

    code: str
    name: str
    pricing: Pricing
    tif: TimeInForce
    needs_price: bool
    phases: frozenset[Phase]  # when KRX accepts a new order of this type
    alive: frozenset[Phase]  # while its remainder may rest; it expires outside them
    close_ref: CloseRef | None = None  # CLOSE_PRICE only: the price it fills at
    band: Decimal | None = None  # CLOSE_PRICE with a price: allowed distance from the close
    at_close: str | None = None  # the type its remainder becomes when continuous trading ends


_P = Phase
_REGULAR = frozenset({_P.PRE_OPEN_AUCTION, _P.CONTINUOUS, _P.CLOSING_AUCTION})
_CONTINUOUS = frozenset({_P.CONTINUOUS})
_AUCTION_AND_CONTINUOUS = frozenset({_P.PRE_OPEN_AUCTION, _P.CONTINUOUS})
_PRE_CLOSE = frozenset({_P.PRE_HOURS_CLOSING_PRICE})
_POST_CLOSE = frozenset({_P.POST_HOURS_CLOSING_PRICE})
_SINGLE = frozenset({_P.POST_HOURS_SINGLE_PRICE})

_L, _M, _B, _F = Pricing.LIMIT, Pricing.MARKET, Pricing.BEST, Pricing.FIRST
_MID, _STOP, _CLOSE = Pricing.MID, Pricing.STOP_LIMIT, Pricing.CLOSE_PRICE
_DAY, _IOC, _FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK

_PREV, _TODAY = CloseRef.PREVIOUS, CloseRef.TODAY

_S = OrderTypeSpec

#: One row per ``trde_tp``.
ORDER_TYPE_TABLE: tuple[OrderTypeSpec, ...] = (
    _S("0", "보통", _L, _DAY, True, _REGULAR, _REGULAR),
    _S("3", "시장가", _M, _DAY, False, _REGULAR, _REGULAR),
    # 조건부지정가: a limit until 15:20, then its remainder joins the closing auction at market.
    _S("5", "조건부지정가", _L, _DAY, True, _AUCTION_AND_CONTINUOUS, _REGULAR, at_close="3"),
    _S("6", "최유리지정가", _B, _DAY, False, _CONTINUOUS, _REGULAR),
    _S("7", "최우선지정가", _F, _DAY, False, _CONTINUOUS, _REGULAR),
    _S("10", "보통(IOC)", _L, _IOC, True, _CONTINUOUS, _CONTINUOUS),
    _S("13", "시장가(IOC)", _M, _IOC, False, _CONTINUOUS, _CONTINUOUS),
    _S("16", "최유리(IOC)", _B, _IOC, False, _CONTINUOUS, _CONTINUOUS),
    _S("20", "보통(FOK)", _L, _FOK, True, _CONTINUOUS, _CONTINUOUS),
    _S("23", "시장가(FOK)", _M, _FOK, False, _CONTINUOUS, _CONTINUOUS),
    _S("26", "최유리(FOK)", _B, _FOK, False, _CONTINUOUS, _CONTINUOUS),
    _S("28", "스톱지정가", _STOP, _DAY, True, _CONTINUOUS, _REGULAR),
    _S("29", "중간가", _MID, _DAY, False, _CONTINUOUS, _REGULAR),
    _S("30", "중간가(IOC)", _MID, _IOC, False, _CONTINUOUS, _CONTINUOUS),
    _S("31", "중간가(FOK)", _MID, _FOK, False, _CONTINUOUS, _CONTINUOUS),
    # 장전 시간외 종가 fills at the previous close, 장후 시간외 종가 at today's close.
    _S("61", "장시작전시간외", _CLOSE, _DAY, False, _PRE_CLOSE, _PRE_CLOSE, _PREV),
    _S("81", "장마감후시간외", _CLOSE, _DAY, False, _POST_CLOSE, _POST_CLOSE, _TODAY),
    # 시간외 단일가: a limit within ±10 % of today's close; fills at that close when marketable.
    _S("62", "시간외단일가", _CLOSE, _DAY, True, _SINGLE, _SINGLE, _TODAY, Decimal("0.10")),
)

#: Every supported ``trde_tp`` code → its rules.
ORDER_TYPES: Mapping[str, OrderTypeSpec] = MappingProxyType(
    {spec.code: spec for spec in ORDER_TYPE_TABLE}
)


def normalize_code(trde_tp: str | int) -> str:
    """``"00"``, ``0`` and ``" 0"`` all mean type ``"0"``; non-numbers stay as given."""
    text = str(trde_tp).strip()
    return str(int(text)) if text.isdigit() else text


def lookup(trde_tp: str | int) -> OrderTypeSpec | None:
    """The spec for ``trde_tp``, or None for a code KRX does not know."""
    return ORDER_TYPES.get(normalize_code(trde_tp))


#: What a modify turns a type that takes no price into: 정정 always carries a price.
MODIFY_WITHOUT_PRICE_BECOMES = "0"


def modified_type(spec: OrderTypeSpec) -> OrderTypeSpec:
    """The type of the new order a modify creates (a priced type keeps its own)."""
    return spec if spec.needs_price else ORDER_TYPES[MODIFY_WITHOUT_PRICE_BECOMES]
