"""Order sides and order types (``trde_tp``) as data (PROTOCOL.md §6.5).

Every order type is one frozen row: our name → Kiwoom's ``trde_tp`` code →
the text Kiwoom shows in 매매구분 fields (ka10075/ka10076, realtime 906) →
whether an order of that type needs a limit price and/or a stop price.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Final


class InvalidArgumentError(ValueError):
    """An argument the client refuses before anything is sent to Kiwoom."""


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def api_id(self) -> str:
        """The TR that places an order on this side (kt10000 buy, kt10001 sell)."""
        return _SIDE_API_ID[self]

    @property
    def filter_code(self) -> str:
        """The side filter of ka10075 ``trde_tp`` / ka10076 ``sell_tp``: 1 sell, 2 buy."""
        return _SIDE_FILTER_CODE[self]

    @property
    def word(self) -> str:
        """The Korean word in order labels (``+매수``, ``-매도``, ``매수정정``…)."""
        return _SIDE_WORD[self]

    @classmethod
    def from_label(cls, label: str) -> Side:
        """The side of an order label: ``"+매수"``, ``"-매도"``, ``"매수정정"``, ``"매도취소"``…"""
        for side in cls:
            if side.word in label:
                return side
        raise ValueError(f"not an order side label: {label!r}")


_SIDE_API_ID: Final = MappingProxyType({Side.BUY: "kt10000", Side.SELL: "kt10001"})
_SIDE_FILTER_CODE: Final = MappingProxyType({Side.BUY: "2", Side.SELL: "1"})
_SIDE_WORD: Final = MappingProxyType({Side.BUY: "매수", Side.SELL: "매도"})
ALL_SIDES_FILTER: Final = "0"
"""The side filter value meaning "both sides"."""


@dataclass(frozen=True, slots=True)
class OrderTypeRow:
    """One order type: its ``trde_tp`` code, Kiwoom's display text and what it needs."""

    code: str
    text: str
    needs_price: bool
    needs_stop_price: bool = False


_R = OrderTypeRow


class OrderType(Enum):
    """Kiwoom's order types. The value of each member is its :class:`OrderTypeRow`."""

    LIMIT = _R("0", "보통", needs_price=True)
    MARKET = _R("3", "시장가", needs_price=False)
    CONDITIONAL_LIMIT = _R("5", "조건부지정가", needs_price=True)
    BEST_LIMIT = _R("6", "최유리지정가", needs_price=False)
    FIRST_LIMIT = _R("7", "최우선지정가", needs_price=False)
    LIMIT_IOC = _R("10", "보통(IOC)", needs_price=True)
    MARKET_IOC = _R("13", "시장가(IOC)", needs_price=False)
    BEST_IOC = _R("16", "최유리(IOC)", needs_price=False)
    LIMIT_FOK = _R("20", "보통(FOK)", needs_price=True)
    MARKET_FOK = _R("23", "시장가(FOK)", needs_price=False)
    BEST_FOK = _R("26", "최유리(FOK)", needs_price=False)
    STOP_LIMIT = _R("28", "스톱지정가", needs_price=True, needs_stop_price=True)
    MID_PRICE = _R("29", "중간가", needs_price=False)
    MID_PRICE_IOC = _R("30", "중간가(IOC)", needs_price=False)
    MID_PRICE_FOK = _R("31", "중간가(FOK)", needs_price=False)
    PRE_MARKET_CLOSE_PRICE = _R("61", "장시작전시간외", needs_price=False)
    AFTER_HOURS_SINGLE_PRICE = _R("62", "시간외단일가", needs_price=True)
    POST_MARKET_CLOSE_PRICE = _R("81", "장마감후시간외", needs_price=False)

    @property
    def row(self) -> OrderTypeRow:
        row: OrderTypeRow = self.value
        return row

    @property
    def code(self) -> str:
        """The ``trde_tp`` value sent in kt10000/kt10001."""
        return self.row.code

    @property
    def text(self) -> str:
        """The text Kiwoom shows for this type (``보통``, ``시장가``…)."""
        return self.row.text

    @property
    def needs_price(self) -> bool:
        return self.row.needs_price

    @property
    def needs_stop_price(self) -> bool:
        return self.row.needs_stop_price

    @classmethod
    def from_name(cls, name: str) -> OrderType:
        """``"LIMIT"`` (case-insensitive) → ``OrderType.LIMIT``."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise InvalidArgumentError(f"unknown order type name: {name!r}") from None

    @classmethod
    def from_code(cls, code: str | int) -> OrderType:
        """``"0"``, ``"00"`` or ``0`` → ``OrderType.LIMIT``."""
        text = str(code).strip()
        normalized = str(int(text)) if text.isdigit() else text
        found = _BY_CODE.get(normalized)
        if found is None:
            raise InvalidArgumentError(f"unknown trde_tp code: {code!r}")
        return found

    @classmethod
    def from_text(cls, text: str) -> OrderType:
        """``"보통"`` → ``OrderType.LIMIT``."""
        found = _BY_TEXT.get(text.strip())
        if found is None:
            raise InvalidArgumentError(f"unknown order type text: {text!r}")
        return found


_BY_CODE: Final = MappingProxyType({t.code: t for t in OrderType})
_BY_TEXT: Final = MappingProxyType({t.text: t for t in OrderType})
