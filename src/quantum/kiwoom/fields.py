"""Declarative field maps: Kiwoom's field name → our name → parser.

A model's map is the single place that says how a TR's answer is read. The
parsers here turn Kiwoom's string values (PROTOCOL.md §7) into Python values:
direction-signed prices become positive ints, padded account amounts keep their
sign, rates become :class:`~decimal.Decimal`, dates and times become KST-aware
datetimes. ``optional_*`` parsers read ``""`` (and a missing field) as None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Generic, TypeVar

from quantum.kiwoom import wire
from quantum.kiwoom.orders import OrderType, Side

T = TypeVar("T")

ENVELOPE_KEYS: Final = frozenset({"return_code", "return_msg"})
"""Keys every answer carries; never reported as unknown extras."""


class FieldError(wire.WireFormatError):
    """A Kiwoom answer without a required field, or with a value of the wrong shape."""

    def __init__(self, api_id: str, field: str, problem: str) -> None:
        self.api_id = api_id
        self.field = field
        self.problem = problem
        super().__init__(f"{api_id or 'answer'}: field {field!r} {problem}")


@dataclass(frozen=True, slots=True)
class OptionalParser(Generic[T]):
    """Wraps a parser so that ``""`` (blank) reads as None; fields using it may be absent."""

    inner: Callable[[str], T]

    def __call__(self, text: str) -> T | None:
        if not text.strip():
            return None
        return self.inner(text)


@dataclass(frozen=True, slots=True)
class Field(Generic[T]):
    """One entry of a field map."""

    kiwoom: str
    ours: str
    parse: Callable[[str], T]

    @property
    def optional(self) -> bool:
        """Optional fields may be missing from an answer (read as None)."""
        return isinstance(self.parse, OptionalParser)


FieldMap = tuple[Field[Any], ...]


# -- parsers ---------------------------------------------------------------------------------


def price(text: str) -> int:
    """A price with a direction sign (``"-73800"``) → its positive value (73800)."""
    return wire.parse_price(text)


def signed_int(text: str) -> int:
    """An integer with a real sign (``"+600"``, ``"-350"``); ``""`` → 0."""
    return wire.parse_int(text)


def amount(text: str) -> int:
    """A fixed-width, zero-padded account amount; the sign is kept
    (``"-00000000013920"`` → -13920)."""
    return wire.parse_int(text)


def rate(text: str) -> Decimal:
    """A rate or ratio (``"+0.81"``, ``"-0.19"``, ``"-0"``) → Decimal."""
    return wire.parse_decimal(text)


def text(value: str) -> str:
    """A text value without surrounding blanks."""
    return value.strip()


def date(value: str) -> dt.date:
    """``YYYYMMDD``."""
    return wire.parse_date(value)


def timestamp(value: str) -> dt.datetime:
    """``YYYYMMDDHHMMSS`` in KST → an aware datetime."""
    return wire.parse_timestamp(value)


def date_start(value: str) -> dt.datetime:
    """``YYYYMMDD`` → midnight KST of that day (the start of a day/week/month/year candle)."""
    return dt.datetime.combine(wire.parse_date(value), dt.datetime.min.time(), tzinfo=wire.KST)


def time_on(day: dt.date) -> Callable[[str], dt.datetime]:
    """A parser for ``HHMMSS`` on ``day`` (KST)."""

    def parse(value: str) -> dt.datetime:
        return wire.parse_time(value, day)

    return parse


def stock_code(value: str) -> str:
    """A stock code without the account TRs' 1-letter prefix (``"A005930"`` → ``"005930"``;
    ``J`` ELW and ``Q`` ETN prefixes too)."""
    cleaned = value.strip()
    if len(cleaned) == 7 and cleaned[0] in "AJQ" and cleaned[1:].isalnum():
        return cleaned[1:]
    return cleaned


def order_no(value: str) -> str:
    """An order number as Kiwoom shows it (7-digit zero-padded)."""
    cleaned = value.strip()
    if not cleaned.isdigit():
        raise wire.WireFormatError(f"not an order number: {value!r}")
    return cleaned


def original_order_no(value: str) -> str | None:
    """An original order number; ``"0000000"`` or ``""`` (no original order) → None."""
    cleaned = value.strip()
    if not cleaned or cleaned.strip("0") == "":
        return None
    return order_no(cleaned)


def yes_no(value: str) -> bool:
    """``"Y"`` → True, ``"N"`` → False."""
    cleaned = value.strip().upper()
    if cleaned not in ("Y", "N"):
        raise wire.WireFormatError(f"not Y/N: {value!r}")
    return cleaned == "Y"


def side(value: str) -> Side:
    """An order label (``"+매수"``, ``"-매도"``, ``"매수정정"``…) → :class:`Side`."""
    try:
        return Side.from_label(value)
    except ValueError as exc:
        raise wire.WireFormatError(str(exc)) from exc


def order_type_text(value: str) -> OrderType | None:
    """Kiwoom's 매매구분 text (``"보통"``) → :class:`OrderType`; None for a text we do not know."""
    try:
        return OrderType.from_text(value)
    except ValueError:
        return None


