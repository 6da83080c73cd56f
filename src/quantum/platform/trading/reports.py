"""Realtime broker reports: one order-update subscription per account with working
orders; each fill is applied as it happens, keyed like the polled snapshots (the
broker order's cumulative quantity), so the two paths never count a fill twice.

Fills are taken from the stream, and the exchange ending an order's remainder by
itself (an IOC or FOK order's: a ``확인`` of the order's own number with nothing
left); acknowledgements, cancels and changes are recorded from the broker's answers,
and anything the stream cannot settle on its own (a missed frame, a reconnect)
makes the account reconcile against snapshots."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from quantum.adapter.broker import BrokerError, Subscription
from quantum.adapter.schema import OrderUpdateMessage, StatusMessage, StreamStatus
from quantum.platform.services.accounts import Trading
from quantum.platform.trading.projection import OrderView
from quantum.platform.trading.reconcile import Reconciler
from quantum.platform.trading.service import OrderService

log = logging.getLogger(__name__)

FILL_STATUS = "체결"
CONFIRMED_STATUS = "확인"
PARK_SECONDS = 2.0
"""How long a report may wait for its order's acknowledgement to be recorded."""


@dataclass
class _Feed:
    user_id: str
    trading: Trading
    subscription: Subscription
    task: asyncio.Task[None] | None = None
    live: bool = True
    """A subscription starts on a live stream; STATUS messages tell of changes."""
    caught_up: bool = False
    """The snapshot taken when the stream started has been applied."""
    applied: int = 0
    resyncs: int = field(default=0)
    drainer: asyncio.Task[None] | None = None
    recheck: asyncio.Task[None] | None = None
    parked: list[tuple[float, OrderUpdateMessage]] = field(default_factory=list)
    """Reports (fills, ends) of orders not known yet, oldest first."""


