"""Keeps orders in line with the broker in the background: reconciles every
account with unsettled orders at start-up and then every ``poll_seconds`` (the
fallback when realtime order reports are not flowing).

With several instances only the holder of the supervision lease does this (one
order-report stream per account, no duplicate polling); an instance that takes
the lease over reconciles at once, which also picks up fills reported while no
one was listening. Other instances ask the holder over the bus to watch an
account when an order of theirs starts working: once per account every
``ASK_AGAIN_SECONDS`` at most (the holder's watch is idempotent; a request per
order was a bus message per order)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from quantum.adapter.broker import BrokerError
from quantum.platform.bus import Bus, BusSubscription
from quantum.platform.cluster.leases import Lease, SoleLease
from quantum.platform.errors import ApiError
from quantum.platform.services.accounts import AccountService, Trading
from quantum.platform.trading.reconcile import UNSETTLED, Reconciler
from quantum.platform.trading.reports import OrderReports
from quantum.platform.trading.store import OrderStore

log = logging.getLogger(__name__)

WATCH_TOPIC = "supervisor:watch"
"""Bus topic: ``{"user_id": …}``, an order of the user is working; watch the account."""
ASK_AGAIN_SECONDS = 5.0
"""How long an instance without the lease takes its request for an account as
heard: after that it asks again (the lease may have moved, the stream ended)."""


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
        lease: Lease | None = None,
        bus: Bus | None = None,
        clock: Callable[[], float] = time.monotonic,
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
        self._wake = asyncio.Event()
        """Set to run a pass now (the lease was taken) or to end the loop (stop)."""
        self._force_next = False
        self.lease: Lease = lease if lease is not None else SoleLease()
        self._bus = bus
        self._requests: BusSubscription | None = None
        self._listener: asyncio.Task[None] | None = None
        self._clock = clock
        self._asked: dict[str, float] = {}
        """Account -> when this instance last asked the lease holder to watch it."""

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
        """Start the account's order stream in the background (an order is working);
        on an instance without the lease, ask the holder to."""
        if self.reports is None or self._stop.is_set():
            return
        if self.lease.held:
            self._watch_soon(self.reports, user_id, trading)
        elif self._bus is not None:
            now = self._clock()
            account_id = trading.kiwoom_account_id
            if now - self._asked.get(account_id, -ASK_AGAIN_SECONDS) >= ASK_AGAIN_SECONDS:
                self._asked[account_id] = now
                self._spawn(self._bus.publish(WATCH_TOPIC, {"user_id": user_id}))

    def _watch_soon(self, reports: OrderReports, user_id: str, trading: Trading) -> None:
        """Start the account's stream unless it flows already (a task per order, else)."""
        if not reports.watching(trading.kiwoom_account_id):
            self._spawn(reports.watch(user_id, trading))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def start(self) -> None:
        if self._task is not None:
            return
        if self._bus is not None and self.reports is not None:
            self._requests = await self._bus.subscribe(WATCH_TOPIC)
            self._listener = asyncio.create_task(self._serve_requests(self._requests))
        self._task = asyncio.create_task(self._run(), name="order-reconciler")
        self.lease.start(self._lease_changed)

    async def _lease_changed(self, held: bool) -> None:
        if held:
            self._force_next = True  # reports may have gone unheard: reconcile everything
            self._wake.set()
        elif self.reports is not None:
            for account_id in self.reports.watched():
                await self.reports.unwatch(account_id)

    async def _serve_requests(self, requests: BusSubscription) -> None:
        async for message in requests.messages():
            user_id = message.get("user_id")
            if not self.lease.held or self.reports is None or not isinstance(user_id, str):
                continue
            try:
                trading = await self._accounts.trading(user_id)
            except (BrokerError, ApiError):
                continue
            if trading is not None:
                self._watch_soon(self.reports, user_id, trading)

    async def _run(self) -> None:
        """The first pass right away (start-up reconciliation), then every
        ``poll_seconds`` (``0``: no polling) and whenever this instance takes the
        lease over; passes only while the lease is held."""
        while not self._stop.is_set():
            self._wake.clear()
            if self.lease.held:
                force, self._force_next = self._force_next, False
                try:
                    await self.run_once(force=force)
                except Exception as exc:  # keep the loop alive; the next pass retries
                    log.error("reconciliation pass failed: %s", type(exc).__name__)
            timeout = self._poll_seconds if self._poll_seconds > 0 else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def aclose(self) -> None:
        """Stop polling, hand the lease back (a successor need not wait for it to run
        out) and close the order streams."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._requests is not None:
            await self._requests.close()
        await self.lease.aclose()
        for task in list(self._pending):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.reports is not None:
            await self.reports.aclose()
