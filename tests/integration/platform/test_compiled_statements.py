"""Statements compiled once and run on the driver's cursor write what
``Connection.execute`` would, and fail as it would."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from tests.integration.platform.databases import postgres_database

from quantum.platform.db.compiled import Compiled
from quantum.platform.db.pg_statements import StatementPool
from quantum.platform.db.types import UtcDateTime

METADATA = MetaData()
ROWS = Table(
    "rows",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(16), unique=True),
    Column("at", UtcDateTime),
)


def test_values_go_through_the_column_types_and_errors_are_sqlalchemys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    METADATA.create_all(engine)
    seoul = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=9)))
    fast = Compiled(insert(ROWS), ("name", "at"))
    with engine.begin() as connection:
        assert fast.run(connection, {"name": "fast", "at": seoul}) == 1
        connection.execute(insert(ROWS), {"name": "slow", "at": seoul})
    with engine.connect() as connection:
        stored = {r.name: r.at for r in connection.execute(select(ROWS.c.name, ROWS.c.at))}
        raw = connection.exec_driver_sql("SELECT name, at FROM rows").all()
    assert stored == {"fast": seoul.astimezone(UTC), "slow": seoul.astimezone(UTC)}
    assert raw[0][1] == raw[1][1]  # the same text on disk either way

    with pytest.raises(IntegrityError) as failure, engine.begin() as connection:
        fast.run(connection, {"name": "fast", "at": seoul})
    assert "UNIQUE" in str(failure.value.orig)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM rows").scalar() == 2
    engine.dispose()


def test_postgresql_writes_hand_their_connection_back_whatever_the_outcome() -> None:
    """A pool of one connection: twelve writes at once, every other one refused,
    all finish (a connection kept by a failed write would stall the rest), and
    closing waits for the last hand-back."""
    with postgres_database() as url:
        asyncio.run(_writes_through_one_connection(url))


async def _writes_through_one_connection(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    pool = StatementPool(engine, 1)
    fast = Compiled(insert(ROWS), ("name", "at"))
    now = datetime.now(UTC)

    async def write(index: int) -> int | str:
        try:
            return await pool.execute(fast, {"name": f"row-{index // 2}", "at": now})
        except IntegrityError:
            return "refused"

    try:
        outcomes = await asyncio.wait_for(asyncio.gather(*(write(i) for i in range(12))), 10)
    finally:
        await pool.aclose()
    assert sorted(outcomes, key=str) == [1] * 6 + ["refused"] * 6
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("SELECT count(*) FROM rows")).scalar() == 6
    await engine.dispose()
