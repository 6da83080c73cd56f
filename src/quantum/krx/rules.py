"""KRX price rules as data: the tick-size table and the ±30 % daily price limits.

Since 2023 KOSPI and KOSDAQ share one tick table. Every band starts on a multiple
of its own tick (and of the next band's tick), so "on the grid" is simply
``price % tick_size(price) == 0`` and moving across a band boundary never skips
or invents a price. All arithmetic is integer or :class:`~decimal.Decimal`, so
limits match the exchange exactly, never off by a float rounding.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

#: (upper bound exclusive, tick) per price band, ascending; the last band is open.
TICK_TABLE: tuple[tuple[int, int], ...] = (
    (2_000, 1),
    (5_000, 5),
    (20_000, 10),
    (50_000, 50),
    (200_000, 100),
    (500_000, 500),
    (sys.maxsize, 1_000),
)

#: Daily price-limit rate (상한가/하한가) relative to the base price.
LIMIT_RATE = Decimal("0.30")

#: The lowest valid price; nothing trades at zero.
MIN_PRICE = 1

_UPPER = tuple(upper for upper, _ in TICK_TABLE)
_LOWER = (0, *_UPPER[:-1])
_TICK = tuple(tick for _, tick in TICK_TABLE)


def _band(price: int) -> int:
    """Index of the table band holding ``price`` (prices below 0 count as band 0)."""
    return bisect_right(_UPPER, price) if price >= 0 else 0


def tick_size(price: int) -> int:
    """The tick (호가단위) that applies at ``price``."""
    return _TICK[_band(price)]


def is_on_tick(price: int) -> bool:
    """Whether ``price`` is a valid order price on the KRX grid."""
    return price >= MIN_PRICE and price % tick_size(price) == 0


def floor_tick(price: int) -> int:
    """The largest valid price ≤ ``price``; ``ValueError`` if there is none."""
    if price < MIN_PRICE:
        raise ValueError(f"no valid price at or below {price}")
    return price - price % tick_size(price)


def ceil_tick(price: int) -> int:
    """The smallest valid price ≥ ``price`` (at least :data:`MIN_PRICE`).

    Rounding up may land on the next band's lower bound, which is on both grids.
    """
    if price < MIN_PRICE:
        return MIN_PRICE
    return price + (-price) % tick_size(price)


def tick_up(price: int, n: int = 1) -> int:
    """The ``n``-th valid price above ``price`` (an off-grid price's first step is its ceil).

    Works band by band, so a jump of thousands of ticks costs a few operations.
    A negative ``n`` moves down.
    """
    if n < 0:
        return tick_down(price, -n)
    if n == 0:
        return price
    if not is_on_tick(price):
        price, n = ceil_tick(price), n - 1
    while n:
        band = _band(price)
        room = (_UPPER[band] - price) // _TICK[band]
        if n <= room:
            return price + n * _TICK[band]
        price, n = _UPPER[band], n - room
    return price


def tick_down(price: int, n: int = 1) -> int:
    """The ``n``-th valid price below ``price``, never below :data:`MIN_PRICE`.

    An off-grid price's first step is its floor. A negative ``n`` moves up.
    """
    if n < 0:
        return tick_up(price, -n)
    if n == 0:
        return price
    if price <= MIN_PRICE:
        return MIN_PRICE
    if not is_on_tick(price):
        price, n = floor_tick(price), n - 1
    while n and price > MIN_PRICE:
        band = _band(price - 1)
        floor = max(_LOWER[band], MIN_PRICE)
        room = (price - floor) // _TICK[band]
        if n <= room:
            return price - n * _TICK[band]
        price, n = floor, n - room
    return price


def _valid_at_or_below(price: int) -> int:
    """How many valid prices lie in ``[MIN_PRICE, price]``."""
    count = 0
    for lower, upper, tick in zip(_LOWER, _UPPER, _TICK, strict=True):
        low, high = max(lower, MIN_PRICE), min(upper - 1, price)
        if high < low:
            break
        count += high // tick - (low - 1) // tick
    return count


def ticks_between(low: int, high: int) -> int:
    """Valid prices in ``(low, high]``: for on-grid prices, ``tick_up(low, k) == high``.

    Signed: swapping the arguments negates the result.
    """
    return _valid_at_or_below(high) - _valid_at_or_below(low)


@dataclass(frozen=True, slots=True)
class PriceLimits:
    """A day's allowed price range (하한가..상한가), both ends inclusive and on tick."""

    lower: int
    upper: int

    def contains(self, price: int) -> bool:
        return self.lower <= price <= self.upper

    def clamp(self, price: int) -> int:
        """``price`` pulled into the range (for price processes, not for orders)."""
        return min(max(price, self.lower), self.upper)


def price_limits(base_price: int, rate: Decimal = LIMIT_RATE) -> PriceLimits:
    """Limits around ``base_price`` (기준가): upper rounds down, lower rounds up to the grid.

    ``base × (1 ± rate)`` is exact in Decimal; since grid prices are integers,
    rounding to an integer first and then to the grid loses nothing.
    """
    if base_price < MIN_PRICE:
        raise ValueError(f"base price must be positive, got {base_price}")
    if not Decimal(0) <= rate < Decimal(1):
        raise ValueError(f"limit rate must be in [0, 1), got {rate}")
    base = Decimal(base_price)
    upper = int((base * (1 + rate)).to_integral_value(rounding=ROUND_FLOOR))
    lower = int((base * (1 - rate)).to_integral_value(rounding=ROUND_CEILING))
    return PriceLimits(lower=ceil_tick(max(lower, MIN_PRICE)), upper=floor_tick(upper))
