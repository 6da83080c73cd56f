"""The migrations on an empty SQLite and PostgreSQL database: every table and view,
no drift from the models, idempotent, and the guide's usage SQL verbatim on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from quantum.cli import app as cli
from quantum.platform.db.engine import create_engine, session_factory
from quantum.platform.db.migrate import current_revision, head_revision, upgrade
from quantum.platform.db.models import VIEWS, ApiUsage, Base

VIEW_NAMES = {"kiwoom_account_view", "kiwoom_api_usage_log_view"}

# Copied verbatim from the guide ("모니터링" / "1. API 사용량 확인").
GUIDE_DAILY_USAGE_SQL = """-- 일별 API 사용량
SELECT 
    DATE(usage_timestamp) as date,
    COUNT(*) as total_calls,
    SUM(CASE WHEN success = true THEN 1 ELSE 0 END) as success_count,
    AVG(response_time_ms) as avg_response_time
FROM kiwoom_api_usage_log_view
WHERE usage_timestamp >= NOW() - INTERVAL '7 days'
GROUP BY DATE(usage_timestamp)
ORDER BY date DESC;
"""  # noqa: W291 (the guide's trailing space after SELECT, kept verbatim)
GUIDE = Path("/work/shared/seed/kiwoom-integration-guide.md")


def test_the_sql_is_the_guides() -> None:
    if not GUIDE.is_file():
        pytest.skip(f"{GUIDE} is not here")
    blocks = GUIDE.read_text(encoding="utf-8").split("```sql\n")[1:]
    assert GUIDE_DAILY_USAGE_SQL in [block.split("```", 1)[0] for block in blocks]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    created = create_engine(database_url)
    try:
        yield created
    finally:
        await created.dispose()


def _schema(connection: Connection) -> tuple[set[str], set[str], dict[str, list[str]]]:
    inspector = inspect(connection)
    views = set(inspector.get_view_names())
    columns = {name: [c["name"] for c in inspector.get_columns(name)] for name in views}
    return set(inspector.get_table_names()), views, columns


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_empty_database_is_unmigrated(engine: AsyncEngine) -> None:
    assert await current_revision(engine) is None
    async with engine.connect() as connection:
        tables, views, _ = await connection.run_sync(_schema)
    assert tables == set() and views == set()


async def test_upgrade_from_empty_creates_everything(engine: AsyncEngine) -> None:
    await upgrade(engine)
    head = head_revision()
    assert head is not None
    assert await current_revision(engine) == head
    async with engine.connect() as connection:
        tables, views, columns = await connection.run_sync(_schema)
        drift = await connection.run_sync(_drift)
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert {
        "users",
        "refresh_tokens",
        "kiwoom_accounts",
        "kiwoom_account_assignments",
        "kiwoom_account_assignment_audit",
        "kiwoom_tokens",
        "kiwoom_api_usage_log",
    } <= tables
    assert views == VIEW_NAMES == set(VIEWS)
    assert drift == []
    # What the guide's SQL and the account endpoints read from the views.
    assert {"kiwoom_account_id", "user_id", "assigned_at", "is_active", "token_expires_at"} <= set(
        columns["kiwoom_account_view"]
    )
    assert {"usage_timestamp", "success", "response_time_ms", "user_id", "api_id"} <= set(
        columns["kiwoom_api_usage_log_view"]
    )


async def test_upgrade_twice_is_a_no_op(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (user_id, username, password_hash, role, is_active, "
                "created_at, updated_at) VALUES ('U1', 'kept', 'x', 'USER', true, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    async with engine.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        users = (await connection.execute(text("SELECT username FROM users"))).scalars().all()
        drift = await connection.run_sync(_drift)
    assert versions == [(head_revision(),)]
    assert users == ["kept"]
    assert drift == []


async def test_views_follow_the_tables(engine: AsyncEngine) -> None:
    await upgrade(engine)
    now = datetime.now(UTC)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        session.add(
            ApiUsage(
                usage_timestamp=now,
                user_id="USER_001",
                kiwoom_account_id="KIWOOM_ACC_001",
                key_fingerprint="abc",
                api_id="ka10001",
                endpoint="/api/dostk/stkinfo",
                response_time_ms=12.5,
                success=True,
                attempts=1,
            )
        )
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT user_id, api_id, response_time_ms, success "
                    "FROM kiwoom_api_usage_log_view"
                )
            )
        ).one()
    assert (row[0], row[1], row[2], bool(row[3])) == ("USER_001", "ka10001", 12.5, True)


async def test_guide_daily_usage_sql_verbatim_on_postgresql(
    engine: AsyncEngine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the guide's SQL (NOW() - INTERVAL '7 days') is PostgreSQL")
    await upgrade(engine)
    now = datetime.now(UTC)
    old = now - timedelta(days=10)

    def row(moment: datetime, latency: float, success: bool) -> ApiUsage:
        return ApiUsage(
            usage_timestamp=moment,
            user_id="USER_001",
            kiwoom_account_id="KIWOOM_ACC_001",
            key_fingerprint="abc",
            api_id="ka10001",
            endpoint="/api/dostk/stkinfo",
            response_time_ms=latency,
            success=success,
            error_code=None if success else "1700",
            attempts=1,
        )

    sessions = session_factory(engine)
    async with sessions.begin() as session:
        session.add_all(
            [
                row(now, 10.0, True),
                row(now, 20.0, True),
                row(now, 60.0, False),
                row(old, 1000.0, True),
                row(old, 2000.0, False),
            ]
        )
    async with engine.connect() as connection:
        today = (await connection.execute(text("SELECT DATE(NOW())"))).scalar_one()
        result = await connection.execute(text(GUIDE_DAILY_USAGE_SQL))
        assert list(result.keys()) == ["date", "total_calls", "success_count", "avg_response_time"]
        rows = result.all()
    assert len(rows) == 1
    date, total_calls, success_count, avg_response_time = rows[0]
    assert date == today
    assert (total_calls, success_count) == (3, 2)
    assert float(avg_response_time) == pytest.approx(30.0)


def test_cli_db_upgrade_creates_the_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("database_url", raising=False)
    data_dir = tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert f"database at revision {head_revision()}" in result.output
    database = data_dir / "quantum.db"
    assert database.is_file()

    import sqlite3

    with sqlite3.connect(database) as connection:
        names = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            )
        }
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert set(Base.metadata.tables) | VIEW_NAMES | {"alembic_version"} <= names
    assert version == [(head_revision(),)]

    again = runner.invoke(cli, ["db", "upgrade", "--data-dir", str(data_dir)])
    assert again.exit_code == 0, again.output
