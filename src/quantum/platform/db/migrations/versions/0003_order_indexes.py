"""Fewer index entries per order event: each one is a page an SQLite commit
writes (and a PostgreSQL insert maintains).

- ``ix_order_events_order_id`` goes: ``uq_order_events_order_seq`` (order_id, seq)
  serves every lookup by order.
- The dedupe key's uniqueness becomes a partial unique index: most events (all but
  the broker's fill reports) have none, and NULLs need no entry.
- ``ix_order_view_broker_no`` only holds orders the broker has numbered (the
  lookups by number never ask for NULL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DEDUPE_SET = sa.text("dedupe_key IS NOT NULL")
NUMBERED = sa.text("broker_order_no IS NOT NULL")


def _partial(where: sa.TextClause) -> dict[str, Any]:
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    op.drop_index("ix_order_events_order_id", table_name="order_events")
    with op.batch_alter_table("order_events") as batch:
        batch.drop_constraint("uq_order_events_dedupe_key", type_="unique")
    op.create_index(
        "uq_order_events_dedupe_key",
        "order_events",
        ["dedupe_key"],
        unique=True,
        **_partial(DEDUPE_SET),
    )
    op.drop_index("ix_order_view_broker_no", table_name="order_view")
    op.create_index(
        "ix_order_view_broker_no",
        "order_view",
        ["kiwoom_account_id", "broker_order_no"],
        **_partial(NUMBERED),
    )


def downgrade() -> None:
    op.drop_index("ix_order_view_broker_no", table_name="order_view")
    op.create_index(
        "ix_order_view_broker_no", "order_view", ["kiwoom_account_id", "broker_order_no"]
    )
    op.drop_index("uq_order_events_dedupe_key", table_name="order_events")
    with op.batch_alter_table("order_events") as batch:
        batch.create_unique_constraint("uq_order_events_dedupe_key", ["dedupe_key"])
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])
