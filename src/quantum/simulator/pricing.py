"""Seeded price process on the KRX tick grid.

Everything random in the simulator comes from a :class:`random.Random` seeded by
:func:`stable_seed`, so the same simulator seed replays the same market in any
process (``hash()`` is salted per process and would not).

:class:`PriceWalk` is one stock's randomness for one trading day. Its price step
is a lazy random walk in ticks (mostly flat, sometimes ±1, rarely ±2–3) with a
mean-reverting bias toward the day's base price. The bias is chosen so the
stationary spread is about :data:`DAILY_VOL` of the price whatever the tick's
relative size, which keeps a day well away from its ±30 % limits.

The market maker's book quantities come from a second generator that is
re-seeded per step (:meth:`PriceWalk.reseed_book`): the book of step *n* is the
same whether it is looked at or not, so the market can quote lazily without the
price path depending on who asked for the book.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import date

from quantum.krx.rules import PriceLimits, floor_tick, tick_down, tick_size, tick_up

#: Chance that one step moves the price at all.
MOVE_PROB = 0.15
#: Given a move, the cumulative chances of moving 1 and 2 ticks (else 3).
ONE_TICK, TWO_TICKS = 0.93, 0.99
#: Target spread of the price around the base price, as a fraction of it.
DAILY_VOL = 0.01
#: The directional bias never exceeds this (probability of up is 0.5 ± this).
MAX_BIAS = 0.4
#: Opening gap: standard deviation of open/base − 1.
OPEN_GAP_VOL = 0.004
#: Typical notional of one synthetic trade (KRW), before the stock's activity.
TRADE_NOTIONAL = 3_000_000
#: Pareto shape of trade sizes (heavy tail) and the largest multiple allowed.
TRADE_ALPHA, TRADE_CAP = 1.5, 400.0
#: Notional the market maker shows per book level (KRW) at liquidity scale 1.
BOOK_NOTIONAL = 20_000_000
#: Levels shown on each side of the book.
BOOK_LEVELS = 10

_BOOK_SALT = 0x5EED_B00C
# With P(up) = 0.5 - c·x, x = price/base - 1, the walk's stationary variance is
# tick/(4c·price); c = (tick/price)/(4·DAILY_VOL²) makes it DAILY_VOL².
_BIAS_DENOM = 4.0 * DAILY_VOL * DAILY_VOL


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts`` that is the same in every process and run."""
    text = "\x1f".join(repr(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def activity(seed: int, code: str) -> float:
    """A stock's trading-activity factor (≈ 0.25–4, median 1), fixed per seed and code.

    Scales traded volume, so some stocks trade heavily and some thinly; the same
    factor is used for the generated history and the live session.
    """
    rng = random.Random(stable_seed("activity", seed, code))
    return min(4.0, max(0.25, rng.lognormvariate(0.0, 0.7)))


def round_tick(value: float) -> int:
    """The grid price nearest to ``value`` (at least 1)."""
    price = max(1, int(value))
    low = floor_tick(price)
    tick = tick_size(low)
    return low + tick if value - low >= tick / 2 else low


class PriceWalk:
    """One stock's randomness for one trading day.

    ``step``, ``trade_qty`` and ``open_price`` draw from :attr:`rng`, in call
    order; ``book_qty`` draws from :attr:`book_rng` (see :meth:`reseed_book`).
    """

    __slots__ = ("_seed", "activity", "book_rng", "liquidity_scale", "rng", "trade_base")

    def __init__(
        self,
        seed: int,
        code: str,
        trading_date: date,
        liquidity_scale: float = 1.0,
    ) -> None:
        self._seed = stable_seed("walk", seed, code, trading_date.isoformat())
        self.rng = random.Random(self._seed)
        self.book_rng = random.Random(self._seed ^ _BOOK_SALT)
        self.liquidity_scale = liquidity_scale
        self.activity = activity(seed, code)
        self.trade_base = TRADE_NOTIONAL * self.activity

    def open_price(self, base_price: int, limits: PriceLimits) -> int:
        """The day's first price: the base price plus a small opening gap."""
        gap = self.rng.gauss(0.0, OPEN_GAP_VOL)
        return limits.clamp(round_tick(base_price * (1.0 + gap)))

    def step(self, price: int, limits: PriceLimits, base_price: int) -> int:
        """The next price: a few ticks at most, on the grid, within ``limits``.

        An off-grid or out-of-limits ``price`` is first pulled onto the grid and into
        the limits.
        """
        rng = self.rng
        r = rng.random()
        if r >= MOVE_PROB:
            if price < limits.lower or price > limits.upper or price % tick_size(price):
                return limits.clamp(floor_tick(max(price, 1)))
            return price
        u = r / MOVE_PROB
        ticks = 1 if u < ONE_TICK else 2 if u < TWO_TICKS else 3
        # Bias toward the base price: stationary spread ≈ DAILY_VOL of the price.
        tick = tick_size(price)
        deviation = (price - base_price) / base_price
        bias = tick * deviation / (price * _BIAS_DENOM)
        bias = MAX_BIAS if bias > MAX_BIAS else -MAX_BIAS if bias < -MAX_BIAS else bias
        if price % tick:
            price = floor_tick(price)
        if rng.random() < 0.5 - bias:
            upper = limits.upper
            while ticks and price < upper:
                price += tick_size(price)
                ticks -= 1
            return upper if price > upper else max(price, limits.lower)
        lower = limits.lower
        while ticks and price > lower:
            price -= tick_size(price - 1)
            ticks -= 1
        return lower if price < lower else min(price, limits.upper)

    def trade_qty(self, price: int) -> int:
        """Shares in one synthetic trade: more for cheaper stocks, heavy-tailed."""
        mult = self.rng.paretovariate(TRADE_ALPHA) * 0.5
        if mult > TRADE_CAP:
            mult = TRADE_CAP
        qty = int(self.trade_base * mult / price)
        return qty if qty > 0 else 1

    def reseed_book(self, step: int) -> None:
        """Make the next ``book_qty`` draws those of step ``step`` (a fresh quote)."""
        self.book_rng.seed(self._seed ^ _BOOK_SALT ^ (step * 0x9E3779B1))

    def book_qty(self, price: int, level: int) -> int:
        """The market maker's quantity at book level ``level`` (1 = best).

        About :data:`BOOK_NOTIONAL` × ``liquidity_scale`` KRW per level, a little
        more deeper in the book: a few thousand shares a side for a 70,000 KRW
        stock at scale 1.
        """
        if not 1 <= level <= BOOK_LEVELS:
            raise ValueError(f"book level must be 1..{BOOK_LEVELS}, got {level}")
        depth = 0.6 + 0.1 * level
        notional = BOOK_NOTIONAL * self.liquidity_scale * depth * self.book_rng.uniform(0.5, 1.5)
        return max(1, math.floor(notional / price))

    def quote(
        self, price: int, limits: PriceLimits, step: int
    ) -> tuple[list[list[int]], list[list[int]]]:
        """The market maker's book of step ``step`` around ``price``: ``([price, qty], …)``.

        Bids from ``price`` down, asks from one tick above it up, :data:`BOOK_LEVELS`
        each, best first; levels beyond the price limits are left out.
        """
        self.reseed_book(step)
        bids: list[list[int]] = []
        asks: list[list[int]] = []
        level_price = limits.clamp(price)
        for level in range(1, BOOK_LEVELS + 1):
            bids.append([level_price, self.book_qty(level_price, level)])
            below = tick_down(level_price)
            if below < limits.lower or below == level_price:
                break
            level_price = below
        level_price = tick_up(limits.clamp(price))
        for level in range(1, BOOK_LEVELS + 1):
            if level_price > limits.upper:
                break
            asks.append([level_price, self.book_qty(level_price, level)])
            level_price = tick_up(level_price)
        return bids, asks
