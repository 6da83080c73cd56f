"""Throw-away databases for the storage tests: a SQLite file, or a fresh PostgreSQL
database on 127.0.0.1:5432 (skipped loudly when the server cannot be reached)."""

from __future__ import annotations

import asyncio
import os
import secrets
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ADMIN_DSN = os.environ.get("QTP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


async def pg_admin(statement: str) -> None:
    """One statement on the server's admin database."""
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=30)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _run(statement: str) -> None:
    """On a thread of its own: the caller's thread may be running an event loop
    already (Playwright's sync API keeps one for the browser tests' session)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, pg_admin(statement)).result()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new empty database, dropped afterwards; yields its SQLAlchemy URL."""
    name = f"qtp_test_{secrets.token_hex(6)}"
    try:
        _run(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        message = f"PostgreSQL at {PG_ADMIN_DSN} cannot be reached ({exc!r}): test SKIPPED"
        warnings.warn(message, stacklevel=2)
        pytest.skip(message)
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        _run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'platform.db'}"
    else:
        with postgres_database() as url:
            yield url
