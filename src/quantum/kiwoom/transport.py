"""One call = one TR request: path lookup, headers, token, rate limit, retries,
error mapping and an observer record (PROTOCOL.md §3, §4, §5).

Retry policy (tenacity):

* 8005 (invalid token, e.g. revoked behind our back): the token is re-issued
  once and the request repeated, for every TR.
* 1700/1701/429: repeated after ``Retry-After`` or an exponential backoff, for
  every TR: Kiwoom did not process a rate-limited request.
* A connect error (nothing was sent): repeated, for every TR.
* Queries only: read/write timeouts, dropped connections and 5xx are
  repeated with exponential backoff and jitter.
* Orders (kt10000–kt10003) are never repeated after the request may have
  reached Kiwoom: a timeout after sending, a dropped connection or a 5xx
  raise :class:`OutcomeUnknownError`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState

from quantum.kiwoom.endpoints import TRS
from quantum.kiwoom.exceptions import (
    AuthError,
    InputError,
    KiwoomError,
    OutcomeUnknownError,
    RateLimitedError,
    TransportError,
    UnavailableError,
    from_answer,
    from_http_error,
)
from quantum.kiwoom.http import HttpClient, HttpFailure
from quantum.kiwoom.ratelimit import OutboundLimiter, is_order_tr
from quantum.kiwoom.records import CallRecord, Observer, Outcome
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.tokens import (
    JSON_CONTENT_TYPE,
    Clock,
    Token,
    TokenCache,
    TokenManager,
    decode_object,
    kiwoom_http,
    retry_after_seconds,
)

__all__ = ["REAUTH_CODES", "CallRecord", "KiwoomTransport", "Observer", "RawResponse"]

log = logging.getLogger(__name__)

REAUTH_CODES = frozenset({"8005"})
"""Answers after which the token is re-issued once and the request repeated."""


@dataclass(frozen=True, slots=True)
class RawResponse:
    api_id: str
    body: dict[str, Any]
    cont_yn: bool
    """True when Kiwoom has more pages (response header ``cont-yn: Y``)."""
    next_key: str | None
    """The response header ``next-key`` (None when empty)."""
    http_status: int


class _CallState:
    __slots__ = ("attempts", "http_status", "pending", "reauth_used", "retries", "stage")

    def __init__(self) -> None:
        self.attempts = 0
        self.retries = 0
        self.reauth_used = False
        self.pending: Literal["reauth", "retry"] | None = None
        self.http_status: int | None = None
        self.stage: Literal["token", "request"] = "token"


class KiwoomTransport:
    """Sends TR requests for one app key."""

    def __init__(
        self,
        settings: KiwoomSettings,
        *,
        tokens: TokenManager | None = None,
        token_cache: TokenCache | None = None,
        limiter: OutboundLimiter | None = None,
        observer: Observer | None = None,
        http: httpx.AsyncClient | HttpClient | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self._http, self._owns_http = kiwoom_http(http, settings)
        self.limiter = limiter if limiter is not None else OutboundLimiter.from_settings(settings)
        self._owns_tokens = tokens is None
        self.tokens = tokens or TokenManager(
            settings,
            http=self._http,
            cache=token_cache,
            limiter=self.limiter,
            observer=observer,
            clock=clock,
        )
        self._observer = observer
        self._closed = False

    @property
    def key_fingerprint(self) -> str:
        return self.settings.key_fingerprint

    async def __aenter__(self) -> KiwoomTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client; revoke the token first when ``settings.revoke_on_close``."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.settings.revoke_on_close:
                try:
                    await self.tokens.revoke()
                except KiwoomError as exc:
                    log.warning("token revoke on close failed: %s", exc)
        finally:
            if self._owns_tokens:
                await self.tokens.aclose()
            if self._owns_http:
                await self._http.aclose()

    # ----------------------------------------------------------------- calls

    async def call(
        self,
        api_id: str,
        body: Mapping[str, Any],
        *,
        next_key: str | None = None,
        path: str | None = None,
    ) -> RawResponse:
        """One TR request. ``next_key`` continues a paged answer (``cont-yn: Y``);
        ``path`` overrides the table's path (for TRs not in ``endpoints.TRS``)."""
        started = time.perf_counter()
        state = _CallState()
        order = is_order_tr(api_id)
        resolved = path or _path_of(api_id)
        outcome: Outcome = "error"
        error_code: str | None = None
        try:
            if resolved is None:
                raise InputError(api_id, None, "unknown api-id: not in endpoints.TRS, pass path=")
            response = await self._call(api_id, resolved, body, next_key, order, state)
            outcome = "ok"
            return response
        except OutcomeUnknownError as exc:
            outcome, error_code = "unknown", exc.code or type(exc).__name__
            raise
        except KiwoomError as exc:
            error_code = exc.code or type(exc).__name__
            raise
        except asyncio.CancelledError:
            error_code = "cancelled"
            if order and state.stage == "request":
                outcome = "unknown"
            raise
        finally:
            self._report(
                CallRecord(
                    api_id=api_id,
                    path=resolved or "",
                    latency_ms=(time.perf_counter() - started) * 1000.0,
                    outcome=outcome,
                    error_code=error_code,
                    http_status=state.http_status,
                    attempts=state.attempts,
                    key_fingerprint=self.key_fingerprint,
                )
            )

    def _report(self, record: CallRecord) -> None:
        log.debug(
            "%s %s %s in %.1f ms (%d attempts)",
            record.api_id,
            record.outcome,
            record.error_code or "",
            record.latency_ms,
            record.attempts,
        )
        if self._observer is None:
            return
        try:
            self._observer(record)
        except Exception:
            log.exception("call observer failed")

    async def _call(
        self,
        api_id: str,
        path: str,
        body: Mapping[str, Any],
        next_key: str | None,
        order: bool,
        state: _CallState,
    ) -> RawResponse:
        payload = orjson.dumps(dict(body))
        url = self.settings.rest_url + path
        try:
            return await self._attempt(api_id, url, payload, next_key, order, state)
        except Exception as exc:
            if not self._should_retry(exc, order, state) or self._should_stop(order, state):
                raise
            await asyncio.sleep(self._backoff(exc, state))
        # A retry: tenacity from the second attempt on, with the same policies. Its
        # per-call objects form reference cycles (about 40 objects), which only the
        # garbage collector frees: on every call, that was a 6 ms collection pause of
        # the loop every few hundred calls under load (measured).
        async for attempt in AsyncRetrying(
            retry=lambda retry_state: self._should_retry(_failure(retry_state), order, state),
            stop=lambda _retry_state: self._should_stop(order, state),
            wait=lambda retry_state: self._backoff(_failure(retry_state), state),
            reraise=True,
        ):
            with attempt:
                return await self._attempt(api_id, url, payload, next_key, order, state)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        api_id: str,
        url: str,
        payload: bytes,
        next_key: str | None,
        order: bool,
        state: _CallState,
    ) -> RawResponse:
        state.attempts += 1
        state.stage = "token"
        token = await self.tokens.get()
        app_key, _ = self.settings.require_credentials()
        await self.limiter.acquire(app_key, api_id)
        state.stage = "request"
        headers = self._headers(api_id, token, next_key)
        try:
            response = await self._http.request("POST", url, payload, headers)
        except HttpFailure as exc:
            raise from_http_error(api_id, exc, order=order) from None
        status = response.status
        state.http_status = status
        answer = decode_object(response.content)
        error = from_answer(
            api_id, status, answer, retry_after=retry_after_seconds(response.headers)
        )
        if error is None and answer is not None:
            return RawResponse(
                api_id=api_id,
                body=answer,
                cont_yn=response.headers.get("cont-yn", "N").strip().upper() == "Y",
                next_key=response.headers.get("next-key", "").strip() or None,
                http_status=status,
            )
        assert error is not None
        if order and _outcome_unknown(error, status):
            raise OutcomeUnknownError(
                api_id,
                error.code,
                f"order answered HTTP {status} ({error.message}): outcome unknown, not re-sent",
                error.return_code,
                status,
            )
        if isinstance(error, AuthError) and error.code in REAUTH_CODES:
            await self.tokens.invalidate(token)
        raise error

    def _headers(self, api_id: str, token: Token, next_key: str | None) -> dict[str, str]:
        headers = {
            "api-id": api_id,
            "authorization": token.authorization,
            "Content-Type": JSON_CONTENT_TYPE,
            "User-Agent": self.settings.user_agent,
        }
        if next_key:
            headers["cont-yn"] = "Y"
            headers["next-key"] = next_key
        return headers

    # ----------------------------------------------------------------- retry policy

    def _should_retry(self, exc: BaseException | None, order: bool, state: _CallState) -> bool:
        """After a failed attempt: try again? Never for an order that may have
        reached Kiwoom; once more after a re-issued token."""
        state.pending = None
        if exc is None or state.stage == "token":
            return False  # the token manager has its own retries
        if isinstance(exc, AuthError) and exc.code in REAUTH_CODES:
            if state.reauth_used:
                return False
            state.reauth_used = True
            state.pending = "reauth"
            return True
        retryable = isinstance(exc, RateLimitedError) or (
            isinstance(exc, TransportError) and not exc.sent
        )
        if not order:
            retryable = retryable or isinstance(exc, (TransportError, UnavailableError))
        if retryable:
            state.retries += 1
            state.pending = "retry"
        return retryable

    def _should_stop(self, order: bool, state: _CallState) -> bool:
        limit = self.settings.max_order_retries if order else self.settings.max_query_retries
        return state.pending == "retry" and state.retries > limit

    def _backoff(self, exc: BaseException | None, state: _CallState) -> float:
        """Seconds before the next attempt: none after a re-issued token; Kiwoom's
        Retry-After when rate limited; else exponential with jitter."""
        if state.pending != "retry":
            return 0.0
        settings = self.settings
        step = max(state.retries - 1, 0)
        if isinstance(exc, RateLimitedError):
            if exc.retry_after is not None:
                return min(exc.retry_after, settings.retry_backoff_max_seconds)
            base = settings.rate_limited_backoff_seconds
        else:
            base = settings.retry_backoff_seconds
        backoff = min(base * (2.0**step), settings.retry_backoff_max_seconds)
        return backoff + random.uniform(0, settings.retry_jitter_seconds)


def _failure(retry_state: RetryCallState) -> BaseException | None:
    outcome = retry_state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


def _path_of(api_id: str) -> str | None:
    spec = TRS.get(api_id)
    return spec.path if spec is not None else None


def _outcome_unknown(error: KiwoomError, status: int) -> bool:
    """For an order: did Kiwoom possibly process it although we got no clear answer?"""
    if isinstance(error, UnavailableError) or status >= 500:
        return True
    # A 2xx without a readable Kiwoom answer: we cannot tell what happened.
    return type(error) is KiwoomError and 200 <= status < 300
