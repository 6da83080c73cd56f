"""The platform's tables. Each part owns its own; the views the guide queries are
created by the migrations (``kiwoom_account_view``, ``kiwoom_api_usage_log_view``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TextClause,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from quantum.platform.db.types import BigId, UtcDateTime, utc_now

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="USER")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class RefreshToken(Base):
    """A refresh token by its SHA-256; one family per login, rotated on every use.
    A used token presented again revokes its whole family (theft detection)."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"))
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class KiwoomAccount(Base):
    """A Kiwoom account and its app key pair, sealed with AES-256-GCM under ``key_id``."""

    __tablename__ = "kiwoom_accounts"

    kiwoom_account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    app_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    app_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    key_fingerprint: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    credentials_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AccountAssignment(Base):
    """Who trades on an account: one user per account, one account per user."""

    __tablename__ = "kiwoom_account_assignments"

    kiwoom_account_id: Mapped[str] = mapped_column(
        ForeignKey("kiwoom_accounts.kiwoom_account_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), unique=True
    )
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    assigned_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AssignmentAudit(Base):
    """Append-only: every assignment and unassignment, by whom and when."""

    __tablename__ = "kiwoom_account_assignment_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kiwoom_account_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class KiwoomToken(Base):
    """The platform's one Kiwoom token per app key, sealed; a restart reuses it."""

    __tablename__ = "kiwoom_tokens"

    key_fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    token_type: Mapped[str] = mapped_column(String(16), default="Bearer")
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiUsage(Base):
    """One call to Kiwoom: who, which api-id, how long, how it ended."""

    __tablename__ = "kiwoom_api_usage_log"
    __table_args__ = (Index("ix_usage_user_time", "user_id", "usage_timestamp"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    usage_timestamp: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kiwoom_account_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_fingerprint: Mapped[str] = mapped_column(String(32))
    api_id: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str] = mapped_column(String(128))
    response_time_ms: Mapped[float] = mapped_column(Float)
    success: Mapped[bool] = mapped_column(Boolean)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)


DEDUPE_SET = text("dedupe_key IS NOT NULL")
NUMBERED = text("broker_order_no IS NOT NULL")


def _partial(where: TextClause) -> dict[str, Any]:
    """An index over the rows ``where`` holds (each entry is a page an SQLite commit
    writes): on both databases."""
    return {"sqlite_where": where, "postgresql_where": where}


class OrderEventRow(Base):
    """The truth about orders: append-only, one row per event, ``seq`` per order."""

    __tablename__ = "order_events"
    __table_args__ = (
        UniqueConstraint("order_id", "seq", name="uq_order_events_order_seq"),
        Index("uq_order_events_dedupe_key", "dedupe_key", unique=True, **_partial(DEDUPE_SET)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)
    """JSON."""
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """Set on broker reports (a fill's key): the same report is recorded once."""


class OrderViewRow(Base):
    """The projection of ``order_events`` (rebuilt by ``quantum admin rebuild-projections``)."""

    __tablename__ = "order_view"
    __table_args__ = (
        Index("ix_order_view_user_created", "user_id", "created_at"),
        Index(
            "ix_order_view_broker_no",
            "kiwoom_account_id",
            "broker_order_no",
            **_partial(NUMBERED),
        ),
    )

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    kiwoom_account_id: Mapped[str] = mapped_column(String(64))
    client_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stock_code: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(8))
    order_type: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stop_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    prior_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    broker_order_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    filled_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    filled_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    base_filled_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    base_filled_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """Filled before the current broker order number (a modify starts a new one)."""
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(Base):
    """One order per (user, key): a retried submit finds the first one."""

    __tablename__ = "order_idempotency_keys"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


VIEWS: dict[str, str] = {
    "kiwoom_account_view": """
        SELECT a.kiwoom_account_id, s.user_id, a.environment, a.display_name, a.is_active,
               s.assigned_at, s.assigned_by,
               CASE WHEN a.app_key_sealed IS NULL THEN false ELSE true END AS has_credentials,
               a.credentials_updated_at, a.key_fingerprint,
               t.expires_at AS token_expires_at, a.created_at
        FROM kiwoom_accounts a
        LEFT JOIN kiwoom_account_assignments s ON s.kiwoom_account_id = a.kiwoom_account_id
        LEFT JOIN kiwoom_tokens t ON t.key_fingerprint = a.key_fingerprint
    """,
    "kiwoom_api_usage_log_view": """
        SELECT l.id, l.usage_timestamp, l.user_id, l.kiwoom_account_id, l.api_id,
               l.endpoint, l.response_time_ms, l.success, l.error_code, l.http_status,
               l.attempts, l.key_fingerprint
        FROM kiwoom_api_usage_log l
    """,
}
"""The guide's views (its SQL queries them), in SQL both databases accept."""
