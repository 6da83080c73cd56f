"""asyncpg's answers as SQLAlchemy's: callers catch IntegrityError and friends
whichever path ran their statement."""

from __future__ import annotations

import socket

import asyncpg
import pytest
from sqlalchemy import column, exc, insert, table
from sqlalchemy.ext.asyncio import create_async_engine

from quantum.platform.db.compiled import Compiled
from quantum.platform.db.pg_statements import StatementPool, rows_changed, translated


@pytest.mark.parametrize(
    ("status", "rows"), [("INSERT 0 1", 1), ("INSERT 0 0", 0), ("UPDATE 3", 3), ("DELETE 0", 0)]
)
def test_rows_changed_reads_the_command_tag(status: str, rows: int) -> None:
    assert rows_changed(status) == rows


@pytest.mark.parametrize(
    ("error", "wrapper"),
    [
        (asyncpg.UniqueViolationError("duplicate key value"), exc.IntegrityError),
        (asyncpg.ForeignKeyViolationError("no such user"), exc.IntegrityError),
        (asyncpg.exceptions.StringDataRightTruncationError("too long"), exc.DataError),
        (asyncpg.ConnectionDoesNotExistError("connection was closed"), exc.OperationalError),
        (asyncpg.InterfaceError("pool is closed"), exc.OperationalError),
        (ConnectionRefusedError(111, "refused"), exc.OperationalError),
        (TimeoutError(), exc.OperationalError),
        (asyncpg.exceptions.UndefinedTableError("no table"), exc.DatabaseError),
    ],
)
def test_errors_are_sqlalchemys_with_the_drivers_as_orig(
    error: Exception, wrapper: type[exc.DBAPIError]
) -> None:
    raised = translated(error, "INSERT INTO t VALUES ($1)", [1])
    assert type(raised) is wrapper
    assert isinstance(raised, exc.DBAPIError) and raised.orig is error
    assert "INSERT INTO t" in str(raised)


def test_other_errors_are_left_as_they_are() -> None:
    error = ValueError("not a database error")
    assert translated(error, "SELECT 1", []) is error


async def test_a_database_that_is_down_is_an_operational_error() -> None:
    """Nothing listens on the port: the write fails as SQLAlchemy's would, and the
    pool is opened again by the next one."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/none")
    pool = StatementPool(engine, 2)
    statement = Compiled(insert(table("t", column("a"))), ["a"])
    try:
        for _ in range(2):
            with pytest.raises(exc.OperationalError):
                await pool.execute(statement, {"a": 1})
    finally:
        await pool.aclose()
        await engine.dispose()
