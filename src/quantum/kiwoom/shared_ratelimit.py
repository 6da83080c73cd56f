"""The outbound limiter with its windows in Redis, for processes sharing one app key.

Kiwoom counts requests per app key, not per process: two workers each keeping
5 requests/s would send 10. :class:`RedisOutboundLimiter` keeps the same strict
sliding windows as :class:`~quantum.kiwoom.ratelimit.OutboundLimiter`, but as
sorted sets in Redis, checked and filled by one Lua script so that the check
and the record of a send are atomic across processes. The script reads the
Redis server's clock, so the hosts' clocks need not agree.

Keys are named by the key fingerprint, never the app key. When Redis cannot be
reached the limiter warns once and limits locally for a while: an outage
degrades to per-process budgets instead of failing requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from quantum.kiwoom.ratelimit import OnAcquire, OutboundLimiter, RateLimit, _Window, options_from
from quantum.kiwoom.settings import KiwoomEnvironment, key_fingerprint

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from quantum.kiwoom.settings import KiwoomSettings

__all__ = ["RedisOutboundLimiter"]

log = logging.getLogger(__name__)

# KEYS: one sorted set per window. ARGV: limit and span (ms) per key, then a nonce.
# Returns {0, 0} after recording the send in every window, else {wait ms, index of
# the window that is full longest} without recording anything.
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait, blocker = 0, 0
for i, key in ipairs(KEYS) do
  local limit, span = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + span - now
    if w > wait then wait, blocker = w, i end
  end
end
if blocker > 0 then return {math.max(1, math.ceil(wait)), blocker} end
local member = string.format('%.3f', now) .. ':' .. ARGV[#ARGV]
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i])) + 1000)
end
return {0, 0}
"""

_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def keys_prefix(deployment_prefix: str) -> str:
    """Where a deployment's limits live in Redis: every process that calls Kiwoom
    with a key (platforms, adapters) must count under the same names."""
    return f"{deployment_prefix}ratelimit:"


class RedisOutboundLimiter(OutboundLimiter):
    """An :class:`OutboundLimiter` whose budgets are shared through Redis.

    Local locks still queue callers first come, first served within a process,
    so only one caller per window asks Redis at a time. The local windows keep
    recording sends, which keeps :attr:`utilisation` working and gives the
    local fallback this process's recent history.
    """

    def __init__(
        self,
        limits: Iterable[RateLimit] = (),
        *,
        redis: Redis,
        prefix: str = keys_prefix("qtp:"),
        environment: KiwoomEnvironment | None = None,
        margin_seconds: float = 0.0,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        on_acquire: OnAcquire | None = None,
        fallback_seconds: float = 5.0,
    ) -> None:
        """``fallback_seconds``: after a Redis failure, limit locally this long before
        asking Redis again, so an outage does not add connect timeouts to every call."""
        super().__init__(
            limits,
            environment=environment,
            margin_seconds=margin_seconds,
            enabled=enabled,
            clock=clock,
            sleep=sleep,
            on_acquire=on_acquire,
        )
        self.prefix = prefix
        self.fallback_seconds = fallback_seconds
        self._script = redis.register_script(_ACQUIRE_LUA)
        self._local_until: float | None = None
        """Clock time until which calls limit locally; None while Redis works."""

    @classmethod
    def from_settings(  # type: ignore[override]  # needs a Redis client, the base does not
        cls,
        settings: KiwoomSettings,
        *,
        redis: Redis,
        prefix: str = keys_prefix("qtp:"),
        on_acquire: OnAcquire | None = None,
    ) -> RedisOutboundLimiter:
        return cls(**options_from(settings), redis=redis, prefix=prefix, on_acquire=on_acquire)

    async def acquire(self, app_key: str, api_id: str) -> float:
        """Wait for a slot shared by every process using ``app_key``; returns seconds waited."""
        if not self.enabled:
            return 0.0
        started = self._clock()
        if self._local_until is not None and started < self._local_until:
            return await super().acquire(app_key, api_id)
        fingerprint = key_fingerprint(app_key)
        api_window = self._api_window(fingerprint, api_id)
        global_window = self._global_window(fingerprint)
        if api_window is None and global_window is None:
            return await super().acquire(app_key, api_id)
        try:
            waited = await self._acquire_shared(fingerprint, api_id, api_window, global_window)
        except _REDIS_DOWN as exc:
            if self._local_until is None:
                log.warning(
                    "rate-limit Redis unreachable (%s); limiting per process for now",
                    type(exc).__name__,
                )
            self._local_until = self._clock() + self.fallback_seconds
            failed_after = self._clock() - started
            return failed_after + await super().acquire(app_key, api_id)
        if self._local_until is not None:
            log.info("rate-limit Redis reachable again; budgets shared again")
            self._local_until = None
        return waited

    async def _acquire_shared(
        self, fingerprint: str, api_id: str, api_window: _Window | None, glob: _Window | None
    ) -> float:
        started = self._clock()
        delayed = any(w is not None and w.busy(started) for w in (api_window, glob))
        keys: list[str] = []
        args: list[str] = []
        for window, name in ((api_window, api_id), (glob, "*")):
            if window is not None:
                # The {hash tag} keeps both keys in one slot on a Redis Cluster.
                keys.append(f"{self.prefix}{{{fingerprint}}}:{name}")
                args += [str(window.limit), repr(window.span * 1000)]
        args.append(secrets.token_hex(8))
        global_index = len(keys) if glob is not None else 0
        api_lock = api_window.lock if api_window is not None else contextlib.nullcontext()
        async with api_lock:
            while True:
                # Wait for the global budget holding its lock (FIFO across api-ids);
                # wait for a full api window without it, so other api-ids go on.
                global_lock = glob.lock if glob is not None else contextlib.nullcontext()
                async with global_lock:
                    while True:
                        wait_ms, blocker = await self._try(keys, args)
                        if wait_ms == 0 or blocker != global_index:
                            break
                        delayed = True
                        await self._pause(wait_ms)
                if wait_ms == 0:
                    break
                delayed = True
                await self._pause(wait_ms)
        now = self._clock()
        waited = now - started
        for window in (api_window, glob):
            if window is not None:
                window.prune(now)
                window.record(now, waited, delayed)
        if self._on_acquire is not None:
            self._on_acquire(fingerprint, api_id, now)
        return waited

    async def _try(self, keys: list[str], args: list[str]) -> tuple[int, int]:
        """One atomic check-and-record: (0, 0) when granted, else (wait ms, full window)."""
        wait_ms, blocker = await self._script(keys=keys, args=args)
        return int(wait_ms), int(blocker)

    async def _pause(self, wait_ms: int) -> None:
        # A little jitter so processes woken by the same expiry do not collide.
        await self._sleep(wait_ms / 1000 + random.uniform(0.001, 0.005))
