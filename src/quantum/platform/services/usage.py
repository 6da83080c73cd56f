"""The usage log: every call to Kiwoom, written in batches off the request path.

The kiwoom client reports each call synchronously to :meth:`UsageRecorder.observe`;
who made it comes from :data:`current_caller`, set by the platform around its
broker calls. A background task writes what accumulated every ``flush_seconds``
(or sooner when ``batch_size`` rows wait); ``aclose`` writes the rest. Batches go
through the platform's units of work, as orders do: on SQLite a second connection
writing the log would hold the file's lock while the orders wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, insert

from quantum.kiwoom.records import CallRecord
from quantum.platform.db.models import ApiUsage
from quantum.platform.db.units import Units

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    user_id: str | None
    kiwoom_account_id: str | None


current_caller: ContextVar[Caller | None] = ContextVar("current_caller", default=None)


@contextlib.contextmanager
def acting_for(user_id: str | None, kiwoom_account_id: str | None) -> Iterator[None]:
    """Attribute the Kiwoom calls made inside this block to a user and account."""
    token = current_caller.set(Caller(user_id, kiwoom_account_id))
    try:
        yield
    finally:
        current_caller.reset(token)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _insert(rows: list[dict[str, Any]], connection: Connection) -> None:
    connection.execute(insert(ApiUsage), rows)


class UsageRecorder:
    def __init__(
        self,
        units: Units,
        *,
        flush_seconds: float = 1.0,
        batch_size: int = 500,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._units = units
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._clock = clock
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self._stopping = False
        self.written = 0
        self.failed_batches = 0

    def observe(self, record: CallRecord) -> None:
        caller = current_caller.get()
        self._pending.append(
            {
                "usage_timestamp": self._clock(),
                "user_id": caller.user_id if caller else None,
                "kiwoom_account_id": caller.kiwoom_account_id if caller else None,
                "key_fingerprint": record.key_fingerprint,
                "api_id": record.api_id,
                "endpoint": record.path,
                "response_time_ms": round(record.latency_ms, 3),
                "success": record.outcome == "ok",
                "error_code": record.error_code,
                "http_status": record.http_status,
                "attempts": record.attempts,
            }
        )
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-log-writer")

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_seconds)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Write what is pending now; on a database error keep it for the next try."""
        async with self._write_lock:
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                await self._units.write(partial(_insert, batch))
            except Exception as exc:
                self.failed_batches += 1
                log.error(
                    "usage log write failed (%s); %d rows kept", type(exc).__name__, len(batch)
                )
                self._pending[:0] = batch
                return 0
            self.written += len(batch)
            return len(batch)

    async def aclose(self) -> None:
        """Stop the writer between batches (never mid-write), then write the rest."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()
