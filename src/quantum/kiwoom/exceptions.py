"""The client's error hierarchy and the classifier of Kiwoom's answers.

Every error carries ``api_id``, ``code`` (Kiwoom's inner code such as ``"8005"``
or ``"RC4058"``, when there is one), ``message``, ``return_code`` (the top-level
family, PROTOCOL.md §4) and ``http_status``.

No error text ever contains an app key, secret or token: the token manager
registers those with :func:`register_secret` and every message is passed
through :func:`redact` when the error is built and again when it is shown.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from quantum.kiwoom.errors import ERRORS, ReturnCode, parse_error
from quantum.kiwoom.http import HttpFailure

__all__ = [
    "AuthError",
    "BusinessError",
    "InputError",
    "KiwoomError",
    "MockUnsupportedError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "TransportError",
    "UnavailableError",
    "classify",
    "from_answer",
    "from_http_error",
    "redact",
    "register_secret",
    "return_code_of",
]

# --------------------------------------------------------------------------- redaction

_MIN_SECRET_LENGTH = 4
_REDACTED = "***"
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Never show ``value`` in an error message from now on."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def forget_secret(value: str | None) -> None:
    if value:
        with _secrets_lock:
            _secrets.discard(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


# --------------------------------------------------------------------------- hierarchy


class KiwoomError(Exception):
    """Any failed Kiwoom call."""

    def __init__(
        self,
        api_id: str,
        code: str | None,
        message: str,
        return_code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        self.api_id = api_id
        self.code = code
        self.message = redact(message)
        self.return_code = return_code
        self.http_status = http_status
        super().__init__(self.message)

    def __str__(self) -> str:
        code = f"[{self.code}] " if self.code else ""
        details = [f"api-id {self.api_id or '-'}"]
        if self.return_code is not None:
            details.append(f"return_code {self.return_code}")
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        return redact(f"{code}{self.message} ({', '.join(details)})")

    def __repr__(self) -> str:
        return redact(
            f"{type(self).__name__}(api_id={self.api_id!r}, code={self.code!r}, "
            f"message={self.message!r}, return_code={self.return_code!r}, "
            f"http_status={self.http_status!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.api_id, self.code, self.message, self.return_code, self.http_status)
        return (type(self), args, self.__dict__)


class AuthError(KiwoomError):
    """Token or key problems: 8005 (invalid token), 8001/8002 (key/secret),
    8030/8031 (real/mock mismatch), 8050 (IP), 1513–1516 (authorization header)."""


class RateLimitedError(KiwoomError):
    """1700 (per api-id), 1701 (total), 1702 (group) or HTTP 429."""

    def __init__(
        self,
        api_id: str,
        code: str | None,
        message: str,
        return_code: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(api_id, code, message, return_code, http_status)
        self.retry_after = retry_after


class InputError(KiwoomError):
    """The request was wrong: 15xx (api-id, header, fields), 19xx (stock),
    80xx input codes (grant_type, missing key)."""


class BusinessError(KiwoomError):
    """A back-office rejection ``[2000](RCnnnn:text)``, e.g. RC4058 (market closed)."""


class MockUnsupportedError(KiwoomError):
    """The mock host (모의투자) does not offer this TR: 8104 or RC9000."""


class TransportError(KiwoomError):
    """The request failed below Kiwoom's protocol (connect/read errors, timeouts).

    ``sent`` is False when the request certainly never reached Kiwoom
    (connection refused, connect timeout).
    """

    def __init__(
        self,
        api_id: str,
        code: str | None,
        message: str,
        return_code: int | None = None,
        http_status: int | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(api_id, code, message, return_code, http_status)
        self.sent = sent


class UnavailableError(KiwoomError):
    """Kiwoom answered 5xx (or an unexpected error) to a query, after retries."""


class OutcomeUnknownError(KiwoomError):
    """An ORDER whose request may have reached Kiwoom but whose answer did not
    arrive (timeout after sending, dropped connection, 5xx). It was NOT re-sent:
    look the order up (ka10075/ka10076) before placing it again."""


# --------------------------------------------------------------------------- classifier

_BY_FAMILY: dict[ReturnCode, type[KiwoomError]] = {
    ReturnCode.BAD_REQUEST: InputError,
    ReturnCode.INPUT: InputError,
    ReturnCode.AUTH: AuthError,
    ReturnCode.RATE_LIMITED: RateLimitedError,
    ReturnCode.BUSINESS: BusinessError,
}

_BY_CODE: dict[str, type[KiwoomError]] = {
    "8104": MockUnsupportedError,
    "RC9000": MockUnsupportedError,
    "8030": AuthError,  # an app key of the other environment (real vs mock)
    "1999": UnavailableError,  # "예기치 못한 에러가 발생했습니다"
}


def classify(
    return_code: int | None, code: str | None, http_status: int | None
) -> type[KiwoomError]:
    """The error class for an answer: the inner code first (a 1504 arriving in
    family 3 is still an input error), then the top-level family, then HTTP."""
    if code is not None:
        if code in _BY_CODE:
            return _BY_CODE[code]
        if code.startswith("RC"):
            return BusinessError
        if code.isdigit():
            spec = ERRORS.get(int(code))
            if spec is not None:
                return _BY_FAMILY[spec.family]
            if code.startswith("17"):
                return RateLimitedError
    if return_code is not None:
        try:
            return _BY_FAMILY[ReturnCode(return_code)]
        except (ValueError, KeyError):
            pass
    if http_status == 429:
        return RateLimitedError
    if http_status is not None and http_status >= 500:
        return UnavailableError
    return KiwoomError


def return_code_of(body: Mapping[str, Any] | None) -> int | None:
    """A REST answer's or a realtime message's ``return_code``; None when missing or garbled."""
    if body is None:
        return None
    value = body.get("return_code")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def from_answer(
    api_id: str,
    http_status: int,
    body: Mapping[str, Any] | None,
    *,
    retry_after: float | None = None,
) -> KiwoomError | None:
    """The error an HTTP answer stands for, or None for a success.

    ``body`` is the decoded JSON object (None when the body was not a JSON
    object, e.g. a WAF's HTML page). Two-level codes are read with
    :func:`quantum.kiwoom.errors.parse_error`; bare 4-digit top-level codes count.
    """
    return_code = return_code_of(body)
    if return_code == 0 and 200 <= http_status < 300:
        return None
    if return_code is not None and return_code != 0:
        raw = body.get("return_msg") if body is not None else None
        text = raw if isinstance(raw, str) else ""
        parsed = parse_error(return_code, text)
        cls = classify(return_code, parsed.code, http_status)
        message = parsed.text or text or "Kiwoom returned an error"
        if issubclass(cls, RateLimitedError):
            return RateLimitedError(
                api_id, parsed.code, message, return_code, http_status, retry_after
            )
        return cls(api_id, parsed.code, message, return_code, http_status)
    if http_status == 429:
        return RateLimitedError(
            api_id, None, "too many requests", return_code, http_status, retry_after
        )
    if http_status >= 500:
        return UnavailableError(api_id, None, f"server error HTTP {http_status}", None, http_status)
    if body is None:
        what = f"HTTP {http_status} without a Kiwoom JSON body"
    elif return_code is None:
        what = f"HTTP {http_status} without return_code"
    else:
        what = f"HTTP {http_status} with return_code 0"
    return KiwoomError(api_id, None, f"unexpected answer: {what}", return_code, http_status)


def from_http_error(api_id: str, exc: HttpFailure, *, order: bool) -> KiwoomError:
    """A failure below Kiwoom's protocol. For an order that may have reached Kiwoom
    (read/write timeout, dropped connection) the outcome is unknown."""
    if not exc.sent:
        return TransportError(api_id, None, f"request not sent: {exc.what}", sent=False)
    if order:
        return OutcomeUnknownError(
            api_id, None, f"order sent but no answer ({exc.what}); it was not re-sent"
        )
    return TransportError(api_id, None, f"no answer: {exc.what}", sent=True)
