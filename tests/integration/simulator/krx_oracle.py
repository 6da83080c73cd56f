"""An independent copy of the KRX rules (2023 unified tick table, ±30 % limits)
and of Kiwoom's sign and answer conventions, so a slip in the simulator's own tables
does not hide itself in tests that use them."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

_TICKS = ((2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500))


def tick_of(price: int) -> int:
    for upper, tick in _TICKS:
        if price < upper:
            return tick
    return 1_000


def on_grid(price: int) -> bool:
    return price >= 1 and price % tick_of(price) == 0


def limits(base: int) -> tuple[int, int]:
    """(하한가, 상한가): ±30 % of ``base``, the upper rounded down, the lower up to the grid."""
    upper = base * 13 // 10
    upper -= upper % tick_of(upper)
    lower = -(-base * 7 // 10)
    lower += -lower % tick_of(lower)
    return lower, upper


def split(value: str) -> tuple[str, int]:
    """``"+74600"`` → ``("+", 74600)``; ``"74600"`` → ``("", 74600)``."""
    if value[:1] in "+-":
        return value[0], int(value[1:])
    return "", int(value)


def price(value: str) -> int:
    """A price without its direction sign (what a client must do: abs)."""
    return split(value)[1]


def direction(value: int, reference: int) -> str:
    return "+" if value > reference else "-" if value < reference else ""


def expected_rate(part: int, whole: int) -> str:
    """A rate as Kiwoom writes it: two decimals, a real sign, unsigned ``"0.00"``."""
    rounded = (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if rounded == 0:
        return "0.00"
    return f"+{rounded}" if rounded > 0 else str(rounded)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["return_code"] == 0, body
    return body


def error_code(response: httpx.Response) -> tuple[int, str]:
    """(top-level return_code, the 4-digit code in brackets) of an error answer."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"return_code", "return_msg"}, body
    match = re.search(r"\[(\d{4}):", body["return_msg"])
    assert match, body
    return body["return_code"], match.group(1)
