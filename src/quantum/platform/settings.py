"""The platform's one settings object, read once from the environment and ``.env``.

Names follow the guide where it has them (``DATABASE_URL``, ``REDIS_URL``,
``KIWOOM_ADAPTER_URL``); the platform's own settings carry the ``QTP_`` prefix.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quantum.platform.db.units import CHANGE_CONNECTIONS
from quantum.simulator.clock import ClockMode


class RunMode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        # populate_by_name makes pydantic-settings read a field by its own name too:
        # QTP_<FIELD> then, not a bare MODE or DATA_DIR that another program set
        env_prefix="QTP_",
    )

    mode: RunMode = Field(default=RunMode.DEVELOPMENT, validation_alias=_env("QTP_MODE"))
    """production: the JWT and encryption keys must be configured, not generated."""
    data_dir: Path = Field(default=Path("data"), validation_alias=_env("QTP_DATA_DIR"))
    database_url: str | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    """``postgresql://…`` or ``sqlite:///…``; default: ``<data_dir>/quantum.db``."""
    db_pool_size: int = Field(default=20, ge=1, validation_alias=_env("QTP_DB_POOL_SIZE"))
    db_max_overflow: int = Field(default=0, ge=0, validation_alias=_env("QTP_DB_MAX_OVERFLOW"))
    db_write_pool_size: int = Field(
        default=CHANGE_CONNECTIONS, ge=1, validation_alias=_env("QTP_DB_WRITE_POOL_SIZE")
    )
    """PostgreSQL connections per instance: pool + overflow + the order writes' own
    pool (see db/pg_statements.py), times the instances, must stay under the server's
    ``max_connections`` (100 by default: three instances at 30); requests beyond
    wait for a connection. No overflow by default: overflow
    connections are closed as soon as they are returned, so a load above the pool
    opened and closed one per write (60 in one bench.orders run, each a new server
    process): 100 traders at 4 orders/s went 187-246 -> 267-280 orders/s with 30 + 0."""
    redis_url: str | None = Field(default=None, validation_alias=_env("REDIS_URL"))
    """Set: instances share the bus, leases, token locks and rate limits through it."""
    redis_prefix: str = Field(default="qtp:", validation_alias=_env("QTP_REDIS_PREFIX"))
    lease_seconds: float = Field(default=3.0, gt=0, validation_alias=_env("QTP_LEASE_SECONDS"))
    """How long a dead instance's order supervision waits before another takes it."""
    adapter_url: str | None = Field(default=None, validation_alias=_env("KIWOOM_ADAPTER_URL"))
    """A remote adapter; unset: the adapter runs in this process."""

    jwt_secret: SecretStr | None = Field(default=None, validation_alias=_env("QTP_JWT_SECRET"))
    access_token_minutes: float = Field(
        default=15.0, gt=0, validation_alias=_env("QTP_ACCESS_TOKEN_MINUTES")
    )
    refresh_token_days: float = Field(
        default=14.0, gt=0, validation_alias=_env("QTP_REFRESH_TOKEN_DAYS")
    )
    encryption_keys: SecretStr | None = Field(
        default=None, validation_alias=_env("QTP_ENCRYPTION_KEYS")
    )
    """``key_id:base64(32 bytes)`` entries, comma-separated; the first encrypts."""
    admin_username: str | None = Field(default=None, validation_alias=_env("QTP_ADMIN_USERNAME"))
    admin_password: SecretStr | None = Field(
        default=None, validation_alias=_env("QTP_ADMIN_PASSWORD")
    )

    login_limit_per_username: str = Field(
        default="5/minute", validation_alias=_env("QTP_LOGIN_LIMIT_PER_USERNAME")
    )
    login_limit_per_client: str = Field(
        default="30/minute", validation_alias=_env("QTP_LOGIN_LIMIT_PER_CLIENT")
    )
    password_time_cost: int | None = Field(
        default=None, ge=1, validation_alias=_env("QTP_PASSWORD_TIME_COST")
    )
    password_memory_cost: int | None = Field(
        default=None, ge=8, validation_alias=_env("QTP_PASSWORD_MEMORY_COST")
    )

    usage_flush_seconds: float = Field(
        default=1.0, gt=0, validation_alias=_env("QTP_USAGE_FLUSH_SECONDS")
    )
    usage_batch_size: int = Field(default=500, ge=1, validation_alias=_env("QTP_USAGE_BATCH_SIZE"))
    quote_ttl_seconds: float = Field(
        default=1.0, ge=0, validation_alias=_env("QTP_QUOTE_TTL_SECONDS")
    )

    reconcile_poll_seconds: float = Field(
        default=2.0, ge=0, validation_alias=_env("QTP_RECONCILE_POLL_SECONDS")
    )
    """How often unsettled orders are checked against the broker (0: only on demand)."""
    reconcile_grace_seconds: float = Field(
        default=30.0, gt=0, validation_alias=_env("QTP_RECONCILE_GRACE_SECONDS")
    )
    """How long an unanswered submit may stay unknown before it counts as never sent."""

    order_stream: bool = Field(default=True, validation_alias=_env("QTP_ORDER_STREAM"))
    """Apply fills from Kiwoom's realtime order reports (false: snapshots only)."""

    simulator: bool | None = Field(default=None, validation_alias=_env("QTP_SIMULATOR"))
    """Run the built-in simulator; default: when no Kiwoom host is configured."""
    simulator_url: str | None = Field(default=None, validation_alias=_env("QTP_SIMULATOR_URL"))
    """A simulator already running elsewhere, for SIMULATOR accounts (no built-in one)."""
    simulator_port: int = Field(
        default=8200, ge=0, le=65535, validation_alias=_env("QTP_SIMULATOR_PORT")
    )
    simulator_seed: int = Field(default=42, validation_alias=_env("QTP_SIMULATOR_SEED"))
    simulator_clock: ClockMode = Field(
        default=ClockMode.REAL, validation_alias=_env("QTP_SIMULATOR_CLOCK")
    )
    simulator_start: datetime | None = Field(
        default=None, validation_alias=_env("QTP_SIMULATOR_START")
    )
    simulator_config: Path | None = Field(
        default=None, validation_alias=_env("QTP_SIMULATOR_CONFIG")
    )

    @field_validator("database_url", "redis_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def production(self) -> bool:
        return self.mode is RunMode.PRODUCTION

    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL: asyncpg for PostgreSQL, aiosqlite for SQLite."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'quantum.db').resolve()}"
        return async_database_url(url)


_DRIVERS = {
    "postgres://": "postgresql+asyncpg://",
    "postgresql://": "postgresql+asyncpg://",
    "postgresql+psycopg://": "postgresql+asyncpg://",
    "sqlite://": "sqlite+aiosqlite://",
}


def async_database_url(url: str) -> str:
    for prefix, driver in _DRIVERS.items():
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    return url
