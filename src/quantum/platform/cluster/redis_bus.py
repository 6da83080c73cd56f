"""The bus on Redis pub/sub: a message published on any instance reaches the
subscribers of every instance, so a user's socket on one instance gets the order
updates of an order placed through another.

One pub/sub connection per instance carries every topic this instance listens to;
messages fan out locally through an :class:`InProcessBus`. A publisher's own
message also comes back through Redis (it is never delivered twice locally)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

import orjson
import redis.asyncio as redis
from redis.exceptions import RedisError

from quantum.platform.bus import BusSubscription, InProcessBus

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 0.5


class _RelayedSubscription:
    """A local subscription that releases its Redis channel when closed."""

    def __init__(self, bus: RedisBus, topic: str, inner: BusSubscription) -> None:
        self._bus = bus
        self._topic = topic
        self._inner = inner
        self._closed = False

    def messages(self) -> Any:
        return self._inner.messages()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._inner.close()
            await self._bus._release(self._topic)


class RedisBus:
    def __init__(self, client: redis.Redis, *, prefix: str = "qtp:bus:") -> None:
        self._client = client
        self._prefix = prefix
        self._local = InProcessBus()
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._listeners: Counter[str] = Counter()
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        try:
            await self._client.publish(self._prefix + topic, orjson.dumps(message))
        except RedisError as exc:
            log.warning("bus publish on %s failed: %s", topic.split(":")[0], type(exc).__name__)

    async def subscribe(self, topic: str) -> BusSubscription:
        inner = await self._local.subscribe(topic)
        async with self._lock:
            self._listeners[topic] += 1
            if self._listeners[topic] == 1:
                await self._pubsub.subscribe(self._prefix + topic)
                if self._reader is None:
                    self._reader = asyncio.create_task(self._read(), name="redis-bus")
        return _RelayedSubscription(self, topic, inner)

    async def _release(self, topic: str) -> None:
        async with self._lock:
            self._listeners[topic] -= 1
            if self._listeners[topic] <= 0:
                del self._listeners[topic]
                with contextlib.suppress(RedisError):
                    await self._pubsub.unsubscribe(self._prefix + topic)

    async def _read(self) -> None:
        """Deliver Redis messages locally; after a lost connection, subscribe again to
        every topic still listened to (messages sent meanwhile are lost: order updates
        are also in the database, and clients re-read it on reconnect)."""
        while True:
            if not self._listeners:
                await asyncio.sleep(0.05)  # nothing to read until someone subscribes
                continue
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # lost (RedisError, OSError) or not re-established
                log.warning("bus connection lost: %s; reconnecting", type(exc).__name__)
                await asyncio.sleep(RECONNECT_SECONDS)
                await self._resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            topic = (channel.decode() if isinstance(channel, bytes) else channel)[
                len(self._prefix) :
            ]
            try:
                payload = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                log.warning("bus: undecodable message on %s", topic.split(":")[0])
                continue
            await self._local.publish(topic, payload)

    async def _resubscribe(self) -> None:
        """A new pub/sub connection on every topic listened to; should Redis still be
        down, the next read fails and this runs again."""
        async with self._lock:
            old, self._pubsub = self._pubsub, self._client.pubsub(ignore_subscribe_messages=True)
            with contextlib.suppress(Exception):
                await old.aclose()  # type: ignore[no-untyped-call, unused-ignore]
            channels = [self._prefix + topic for topic in self._listeners]
            if channels:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.subscribe(*channels)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        await self._local.aclose()
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
