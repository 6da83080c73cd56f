"""Generated daily history and bar aggregation."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum.krx.rules import is_on_tick, price_limits
from quantum.krx.sessions import KrxCalendar
from quantum.simulator.clock import KST
from quantum.simulator.history import (
    Bar,
    aggregate,
    aggregate_minutes,
    daily_history,
    minute_bucket,
)

FIRST_DAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def days() -> list[date]:
    return KrxCalendar().trading_days_before(FIRST_DAY, 1_250)


def check_bars(bars: list[Bar], last_close: int) -> None:
    assert bars[-1].close == last_close
    for bar in bars:
        prices = (bar.open, bar.high, bar.low, bar.close)
        assert all(is_on_tick(price) for price in prices), bar
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.volume > 0
        assert bar.low * bar.volume <= bar.turnover <= bar.high * bar.volume * 1.01
    for before, after in itertools.pairwise(bars):
        limits = price_limits(before.close)
        assert limits.contains(after.close)
        assert limits.contains(after.open)
        assert limits.contains(after.high)
        assert limits.contains(after.low)


def test_history_ends_at_the_last_close_on_the_given_days(days: list[date]) -> None:
    bars = daily_history(7, "005930", 70_000, days)
    assert [bar.start for bar in bars] == [
        datetime(d.year, d.month, d.day, tzinfo=KST) for d in days
    ]
    assert days[-1] == date(2026, 11, 23)
    check_bars(bars, 70_000)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**40),
    last_close=st.sampled_from([1, 2, 5, 1_000, 1_995, 2_000, 4_995, 19_990, 70_000, 850_000]),
)
def test_history_is_valid_for_any_seed_and_price(seed: int, last_close: int) -> None:
    days = [FIRST_DAY - timedelta(days=n) for n in range(400, 0, -1)]
    check_bars(daily_history(seed, "000660", last_close, days), last_close)


def test_history_is_deterministic_by_seed(days: list[date]) -> None:
    assert daily_history(1, "005930", 70_000, days) == daily_history(1, "005930", 70_000, days)
    assert daily_history(1, "005930", 70_000, days) != daily_history(2, "005930", 70_000, days)
    assert daily_history(1, "005930", 70_000, days) != daily_history(1, "000660", 70_000, days)


def test_history_stays_in_a_plausible_band(days: list[date]) -> None:
    for seed in range(10):
        bars = daily_history(seed, "005930", 70_000, days)
        assert min(bar.low for bar in bars) > 70_000 / 5
        assert max(bar.high for bar in bars) < 70_000 * 5


def test_history_edge_cases() -> None:
    assert daily_history(1, "005930", 70_000, []) == []
    (only,) = daily_history(1, "005930", 70_000, [FIRST_DAY])
    assert only.close == 70_000
    with pytest.raises(ValueError, match="tick"):
        daily_history(1, "005930", 70_001, [FIRST_DAY])


def day_bar(d: date, o: int, h: int, low: int, c: int, v: int) -> Bar:
    return Bar(datetime(d.year, d.month, d.day, tzinfo=KST), o, h, low, c, v, v * c)


def test_weekly_aggregation_uses_iso_weeks_and_first_trading_day() -> None:
    bars = [
        day_bar(date(2026, 12, 29), 100, 110, 90, 105, 1),  # Tue, ISO week 2026-53
        day_bar(date(2026, 12, 30), 105, 120, 100, 115, 2),
        day_bar(date(2027, 1, 4), 115, 116, 80, 85, 3),  # Mon, ISO week 2027-01
        day_bar(date(2027, 1, 8), 85, 95, 84, 90, 4),
    ]
    weeks = aggregate(bars, "W")
    assert weeks == [
        Bar(bars[0].start, 100, 120, 90, 115, 3, 105 + 230),
        Bar(bars[2].start, 115, 116, 80, 90, 7, 255 + 360),
    ]


def test_monthly_and_yearly_aggregation(days: list[date]) -> None:
    bars = daily_history(5, "005930", 70_000, days)
    months = aggregate(bars, "M")
    years = aggregate(bars, "Y")
    assert sum(bar.volume for bar in months) == sum(bar.volume for bar in bars)
    assert sum(bar.turnover for bar in years) == sum(bar.turnover for bar in bars)
    assert len({(bar.start.year, bar.start.month) for bar in bars}) == len(months)
    assert [bar.start.year for bar in years] == sorted({d.year for d in days})
    november = [bar for bar in bars if (bar.start.year, bar.start.month) == (2026, 11)]
    assert months[-1] == Bar(
        november[0].start,
        november[0].open,
        max(bar.high for bar in november),
        min(bar.low for bar in november),
        november[-1].close,
        sum(bar.volume for bar in november),
        sum(bar.turnover for bar in november),
    )
    assert years[-1].close == 70_000
    with pytest.raises(ValueError, match="period"):
        aggregate(bars, "Q")  # type: ignore[arg-type]


def minute_bar(hour: int, minute: int, price: int, volume: int = 10) -> Bar:
    start = datetime(2026, 11, 24, hour, minute, tzinfo=KST)
    return Bar(start, price, price + 1, price - 1, price, volume, volume * price)


def test_minute_bucket_counts_from_the_open() -> None:
    moment = datetime(2026, 11, 24, 10, 7, tzinfo=KST)
    assert minute_bucket(moment, 5) == datetime(2026, 11, 24, 10, 5, tzinfo=KST)
    assert minute_bucket(moment, 45) == datetime(2026, 11, 24, 9, 45, tzinfo=KST)
    assert minute_bucket(moment, 60) == datetime(2026, 11, 24, 10, 0, tzinfo=KST)


def test_n_minute_aggregation() -> None:
    bars = [minute_bar(9, m, 1_000 + m) for m in range(0, 12)] + [minute_bar(9, 20, 900)]
    five = aggregate_minutes(bars, 5)
    assert [bar.start.minute for bar in five] == [0, 5, 10, 20]
    assert five[0] == Bar(
        bars[0].start, 1_000, 1_005, 999, 1_004, 50, sum(bar.turnover for bar in bars[:5])
    )
    assert five[2].volume == 20
    assert five[2].close == 1_011
    assert aggregate_minutes(bars, 1) == bars
    assert sum(bar.volume for bar in aggregate_minutes(bars, 30)) == sum(b.volume for b in bars)
    with pytest.raises(ValueError, match="positive"):
        aggregate_minutes(bars, 0)


def test_n_minute_buckets_restart_each_day() -> None:
    day_one = minute_bar(15, 19, 1_000)
    day_two = Bar(datetime(2026, 11, 25, 9, 0, tzinfo=KST), 990, 991, 989, 990, 5, 4_950)
    assert [bar.start for bar in aggregate_minutes([day_one, day_two], 60)] == [
        datetime(2026, 11, 24, 15, 0, tzinfo=KST),
        day_two.start,
    ]
