"""KRX trading days (XKRX) and the phase table, including late opens and fallbacks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from quantum.krx.sessions import (
    PHASE_BY_ORDER_TYPE,
    DaySchedule,
    KrxCalendar,
    Phase,
)
from quantum.simulator.clock import KST

NORMAL_DAY = date(2025, 9, 16)  # a Tuesday
FIRST_DAY_2026 = date(2026, 1, 2)  # opens at 10:00


@pytest.fixture(scope="module")
def calendar() -> KrxCalendar:
    return KrxCalendar()


def at(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=KST)


P = Phase


@pytest.mark.parametrize(
    ("hm", "phases"),
    [
        ((8, 0), {P.CLOSED}),
        ((8, 29), {P.CLOSED}),
        ((8, 30), {P.PRE_HOURS_CLOSING_PRICE, P.PRE_OPEN_AUCTION}),
        ((8, 35), {P.PRE_HOURS_CLOSING_PRICE, P.PRE_OPEN_AUCTION}),
        ((8, 40), {P.PRE_OPEN_AUCTION}),
        ((8, 59), {P.PRE_OPEN_AUCTION}),
        ((9, 0), {P.CONTINUOUS}),
        ((12, 0), {P.CONTINUOUS}),
        ((15, 19), {P.CONTINUOUS}),
        ((15, 20), {P.CLOSING_AUCTION}),
        ((15, 30), {P.CLOSED}),
        ((15, 40), {P.POST_HOURS_CLOSING_PRICE}),
        ((16, 0), {P.POST_HOURS_SINGLE_PRICE}),
        ((17, 59), {P.POST_HOURS_SINGLE_PRICE}),
        ((18, 0), {P.CLOSED}),
        ((23, 0), {P.CLOSED}),
    ],
)
def test_normal_day_phases(calendar: KrxCalendar, hm: tuple[int, int], phases: set[Phase]) -> None:
    assert calendar.phases_at(at(NORMAL_DAY, *hm)) == frozenset(phases)


def test_naive_and_foreign_times_are_read_as_kst(calendar: KrxCalendar) -> None:
    assert calendar.phases_at(datetime(2025, 9, 16, 10, 0)) == {Phase.CONTINUOUS}
    utc_0100 = datetime(2025, 9, 16, 1, 0, tzinfo=UTC)  # 10:00 KST
    assert calendar.phases_at(utc_0100) == {Phase.CONTINUOUS}
    assert calendar.continuous_seconds(utc_0100) == 3_600.0


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2025, 9, 20), "Saturday"),
        (date(2025, 9, 21), "Sunday"),
        (date(2025, 10, 6), "Chuseok"),
        (date(2025, 12, 31), "year-end closing"),
        (date(2026, 1, 1), "New Year's Day"),
    ],
)
def test_closed_days(calendar: KrxCalendar, day: date, reason: str) -> None:
    assert not calendar.is_trading_day(day), reason
    assert calendar.schedule(day) is None
    assert calendar.phases_at(at(day, 10, 0)) == {Phase.CLOSED}
    assert calendar.continuous_seconds(at(day, 12, 0)) == 0.0


def test_chuseok_week(calendar: KrxCalendar) -> None:
    assert calendar.trading_days(date(2025, 10, 1), date(2025, 10, 13)) == [
        date(2025, 10, 1),
        date(2025, 10, 2),
        date(2025, 10, 10),
        date(2025, 10, 13),
    ]
    assert calendar.next_trading_day(date(2025, 10, 2)) == date(2025, 10, 10)
    assert calendar.previous_trading_day(date(2025, 10, 10)) == date(2025, 10, 2)


def test_first_trading_day_of_2026_opens_late(calendar: KrxCalendar) -> None:
    day = calendar.schedule(FIRST_DAY_2026)
    assert day is not None
    assert (day.open, day.close) == (at(FIRST_DAY_2026, 10, 0), at(FIRST_DAY_2026, 15, 30))
    assert day.window(Phase.PRE_HOURS_CLOSING_PRICE) == (
        at(FIRST_DAY_2026, 9, 30),
        at(FIRST_DAY_2026, 9, 40),
    )
    assert calendar.phases_at(at(FIRST_DAY_2026, 9, 5)) == {Phase.CLOSED}
    assert calendar.phases_at(at(FIRST_DAY_2026, 9, 45)) == {Phase.PRE_OPEN_AUCTION}
    assert calendar.phases_at(at(FIRST_DAY_2026, 10, 0)) == {Phase.CONTINUOUS}
    assert calendar.market_session_code(at(FIRST_DAY_2026, 9, 30)) == "1"
    assert calendar.continuous_seconds(at(FIRST_DAY_2026, 10, 30)) == 1_800.0


def test_schedule_windows_follow_the_table(calendar: KrxCalendar) -> None:
    day = calendar.schedule(NORMAL_DAY)
    assert day == DaySchedule.build(NORMAL_DAY, at(NORMAL_DAY, 9, 0), at(NORMAL_DAY, 15, 30))
    assert day.window(Phase.CONTINUOUS) == (at(NORMAL_DAY, 9, 0), at(NORMAL_DAY, 15, 20))
    assert day.window(Phase.POST_HOURS_SINGLE_PRICE) == (
        at(NORMAL_DAY, 16, 0),
        at(NORMAL_DAY, 18, 0),
    )
    assert day.window(Phase.CLOSED) is None
    assert calendar.schedule(NORMAL_DAY) is day  # cached


@pytest.mark.parametrize(
    ("hm", "code"),
    [
        ((7, 0), "1"),
        ((8, 59), "1"),
        ((9, 0), "2"),
        ((15, 29), "2"),
        ((15, 30), "3"),
        ((20, 0), "3"),
    ],
)
def test_market_session_code(calendar: KrxCalendar, hm: tuple[int, int], code: str) -> None:
    assert calendar.market_session_code(at(NORMAL_DAY, *hm)) == code


def test_market_session_code_on_a_holiday_follows_nominal_hours(calendar: KrxCalendar) -> None:
    assert calendar.market_session_code(at(date(2025, 10, 6), 8, 0)) == "1"
    assert calendar.market_session_code(at(date(2025, 10, 6), 10, 0)) == "2"
    assert calendar.market_session_code(at(date(2025, 10, 6), 16, 0)) == "3"


@pytest.mark.parametrize(
    ("hms", "seconds"),
    [((8, 0, 0), 0.0), ((9, 0, 0), 0.0), ((9, 0, 30), 30.0), ((10, 0, 0), 3_600.0),
     ((15, 20, 0), 22_800.0), ((15, 25, 0), 22_800.0), ((19, 0, 0), 22_800.0)],
)  # fmt: skip
def test_continuous_seconds(
    calendar: KrxCalendar, hms: tuple[int, int, int], seconds: float
) -> None:
    assert calendar.continuous_seconds(at(NORMAL_DAY, *hms)) == seconds


def test_previous_and_next_are_strict(calendar: KrxCalendar) -> None:
    assert calendar.previous_trading_day(NORMAL_DAY) == date(2025, 9, 15)
    assert calendar.next_trading_day(NORMAL_DAY) == date(2025, 9, 17)
    assert calendar.previous_trading_day(date(2026, 1, 2)) == date(2025, 12, 30)
    assert calendar.next_trading_day(date(2025, 12, 30)) == date(2026, 1, 2)


def test_trading_days_inclusive_and_sorted(calendar: KrxCalendar) -> None:
    days = calendar.trading_days(date(2025, 12, 24), date(2026, 1, 6))
    assert days == [
        date(2025, 12, 24),
        date(2025, 12, 26),
        date(2025, 12, 29),
        date(2025, 12, 30),
        date(2026, 1, 2),
        date(2026, 1, 5),
        date(2026, 1, 6),
    ]
    assert calendar.trading_days(date(2026, 1, 6), date(2025, 12, 24)) == []


def test_trading_days_before_shape(calendar: KrxCalendar) -> None:
    """Its cost is bench.simulator's ``calendar_1300_trading_days_ms``."""
    days = calendar.trading_days_before(NORMAL_DAY, 1_300)
    assert len(days) == 1_300
    assert days == sorted(set(days))
    assert days[-1] == date(2025, 9, 15)
    assert all(calendar.is_trading_day(day) for day in days)
    assert days == calendar.trading_days(days[0], days[-1])
    assert calendar.trading_days_before(NORMAL_DAY, 0) == []
    with pytest.raises(ValueError, match="count"):
        calendar.trading_days_before(NORMAL_DAY, -1)


