"""Keeps orders in line with the broker in the background: reconciles every
account with unsettled orders at start-up and then every ``poll_seconds`` (the
fallback when realtime order reports are not flowing)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from quantum.adapter.broker import BrokerError
from quantum.platform.errors import ApiError
from quantum.platform.services.accounts import AccountService, Trading
from quantum.platform.trading.reconcile import UNSETTLED, Reconciler
from quantum.platform.trading.reports import OrderReports
from quantum.platform.trading.store import OrderStore

log = logging.getLogger(__name__)


class TradingSupervisor:
    def __init__(
        self,
        reconciler: Reconciler,
        store: OrderStore,
        accounts: AccountService,
        *,
        reports: OrderReports | None = None,
        poll_seconds: float = 2.0,
        live_sync_seconds: float = 30.0,
    ) -> None:
        self.reconciler = reconciler
        self.reports = reports
        self._live_sync_seconds = live_sync_seconds
        self._last_sync: dict[str, float] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._store = store
        self._accounts = accounts
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def run_once(self, *, force: bool = True) -> int:
        """One pass over every user with unsettled orders; events written. The
        background loop passes ``force=False``: accounts whose order stream is live
        are checked against snapshots only every ``live_sync_seconds``."""
        written = 0
        active: set[str] = set()
        for user_id in await self._store.users_with(UNSETTLED):
            try:
                trading = await self._accounts.trading(user_id)
                if trading is None:
                    continue
                account_id = trading.kiwoom_account_id
                active.add(account_id)
                if self.reports is not None:
                    await self.reports.watch(user_id, trading)
                    live = self.reports.is_live(account_id)
                    last = self._last_sync.get(account_id, 0.0)
                    if (
                        live
                        and force is False
                        and time.monotonic() - last < self._live_sync_seconds
                    ):
                        continue  # the stream reports fills; snapshots now and then only
                written += await self.reconciler.sync(user_id, trading)
                self._last_sync[account_id] = time.monotonic()
            except (BrokerError, ApiError) as exc:
                log.warning("reconciling %s failed: %s", user_id, type(exc).__name__)
        if self.reports is not None:
            for account_id in set(self.reports.watched()) - active:
                await self.reports.unwatch(account_id)
        return written

    def watch(self, user_id: str, trading: Trading) -> None:
        """Start the account's order stream in the background (an order is working)."""
        if self.reports is None or self._stop.is_set():
            return
        task = asyncio.create_task(self.reports.watch(user_id, trading))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="order-reconciler")

    async def _run(self) -> None:
        """The first pass right away (start-up reconciliation), then every
        ``poll_seconds``; ``poll_seconds=0``: the first pass only."""
        while not self._stop.is_set():
            try:
                await self.run_once(force=False)
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
        for task in list(self._pending):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.reports is not None:
            await self.reports.aclose()
