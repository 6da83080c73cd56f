"""Units of work: a plain function of a SQLAlchemy ``Connection``, run in one
transaction (or one read) on whichever engine the platform has.

PostgreSQL: on the async engine (``run_sync``; asyncpg does the I/O); reads in
autocommit (no BEGIN/COMMIT round trips; each statement sees a fresh snapshot, as
it does in a READ COMMITTED transaction); an atomic :class:`Change` as its one
statement on asyncpg's own pool (see pg_statements.py).

SQLite file: on the event loop's own thread, synchronously. A unit is a few
statements on a local file (about 0.3 ms of CPU, no fsync: WAL with
synchronous=NORMAL), and running it elsewhere cost more than running it: a
dedicated thread spent 80% of each unit waiting to get the GIL back from the
busy loop after every statement (2.3 ms a unit, wall; 238 orders/s at most,
measured), aiosqlite crossed threads a dozen times per order. Running inline
also makes units one at a time, which is all SQLite has. The loop must never
sleep in SQLite's busy handler, so the inline connection does not wait: a unit
that finds the file locked (another process, or the platform's other
connections) is rolled back and run again in a thread that may wait. Checkpoints
(the fsyncs) run in that thread too, never on the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from sqlite3 import SQLITE_BUSY, SQLITE_LOCKED
from typing import Any, Final, Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

from quantum.platform.db.compiled import Compiled
from quantum.platform.db.engine import SQLITE_CONNECT_ARGS, sqlite_pragmas
from quantum.platform.db.pg_statements import StatementPool

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Connection], T]

CHECKPOINT_SECONDS: Final = 1.0
"""How often, at most, the inline connection's writes are checkpointed."""


CHANGE_CONNECTIONS: Final = 10
"""PostgreSQL connections for :meth:`Units.atomic` (beside the engine's pool)."""


@dataclass(frozen=True)
class Change:
    """One atomic change in the two forms a database may run it: ``statement`` makes
    all of it in one statement (PostgreSQL's data-modifying CTEs), its parameters
    being each of ``parts``' values under their prefix; ``steps`` makes it with plain
    statements in the caller's transaction. Both return the number of rows that
    decide whether it applied."""

    statement: Compiled
    parts: tuple[tuple[str, Mapping[str, Any]], ...]
    steps: Work[int]

    def params(self) -> dict[str, Any]:
        """The statement's parameters (built only where the statement runs)."""
        return {
            prefix + name: value for prefix, values in self.parts for name, value in values.items()
        }


class Units(Protocol):
    async def write(self, work: Work[T]) -> T:
        """``work`` in a transaction, committed when it returns."""
        ...

    async def atomic(self, change: Change) -> int:
        """``change``, as one statement where the database can (PostgreSQL), else
        its steps in a transaction; the rows it changed."""
        ...

    async def read(self, work: Work[T]) -> T:
        """``work`` that only reads (and is quick)."""
        ...

    async def scan(self, work: Work[T]) -> T:
        """A read that may take a while (listings, replays): off the event loop."""
        ...

    async def aclose(self) -> None: ...


class AsyncUnits:
    """``change_connections``: on PostgreSQL, the most connections :meth:`atomic`
    opens, beside the engine's pool."""

    def __init__(self, engine: AsyncEngine, change_connections: int = CHANGE_CONNECTIONS) -> None:
        self._engine = engine
        autocommit = engine.dialect.name == "postgresql"
        self._statements = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if autocommit else engine
        )
        self._changes = StatementPool(engine, change_connections) if autocommit else None
        self._writer: contextlib.AbstractAsyncContextManager[object] = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        """SQLite has one writer; a second one would sleep in its busy handler."""

    async def write(self, work: Work[T]) -> T:
        async with self._writer, self._engine.begin() as connection:
            return await connection.run_sync(work)

    async def atomic(self, change: Change) -> int:
        if self._changes is None:
            return await self.write(change.steps)
        return await self._changes.execute(change.statement, change.params())

    async def read(self, work: Work[T]) -> T:
        async with self._statements.connect() as connection:
            return await connection.run_sync(work)

    async def scan(self, work: Work[T]) -> T:
        return await self.read(work)

    async def aclose(self) -> None:
        """The engine is its owner's; the change connections are these units'."""
        if self._changes is not None:
            await self._changes.aclose()


