"""Kiwoom's value formats: everything is a string, prices carry direction signs.

Both directions live here so that the simulator's output and the client's
parsing can never drift apart. See PROTOCOL.md §7.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")

ACCOUNT_WIDTH = 15
"""Width of the zero-padded amounts in account TRs (kt00001, kt00018)."""
PRICE_WIDTH = 12
"""Width of some price fields in kt00018 (cur_prc, pred_close_pric)."""
ORDER_QTY_WIDTH = 12
"""Width of modify/cancel quantities (mdfy_qty, cncl_qty)."""
ORDER_NO_WIDTH = 7
NO_ORDER = "0000000"
"""The order number Kiwoom shows when there is no original order."""


class WireFormatError(ValueError):
    """A value that does not have the shape Kiwoom uses for its field."""


def direction_sign(value: int, reference: int) -> str:
    """``+`` above the reference (previous close), ``-`` below, nothing when equal."""
    if value > reference:
        return "+"
    if value < reference:
        return "-"
    return ""


def signed_price(price: int, reference: int) -> str:
    """A price with its direction sign against ``reference``: ``"+74600"``."""
    return f"{direction_sign(price, reference)}{abs(price)}"


def signed_number(value: int) -> str:
    """A real arithmetic sign: ``"+600"``, ``"-600"``, ``"0"``."""
    return f"+{value}" if value > 0 else str(value)


def signed_rate(value: Decimal | float, places: int = 2) -> str:
    """A rate with a real sign and fixed decimals: ``"+0.81"``, ``"-0.24"``, ``"0.00"``."""
    quantum = Decimal(1).scaleb(-places)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded == 0:
        return f"{Decimal(0).quantize(quantum)}"
    return f"+{rounded}" if rounded > 0 else f"{rounded}"


def plain_rate(value: Decimal | float, places: int = 2) -> str:
    """A rate without a plus sign: ``"46.25"``, ``"-0.19"``."""
    quantum = Decimal(1).scaleb(-places)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    return f"{rounded + 0}"


def padded(value: int, width: int = ACCOUNT_WIDTH) -> str:
    """Left zero-padded to ``width`` with the sign in the first character.

    ``padded(10250000)`` → ``"000000010250000"``, ``padded(-13920)`` → ``"-00000000013920"``.
    """
    if value < 0:
        return "-" + str(-value).zfill(width - 1)
    return str(value).zfill(width)


def order_number(sequence: int) -> str:
    """Kiwoom order numbers are 7-digit zero-padded strings."""
    return str(sequence).zfill(ORDER_NO_WIDTH)


def parse_int(text: str | None) -> int:
    """Parse any of Kiwoom's integer shapes (signed, padded, empty) into an int."""
    if text is None:
        return 0
    cleaned = text.strip().replace(",", "")
    if cleaned in ("", "+", "-", "-0", "+0"):
        return 0
    try:
        return int(cleaned)
    except ValueError as exc:
        raise WireFormatError(f"not an integer: {text!r}") from exc


def parse_price(text: str | None) -> int:
    """A price without its direction sign (the sign is not arithmetic)."""
    return abs(parse_int(text))


def parse_decimal(text: str | None) -> Decimal:
    """A rate or ratio such as ``"+0.81"`` or ``"-0"``."""
    if text is None or text.strip() in ("", "+", "-"):
        return Decimal(0)
    try:
        return Decimal(text.strip().replace(",", ""))
    except InvalidOperation as exc:
        raise WireFormatError(f"not a decimal: {text!r}") from exc


def format_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def format_time(moment: datetime | time) -> str:
    return moment.strftime("%H%M%S")


def format_timestamp(moment: datetime) -> str:
    """``YYYYMMDDHHMMSS`` in KST, the form of chart times and token expiry."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(KST)
    return moment.strftime("%Y%m%d%H%M%S")


def _digits(text: str, widths: tuple[int, ...], shape: str) -> list[int]:
    """Fixed-width ASCII digit fields. Not ``strptime``: it read ``"2026112"`` as
    2026-11-02, and a time cost three times as much (every realtime frame has one)."""
    cleaned = text.strip()
    if len(cleaned) != sum(widths) or not (cleaned.isascii() and cleaned.isdigit()):
        raise WireFormatError(f"not a {shape}: {text!r}")
    values, start = [], 0
    for width in widths:
        values.append(int(cleaned[start : start + width]))
        start += width
    return values


def parse_date(text: str) -> date:
    shape = "YYYYMMDD date"
    year, month, day = _digits(text, (4, 2, 2), shape)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise WireFormatError(f"not a {shape}: {text!r}") from exc


def parse_timestamp(text: str) -> datetime:
    """``YYYYMMDDHHMMSS`` (KST) into an aware datetime."""
    shape = "YYYYMMDDHHMMSS timestamp"
    year, month, day, hour, minute, second = _digits(text, (4, 2, 2, 2, 2, 2), shape)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=KST)
    except ValueError as exc:
        raise WireFormatError(f"not a {shape}: {text!r}") from exc


def parse_time(text: str, on: date) -> datetime:
    """``HHMMSS`` on the given KST date."""
    shape = "HHMMSS time"
    hour, minute, second = _digits(text, (2, 2, 2), shape)
    try:
        return datetime(on.year, on.month, on.day, hour, minute, second, tzinfo=KST)
    except ValueError as exc:
        raise WireFormatError(f"not a {shape}: {text!r}") from exc
