"""Access tokens (au10001 issue, au10002 revoke; PROTOCOL.md §2).

:class:`TokenManager` hands out one token per app key: issued when missing or
within ``token_refresh_margin_seconds`` of ``expires_dt``, single-flight (a
thousand concurrent ``get()`` calls cause one au10001), kept in a
:class:`TokenCache` under the key's fingerprint.

Kiwoom re-issues the *same* token while it is valid, so a refresh before
expiry would hand back the old token with its old expiry. When that happens
the manager revokes it (au10002) and issues again, which yields a fresh
token; requests still in flight with the old one get 8005 and the transport
retries them once with the new token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import httpx
import orjson
from pydantic import SecretStr
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random

from quantum.kiwoom.endpoints import REVOKE_PATH, TOKEN_PATH
from quantum.kiwoom.exceptions import (
    KiwoomError,
    RateLimitedError,
    TransportError,
    UnavailableError,
    from_answer,
    from_http_error,
    register_secret,
)
from quantum.kiwoom.http import HttpClient, HttpFailure, http_client_for
from quantum.kiwoom.ratelimit import OutboundLimiter
from quantum.kiwoom.records import CallRecord, Observer
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.wire import WireFormatError, parse_timestamp

__all__ = [
    "ISSUE_API_ID",
    "JSON_CONTENT_TYPE",
    "REVOKE_API_ID",
    "InMemoryTokenCache",
    "Token",
    "TokenCache",
    "TokenManager",
    "decode_object",
    "retry_after_seconds",
]

log = logging.getLogger(__name__)

ISSUE_API_ID = "au10001"
REVOKE_API_ID = "au10002"
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
FALLBACK_LIFETIME = timedelta(hours=23)
"""Used only when an answer has no readable ``expires_dt``."""

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Token:
    """An access token. ``value`` is a :class:`SecretStr`: no repr shows it."""

    value: SecretStr
    expires_at: datetime
    """Aware; parsed from ``expires_dt`` (KST)."""
    issued_at: datetime = field(default_factory=_utc_now)
    """When this client received it (its own clock)."""
    token_type: str = "Bearer"

    @classmethod
    def from_answer(cls, body: Mapping[str, Any], *, now: datetime | None = None) -> Token:
        """Build from an au10001 answer; raises :class:`KiwoomError` if it holds no token."""
        received = now or _utc_now()
        raw = body.get("token")
        if not isinstance(raw, str) or not raw:
            raise KiwoomError(ISSUE_API_ID, None, "au10001 answer without a token")
        expires_dt = body.get("expires_dt")
        try:
            expires_at = parse_timestamp(str(expires_dt))
        except WireFormatError:
            log.warning("au10001 answer without a readable expires_dt; assuming 23 h")
            expires_at = received + FALLBACK_LIFETIME
        token_type = body.get("token_type")
        return cls(
            SecretStr(raw),
            expires_at,
            received,
            token_type if isinstance(token_type, str) and token_type else "Bearer",
        )

    def secret(self) -> str:
        """The raw token, for the ``authorization`` header and the WebSocket LOGIN."""
        return self.value.get_secret_value()

    @property
    def authorization(self) -> str:
        return f"Bearer {self.secret()}"

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def refresh_due(self, now: datetime, margin_seconds: float) -> bool:
        """True within the margin of expiry. The margin never exceeds half the
        lifetime seen at issue, so a short-lived token is not re-issued on every
        use; a token that looked expired on arrival (clock skew) is trusted
        until the server rejects it."""
        lifetime = (self.expires_at - self.issued_at).total_seconds()
        if lifetime <= 0:
            return False
        margin = min(margin_seconds, lifetime / 2)
        return now >= self.expires_at - timedelta(seconds=margin)

    def same_as(self, other: Token | None) -> bool:
        return other is not None and other.secret() == self.secret()


@runtime_checkable
class TokenCache(Protocol):
    """Where tokens live between uses, keyed by app-key fingerprint."""

    async def get(self, fingerprint: str) -> Token | None: ...

    async def set(self, fingerprint: str, token: Token) -> None: ...

    async def delete(self, fingerprint: str) -> None: ...

    def issuing(self, fingerprint: str) -> AbstractAsyncContextManager[None]:
        """Held while a token for the key is issued, re-checked and stored: a cache
        shared by several processes locks across them, so only one asks Kiwoom."""
        ...


@asynccontextmanager
async def _no_lock() -> AsyncIterator[None]:
    yield


class InMemoryTokenCache:
    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    async def get(self, fingerprint: str) -> Token | None:
        return self._tokens.get(fingerprint)

    async def set(self, fingerprint: str, token: Token) -> None:
        self._tokens[fingerprint] = token

    async def delete(self, fingerprint: str) -> None:
        self._tokens.pop(fingerprint, None)

    def issuing(self, fingerprint: str) -> AbstractAsyncContextManager[None]:
        return _no_lock()  # one process: the manager's own lock is enough


def decode_object(content: bytes) -> dict[str, Any] | None:
    """A response body as a JSON object, or None (HTML error page, empty body …)."""
    try:
        data = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


class TokenManager:
    """One app key's token: issue, cache, refresh before expiry, revoke."""

    def __init__(
        self,
        settings: KiwoomSettings,
        *,
        http: httpx.AsyncClient | HttpClient | None = None,
        cache: TokenCache | None = None,
        limiter: OutboundLimiter | None = None,
        clock: Clock | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.settings = settings
        self._observer = observer
        self._cache: TokenCache = cache if cache is not None else InMemoryTokenCache()
        self._limiter = limiter
        self._clock: Clock = clock or _utc_now
        self._http, self._owns_http = kiwoom_http(http, settings)
        self._lock = asyncio.Lock()
        self._generation = 0
        self._stuck: str | None = None
        """A token Kiwoom keeps re-issuing although it is due and we could not rotate."""
        for secret in (settings.app_key, settings.app_secret):
            if secret is not None:
                register_secret(secret.get_secret_value())
        self.issued = 0
        """au10001 requests this manager made."""

    @property
    def key_fingerprint(self) -> str:
        return self.settings.key_fingerprint

    def _credentials(self) -> tuple[str, str]:
        try:
            return self.settings.require_credentials()
        except ValueError as exc:
            raise KiwoomError(ISSUE_API_ID, None, str(exc)) from None

    def _due(self, token: Token, now: datetime) -> bool:
        if self._stuck is not None and self._stuck == token.secret():
            return token.expired(now)
        return token.refresh_due(now, self.settings.token_refresh_margin_seconds)

    async def peek(self) -> Token | None:
        """The cached token, without issuing one."""
        return await self._cache.get(self.key_fingerprint)

    async def get(self, force_refresh: bool = False) -> Token:
        """A usable token: the cached one, or a newly issued one when missing or
        within the refresh margin (``force_refresh``: always a new one, shared
        by every caller that asked while it was being issued)."""
        generation = self._generation
        fingerprint = self.key_fingerprint
        if not force_refresh:
            token = await self._cache.get(fingerprint)
            if token is not None and not self._due(token, self._clock()):
                return token
        async with self._lock, self._cache.issuing(fingerprint):
            token = await self._cache.get(fingerprint)
            if token is not None:
                if force_refresh and self._generation != generation:
                    return token  # someone refreshed while we waited
                if not force_refresh and not self._due(token, self._clock()):
                    return token
            return await self._refresh(token)

    async def verify(self) -> Token:
        """Issue a token with this key pair now, whatever is cached, and keep it: the
        check that a key pair is right. Raises the error Kiwoom answers otherwise."""
        async with self._lock, self._cache.issuing(self.key_fingerprint):
            token = await self._issue()
            await self._cache.set(self.key_fingerprint, token)
            self._generation += 1
            return token

    async def invalidate(self, token: Token | None = None) -> None:
        """Forget the cached token (only if it is ``token``, when given), so that the
        next ``get()`` issues one. Used after Kiwoom answered 8005."""
        fingerprint = self.key_fingerprint
        if token is not None:
            cached = await self._cache.get(fingerprint)
            if not token.same_as(cached):
                return
        await self._cache.delete(fingerprint)

    async def revoke(self) -> bool:
        """Revoke the cached token (au10002) and forget it; False when there was none."""
        async with self._lock, self._cache.issuing(self.key_fingerprint):
            token = await self._cache.get(self.key_fingerprint)
            if token is None:
                return False
            await self._cache.delete(self.key_fingerprint)
            self._generation += 1
            await self._revoke_value(token.secret())
            return True

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # ----------------------------------------------------------------- internals

    async def _refresh(self, current: Token | None) -> Token:
        token = await self._issue()
        if token.same_as(current):
            # Kiwoom hands back a live token unchanged: revoke it for a fresh one.
            try:
                await self._revoke_value(token.secret())
                token = await self._issue()
            except KiwoomError as exc:
                log.warning("could not rotate a token near expiry: %s", exc)
        self._stuck = token.secret() if token.same_as(current) else None
        await self._cache.set(self.key_fingerprint, token)
        self._generation += 1
        return token

    def _retrying(self) -> AsyncRetrying:
        settings = self.settings
        return AsyncRetrying(
            retry=retry_if_exception_type((RateLimitedError, UnavailableError, TransportError)),
            stop=stop_after_attempt(settings.max_query_retries + 1),
            wait=wait_exponential(
                multiplier=settings.retry_backoff_seconds, max=settings.retry_backoff_max_seconds
            )
            + wait_random(0, settings.retry_jitter_seconds),
            reraise=True,
        )

    async def _post(self, api_id: str, path: str, body: dict[str, str]) -> dict[str, Any]:
        """One au10001/au10002 exchange, reported to the observer like any TR call."""
        started = time.perf_counter()
        state: dict[str, Any] = {"attempts": 0, "status": None}
        error_code: str | None = None
        try:
            return await self._exchange(api_id, path, body, state)
        except KiwoomError as exc:
            error_code = exc.code or type(exc).__name__
            raise
        except BaseException as exc:
            error_code = type(exc).__name__
            raise
        finally:
            if self._observer is not None:
                record = CallRecord(
                    api_id=api_id,
                    path=path,
                    latency_ms=(time.perf_counter() - started) * 1000.0,
                    outcome="ok" if error_code is None else "error",
                    error_code=error_code,
                    http_status=state["status"],
                    attempts=state["attempts"],
                    key_fingerprint=self.key_fingerprint,
                )
                try:
                    self._observer(record)
                except Exception:
                    log.exception("call observer failed")

    async def _exchange(
        self, api_id: str, path: str, body: dict[str, str], state: dict[str, Any]
    ) -> dict[str, Any]:
        app_key, _ = self._credentials()
        url = self.settings.rest_url + path
        headers = {
            "Content-Type": JSON_CONTENT_TYPE,
            "api-id": api_id,
            "User-Agent": self.settings.user_agent,
        }
        async for attempt in self._retrying():
            with attempt:
                if self._limiter is not None:
                    await self._limiter.acquire(app_key, api_id)
                state["attempts"] += 1
                try:
                    response = await self._http.request("POST", url, orjson.dumps(body), headers)
                except HttpFailure as exc:
                    raise from_http_error(api_id, exc, order=False) from None
                state["status"] = response.status
                answer = decode_object(response.content)
                error = from_answer(
                    api_id,
                    response.status,
                    answer,
                    retry_after=retry_after_seconds(response.headers),
                )
                if error is not None:
                    raise error
                assert answer is not None
                return answer
        raise AssertionError("unreachable")  # pragma: no cover

    async def _issue(self) -> Token:
        app_key, app_secret = self._credentials()
        body = {"grant_type": "client_credentials", "appkey": app_key, "secretkey": app_secret}
        self.issued += 1
        answer = await self._post(ISSUE_API_ID, TOKEN_PATH, body)
        token = Token.from_answer(answer, now=self._clock())
        register_secret(token.secret())
        log.info(
            "token issued for key %s, expires %s",
            self.key_fingerprint,
            token.expires_at.isoformat(),
        )
        return token

    async def _revoke_value(self, value: str) -> None:
        app_key, app_secret = self._credentials()
        body = {"appkey": app_key, "secretkey": app_secret, "token": value}
        await self._post(REVOKE_API_ID, REVOKE_PATH, body)
        log.info("token revoked for key %s", self.key_fingerprint)


def kiwoom_http(
    http: httpx.AsyncClient | HttpClient | None, settings: KiwoomSettings
) -> tuple[HttpClient, bool]:
    """The HTTP client for one key's calls (and whether its user must close it): the
    given one, else a pool with the settings' timeouts and user agent."""
    return http_client_for(
        http,
        timeout=settings.timeout_seconds,
        connect_timeout=settings.connect_timeout_seconds,
        user_agent=settings.user_agent,
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (numeric form only), when present."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)
