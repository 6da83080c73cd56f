"""KRX trading days and session phases, in KST.

Holidays and each day's open/close come from ``exchange_calendars``' XKRX
calendar, which knows the late opens (10:00 on the year's first trading day and,
until 2020, on CSAT day). The phase windows are one table of offsets from the
day's open or close, so a late open shifts the pre-market phases with it and the
after-hours phases follow the close. Outside the calendar's range every weekday
counts as a 09:00-15:30 trading day.
"""

from __future__ import annotations

import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from itertools import islice

from quantum.simulator.clock import KST


class Phase(StrEnum):
    CLOSED = "closed"
    PRE_HOURS_CLOSING_PRICE = "pre_hours_closing_price"  # 장전 시간외 종가
    PRE_OPEN_AUCTION = "pre_open_auction"  # 장 시작 동시호가
    CONTINUOUS = "continuous"  # 정규장 접속매매
    CLOSING_AUCTION = "closing_auction"  # 장 마감 동시호가
    POST_HOURS_CLOSING_PRICE = "post_hours_closing_price"  # 장후 시간외 종가
    POST_HOURS_SINGLE_PRICE = "post_hours_single_price"  # 시간외 단일가


class Anchor(StrEnum):
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Offset:
    """A moment relative to the day's open or close."""

    anchor: Anchor
    delta: timedelta

    def at(self, open_: datetime, close: datetime) -> datetime:
        return (open_ if self.anchor is Anchor.OPEN else close) + self.delta


def _open(minutes: int) -> Offset:
    return Offset(Anchor.OPEN, timedelta(minutes=minutes))


def _close(minutes: int) -> Offset:
    return Offset(Anchor.CLOSE, timedelta(minutes=minutes))


#: (phase, start, end) — half-open windows; on a normal day open is 09:00, close 15:30.
PHASE_WINDOWS: tuple[tuple[Phase, Offset, Offset], ...] = (
    (Phase.PRE_HOURS_CLOSING_PRICE, _open(-30), _open(-20)),  # 08:30-08:40
    (Phase.PRE_OPEN_AUCTION, _open(-30), _open(0)),  # 08:30-09:00
    (Phase.CONTINUOUS, _open(0), _close(-10)),  # 09:00-15:20
    (Phase.CLOSING_AUCTION, _close(-10), _close(0)),  # 15:20-15:30
    (Phase.POST_HOURS_CLOSING_PRICE, _close(10), _close(30)),  # 15:40-16:00
    (Phase.POST_HOURS_SINGLE_PRICE, _close(30), _close(150)),  # 16:00-18:00
)

#: Kiwoom ``trde_tp`` codes that are only accepted in one phase.
PHASE_BY_ORDER_TYPE: dict[str, Phase] = {
    "61": Phase.PRE_HOURS_CLOSING_PRICE,
    "81": Phase.POST_HOURS_CLOSING_PRICE,
    "62": Phase.POST_HOURS_SINGLE_PRICE,
}

#: Realtime FID 290 (장구분) values.
SESSION_PRE, SESSION_REGULAR, SESSION_POST = "1", "2", "3"

_DEFAULT_OPEN = time(9, 0)
_DEFAULT_CLOSE = time(15, 30)

Window = tuple[Phase, datetime, datetime]


def to_kst(moment: datetime) -> datetime:
    """``moment`` in KST; a naive datetime is taken to be KST already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=KST)
    return moment.astimezone(KST)


@dataclass(frozen=True, slots=True)
class DaySchedule:
    """One trading day: its open and close (KST) and the resolved phase windows."""

    day: date
    open: datetime
    close: datetime
    windows: tuple[Window, ...]

    @classmethod
    def build(cls, day: date, open_: datetime, close: datetime) -> DaySchedule:
        windows = tuple(
            (phase, start.at(open_, close), end.at(open_, close))
            for phase, start, end in PHASE_WINDOWS
        )
        return cls(day=day, open=open_, close=close, windows=windows)

    def window(self, phase: Phase) -> tuple[datetime, datetime] | None:
        """The ``[start, end)`` of ``phase`` on this day (None for CLOSED)."""
        for candidate, start, end in self.windows:
            if candidate is phase:
                return start, end
        return None

    def phases_at(self, moment: datetime) -> frozenset[Phase]:
        moment = to_kst(moment)
        active = frozenset(phase for phase, start, end in self.windows if start <= moment < end)
        return active or frozenset({Phase.CLOSED})

    def continuous_seconds(self, moment: datetime) -> float:
        """Seconds of continuous trading elapsed by ``moment``, clamped to the window."""
        span = self.window(Phase.CONTINUOUS)
        if span is None:
            return 0.0
        start, end = span
        moment = min(max(to_kst(moment), start), end)
        return (moment - start).total_seconds()


@dataclass(frozen=True, slots=True)
class _Sessions:
    """XKRX sessions as plain Python values, so look-ups are bisects, not pandas calls."""

    days: tuple[date, ...]
    opens: tuple[datetime, ...]
    closes: tuple[datetime, ...]

    @property
    def first(self) -> date:
        return self.days[0]

    @property
    def last(self) -> date:
        return self.days[-1]

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


def preload() -> None:
    """Build the exchange calendar now (seconds of CPU): at start-up, in a thread, so
    that the first order does not stall a server's event loop for that long."""
    _xkrx()


