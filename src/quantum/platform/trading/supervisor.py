"""Keeps orders in line with the broker in the background: reconciles every
account with unsettled orders at start-up and then every ``poll_seconds`` (the
fallback when realtime order reports are not flowing)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from quantum.adapter.broker import BrokerError
from quantum.platform.errors import ApiError
from quantum.platform.services.accounts import AccountService
from quantum.platform.trading.reconcile import UNSETTLED, Reconciler
from quantum.platform.trading.store import OrderStore

log = logging.getLogger(__name__)


class TradingSupervisor:
    def __init__(
        self,
        reconciler: Reconciler,
        store: OrderStore,
        accounts: AccountService,
        *,
        poll_seconds: float = 2.0,
    ) -> None:
        self.reconciler = reconciler
        self._store = store
        self._accounts = accounts
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def run_once(self) -> int:
        """One pass over every user with unsettled orders; events written."""
        written = 0
        for user_id in await self._store.users_with(UNSETTLED):
            try:
                trading = await self._accounts.trading(user_id)
                if trading is not None:
                    written += await self.reconciler.sync(user_id, trading)
            except (BrokerError, ApiError) as exc:
                log.warning("reconciling %s failed: %s", user_id, type(exc).__name__)
        return written

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="order-reconciler")

    async def _run(self) -> None:
        """The first pass right away (start-up reconciliation), then every
        ``poll_seconds``; ``poll_seconds=0``: the first pass only."""
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # keep the loop alive; the next pass retries
                log.error("reconciliation pass failed: %s", type(exc).__name__)
            if self._poll_seconds <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._poll_seconds)

    async def aclose(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
