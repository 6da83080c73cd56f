"""Units of work on a SQLite file: run on the loop's thread, but never with the
loop asleep in SQLite's busy handler; checkpoints happen off the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from tests.integration.platform.conftest import Harness

from quantum.platform.db.engine import create_engine
from quantum.platform.db.units import InlineUnits, units_for


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[InlineUnits, Path]]:
    path = tmp_path / "units.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    units = units_for(engine)
    assert isinstance(units, InlineUnits)
    await units.write(lambda c: c.execute(text("CREATE TABLE t (n INTEGER)")))
    try:
        yield units, path
    finally:
        await units.aclose()
        await engine.dispose()


def _insert(n: int) -> Callable[[Connection], int]:
    def work(connection: Connection) -> int:
        connection.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        return n

    return work


def _count(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM t")).scalar_one())


async def test_a_unit_finding_the_file_locked_waits_off_the_loop(
    db: tuple[InlineUnits, Path],
) -> None:
    units, path = db
    assert await units.write(_insert(1)) == 1  # inline
    assert units.waited == 0

    other = sqlite3.connect(path, isolation_level=None)  # another process, say
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t (n) VALUES (2)")
    try:
        waiting = asyncio.create_task(units.write(_insert(3)))
        ticks = 0
        for _ in range(10):  # the loop keeps running while the unit waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 10 and not waiting.done()
        assert await units.read(_count) == 1  # readers do not wait (WAL)
    finally:
        other.execute("COMMIT")
        other.close()
    assert await asyncio.wait_for(waiting, 10) == 3
    assert units.waited == 1
    assert await units.read(_count) == 3
    assert await units.scan(_count) == 3


async def test_the_inline_connection_leaves_checkpoints_to_the_thread(
    db: tuple[InlineUnits, Path],
) -> None:
    units, path = db
    assert await units.read(lambda c: c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()) == 0
    units._checkpointed_at = 0.0  # the interval has passed
    await units.write(_insert(1))
    pending = units._checkpointing
    assert pending is not None
    await pending
    other = sqlite3.connect(path)
    try:
        busy, log_frames, checkpointed = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        other.close()
    assert busy == 0 and log_frames == checkpointed  # nothing was left to copy


async def test_errors_other_than_a_lock_are_raised(db: tuple[InlineUnits, Path]) -> None:
    units, _ = db

    def broken(connection: Connection) -> None:
        connection.execute(text("INSERT INTO missing (n) VALUES (1)"))

    with pytest.raises(Exception, match="no such table"):
        await units.write(broken)
    assert units.waited == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_orders_and_the_usage_log_share_the_loops_writer(harness: Harness) -> None:
    """On a SQLite file the usage log (flushed every 50 ms here) writes through the
    platform's units, as the orders do: as a second connection it held the file's lock
    while order writes slept in SQLite's busy handler."""
    platform = harness.platform
    assert isinstance(platform.units, InlineUnits)
    assert platform.usage._units is platform.units
    assert platform.orders.store._units is platform.units
    _, headers = await harness.trader()
    # The set-up (user, sign-in, credentials) and the first order's Kiwoom token are
    # written through the session engine (aiosqlite, a connection of its own): a flush
    # meeting one of those commits rightly waits. Count from after them.
    await harness.buy(headers, limit="lowerLimit")
    await asyncio.sleep(0.06)
    waited_before = platform.units.waited
    for _ in range(5):
        await harness.buy(headers, limit="lowerLimit")
        await asyncio.sleep(0.06)  # a usage flush between orders
    assert platform.usage.written >= 5  # a quote, a deposit and the orders at least
    assert platform.units.waited == waited_before
