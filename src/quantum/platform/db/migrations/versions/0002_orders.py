"""Orders: the append-only order_events, its projection order_view, idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantum.platform.db.types import BigId, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("dedupe_key", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sa.UniqueConstraint("order_id", "seq", name="uq_order_events_order_seq"),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_order_events_dedupe_key")),
    )
    op.create_index(op.f("ix_order_events_order_id"), "order_events", ["order_id"])
    op.create_table(
        "order_view",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("kiwoom_account_id", sa.String(64), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=True),
        sa.Column("stock_code", sa.String(12), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("order_type", sa.String(32), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("stop_price", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("prior_state", sa.String(24), nullable=True),
        sa.Column("broker_order_no", sa.String(20), nullable=True),
        sa.Column("filled_quantity", sa.BigInteger(), nullable=False),
        sa.Column("filled_amount", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_quantity", sa.BigInteger(), nullable=False),
        sa.Column("base_filled_quantity", sa.BigInteger(), nullable=False),
        sa.Column("base_filled_amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(255), nullable=True),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_view")),
    )
    op.create_index(op.f("ix_order_view_state"), "order_view", ["state"])
    op.create_index("ix_order_view_user_created", "order_view", ["user_id", "created_at"])
    op.create_index(
        "ix_order_view_broker_no", "order_view", ["kiwoom_account_id", "broker_order_no"]
    )
    op.create_table(
        "order_idempotency_keys",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "idempotency_key", name=op.f("pk_order_idempotency_keys")
        ),
    )


def downgrade() -> None:
    op.drop_table("order_idempotency_keys")
    op.drop_table("order_view")
    op.drop_table("order_events")
