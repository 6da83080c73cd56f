"""Year and 250-day highs and lows for ka10001, without rescanning years of
bars on every request: the finished days are scanned once per trading day,
and only today's bar is folded in per call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from quantum.simulator.history import Bar
from quantum.simulator.market import Market

WINDOW = 250


@dataclass(frozen=True, slots=True)
class Extreme:
    price: int
    day: date


@dataclass(frozen=True, slots=True)
class Extremes:
    year_high: int
    year_low: int
    high: Extreme
    """Highest high of the last 250 trading days (today included)."""
    low: Extreme
    previous_volume: int


@dataclass(frozen=True, slots=True)
class _Finished:
    year_high: int | None
    year_low: int | None
    high: Extreme
    low: Extreme
    previous_volume: int


class PriceStats:
    def __init__(self, market: Market) -> None:
        self._market = market
        self._finished: dict[tuple[str, date, int], _Finished] = {}

    def extremes(self, code: str, today: date) -> Extremes:
        bars = self._market.daily_bars(code)
        current = bars[-1] if bars and bars[-1].start.date() == today else None
        finished_count = len(bars) - (1 if current is not None else 0)
        key = (code, today, finished_count)
        finished = self._finished.get(key)
        if finished is None:
            finished = self._finished[key] = _scan(bars[:finished_count], today)
        return _fold(finished, current)


def _scan(bars: list[Bar], today: date) -> _Finished:
    year = [bar for bar in bars if bar.start.year == today.year]
    recent = bars[-(WINDOW - 1) :] or bars[-1:]
    high = max(recent, key=lambda bar: bar.high)
    low = min(recent, key=lambda bar: bar.low)
    return _Finished(
        max((bar.high for bar in year), default=None),
        min((bar.low for bar in year), default=None),
        Extreme(high.high, high.start.date()),
        Extreme(low.low, low.start.date()),
        bars[-1].volume if bars else 0,
    )


def _fold(finished: _Finished, current: Bar | None) -> Extremes:
    high, low = finished.high, finished.low
    year_high, year_low = finished.year_high, finished.year_low
    if current is not None:
        day = current.start.date()
        if current.high > high.price:
            high = Extreme(current.high, day)
        if current.low < low.price:
            low = Extreme(current.low, day)
        year_high = max(year_high or current.high, current.high)
        year_low = min(year_low or current.low, current.low)
    return Extremes(
        year_high if year_high is not None else high.price,
        year_low if year_low is not None else low.price,
        high,
        low,
        finished.previous_volume,
    )