def test_weekday_fallback_outside_the_calendar(calendar: KrxCalendar) -> None:
    far = date(2040, 6, 5)  # a Tuesday, beyond XKRX's range
    assert calendar.is_trading_day(far)
    assert not calendar.is_trading_day(date(2040, 6, 2))
    assert calendar.previous_trading_day(date(2040, 6, 4)) == date(2040, 6, 1)
    schedule = calendar.schedule(far)
    assert schedule is not None
    assert schedule.open == at(far, 9, 0)
    early = date(2006, 11, 27)  # XKRX's first session, a Monday
    assert calendar.previous_trading_day(early) == date(2006, 11, 24)
    assert calendar.trading_days(date(2006, 11, 22), early) == [
        date(2006, 11, 22),
        date(2006, 11, 23),
        date(2006, 11, 24),
        early,
    ]
    across = calendar.trading_days_before(far, 300)
    assert len(across) == 300
    assert across == sorted(set(across))
    assert across[-1] == date(2040, 6, 4)


def test_trading_days_before_crosses_the_calendar_end(calendar: KrxCalendar) -> None:
    start = date(2006, 12, 1)
    days = calendar.trading_days_before(start, 10)
    assert days[-1] == calendar.previous_trading_day(start)
    assert days == calendar.trading_days(days[0], days[-1])
    assert len(days) == 10
    assert days[0] < date(2006, 11, 27)


def test_every_phase_window_is_ordered(calendar: KrxCalendar) -> None:
    day = calendar.schedule(NORMAL_DAY)
    assert day is not None
    for _, start, end in day.windows:
        assert start < end
    assert {phase for phase, _, _ in day.windows} == set(Phase) - {Phase.CLOSED}


def test_order_types_map_to_their_phases() -> None:
    assert PHASE_BY_ORDER_TYPE == {
        "61": Phase.PRE_HOURS_CLOSING_PRICE,
        "81": Phase.POST_HOURS_CLOSING_PRICE,
        "62": Phase.POST_HOURS_SINGLE_PRICE,
    }


def test_phases_are_never_empty_over_a_whole_day(calendar: KrxCalendar) -> None:
    moment = at(NORMAL_DAY, 0, 0)
    while moment.date() == NORMAL_DAY:
        assert calendar.phases_at(moment)
        moment += timedelta(minutes=5)
