"""The demo market opens in a session whatever the hour."""

from __future__ import annotations

from datetime import datetime

from quantum.kiwoom.wire import KST
from quantum.platform.demo import demo_start


def test_open_market_keeps_the_real_time() -> None:
    assert demo_start(datetime(2026, 11, 24, 10, 0, tzinfo=KST)) is None


def test_evening_starts_at_todays_open() -> None:
    assert demo_start(datetime(2026, 11, 24, 20, 0, tzinfo=KST)) == datetime(
        2026, 11, 24, 9, 0, tzinfo=KST
    )


def test_early_morning_and_weekend_start_at_the_previous_trading_day() -> None:
    expected = datetime(2026, 11, 27, 9, 0, tzinfo=KST)  # Friday
    assert demo_start(datetime(2026, 11, 30, 7, 0, tzinfo=KST)) == expected  # Monday 07:00
    assert demo_start(datetime(2026, 11, 29, 12, 0, tzinfo=KST)) == expected  # Sunday
