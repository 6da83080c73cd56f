"""Seeded daily history and bar aggregation.

The history is generated *backward* from a known last close (the listing's base
price), so the simulated session continues seamlessly from it. Every price is
on the KRX grid and each close lies within the ±30 % limits of the previous one.

Aggregation turns daily bars into weekly (ISO week), monthly and yearly bars,
and 1-minute bars into N-minute bars bucketed from the 09:00 session open.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, TypeVar

from quantum.krx.rules import TICK_TABLE, tick_size
from quantum.simulator.clock import KST
from quantum.simulator.pricing import TRADE_NOTIONAL, activity, stable_seed

#: Session open: N-minute bars are bucketed from here.
SESSION_OPEN = time(9, 0)
#: Typical daily turnover (KRW) of a stock with activity factor 1.
DAILY_NOTIONAL = TRADE_NOTIONAL * 23_400 * 1.2
#: Per-day backward reversion of log(price/last close) toward 0.
REVERSION = 0.004
#: The largest daily close-to-close log return generated.
MAX_RETURN = 0.2

Period = Literal["W", "M", "Y"]
_K = TypeVar("_K")


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ``start`` in KST (00:00 of the first trading day for D/W/M/Y)."""

    start: datetime
    open: int
    high: int
    low: int
    close: int
    volume: int
    turnover: int


_UPPERS = tuple(upper for upper, _ in TICK_TABLE)
_TICKS = tuple(tick for _, tick in TICK_TABLE)


