"""Statements compiled once and run on the driver's cursor write what
``Connection.execute`` would, and fail as it would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.exc import IntegrityError

from quantum.platform.db.compiled import Compiled
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