class OrderReports:
    def __init__(self, orders: OrderService, reconciler: Reconciler) -> None:
        self._orders = orders
        self._reconciler = reconciler
        self._feeds: dict[str, _Feed] = {}
        self._lock = asyncio.Lock()

    def watching(self, account_id: str) -> bool:
        """Its order updates are flowing, or being started."""
        return account_id in self._feeds

    def is_live(self, account_id: str) -> bool:
        feed = self._feeds.get(account_id)
        return feed is not None and feed.live and feed.caught_up

    async def watch(self, user_id: str, trading: Trading) -> None:
        """Make sure the account's order updates are flowing (idempotent). A new
        stream starts with a snapshot: the broker may have reported fills before it
        was up (a marketable order fills before its answer; a stream that ended or
        an instance that took the job over missed frames)."""
        account_id = trading.kiwoom_account_id
        if account_id in self._feeds:
            return
        async with self._lock:
            if account_id in self._feeds:
                return
            try:
                subscription = await self._orders.broker.subscribe(
                    [], trading.credentials, orders=True
                )
            except BrokerError as exc:
                log.warning("order updates for %s unavailable: %s", account_id, exc.code)
                return
            feed = _Feed(user_id, trading, subscription)
            feed.task = asyncio.create_task(self._listen(feed), name=f"orders-{account_id}")
            self._feeds[account_id] = feed
        await self._resync(feed)
        feed.caught_up = True

    async def unwatch(self, account_id: str) -> None:
        feed = self._feeds.pop(account_id, None)
        if feed is not None:
            await self._stop(feed)

    def watched(self) -> list[str]:
        return sorted(self._feeds)

    async def _listen(self, feed: _Feed) -> None:
        try:
            async for message in feed.subscription.messages():
                if isinstance(message, OrderUpdateMessage):
                    await self._on_order(feed, message)
                elif isinstance(message, StatusMessage):
                    was_live = feed.live
                    feed.live = message.status is StreamStatus.LIVE
                    if feed.live and not was_live:
                        await self._resync(feed)  # frames may have been missed meanwhile
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("order updates of %s ended: %s", feed.trading.kiwoom_account_id, exc)
        finally:
            feed.live = False
            if self._feeds.get(feed.trading.kiwoom_account_id) is feed:
                del self._feeds[feed.trading.kiwoom_account_id]

    async def _on_order(self, feed: _Feed, message: OrderUpdateMessage) -> None:
        if not _is_fill(message) and not _is_end(message):
            return
        account_id = feed.trading.kiwoom_account_id
        view = await self._orders.store.by_broker_order_no(account_id, message.order_no)
        if view is None or feed.parked:
            # The report overtook our record of the acknowledgement (the broker fills
            # a marketable order before it answers): hold it until the order is known.
            feed.parked.append((time.monotonic(), message))
            self._drain_soon(feed)
            return
        await self._apply(feed, view, message)

    async def _apply(self, feed: _Feed, view: OrderView, message: OrderUpdateMessage) -> None:
        if _is_end(message):
            await self._ended(feed, view, message)
            return
        assert message.fill_quantity is not None and message.fill_price is not None
        applied = await self._reconciler.apply_unit_fill(
            view,
            message.order_no,
            message.filled_quantity,
            message.fill_quantity,
            message.fill_price,
        )
        if applied is None:
            await self._resync(feed)  # a frame was missed: take the broker's average
            return
        if applied:
            feed.applied += applied
            self._orders.ledger.invalidate(feed.trading.kiwoom_account_id)

    async def _ended(self, feed: _Feed, view: OrderView, message: OrderUpdateMessage) -> None:
        """The exchange ended the order's remainder: cancelled as reconciliation records
        it, once every fill of it is counted."""
        account_id = feed.trading.kiwoom_account_id
        latest = await self._orders.store.get(view.order_id) or view
        if latest.state.is_final or latest.broker_order_no != message.order_no:
            return
        if message.filled_quantity != latest.broker_filled_quantity:
            await self._resync(feed)  # fills the stream did not show: the snapshot has them
            return
        if await self._reconciler.closed(latest, "the exchange ended the remainder"):
            self._orders.ledger.invalidate(account_id)

    def _drain_soon(self, feed: _Feed) -> None:
        if feed.drainer is None or feed.drainer.done():
            feed.drainer = asyncio.create_task(self._drain(feed))

    async def _drain(self, feed: _Feed) -> None:
        """Apply held reports, in order, once their orders are known; a report whose order
        stays unknown for ``PARK_SECONDS`` (an unknown submit outcome) leaves it to the
        snapshots."""
        account_id = feed.trading.kiwoom_account_id
        give_up = False
        while feed.parked:
            await asyncio.sleep(0.02)
            while feed.parked:
                held_at, message = feed.parked[0]
                view = await self._orders.store.by_broker_order_no(account_id, message.order_no)
                if view is None:
                    if time.monotonic() - held_at < PARK_SECONDS:
                        break
                    give_up = True
                    feed.parked.pop(0)
                    continue
                feed.parked.pop(0)
                await self._apply(feed, view, message)
        if give_up:
            await self._resync(feed)

    async def _resync(self, feed: _Feed) -> None:
        feed.resyncs += 1
        account_id = feed.trading.kiwoom_account_id
        try:
            await self._reconciler.sync(feed.user_id, feed.trading)
        except BrokerError as exc:
            log.warning("resync of %s failed: %s", account_id, exc.code)
            return
        delay = self._reconciler.recheck_after(account_id)
        if delay is not None and (feed.recheck is None or feed.recheck.done()):
            feed.recheck = asyncio.create_task(self._resync_later(feed, delay))

    async def _resync_later(self, feed: _Feed, delay: float) -> None:
        """What the snapshot could not settle yet, once it can (the stream will not tell
        of what happened before it was up, and the poll may be far off)."""
        await asyncio.sleep(delay)
        feed.recheck = None
        await self._resync(feed)

    async def _stop(self, feed: _Feed) -> None:
        for helper in (feed.drainer, feed.recheck):
            if helper is not None:
                helper.cancel()
        if feed.task is not None:
            feed.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feed.task
        with contextlib.suppress(Exception):
            await feed.subscription.close()

    async def aclose(self) -> None:
        for account_id in list(self._feeds):
            await self.unwatch(account_id)


def _is_fill(message: OrderUpdateMessage) -> bool:
    return message.status == FILL_STATUS and bool(message.fill_quantity and message.fill_price)


def _is_end(message: OrderUpdateMessage) -> bool:
    """The order itself (not a cancel or change of it) confirmed with nothing left."""
    return (
        message.status == CONFIRMED_STATUS
        and not message.original_order_no
        and message.remaining_quantity == 0
    )
