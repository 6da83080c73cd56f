"""Kiwoom's request budgets as one table, and the limiter that keeps us inside them.

PROTOCOL.md §5: production allows 5 requests/s per (app key, api-id) for
queries and for orders, with an (undocumented) total budget per app key (1701);
the mock host allows 1 request/s. The numbers are rows of :data:`RATE_LIMITS`;
settings override them.

:class:`OutboundLimiter` never fails: ``acquire`` waits for a slot. It keeps a
*strict sliding window*: in any window of ``window_seconds`` (+ a small safety
margin) at most ``per_second`` sends start. A token bucket with a burst would
allow twice that within one sliding second, which a server counting
differently would reject, so there is no bucket here. Waiters are served
first come, first served per (app key, api-id), then per app key for the
global budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from quantum.kiwoom.endpoints import TRS, Category
from quantum.kiwoom.settings import KiwoomEnvironment, key_fingerprint

if TYPE_CHECKING:
    from quantum.kiwoom.settings import KiwoomSettings

__all__ = [
    "RATE_LIMITS",
    "LimitScope",
    "LimitUsage",
    "OutboundLimiter",
    "RateLimit",
    "TrKind",
    "is_order_tr",
    "select_limits",
]


class LimitScope(StrEnum):
    PER_API = "per_api"
    """One budget per (app key, api-id)."""
    GLOBAL = "global"
    """One budget per app key, shared by every api-id."""


class TrKind(StrEnum):
    QUERY = "query"
    ORDER = "order"
    ANY = "any"


ORDER_CATEGORIES = frozenset({Category.ORDER, Category.CREDIT_ORDER})


def is_order_tr(api_id: str) -> bool:
    """True for order TRs (kt10000–kt10003, credit orders): never re-sent blindly."""
    spec = TRS.get(api_id)
    return spec is not None and spec.category in ORDER_CATEGORIES


def kind_of(api_id: str) -> TrKind:
    return TrKind.ORDER if is_order_tr(api_id) else TrKind.QUERY


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One row: at most ``per_second`` sends in any ``window_seconds``."""

    environment: KiwoomEnvironment
    scope: LimitScope
    kind: TrKind
    per_second: int
    window_seconds: float = 1.0
    source: str = ""

    def applies_to(self, environment: KiwoomEnvironment, kind: TrKind) -> bool:
        return self.environment is environment and self.kind in (TrKind.ANY, kind)


_P, _M = KiwoomEnvironment.PRODUCTION, KiwoomEnvironment.MOCK

RATE_LIMITS: tuple[RateLimit, ...] = (
    RateLimit(_P, LimitScope.PER_API, TrKind.QUERY, 5, source="조회 5건/초, 1700 유량=5"),
    RateLimit(_P, LimitScope.PER_API, TrKind.ORDER, 5, source="주문 5건/초"),
    RateLimit(_P, LimitScope.GLOBAL, TrKind.ANY, 20, source="1701 총유량 (number undocumented)"),
    RateLimit(_M, LimitScope.PER_API, TrKind.ANY, 1, source="모의투자 조회 1건/초"),
)
"""PROTOCOL.md §5. Mock has no documented total budget."""


def select_limits(
    environment: KiwoomEnvironment,
    *,
    per_second: int | None = None,
    global_per_second: int | None = None,
    window_seconds: float | None = None,
    table: Iterable[RateLimit] = RATE_LIMITS,
) -> tuple[RateLimit, ...]:
    """The rows for one environment with overrides applied.

    ``per_second`` replaces every per-api budget; ``global_per_second`` replaces
    (or adds) the per-app-key budget, 0 removes it.
    """
    rows: list[RateLimit] = []
    for row in table:
        if row.environment is not environment:
            continue
        if row.scope is LimitScope.PER_API and per_second is not None:
            row = replace(row, per_second=per_second, source="settings")
        if row.scope is LimitScope.GLOBAL and global_per_second is not None:
            if global_per_second == 0:
                continue
            row = replace(row, per_second=global_per_second, source="settings")
        if window_seconds is not None:
            row = replace(row, window_seconds=window_seconds)
        rows.append(row)
    if global_per_second and not any(r.scope is LimitScope.GLOBAL for r in rows):
        rows.append(
            RateLimit(
                environment,
                LimitScope.GLOBAL,
                TrKind.ANY,
                global_per_second,
                window_seconds or 1.0,
                "settings",
            )
        )
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """Counters of one window, for dashboards and the benchmark."""

    key_fingerprint: str
    api_id: str
    """``"*"`` for the per-app-key budget."""
    limit: int
    window_seconds: float
    acquired: int
    delayed: int
    """Sends that had to wait for a slot."""
    total_wait_seconds: float
    max_wait_seconds: float
    in_window: int
    """Sends inside the current window."""
    utilisation: float
    """``in_window / limit`` right now."""
    achieved_per_second: float
    """Sends per second between the first and the last send."""


class _Window:
    __slots__ = (
        "acquired",
        "delayed",
        "first",
        "last",
        "limit",
        "lock",
        "max_wait",
        "sends",
        "span",
        "total_wait",
    )

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.sends: deque[float] = deque()
        self.lock = asyncio.Lock()
        self.acquired = 0
        self.delayed = 0
        self.total_wait = 0.0
        self.max_wait = 0.0
        self.first: float | None = None
        self.last: float | None = None

    def prune(self, now: float) -> None:
        horizon = now - self.span
        while self.sends and self.sends[0] <= horizon:
            self.sends.popleft()

    def wait_needed(self, now: float) -> float:
        """0 when a send may start now, else the seconds until the oldest send leaves."""
        self.prune(now)
        if len(self.sends) < self.limit:
            return 0.0
        return max(self.sends[0] + self.span - now, 1e-6)

    def busy(self, now: float) -> bool:
        """Would a caller arriving now have to wait (queue or full window)?"""
        return self.lock.locked() or self.wait_needed(now) > 0

    def record(self, now: float, waited: float, delayed: bool) -> None:
        self.sends.append(now)
        self.acquired += 1
        if delayed:
            self.delayed += 1
            self.total_wait += waited
            self.max_wait = max(self.max_wait, waited)
        if self.first is None:
            self.first = now
        self.last = now


