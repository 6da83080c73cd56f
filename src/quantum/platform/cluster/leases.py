"""Leases: which instance does a job that only one may do at a time (applying the
broker's order reports, polling for fills). The holder renews its lease well
within its time to live; when it dies, the lease runs out and another instance
takes the job within ``ttl`` plus one renewal interval.

:class:`SoleLease` is the one-instance case (no Redis): always held."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

OnChange = Callable[[bool], Awaitable[None]]
"""Called with True when this instance took the lease, False when it lost it."""


class Lease(Protocol):
    @property
    def held(self) -> bool: ...

    def start(self, on_change: OnChange) -> None: ...

    async def aclose(self) -> None: ...


class SoleLease:
    held = True

    def start(self, on_change: OnChange) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisLease:
    """A redis-py lock used as a lease: taken without blocking, renewed every
    ``ttl / 4`` seconds, given back on a clean shutdown so that a successor does
    not wait for it to expire."""

    def __init__(self, client: redis.Redis, name: str, *, ttl: float = 3.0) -> None:
        self._lock = client.lock(name, timeout=ttl, blocking=False, thread_local=False)
        self._interval = ttl / 4
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        """The lease's value in Redis: names the holding process (for operators)."""
        self._held = False
        self._task: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self._held

    def start(self, on_change: OnChange) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._keep(on_change), name="lease")

    async def _try(self) -> bool:
        try:
            if self._held:
                await self._lock.reacquire()
                return True
            return bool(await self._lock.acquire(blocking=False, token=self._token))
        except LockError:
            return False  # it ran out (a pause longer than the ttl): someone else may hold it
        except (RedisError, OSError) as exc:
            log.warning("lease %s: Redis unavailable (%s)", self._lock.name, type(exc).__name__)
            return False

    async def _keep(self, on_change: OnChange) -> None:
        while True:
            held = await self._try()
            if held != self._held:
                self._held = held
                log.info("lease %s %s", self._lock.name, "taken" if held else "lost")
                try:
                    await on_change(held)
                except Exception:
                    log.exception("lease %s: change handler failed", self._lock.name)
            await asyncio.sleep(self._interval)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._held:
            self._held = False
            with contextlib.suppress(LockError, RedisError, OSError):
                await self._lock.release()