def _limits(base: int) -> tuple[int, int]:
    """(lower, upper) ±30 % limits of ``base``, as ``rules.price_limits`` but all-int and fast."""
    upper = base * 13 // 10
    upper -= upper % _TICKS[bisect_right(_UPPERS, upper)]
    lower = -(-base * 7 // 10)
    if lower < 1:
        return 1, upper
    return lower + (-lower) % _TICKS[bisect_right(_UPPERS, lower)], upper


def _nearest(value: float) -> int:
    """The grid price nearest to ``value`` (at least 1)."""
    price = int(value) if value >= 1.0 else 1
    low = price - price % _TICKS[bisect_right(_UPPERS, price)]
    tick = _TICKS[bisect_right(_UPPERS, low)]
    return low + tick if value - low >= tick * 0.5 else low


def _closes(rng: random.Random, last_close: int, n: int, vol: float) -> list[int]:
    """``n`` closes ending at ``last_close``, each within the limits of the one before."""
    closes = [0] * n
    closes[-1] = close = last_close
    x = 0.0  # log(close / last_close)
    gauss = rng.gauss
    for i in range(n - 1, 0, -1):
        ret = gauss(0.0, vol) + REVERSION * x
        ret = MAX_RETURN if ret > MAX_RETURN else -MAX_RETURN if ret < -MAX_RETURN else ret
        prev = _nearest(close * math.exp(-ret))
        lower, upper = _limits(prev)
        while close > upper:  # only for prices of a few won, where ticks are coarse
            prev += tick_size(prev)
            lower, upper = _limits(prev)
        while close < lower:
            prev -= tick_size(prev - 1)
            lower, upper = _limits(prev)
        closes[i - 1] = close = prev
        x = math.log(prev / last_close)
    return closes


def daily_history(seed: int, code: str, last_close: int, days: list[date]) -> list[Bar]:
    """Daily bars for ``days`` (ascending), oldest first, the last closing at ``last_close``.

    Deterministic for ``(seed, code, last_close, days)``. ``ValueError`` if
    ``last_close`` is not a valid grid price.
    """
    if last_close < 1 or last_close % tick_size(last_close):
        raise ValueError(f"last close {last_close} is not on the tick grid")
    n = len(days)
    if n == 0:
        return []
    rng = random.Random(stable_seed("history", seed, code, last_close, days[0], days[-1], n))
    vol = rng.uniform(0.01, 0.022)
    closes = _closes(rng, last_close, n, vol)
    notional = DAILY_NOTIONAL * activity(seed, code)
    gauss, lognorm = rng.gauss, rng.lognormvariate
    open_vol, wick_vol = vol / 3.0, vol / 2.0
    bars: list[Bar] = []
    prev_close = closes[0]
    for day, close in zip(days, closes, strict=True):
        lower, upper = _limits(prev_close)
        opening = _nearest(prev_close * (1.0 + gauss(0.0, open_vol)))
        opening = lower if opening < lower else upper if opening > upper else opening
        top, bottom = max(opening, close), min(opening, close)
        high = _nearest(top * (1.0 + abs(gauss(0.0, wick_vol))))
        high = top if high < top else upper if high > upper else high
        low = _nearest(bottom * (1.0 - abs(gauss(0.0, wick_vol))))
        low = bottom if low > bottom else lower if low < lower else low
        move = abs(close - prev_close) / prev_close
        typical = (high + low + close) / 3.0
        volume = max(1, int(notional / typical * lognorm(0.0, 0.35) * (0.6 + 8.0 * move)))
        turnover = volume * (high + low + close) // 3
        start = datetime(day.year, day.month, day.day, tzinfo=KST)
        bars.append(Bar(start, opening, high, low, close, volume, turnover))
        prev_close = close
    return bars


def _merge(group: Sequence[Bar], start: datetime) -> Bar:
    return Bar(
        start=start,
        open=group[0].open,
        high=max(bar.high for bar in group),
        low=min(bar.low for bar in group),
        close=group[-1].close,
        volume=sum(bar.volume for bar in group),
        turnover=sum(bar.turnover for bar in group),
    )


def _grouped(bars: Iterable[Bar], key: Callable[[Bar], _K]) -> list[tuple[_K, list[Bar]]]:
    """Consecutive runs of bars with equal ``key``."""
    groups: list[tuple[_K, list[Bar]]] = []
    for bar in bars:
        k = key(bar)
        if groups and groups[-1][0] == k:
            groups[-1][1].append(bar)
        else:
            groups.append((k, [bar]))
    return groups


_PERIOD_KEYS: dict[str, Callable[[Bar], object]] = {
    "W": lambda bar: bar.start.isocalendar()[:2],
    "M": lambda bar: (bar.start.year, bar.start.month),
    "Y": lambda bar: bar.start.year,
}


def aggregate(bars: Iterable[Bar], period: Period) -> list[Bar]:
    """Daily bars (oldest first) merged per ISO week, month or year.

    A merged bar starts at its first daily bar (the period's first trading day).
    """
    try:
        key = _PERIOD_KEYS[period]
    except KeyError:
        raise ValueError(f"period must be 'W', 'M' or 'Y', got {period!r}") from None
    return [_merge(group, group[0].start) for _, group in _grouped(bars, key)]


def minute_bucket(start: datetime, minutes: int) -> datetime:
    """The start of the ``minutes``-wide bucket holding ``start``, counted from 09:00."""
    opening = datetime.combine(start.date(), SESSION_OPEN, tzinfo=start.tzinfo)
    offset = (start - opening) // timedelta(minutes=minutes)
    return opening + offset * timedelta(minutes=minutes)


def aggregate_minutes(bars_1m: Iterable[Bar], minutes: int) -> list[Bar]:
    """1-minute bars (oldest first) merged into ``minutes``-minute bars.

    Buckets are counted from the 09:00 session open of each bar's day, so with
    ``minutes=15`` the bars start at 09:00, 09:15, …; a bucket starts at its
    bucket boundary even if its first minute had no bar.
    """
    if minutes < 1:
        raise ValueError(f"minutes must be positive, got {minutes}")
    if minutes == 1:
        return list(bars_1m)
    return [
        _merge(group, key)
        for key, group in _grouped(bars_1m, lambda bar: minute_bucket(bar.start, minutes))
    ]
