"""Small in-memory caches: a TTL cache (quotes) and the candle cache (charts)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from quantum.adapter.schema import Candle

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Clock = Callable[[], float]


class TTLCache(Generic[K, V]):
    """Values kept for ``ttl`` seconds (``ttl <= 0`` disables caching)."""

    def __init__(self, ttl: float, *, clock: Clock = time.monotonic, max_size: int = 10_000):
        self.ttl = ttl
        self._clock = clock
        self._max_size = max_size
        self._items: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        stored, value = item
        if self._clock() - stored >= self.ttl:
            del self._items[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) >= self._max_size:
            self._items.clear()
        self._items[key] = (self._clock(), value)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or one ``load()`` shared by every caller that asks while
        it runs (a quote expiring under hundreds of orders a second is fetched once).
        A caller cancelled meanwhile does not cancel the others' load."""
        found = self.get(key)
        if found is not None:
            return found
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            self._loading[key] = task
            task.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(task)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        value = await load()
        self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class _Entry:
    candles: list[Candle]
    fetched_at: float
    complete: bool
    """True when Kiwoom had no older candles than ``candles[0]``."""


Fetch = Callable[[int], Awaitable[list[Candle]]]
"""Fetches the newest ``max_rows`` candles, oldest first."""


def merge(cached: list[Candle], fresh: list[Candle]) -> list[Candle] | None:
    """``cached`` with its tail replaced by ``fresh``; None when they do not overlap
    (a gap could hide candles, so the caller refetches everything)."""
    if not fresh:
        return list(cached)
    if not cached:
        return None
    first = fresh[0].time
    if first > cached[-1].time:
        return None
    return [c for c in cached if c.time < first] + list(fresh)


class CandleCache(Generic[K]):
    """Candles per key (app key fingerprint, code, period, until), oldest first.

    A request is served from the cache when the cached list covers ``count`` (or
    holds every candle Kiwoom has) and is younger than ``ttl``. When it covers
    ``count`` but is older, only the newest ``refresh_rows`` candles are fetched
    again (one page) and merged, so completed candles are not refetched.
    """

    def __init__(
        self, ttl: float = 1.0, *, refresh_rows: int = 100, clock: Clock = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.refresh_rows = refresh_rows
        self._clock = clock
        self._entries: dict[K, _Entry] = {}
        self._locks: dict[K, asyncio.Lock] = {}

    def _covers(self, entry: _Entry, count: int) -> bool:
        return entry.complete or len(entry.candles) >= count

    async def get(self, key: K, count: int, fetch: Fetch) -> list[Candle]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)
            now = self._clock()
            if entry is not None and self._covers(entry, count):
                if now - entry.fetched_at < self.ttl:
                    return entry.candles[-count:]
                rows = min(self.refresh_rows, count)
                fresh = await fetch(rows)
                merged = merge(entry.candles, fresh)
                if merged is not None:
                    self._entries[key] = _Entry(merged, now, entry.complete)
                    return merged[-count:]
            candles = await fetch(count)
            self._entries[key] = _Entry(candles, now, len(candles) < count)
            return candles[-count:]

    def __len__(self) -> int:
        return len(self._entries)
