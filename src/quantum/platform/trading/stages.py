"""Where a submit spends its time, stage by stage.

An order's latency is the platform's own work (checks, the intent written before
the broker hears of the order, the broker's answer written after) plus Kiwoom's
round trip. Operators (and ``bench.orders``) read the split from
``qtp_order_submit_stage_seconds`` to tell the two apart."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class SubmitStage(StrEnum):
    CHECKS = "checks"
    """From the call to the intent's write: every check, the quote and buying power
    (cached), and the wait for the account's previous order to be checked."""
    INTENT = "intent_write"
    BROKER = "broker_call"
    ANSWER = "answer_write"
    """The broker's answer recorded and published to the user."""


StageObserver = Callable[[SubmitStage, float], None]


def unobserved(stage: SubmitStage, seconds: float) -> None:
    """The default observer: a service without metrics times nothing."""


class StageClock:
    """Times one submit's consecutive stages: each :meth:`lap` reports the seconds
    since the previous one (or since the clock was made)."""

    __slots__ = ("_last", "_observe")

    def __init__(self, observe: StageObserver) -> None:
        self._observe = observe
        self._last = time.perf_counter()

    def lap(self, stage: SubmitStage) -> None:
        self._observe(stage, self.split())

    def split(self) -> float:
        """The seconds since the previous lap or split, kept for :meth:`report` (a
        stage that counts only if the submit goes on)."""
        now = time.perf_counter()
        seconds, self._last = now - self._last, now
        return seconds

    def report(self, stage: SubmitStage, seconds: float) -> None:
        self._observe(stage, seconds)