OnAcquire = Callable[[str, str, float], None]
"""Called with (key fingerprint, api-id, clock time) for every granted send."""


def options_from(settings: KiwoomSettings) -> dict[str, Any]:
    """A limiter's rules and options as ``settings`` give them (keyword arguments)."""
    return {
        "limits": select_limits(
            settings.environment,
            per_second=settings.rate_limit_per_second,
            global_per_second=settings.rate_limit_global_per_second,
            window_seconds=settings.rate_limit_window_seconds,
        ),
        "environment": settings.environment,
        "margin_seconds": settings.rate_limit_margin_seconds,
        "enabled": settings.rate_limit_enabled,
    }


class OutboundLimiter:
    """Waits until a request may be sent without breaking any budget."""

    def __init__(
        self,
        limits: Iterable[RateLimit] = (),
        *,
        environment: KiwoomEnvironment | None = None,
        margin_seconds: float = 0.0,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        on_acquire: OnAcquire | None = None,
    ) -> None:
        rows = tuple(limits)
        if environment is None:
            environment = rows[0].environment if rows else KiwoomEnvironment.PRODUCTION
        self.environment = environment
        self.limits = tuple(r for r in rows if r.environment is environment)
        self.margin_seconds = margin_seconds
        self.enabled = enabled
        self._clock = clock
        self._sleep = sleep
        self._on_acquire = on_acquire
        self._per_api: dict[tuple[str, str], _Window] = {}
        self._global: dict[str, _Window] = {}

    @classmethod
    def from_settings(
        cls, settings: KiwoomSettings, *, on_acquire: OnAcquire | None = None
    ) -> OutboundLimiter:
        return cls(**options_from(settings), on_acquire=on_acquire)

    def _rule(self, scope: LimitScope, kind: TrKind) -> RateLimit | None:
        for row in self.limits:
            if row.scope is scope and row.applies_to(self.environment, kind):
                return row
        return None

    def _api_window(self, fingerprint: str, api_id: str) -> _Window | None:
        key = (fingerprint, api_id)
        window = self._per_api.get(key)
        if window is None:
            rule = self._rule(LimitScope.PER_API, kind_of(api_id))
            if rule is None:
                return None
            window = self._per_api[key] = _Window(
                rule.per_second, rule.window_seconds + self.margin_seconds
            )
        return window

    def _global_window(self, fingerprint: str) -> _Window | None:
        window = self._global.get(fingerprint)
        if window is None:
            rule = self._rule(LimitScope.GLOBAL, TrKind.ANY)
            if rule is None:
                return None
            window = self._global[fingerprint] = _Window(
                rule.per_second, rule.window_seconds + self.margin_seconds
            )
        return window

    async def _wait_for(self, window: _Window) -> bool:
        """Sleep until the window has room; True when that took any sleep."""
        slept = False
        while (pause := window.wait_needed(self._clock())) > 0:
            slept = True
            await self._sleep(pause)
        return slept

    async def acquire(self, app_key: str, api_id: str) -> float:
        """Wait for a slot for one request; returns the seconds waited."""
        if not self.enabled:
            return 0.0
        fingerprint = key_fingerprint(app_key)
        api_window = self._api_window(fingerprint, api_id)
        global_window = self._global_window(fingerprint)
        started = self._clock()
        delayed = any(w is not None and w.busy(started) for w in (api_window, global_window))
        api_lock = api_window.lock if api_window is not None else contextlib.nullcontext()
        async with api_lock:
            if api_window is not None:
                delayed = await self._wait_for(api_window) or delayed
            # Only the holder of the api lock records into the api window, so it
            # cannot fill up while we wait for the global budget.
            global_lock = (
                global_window.lock if global_window is not None else contextlib.nullcontext()
            )
            async with global_lock:
                if global_window is not None:
                    delayed = await self._wait_for(global_window) or delayed
                now = self._clock()
                waited = now - started
                if api_window is not None:
                    api_window.prune(now)
                    api_window.record(now, waited, delayed)
                if global_window is not None:
                    global_window.record(now, waited, delayed)
        if self._on_acquire is not None:
            self._on_acquire(fingerprint, api_id, now)
        return waited

    @property
    def utilisation(self) -> dict[tuple[str, str], LimitUsage]:
        """Usage per (key fingerprint, api-id); api-id ``"*"`` is the global budget."""
        now = self._clock()
        windows = [(key, window) for key, window in self._per_api.items()]
        windows += [((fp, "*"), window) for fp, window in self._global.items()]
        usage: dict[tuple[str, str], LimitUsage] = {}
        for (fingerprint, api_id), window in windows:
            window.prune(now)
            span = 0.0
            if window.first is not None and window.last is not None:
                span = window.last - window.first
            rate = (window.acquired - 1) / span if span > 0 else 0.0
            usage[(fingerprint, api_id)] = LimitUsage(
                key_fingerprint=fingerprint,
                api_id=api_id,
                limit=window.limit,
                window_seconds=window.span,
                acquired=window.acquired,
                delayed=window.delayed,
                total_wait_seconds=window.total_wait,
                max_wait_seconds=window.max_wait,
                in_window=len(window.sends),
                utilisation=len(window.sends) / window.limit,
                achieved_per_second=rate,
            )
        return usage
