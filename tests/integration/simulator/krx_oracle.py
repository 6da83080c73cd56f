"""An independent copy of the KRX rules (2023 unified tick table, ±30 % limits)
and of Kiwoom's sign conventions, so a slip in the simulator's own tables
does not hide itself in tests that use them."""

from __future__ import annotations

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
