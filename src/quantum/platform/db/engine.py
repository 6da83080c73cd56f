"""The async engine and session factory for SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_CONNECT_ARGS: Final = {"timeout": 30}
"""Seconds a writer waits for another process's write lock."""


def sqlite_pragmas(engine: Engine, *, checkpoints: bool = True) -> None:
    """WAL (readers never wait for the writer), foreign keys, and commits that
    survive a crash of the process (not of the machine) without an fsync each.
    ``checkpoints=False``: this engine's commits never copy the log into the
    database file (with its fsyncs); someone else checkpoints."""

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()


def create_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 0, **options: Any
) -> AsyncEngine:
    """SQLite gets WAL, foreign keys and a busy timeout (several writers in one
    process); PostgreSQL a modest pool (``pool_size`` + ``max_overflow`` connections)
    that drops connections the server closed and hands out the most recently used
    one first (LIFO: at a trader's pace the same warm server process answers, 1.97
    vs 2.44 ms per order write measured, and idle ones can be timed out)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        options.setdefault("connect_args", dict(SQLITE_CONNECT_ARGS))
        engine = create_async_engine(url, **options)
        sqlite_pragmas(engine.sync_engine)
        return engine
    options.update(pool_size=pool_size, max_overflow=max_overflow, pool_use_lifo=True)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "checkout", _closed_connections_refused)
    return engine


def _closed_connections_refused(
    _dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any
) -> None:
    """A pooled connection the server has closed (a restart, an idle timeout) is
    replaced at checkout: the driver saw the socket close, so this costs no round
    trip (SQLAlchemy's pre-ping costs one per checkout, three on asyncpg outside
    autocommit). The pool retries with a new connection on DisconnectionError."""
    driver = record.driver_connection
    is_closed = getattr(driver, "is_closed", None)
    if driver is None or (is_closed is not None and is_closed()):
        raise DisconnectionError("the database closed this pooled connection")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


__all__ = ["AsyncSession", "create_engine", "session_factory"]
