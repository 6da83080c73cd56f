"""Publish/subscribe of ticks and order updates inside the platform.

In process by default; the same interface can be backed by Redis so that several
platform instances serve one set of clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol


class BusSubscription(Protocol):
    def messages(self) -> AsyncIterator[dict[str, Any]]: ...

    async def close(self) -> None: ...


class Bus(Protocol):
    async def publish(self, topic: str, message: dict[str, Any]) -> None: ...

    async def subscribe(self, topic: str) -> BusSubscription: ...

    async def aclose(self) -> None: ...


class _LocalSubscription:
    def __init__(self, bus: InProcessBus, topic: str, max_queue: int) -> None:
        self._bus = bus
        self.topic = topic
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(max_queue)
        self.overflowed = False

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            message = await self.queue.get()
            if message is None:
                return
            yield message

    def offer(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True  # the consumer is gone or stuck: end its stream
            self._end()

    def _end(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    async def close(self) -> None:
        self._bus._remove(self)
        self._end()


class InProcessBus:
    def __init__(self, max_queue: int = 10_000) -> None:
        self._max_queue = max_queue
        self._subscribers: dict[str, set[_LocalSubscription]] = defaultdict(set)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        for subscriber in list(self._subscribers.get(topic, ())):
            subscriber.offer(message)

    async def subscribe(self, topic: str) -> BusSubscription:
        subscription = _LocalSubscription(self, topic, self._max_queue)
        self._subscribers[topic].add(subscription)
        return subscription

    def _remove(self, subscription: _LocalSubscription) -> None:
        found = self._subscribers.get(subscription.topic)
        if found is not None:
            found.discard(subscription)
            if not found:
                del self._subscribers[subscription.topic]

    async def aclose(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                await subscription.close()


def order_topic(user_id: str) -> str:
    return f"orders:{user_id}"
