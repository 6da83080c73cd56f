"""``RealtimeHub``: realtime subscriptions for every consumer, one upstream feed per app key."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from quantum.adapter.broker import Credentials
from quantum.adapter.realtime.fanout import Subscriber
from quantum.adapter.realtime.upstream import FeedSource, StreamFactory, UpstreamFeed
from quantum.adapter.schema import (
    RealtimeMessage,
    UnsubscribedMessage,
)

log = logging.getLogger(__name__)

__all__ = ["HubSubscription", "RealtimeHub", "SourceFor"]

SourceFor = Callable[[Credentials | None], Awaitable[FeedSource]]
"""Credentials (``None`` = the configured keys) → where that key's feed comes from."""

CONFIGURED = "configured"


class HubSubscription:
    """One consumer's subscription (implements :class:`quantum.adapter.broker.Subscription`).

    :meth:`messages` yields ``SUBSCRIBED`` (and ``ERROR unknown_stock`` for codes
    Kiwoom refused), then ``TICK`` and ``STATUS`` messages; :meth:`add` and
    :meth:`remove` answer with ``SUBSCRIBED`` / ``UNSUBSCRIBED`` in the same stream.
    Made with ``orders=True`` it also yields every ``ORDER`` message
    (:class:`~quantum.adapter.schema.OrderUpdateMessage`) of its app key, whatever
    its stock codes (it may have none); those are never conflated.
    After a slow-consumer drop the stream ends with ``ERROR slow_consumer`` and
    :attr:`close_code` is 1008.
    """

    def __init__(
        self, hub: RealtimeHub, feed: UpstreamFeed, subscriber: Subscriber, *, orders: bool = False
    ) -> None:
        self._hub = hub
        self._feed = feed
        self.subscriber = subscriber
        self.orders = orders
        """Whether this subscription receives the key's order updates."""
        self.codes: set[str] = set()
        self._closed = False

    @property
    def close_code(self) -> int | None:
        return self.subscriber.close_code

    @property
    def closed(self) -> bool:
        return self._closed or self.subscriber.closed

    def messages(self) -> AsyncIterator[RealtimeMessage]:
        return self.subscriber.messages()

    async def add(self, stock_codes: list[str]) -> None:
        if self.closed:
            return
        added, _ = await self._feed.acquire(self.subscriber, stock_codes)
        self.codes.update(added)

    async def remove(self, stock_codes: list[str]) -> None:
        if self.closed:
            return
        released = await self._feed.release(self.subscriber, stock_codes)
        self.codes.difference_update(released)
        self.subscriber.offer(UnsubscribedMessage(stock_codes=released))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.subscriber.close()
        await self._feed.release(self.subscriber)
        self.codes.clear()
        self._hub._forget(self)


class RealtimeHub:
    """Owns an :class:`UpstreamFeed` per app key (created on first use).

    ``source_for(credentials)`` says where a key's feed comes from; keys are
    told apart by fingerprint, never by the key itself.
    """

    def __init__(
        self,
        source_for: SourceFor,
        *,
        max_queue: int = 1000,
        grace_seconds: float = 2.0,
        max_rounds: int | None = None,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        self._source_for = source_for
        self._max_queue = max_queue
        self._grace = grace_seconds
        self._max_rounds = max_rounds
        self._stream_factory = stream_factory
        self._feeds: dict[str, UpstreamFeed] = {}
        self._lock = asyncio.Lock()
        self._subscriptions: set[HubSubscription] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._closed = False

    async def feed(self, credentials: Credentials | None = None) -> UpstreamFeed:
        name = CONFIGURED if credentials is None else credentials.fingerprint
        async with self._lock:
            if self._closed:
                raise RuntimeError("the realtime hub is closed")
            feed = self._feeds.get(name)
            if feed is None:
                source = await self._source_for(credentials)
                feed = UpstreamFeed(source, stream_factory=self._stream_factory)
                self._feeds[name] = feed
            return feed

    async def subscribe(
        self,
        stock_codes: list[str],
        credentials: Credentials | None = None,
        *,
        orders: bool = False,
    ) -> HubSubscription:
        """A subscription to ``stock_codes`` (may be empty: add codes later).

        With ``orders`` it also gets the key's order updates (``ORDER`` messages);
        type ``00`` is registered upstream before this returns."""
        feed = await self.feed(credentials)
        subscriber = Subscriber(
            max_queue=self._max_queue,
            grace_seconds=self._grace,
            max_rounds=self._max_rounds,
            on_disconnect=self._dropped,
            name=f"#{next(self._ids)}",
        )
        subscription = HubSubscription(self, feed, subscriber, orders=orders)
        self._subscriptions.add(subscription)
        try:
            if orders:
                await feed.acquire_orders(subscriber)
            if stock_codes:
                await subscription.add(stock_codes)
            else:
                await feed.acquire(subscriber, [], announce=False)
        except BaseException:
            await subscription.close()
            raise
        return subscription

    def _dropped(self, subscriber: Subscriber) -> None:
        """A slow consumer was disconnected: release its codes in the background."""
        for subscription in list(self._subscriptions):
            if subscription.subscriber is subscriber:
                task = asyncio.get_running_loop().create_task(subscription.close())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _forget(self, subscription: HubSubscription) -> None:
        self._subscriptions.discard(subscription)

    def health(self) -> list[dict[str, Any]]:
        """Per app key: fingerprint, token expiry, socket state, last frame age, codes."""
        return [feed.health() for feed in self._feeds.values()]

    async def aclose(self) -> None:
        self._closed = True
        for subscription in list(self._subscriptions):
            with contextlib.suppress(Exception):
                await subscription.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        for feed in list(self._feeds.values()):
            await feed.aclose()
        self._feeds.clear()