@cache
def _xkrx() -> _Sessions:
    """Load XKRX once per process (building the calendar takes seconds)."""
    import exchange_calendars

    with warnings.catch_warnings():
        # exchange_calendars 4.x trips a pandas 3 deprecation it has yet to fix.
        warnings.filterwarnings("ignore", message="Series.values returning")
        calendar = exchange_calendars.get_calendar("XKRX")
    opens = calendar.opens.dt.tz_convert(KST)
    closes = calendar.closes.dt.tz_convert(KST)
    return _Sessions(
        days=tuple(stamp.date() for stamp in calendar.sessions),
        opens=tuple(stamp.to_pydatetime() for stamp in opens),
        closes=tuple(stamp.to_pydatetime() for stamp in closes),
    )


def _weekdays(start: date, end: date) -> list[date]:
    """Monday-Friday in ``[start, end]``: the fallback outside the calendar."""
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return [day for day in days if day.weekday() < 5]


class KrxCalendar:
    """KRX trading days, per-day schedules and the phase at any moment."""

    def __init__(self) -> None:
        self._schedule = lru_cache(maxsize=4096)(self._build_schedule)

    @property
    def _sessions(self) -> _Sessions:
        return _xkrx()

    def is_trading_day(self, d: date) -> bool:
        sessions = self._sessions
        if sessions.covers(d):
            index = bisect_left(sessions.days, d)
            return sessions.days[index] == d
        return d.weekday() < 5

    def trading_days(self, start: date, end: date) -> list[date]:
        """Trading days in ``[start, end]``, ascending."""
        if end < start:
            return []
        sessions = self._sessions
        before = _weekdays(start, min(end, sessions.first - timedelta(days=1)))
        lo, hi = bisect_left(sessions.days, start), bisect_right(sessions.days, end)
        after = _weekdays(max(start, sessions.last + timedelta(days=1)), end)
        return [*before, *sessions.days[lo:hi], *after]

    def _descending_before(self, d: date) -> Iterator[date]:
        sessions = self._sessions
        day = d - timedelta(days=1)
        while day > sessions.last:
            if day.weekday() < 5:
                yield day
            day -= timedelta(days=1)
        for index in range(bisect_right(sessions.days, day) - 1, -1, -1):
            yield sessions.days[index]
        day = min(day, sessions.first - timedelta(days=1))
        while day > date.min:
            if day.weekday() < 5:
                yield day
            day -= timedelta(days=1)

    def _ascending_after(self, d: date) -> Iterator[date]:
        sessions = self._sessions
        day = d + timedelta(days=1)
        while day < sessions.first:
            if day.weekday() < 5:
                yield day
            day += timedelta(days=1)
        for index in range(bisect_left(sessions.days, day), len(sessions.days)):
            yield sessions.days[index]
        day = max(day, sessions.last + timedelta(days=1))
        while day < date.max:
            if day.weekday() < 5:
                yield day
            day += timedelta(days=1)

    def previous_trading_day(self, d: date) -> date:
        """The last trading day strictly before ``d``."""
        return next(self._descending_before(d))

    def next_trading_day(self, d: date) -> date:
        """The first trading day strictly after ``d``."""
        return next(self._ascending_after(d))

    def trading_days_before(self, d: date, count: int) -> list[date]:
        """The ``count`` trading days strictly before ``d``, oldest first."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        days = list(islice(self._descending_before(d), count))
        days.reverse()
        return days

    def schedule(self, d: date) -> DaySchedule | None:
        """The day's open, close and phase windows; None when the market is shut."""
        return self._schedule(d)

    def _build_schedule(self, d: date) -> DaySchedule | None:
        sessions = self._sessions
        if sessions.covers(d):
            index = bisect_left(sessions.days, d)
            if sessions.days[index] != d:
                return None
            return DaySchedule.build(d, sessions.opens[index], sessions.closes[index])
        if d.weekday() >= 5:
            return None
        open_ = datetime.combine(d, _DEFAULT_OPEN, tzinfo=KST)
        return DaySchedule.build(d, open_, datetime.combine(d, _DEFAULT_CLOSE, tzinfo=KST))

    def phases_at(self, moment: datetime) -> frozenset[Phase]:
        """Every phase active at ``moment`` (never empty: CLOSED when nothing else)."""
        moment = to_kst(moment)
        day = self.schedule(moment.date())
        return day.phases_at(moment) if day else frozenset({Phase.CLOSED})

    def market_session_code(self, moment: datetime) -> str:
        """Realtime FID 290: "1" before the open, "2" open to close, "3" after the close.

        A holiday uses the nominal 09:00/15:30, so the code still follows the clock.
        """
        moment = to_kst(moment)
        day = self.schedule(moment.date())
        open_ = day.open if day else datetime.combine(moment.date(), _DEFAULT_OPEN, tzinfo=KST)
        close = day.close if day else datetime.combine(moment.date(), _DEFAULT_CLOSE, tzinfo=KST)
        if moment < open_:
            return SESSION_PRE
        return SESSION_REGULAR if moment < close else SESSION_POST

    def continuous_seconds(self, moment: datetime) -> float:
        """Seconds of the day's continuous session elapsed by ``moment`` (0 on holidays)."""
        moment = to_kst(moment)
        day = self.schedule(moment.date())
        return day.continuous_seconds(moment) if day else 0.0
