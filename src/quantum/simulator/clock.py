"""The simulator's clock.

Every part of the simulator asks this clock for the time, never the OS, so that a
test can start inside a trading session at any hour (``start``), a demo can
compress a day (``fast``) and a test can step time by hand (``fixed``).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from enum import StrEnum

from quantum.kiwoom.wire import KST

__all__ = ["KST", "ClockMode", "SimClock"]


class ClockMode(StrEnum):
    REAL = "real"
    FAST = "fast"
    FIXED = "fixed"


class SimClock:
    """Simulated wall time in KST.

    ``real`` runs at wall speed from ``start``; ``fast`` runs ``speed`` times
    faster; ``fixed`` stands still until :meth:`advance` or :meth:`set` moves it.
    """

    def __init__(
        self,
        mode: ClockMode = ClockMode.REAL,
        start: datetime | None = None,
        speed: float = 60.0,
    ) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.mode = ClockMode(mode)
        self.speed = speed if self.mode is ClockMode.FAST else 1.0
        origin = start if start is not None else datetime.now(KST)
        if origin.tzinfo is None:
            origin = origin.replace(tzinfo=KST)
        self._origin = origin.astimezone(KST)
        self._wall_origin = time.monotonic()

    def now(self) -> datetime:
        """The current simulated time, timezone-aware in KST."""
        if self.mode is ClockMode.FIXED:
            return self._origin
        elapsed = (time.monotonic() - self._wall_origin) * self.speed
        return self._origin + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward (any mode); returns the new time."""
        if seconds < 0:
            raise ValueError("the clock does not go backwards")
        self._origin += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (not earlier than now) and keep running from there."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=KST)
        moment = moment.astimezone(KST)
        if moment < self.now():
            raise ValueError("the clock does not go backwards")
        self._origin = moment
        self._wall_origin = time.monotonic()
        return self.now()

    def wall_seconds(self, sim_seconds: float) -> float:
        """How many real seconds pass while ``sim_seconds`` of simulated time pass."""
        return sim_seconds / self.speed
