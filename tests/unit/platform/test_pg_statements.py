"""asyncpg's answers as SQLAlchemy's: callers catch IntegrityError and friends
whichever path ran their statement."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import exc

from quantum.platform.db.pg_statements import rows_changed, translated


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
