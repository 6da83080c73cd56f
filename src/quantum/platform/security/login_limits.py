"""Brute-force protection for the login endpoint (moving window, per username and per client).

Backed by ``limits`` so the same code works in memory (single process) or on Redis
(``async+redis://host:port``) when several workers share the counters.
"""

from __future__ import annotations

import hashlib
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

_NAMESPACE = "qtp-login"


def _username_key(username: str) -> str:
    # Hashed: people sometimes type their password into the username field.
    normalized = username.strip().lower()
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


class LoginLimiter:
    """Counts login attempts; each attempt costs one hit on both the username and client bucket."""

    def __init__(
        self,
        storage_uri: str = "async+memory://",
        *,
        per_username: str = "5/minute",
        per_client: str = "20/minute",
        **storage_options: str,
    ) -> None:
        """``storage_options``: for the storage, e.g. Redis's ``implementation``."""
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, **storage_options))
        self._per_username: RateLimitItem = parse(per_username)
        self._per_client: RateLimitItem = parse(per_client)

    def __repr__(self) -> str:
        return f"LoginLimiter(per_username={self._per_username}, per_client={self._per_client})"

    async def check(self, username: str, client: str) -> float | None:
        """Record an attempt; return None if allowed, else seconds until a retry may succeed."""
        user_id = _username_key(username)
        user_ok = await self._limiter.hit(self._per_username, _NAMESPACE, "user", user_id)
        client_ok = await self._limiter.hit(self._per_client, _NAMESPACE, "client", client)
        if user_ok and client_ok:
            return None
        waits = []
        if not user_ok:
            waits.append(await self._retry_after(self._per_username, "user", user_id))
        if not client_ok:
            waits.append(await self._retry_after(self._per_client, "client", client))
        return max(waits)

    async def reset(self, username: str) -> None:
        """Forget a username's failures after a successful login."""
        await self._limiter.clear(self._per_username, _NAMESPACE, "user", _username_key(username))

    async def _retry_after(self, item: RateLimitItem, kind: str, key: str) -> float:
        stats = await self._limiter.get_window_stats(item, _NAMESPACE, kind, key)
        # Retry-After is sent in whole seconds, so never report less than one.
        return max(stats.reset_time - time.time(), 1.0)
