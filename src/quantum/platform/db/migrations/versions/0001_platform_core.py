"""Platform core: users, refresh tokens, Kiwoom accounts and assignments, tokens,
usage log, and the guide's two views.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantum.platform.db.models import VIEWS
from quantum.platform.db.types import BigId, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_login_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("family_id", sa.String(32), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(
        op.f("ix_refresh_tokens_family_id"), "refresh_tokens", ["family_id"], unique=False
    )
    op.create_table(
        "kiwoom_accounts",
        sa.Column("kiwoom_account_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("app_key_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("app_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("key_fingerprint", sa.String(32), nullable=True),
        sa.Column("credentials_updated_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("kiwoom_account_id", name=op.f("pk_kiwoom_accounts")),
    )
    op.create_index(
        op.f("ix_kiwoom_accounts_key_fingerprint"),
        "kiwoom_accounts",
        ["key_fingerprint"],
        unique=False,
    )
    op.create_table(
        "kiwoom_account_assignments",
        sa.Column("kiwoom_account_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("assigned_at", UtcDateTime(), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["kiwoom_account_id"],
            ["kiwoom_accounts.kiwoom_account_id"],
            name=op.f("fk_kiwoom_account_assignments_kiwoom_account_id_kiwoom_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_kiwoom_account_assignments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kiwoom_account_id", name=op.f("pk_kiwoom_account_assignments")),
        sa.UniqueConstraint("user_id", name=op.f("uq_kiwoom_account_assignments_user_id")),
    )
    op.create_table(
        "kiwoom_account_assignment_audit",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kiwoom_account_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor_user_id", sa.String(64), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiwoom_account_assignment_audit")),
    )
    op.create_index(
        op.f("ix_kiwoom_account_assignment_audit_kiwoom_account_id"),
        "kiwoom_account_assignment_audit",
        ["kiwoom_account_id"],
        unique=False,
    )
    op.create_table(
        "kiwoom_tokens",
        sa.Column("key_fingerprint", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("token_type", sa.String(16), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_fingerprint", name=op.f("pk_kiwoom_tokens")),
    )
    op.create_table(
        "kiwoom_api_usage_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("usage_timestamp", UtcDateTime(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("kiwoom_account_id", sa.String(64), nullable=True),
        sa.Column("key_fingerprint", sa.String(32), nullable=False),
        sa.Column("api_id", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("response_time_ms", sa.Float(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiwoom_api_usage_log")),
    )
    op.create_index(
        op.f("ix_kiwoom_api_usage_log_usage_timestamp"),
        "kiwoom_api_usage_log",
        ["usage_timestamp"],
        unique=False,
    )
    op.create_index(
        "ix_usage_user_time", "kiwoom_api_usage_log", ["user_id", "usage_timestamp"], unique=False
    )
    for name, select in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {select}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table in (
        "kiwoom_api_usage_log",
        "kiwoom_tokens",
        "kiwoom_account_assignment_audit",
        "kiwoom_account_assignments",
        "kiwoom_accounts",
        "refresh_tokens",
        "users",
    ):
        op.drop_table(table)
