"""The usage log writer: attribution from ``acting_for``, batched writes off the
request path, nothing lost on shutdown, and rows kept across a database failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.waiting import eventually

from quantum.kiwoom.records import CallRecord
from quantum.platform.db.engine import create_engine, session_factory
from quantum.platform.db.migrate import upgrade
from quantum.platform.db.models import ApiUsage
from quantum.platform.db.units import Units, units_for
from quantum.platform.services.usage import UsageRecorder, acting_for, current_caller


def _record(api_id: str = "ka10001", *, outcome: str = "ok", n: int = 0) -> CallRecord:
    return CallRecord(
        api_id=api_id,
        path="/api/dostk/stkinfo",
        latency_ms=12.3456 + n,
        outcome=outcome,  # type: ignore[arg-type]
        error_code=None if outcome == "ok" else "1700",
        http_status=200 if outcome == "ok" else 429,
        attempts=1 if outcome == "ok" else 3,
        key_fingerprint="abcdef012345",
    )


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'usage.db'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def units(engine: AsyncEngine) -> AsyncIterator[Units]:
    built = units_for(engine)
    yield built
    await built.aclose()


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ApiUsage)) or 0)


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[ApiUsage]:
    async with sessions() as session:
        return list(await session.scalars(select(ApiUsage).order_by(ApiUsage.id)))


async def test_calls_are_attributed_to_the_acting_caller(
    sessions: async_sessionmaker[AsyncSession], units: Units
) -> None:
    recorder = UsageRecorder(units, flush_seconds=60, batch_size=1000)
    recorder.observe(_record("ka00001"))
    with acting_for("USER_A", "ACC_A"):
        recorder.observe(_record("ka10001"))
        with acting_for("USER_B", "ACC_B"):
            recorder.observe(_record("kt10000", outcome="error"))
        recorder.observe(_record("ka10002"))
    recorder.observe(_record("ka00002"))
    assert current_caller.get() is None

    async def task_for(user: str) -> None:
        with acting_for(user, f"ACC_{user}"):
            await asyncio.sleep(0)
            recorder.observe(_record("ka10003"))

    await asyncio.gather(task_for("T1"), task_for("T2"))
    assert await recorder.flush() == 7

    rows = await _rows(sessions)
    got = [(r.api_id, r.user_id, r.kiwoom_account_id) for r in rows]
    assert got[:5] == [
        ("ka00001", None, None),
        ("ka10001", "USER_A", "ACC_A"),
        ("kt10000", "USER_B", "ACC_B"),
        ("ka10002", "USER_A", "ACC_A"),
        ("ka00002", None, None),
    ]
    assert sorted(got[5:]) == [("ka10003", "T1", "ACC_T1"), ("ka10003", "T2", "ACC_T2")]
    error = rows[2]
    assert (error.success, error.error_code, error.http_status, error.attempts) == (
        False,
        "1700",
        429,
        3,
    )
    ok = rows[1]
    assert ok.success is True and ok.endpoint == "/api/dostk/stkinfo"
    assert ok.key_fingerprint == "abcdef012345"
    assert ok.response_time_ms == pytest.approx(12.346, abs=1e-3)


async def test_rows_are_written_in_batches_off_the_request_path(
    sessions: async_sessionmaker[AsyncSession], units: Units
) -> None:
    recorder = UsageRecorder(units, flush_seconds=60, batch_size=10)  # no interval here
    recorder.start()
    try:
        for n in range(5):
            recorder.observe(_record(n=n))  # synchronous: no database work here
        assert recorder.written == 0
        await asyncio.sleep(0.1)
        assert await _count(sessions) == 0  # below batch size, long before the interval

        for n in range(10):
            recorder.observe(_record(n=n))
        await eventually(lambda: recorder.written == 15)  # a full batch is written early
        assert await _count(sessions) == 15
    finally:
        await recorder.aclose()


async def test_rows_below_a_batch_are_written_after_the_interval(
    sessions: async_sessionmaker[AsyncSession], units: Units
) -> None:
    recorder = UsageRecorder(units, flush_seconds=0.5, batch_size=1000)
    recorder.start()
    try:
        for n in range(5):
            recorder.observe(_record(n=n))
        assert recorder.written == 0  # nothing written on the request path
        await eventually(lambda: recorder.written == 5)  # the interval passed
        assert await _count(sessions) == 5
    finally:
        await recorder.aclose()


async def test_close_writes_everything_pending(
    sessions: async_sessionmaker[AsyncSession], units: Units
) -> None:
    recorder = UsageRecorder(units, flush_seconds=60, batch_size=50)
    recorder.start()
    for n in range(30):
        recorder.observe(_record(n=n))
    await asyncio.sleep(0.05)
    assert await _count(sessions) == 0
    # A burst right before shutdown, some of it arriving while a batch is being written.
    for n in range(1234):
        recorder.observe(_record(n=n))
        if n % 200 == 0:
            await asyncio.sleep(0)
    await recorder.aclose()
    assert await _count(sessions) == 30 + 1234
    assert recorder.written == 30 + 1234
    assert recorder.failed_batches == 0


async def test_close_without_start_writes_pending(
    sessions: async_sessionmaker[AsyncSession], units: Units
) -> None:
    recorder = UsageRecorder(units, flush_seconds=60, batch_size=50)
    for n in range(3):
        recorder.observe(_record(n=n))
    await recorder.aclose()
    assert await _count(sessions) == 3


async def test_database_failure_keeps_rows_for_the_next_flush(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], units: Units
) -> None:
    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    (tmp_path / "missing" / "dir").rmdir()  # the engine made it; now it cannot open
    broken_units = units_for(broken)
    recorder = UsageRecorder(broken_units, flush_seconds=0.05, batch_size=1000)
    recorder.start()
    try:
        for n in range(7):
            recorder.observe(_record(n=n))
        await eventually(lambda: recorder.failed_batches >= 1)
        assert recorder.written == 0
        with acting_for("LATE", "ACC_LATE"):
            recorder.observe(_record("ka99999"))

        recorder._units = units  # the database is back
        await eventually(lambda: recorder.written == 8)
        assert await _count(sessions) == 8
        failures = recorder.failed_batches
    finally:
        await recorder.aclose()
        await broken_units.aclose()
        await broken.dispose()
    rows = await _rows(sessions)
    assert [r.api_id for r in rows][:7] == ["ka10001"] * 7  # order kept
    assert rows[-1].user_id == "LATE"
    assert recorder.failed_batches == failures
    assert await _count(sessions) == 8  # nothing written twice


async def test_close_with_database_down_keeps_rows_in_memory(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], units: Units
) -> None:
    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'x.db'}")
    (tmp_path / "gone").rmdir()
    broken_units = units_for(broken)
    recorder = UsageRecorder(broken_units, flush_seconds=60, batch_size=1000)
    recorder.observe(_record())
    await recorder.aclose()  # must not raise
    await broken_units.aclose()
    await broken.dispose()
    assert recorder.failed_batches == 1
    recorder._units = units
    assert await recorder.flush() == 1
