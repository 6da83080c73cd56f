"""What platform instances share: Redis when ``REDIS_URL`` is set, in-process
stand-ins when one instance runs alone. Every other module asks this for its bus,
leases and locks and never looks at Redis itself."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from redis.exceptions import LockError, RedisError

from quantum.kiwoom.ratelimit import OutboundLimiter
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.shared_ratelimit import RedisOutboundLimiter, keys_prefix
from quantum.platform.bus import Bus, InProcessBus
from quantum.platform.cluster.leases import Lease, RedisLease, SoleLease
from quantum.platform.cluster.redis_bus import RedisBus

log = logging.getLogger(__name__)

LOCK_SECONDS = 30.0
"""A shared lock's time to live: longer than issuing a token ever takes (timeouts
and retries included), short enough that a dead holder does not block for long."""


class Cluster:
    def __init__(
        self, redis_url: str | None, *, prefix: str = "qtp:", lease_seconds: float = 3.0
    ) -> None:
        self.redis: redis.Redis | None = (
            redis.Redis.from_url(redis_url, health_check_interval=30) if redis_url else None
        )
        self.prefix = prefix
        self._lease_seconds = lease_seconds

    @property
    def shared(self) -> bool:
        return self.redis is not None

    def bus(self) -> Bus:
        if self.redis is None:
            return InProcessBus()
        return RedisBus(self.redis, prefix=f"{self.prefix}bus:")

    def lease(self, job: str) -> Lease:
        if self.redis is None:
            return SoleLease()
        return RedisLease(self.redis, f"{self.prefix}lease:{job}", ttl=self._lease_seconds)

    def limiter(self, settings: KiwoomSettings) -> OutboundLimiter:
        """A Kiwoom client's rate limiter: an app key's budget is one, however many
        instances call Kiwoom with it."""
        if self.redis is None:
            return OutboundLimiter.from_settings(settings)
        return RedisOutboundLimiter.from_settings(
            settings, redis=self.redis, prefix=keys_prefix(self.prefix)
        )

    @asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        """Held across instances (e.g. while a Kiwoom token is issued). Should Redis
        fail, the work goes ahead unlocked: a second token is better than no order."""
        if self.redis is None:
            yield
            return
        lock = self.redis.lock(
            f"{self.prefix}lock:{name}",
            timeout=LOCK_SECONDS,
            blocking_timeout=LOCK_SECONDS,
            thread_local=False,
        )
        try:
            acquired = await lock.acquire()
        except (RedisError, OSError) as exc:
            log.warning("shared lock unavailable (%s); going on without it", type(exc).__name__)
            acquired = False
        try:
            yield
        finally:
            if acquired:
                # LockError: it expired (maybe someone else's now): nothing of ours to release
                with contextlib.suppress(LockError, RedisError, OSError):
                    await lock.release()

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
