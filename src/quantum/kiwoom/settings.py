"""Client settings (pydantic-settings): environment, URLs, keys, timeouts, retries.

The integration guide's variables are honoured (PROTOCOL.md §1 for the hosts):

=============================== ===============================================
``KIWOOM_SANDBOX_MODE``         ``true`` (default): the mock host; ``false``: production
``KIWOOM_SANDBOX_APP_KEY``      the mock account's app key (``_APP_SECRET`` its secret)
``KIWOOM_PRODUCTION_APP_KEY``   the real account's app key (``_APP_SECRET`` its secret)
``KIWOOM_REST_URL``             any REST base URL (e.g. the simulator), overrides the host
``KIWOOM_WS_URL``               any WebSocket URL, overrides the host
=============================== ===============================================

Every other field reads ``KIWOOM_<FIELD NAME>`` too (``KIWOOM_TIMEOUT_SECONDS`` …).
Keys and secrets are :class:`~pydantic.SecretStr`: no ``repr`` or ``str`` shows them,
and no :class:`~quantum.kiwoom.exceptions.KiwoomError` message either.
"""

from __future__ import annotations

import functools
import hashlib
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quantum.kiwoom.endpoints import WEBSOCKET_PATH
from quantum.kiwoom.exceptions import register_secret


class KiwoomEnvironment(StrEnum):
    PRODUCTION = "production"
    MOCK = "mock"


PRODUCTION_REST_URL = "https://api.kiwoom.com"
MOCK_REST_URL = "https://mockapi.kiwoom.com"
PRODUCTION_WS_URL = f"wss://api.kiwoom.com:10000{WEBSOCKET_PATH}"
MOCK_WS_URL = f"wss://mockapi.kiwoom.com:10000{WEBSOCKET_PATH}"

REST_URLS: dict[KiwoomEnvironment, str] = {
    KiwoomEnvironment.PRODUCTION: PRODUCTION_REST_URL,
    KiwoomEnvironment.MOCK: MOCK_REST_URL,
}
WS_URLS: dict[KiwoomEnvironment, str] = {
    KiwoomEnvironment.PRODUCTION: PRODUCTION_WS_URL,
    KiwoomEnvironment.MOCK: MOCK_WS_URL,
}

DEFAULT_USER_AGENT = "quantum-kiwoom/0.1 (python-httpx)"
"""Not a library's default UA: Kiwoom's WAF was seen blocking one (PROTOCOL.md §1)."""


@functools.lru_cache(maxsize=4096)
def key_fingerprint(app_key: str) -> str:
    """A short, non-reversible name for an app key (12 hex characters of its SHA-256),
    for logs, metrics and cache keys. The simulator names keys the same way.
    Remembered: every Kiwoom call names its key (a hash per call was 1% of the
    platform's CPU)."""
    return hashlib.sha256(app_key.encode("utf-8")).hexdigest()[:12]


def ws_url_for(rest_url: str) -> str:
    """The WebSocket URL served next to a REST base URL (``http://h:p`` →
    ``ws://h:p/api/dostk/websocket``), as the simulator does."""
    base = rest_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return base + WEBSOCKET_PATH