def scaled(factor: int, name: str) -> Callable[[str], int]:
    """A signed integer in units of ``factor`` won/shares, returned in single units."""

    def parse(value: str) -> int:
        return wire.parse_int(value) * factor

    parse.__name__ = name
    return parse


millions = scaled(1_000_000, "millions")
"""백만원 → 원 (daily chart ``trde_prica``)."""
hundred_millions = scaled(100_000_000, "hundred_millions")
"""억원 → 원 (``cap``, ``mac``, ``sale_amt``…)."""
thousands = scaled(1_000, "thousands")
"""천주 → shares (``flo_stk``, ``dstr_stk``)."""

optional_price = OptionalParser(price)
optional_signed_int = OptionalParser(signed_int)
optional_amount = OptionalParser(amount)
optional_rate = OptionalParser(rate)
optional_text = OptionalParser(text)
optional_date = OptionalParser(date)
optional_timestamp = OptionalParser(timestamp)
optional_stock_code = OptionalParser(stock_code)
optional_yes_no = OptionalParser(yes_no)
optional_millions = OptionalParser(millions)
optional_hundred_millions = OptionalParser(hundred_millions)
optional_thousands = OptionalParser(thousands)


def optional_time_on(day: dt.date) -> OptionalParser[dt.datetime]:
    return OptionalParser(time_on(day))


# -- mapping ---------------------------------------------------------------------------------


def _as_text(api_id: str, field: Field[Any], value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, list, dict)):
        raise FieldError(api_id, field.kiwoom, f"is not a scalar: {value!r}")
    if isinstance(value, (int, Decimal)):
        return str(value)
    raise FieldError(api_id, field.kiwoom, f"has an unexpected type: {type(value).__name__}")


def map_fields(
    raw: Mapping[str, Any],
    fields: Iterable[Field[Any]],
    *,
    api_id: str = "",
    ignore: Collection[str] = ENVELOPE_KEYS,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read ``raw`` through ``fields``.

    Returns (parsed values by our names, unknown fields kept verbatim). A missing
    (or JSON ``null``) optional field is None; a missing required field or a
    value a parser refuses raises :class:`FieldError` naming the field and api-id.
    Keys in ``ignore`` are neither parsed nor reported as extras.
    """
    values: dict[str, Any] = {}
    known: set[str] = set()
    for field in fields:
        known.add(field.kiwoom)
        value = raw.get(field.kiwoom)
        if value is None:
            if not field.optional:
                raise FieldError(api_id, field.kiwoom, "is missing")
            values[field.ours] = None
            continue
        try:
            values[field.ours] = field.parse(_as_text(api_id, field, value))
        except FieldError:
            raise
        except ValueError as exc:
            raise FieldError(api_id, field.kiwoom, f"cannot be read: {exc}") from exc
    extra = {key: value for key, value in raw.items() if key not in known and key not in ignore}
    return values, extra
