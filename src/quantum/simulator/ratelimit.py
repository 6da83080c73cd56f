"""Kiwoom's request budgets: a token bucket per (app key, api-id) and an
optional global bucket per app key, on the real (not simulated) clock."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from quantum.kiwoom.errors import ErrorAnswer, error_answer


@dataclass(slots=True)
class TokenBucket:
    rate: float
    capacity: float
    tokens: float
    updated: float

    def try_take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        burst: float | None = None,
        global_per_second: float | None = None,
        enabled: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.burst = max(1.0, burst if burst is not None else per_second)
        self.global_per_second = global_per_second
        self.enabled = enabled
        self._now = monotonic
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._global: dict[str, TokenBucket] = {}
        self.rejections: Counter[str] = Counter()
        """Requests answered 1700/1701, by api-id (a client that keeps to the budget: none)."""

    def check(self, app_key: str, api_id: str) -> ErrorAnswer | None:
        """None when the request may pass, else the 429 answer (1700 or 1701)."""
        if not self.enabled:
            return None
        now = self._now()
        if self.global_per_second is not None:
            bucket = self._global.get(app_key)
            if bucket is None:
                rate = self.global_per_second
                bucket = self._global[app_key] = TokenBucket(rate, max(1.0, rate), rate, now)
            if not bucket.try_take(now):
                self.rejections[api_id] += 1
                return error_answer(1701, limit=_number(self.global_per_second))
        key = (app_key, api_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.per_second, self.burst, self.burst, now)
            self._buckets[key] = bucket
        if not bucket.try_take(now):
            self.rejections[api_id] += 1
            return error_answer(1700, limit=_number(self.per_second), api_id=api_id)
        return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
