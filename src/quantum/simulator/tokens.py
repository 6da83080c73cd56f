"""Access tokens (au10001 / au10002): one live token per app key, re-issued
unchanged while valid, expiring on the simulated clock (PROTOCOL.md §2)."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from quantum.simulator.clock import SimClock
from quantum.simulator.keys import AppKey


@dataclass(slots=True)
class IssuedToken:
    token: str
    key: AppKey
    expires_at: datetime
    revoked: bool = False

    def valid_at(self, moment: datetime) -> bool:
        return not self.revoked and moment < self.expires_at


class TokenStore:
    def __init__(self, clock: SimClock, lifetime_seconds: float) -> None:
        self._clock = clock
        self._lifetime = timedelta(seconds=lifetime_seconds)
        self._by_token: dict[str, IssuedToken] = {}
        self._by_key: dict[str, IssuedToken] = {}
        self.issued: Counter[str] = Counter()
        """New tokens minted per key fingerprint (re-issues of a live token don't count)."""
        self.requests: Counter[str] = Counter()
        """au10001 answers per key fingerprint, re-issues included."""

    def issue(self, key: AppKey) -> IssuedToken:
        now = self._clock.now()
        self.requests[key.fingerprint] += 1
        current = self._by_key.get(key.app_key)
        if current is not None and current.valid_at(now):
            return current
        if current is not None:
            self._by_token.pop(current.token, None)
        token = IssuedToken(secrets.token_urlsafe(64), key, now + self._lifetime)
        self._by_token[token.token] = token
        self._by_key[key.app_key] = token
        self.issued[key.fingerprint] += 1
        return token

    def resolve(self, token: str) -> IssuedToken | None:
        """The live token, or None when unknown, expired or revoked."""
        found = self._by_token.get(token)
        if found is None or not found.valid_at(self._clock.now()):
            return None
        return found

    def revoke(self, key: AppKey, token: str) -> bool:
        found = self._by_token.get(token)
        if found is None or found.key.app_key != key.app_key or found.revoked:
            return False
        found.revoked = True
        del self._by_token[token]
        if self._by_key.get(key.app_key) is found:
            del self._by_key[key.app_key]
        return True