class ThreadUnits:
    """A SQLite file through the standard library's driver, in one thread that may
    wait for the file's lock."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-units")
        self._closed = False

    def _write(self, work: Work[T]) -> T:
        with self._engine.begin() as connection:
            return work(connection)

    def _read(self, work: Work[T]) -> T:
        with self._engine.connect() as connection:
            return work(connection)

    def _checkpoint(self) -> None:
        with self._engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call, *args)

    async def write(self, work: Work[T]) -> T:
        return await self._run(self._write, work)

    async def read(self, work: Work[T]) -> T:
        return await self._run(self._read, work)

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file (PASSIVE: nobody waits)."""
        await self._run(self._checkpoint)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._run(self._engine.dispose)
        self._thread.shutdown(wait=True)


def _locked(exc: OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (extended codes keep them in the low byte)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)


class InlineUnits:
    """A SQLite file on the event loop's thread; what finds the file locked, and
    the checkpoints, in a :class:`ThreadUnits` (see the module's docstring)."""

    def __init__(self, inline: Engine, waiting: ThreadUnits) -> None:
        self._inline = inline
        self._waiting = waiting
        self._checkpointed_at = time.monotonic()
        self._checkpointing: asyncio.Future[None] | None = None
        self._open: Connection | None = None
        self.waited = 0
        """Units that found the file locked and ran in the waiting thread."""

    def _connection(self) -> Connection:
        """The inline connection, kept open (a checkout per unit cost more than the
        unit's statements)."""
        connection = self._open
        if connection is None or connection.closed or connection.invalidated:
            connection = self._open = self._inline.connect()
        return connection

    async def write(self, work: Work[T]) -> T:
        connection = self._connection()
        try:
            with connection.begin():
                result = work(connection)
        except OperationalError as exc:
            if not _locked(exc):
                raise
            self.waited += 1
            return await self._waiting.write(work)
        self._after_write()
        return result

    async def atomic(self, change: Change) -> int:
        return await self.write(change.steps)

    async def read(self, work: Work[T]) -> T:
        connection = self._connection()
        try:
            try:
                return work(connection)
            finally:
                connection.rollback()  # ends the read: no transaction is left open
        except OperationalError as exc:
            if not _locked(exc):
                raise
            self.waited += 1
            return await self._waiting.read(work)

    async def scan(self, work: Work[T]) -> T:
        return await self._waiting.read(work)

    def _after_write(self) -> None:
        """At most one checkpoint a second while writes come, off the loop."""
        now = time.monotonic()
        if self._checkpointing is not None or now - self._checkpointed_at < CHECKPOINT_SECONDS:
            return
        self._checkpointed_at = now
        self._checkpointing = asyncio.ensure_future(self._waiting.checkpoint())
        self._checkpointing.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = None
        if not done.cancelled() and done.exception() is not None:
            log.warning("SQLite checkpoint failed: %s", done.exception())

    async def aclose(self) -> None:
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
        if self._open is not None:
            self._open.close()
        self._inline.dispose()
        await self._waiting.aclose()


def units_for(engine: AsyncEngine, *, change_connections: int = CHANGE_CONNECTIONS) -> Units:
    """Inline units for a SQLite file, async ones otherwise (an in-memory SQLite
    database exists only in its own connections); ``change_connections``: see
    :class:`AsyncUnits`."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return AsyncUnits(engine, change_connections)
    url = url.set(drivername="sqlite")
    # one connection, used by the loop's thread only; it never waits for a lock
    inline = create_sync_engine(url, connect_args={"timeout": 0}, poolclass=StaticPool)
    sqlite_pragmas(inline, checkpoints=False)
    waiting = create_sync_engine(url, connect_args=dict(SQLITE_CONNECT_ARGS))
    sqlite_pragmas(waiting)
    return InlineUnits(inline, ThreadUnits(waiting))