class KiwoomSettings(BaseSettings):
    """Everything the client needs to reach one Kiwoom account.

    ``environment``, ``rest_url``, ``ws_url``, ``app_key`` and ``app_secret`` are
    derived when not given: the environment from ``sandbox_mode``, the URLs from
    the environment, the key pair from the environment's ``*_APP_KEY`` /
    ``*_APP_SECRET``.
    """

    model_config = SettingsConfigDict(
        env_prefix="KIWOOM_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        validate_default=True,
    )

    sandbox_mode: bool = True
    """``KIWOOM_SANDBOX_MODE``: true = mock host (모의투자), false = production."""
    sandbox_app_key: SecretStr | None = None
    sandbox_app_secret: SecretStr | None = None
    production_app_key: SecretStr | None = None
    production_app_secret: SecretStr | None = None

    environment: KiwoomEnvironment = KiwoomEnvironment.MOCK
    """Derived from ``sandbox_mode`` unless set explicitly."""
    rest_url: str = ""
    """``KIWOOM_REST_URL``; empty = the environment's host."""
    ws_url: str = ""
    """``KIWOOM_WS_URL``; empty = the environment's host."""
    app_key: SecretStr | None = None
    """Chosen by environment unless set explicitly."""
    app_secret: SecretStr | None = None

    timeout_seconds: float = Field(default=10.0, gt=0)
    """Read/write/pool timeout of one HTTP request."""
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    token_refresh_margin_seconds: float = Field(default=300.0, ge=0)
    """Re-issue the token this long before ``expires_dt``."""
    max_query_retries: int = Field(default=3, ge=0)
    """Retries of a query on 1700/429, 5xx and transport errors."""
    max_order_retries: int = Field(default=2, ge=0)
    """Retries of an order on 1700/429 only (Kiwoom did not process those)."""
    retry_backoff_seconds: float = Field(default=0.25, ge=0)
    """First backoff; doubles per retry, plus jitter."""
    retry_backoff_max_seconds: float = Field(default=5.0, ge=0)
    retry_jitter_seconds: float = Field(default=0.1, ge=0)
    rate_limited_backoff_seconds: float = Field(default=0.5, ge=0)
    """First wait after a 429 that carries no ``Retry-After``."""
    revoke_on_close: bool = False
    """Revoke the token (au10002) when the transport closes."""

    rate_limit_enabled: bool = True
    rate_limit_per_second: int | None = Field(default=None, ge=1)
    """Overrides the per-(app key, api-id) budget of the rate-limit table."""
    rate_limit_global_per_second: int | None = Field(default=None, ge=0)
    """Overrides the per-app-key budget (0 = none)."""
    rate_limit_window_seconds: float = Field(default=1.0, gt=0)
    rate_limit_margin_seconds: float = Field(default=0.02, ge=0)
    """Added to the window so that network jitter cannot bunch sends at the server."""

    user_agent: str = DEFAULT_USER_AGENT

    @model_validator(mode="after")
    def _derive(self) -> KiwoomSettings:
        explicit = self.model_fields_set
        if "environment" not in explicit:
            self.environment = (
                KiwoomEnvironment.MOCK if self.sandbox_mode else KiwoomEnvironment.PRODUCTION
            )
        if not self.rest_url:
            self.rest_url = REST_URLS[self.environment]
        self.rest_url = self.rest_url.rstrip("/")
        if not self.ws_url:
            explicit_rest = "rest_url" in explicit and self.rest_url != REST_URLS[self.environment]
            self.ws_url = ws_url_for(self.rest_url) if explicit_rest else WS_URLS[self.environment]
        mock = self.environment is KiwoomEnvironment.MOCK
        if self.app_key is None:
            self.app_key = self.sandbox_app_key if mock else self.production_app_key
        if self.app_secret is None:
            self.app_secret = self.sandbox_app_secret if mock else self.production_app_secret
        for secret in (self.app_key, self.app_secret):
            if secret is not None:
                register_secret(secret.get_secret_value())
        return self

    @classmethod
    def for_url(
        cls,
        rest_url: str,
        app_key: str,
        app_secret: str,
        ws_url: str | None = None,
        mock: bool = False,
        **kw: Any,
    ) -> KiwoomSettings:
        """Settings for any base URL (the simulator, a proxy), ignoring ``.env``.

        ``ws_url`` defaults to ``<rest_url as ws>/api/dostk/websocket``.
        """
        environment = KiwoomEnvironment.MOCK if mock else KiwoomEnvironment.PRODUCTION
        values: dict[str, Any] = {
            "environment": environment,
            "sandbox_mode": mock,
            "rest_url": rest_url,
            "ws_url": ws_url or ws_url_for(rest_url),
            "app_key": SecretStr(app_key),
            "app_secret": SecretStr(app_secret),
        }
        values.update(kw)
        return cls(_env_file=None, **values)  # type: ignore[call-arg]

    @property
    def is_mock(self) -> bool:
        return self.environment is KiwoomEnvironment.MOCK

    @property
    def key_fingerprint(self) -> str:
        """:func:`key_fingerprint` of the app key (``"-"`` when none is configured)."""
        if self.app_key is None:
            return "-"
        return key_fingerprint(self.app_key.get_secret_value())

    def require_credentials(self) -> tuple[str, str]:
        """The raw key pair; raises when either is missing."""
        if self.app_key is None or self.app_secret is None:
            side = "SANDBOX" if self.is_mock else "PRODUCTION"
            raise ValueError(
                f"no Kiwoom app key/secret configured: set KIWOOM_{side}_APP_KEY and "
                f"KIWOOM_{side}_APP_SECRET (or pass app_key/app_secret)"
            )
        return self.app_key.get_secret_value(), self.app_secret.get_secret_value()
