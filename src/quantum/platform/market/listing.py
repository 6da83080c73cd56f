"""The stock listing (KOSPI + KOSDAQ), loaded from the broker on first need and kept
in memory: the same for every user, so one copy per broker environment.

Searching ranks matches: the exact code, then codes starting with the query, then
names starting with it (the exact name first), then names containing it; ties go to
the larger company (listed shares x last price), then the lower code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from quantum.adapter.broker import Broker, BrokerError, Credentials
from quantum.adapter.schema import Environment, Listing

log = logging.getLogger(__name__)

MARKETS: Final = ("KOSPI", "KOSDAQ")
DEFAULT_TTL: Final = 6 * 3600.0
RETRY_AFTER_FAILURE: Final = 60.0
"""With a stale copy at hand, a failed refresh is tried again this much later."""

EXACT_CODE, CODE_PREFIX, NAME_PREFIX, NAME_SUBSTRING = range(4)


@dataclass(frozen=True)
class SearchResult:
    total: int
    """Matches before ``limit``."""
    items: list[Listing]


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


class Listings:
    """One snapshot of the listing, indexed by code."""

    def __init__(self, items: Iterable[Listing], *, loaded_at: float = 0.0) -> None:
        self.by_code: dict[str, Listing] = {}
        for item in items:
            self.by_code.setdefault(item.stock_code, item)
        self.loaded_at = loaded_at
        self._names = {code: _fold(item.name) for code, item in self.by_code.items()}

    def __len__(self) -> int:
        return len(self.by_code)

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def get(self, code: str) -> Listing | None:
        return self.by_code.get(code)

    def unknown(self, codes: Sequence[str]) -> list[str]:
        return [code for code in codes if code not in self.by_code]

    def search(self, query: str, *, market: str | None = None, limit: int = 20) -> SearchResult:
        return search_listings(self, query, market=market, limit=limit)


def _size(item: Listing) -> int:
    return item.listed_shares * item.last_price


def search_listings(
    listings: Listings, query: str, *, market: str | None = None, limit: int = 20
) -> SearchResult:
    """Codes by prefix, names by substring, case-insensitively; ranked (see module doc)."""
    folded = _fold(query)
    if not folded:
        raise ValueError("the query is empty")
    code_query = folded.upper().replace(" ", "")
    wanted_market = market.upper() if market else None
    ranked: list[tuple[int, int, int, str, Listing]] = []
    for code, item in listings.by_code.items():
        if wanted_market is not None and item.market != wanted_market:
            continue
        name = listings._names[code]
        if code == code_query:
            tier = EXACT_CODE
        elif code.startswith(code_query):
            tier = CODE_PREFIX
        elif name.startswith(folded):
            tier = NAME_PREFIX
        elif folded in name:
            tier = NAME_SUBSTRING
        else:
            continue
        exact_name = 0 if name == folded else 1
        ranked.append((tier, exact_name, -_size(item), code, item))
    ranked.sort(key=lambda row: row[:4])
    return SearchResult(total=len(ranked), items=[row[4] for row in ranked[: max(limit, 0)]])


@dataclass
class _Entry:
    listings: Listings
    fresh_until: float


@dataclass
class ListingCache:
    """Both markets per broker environment, loaded once per ``ttl`` seconds with one
    load at a time (callers arriving meanwhile wait for it). A failed refresh keeps
    serving the previous copy; without one the broker's error propagates."""

    broker: Broker
    ttl: float = DEFAULT_TTL
    clock: Callable[[], float] = time.monotonic
    loads: int = 0
    _entries: dict[Environment, _Entry] = field(default_factory=dict)
    _locks: dict[Environment, asyncio.Lock] = field(default_factory=dict)

    def cached(self, environment: Environment) -> Listings | None:
        """The copy held now (fresh or not), without loading."""
        entry = self._entries.get(environment)
        return entry.listings if entry else None

    def invalidate(self, environment: Environment | None = None) -> None:
        if environment is None:
            self._entries.clear()
        else:
            self._entries.pop(environment, None)

    async def get(self, credentials: Credentials) -> Listings:
        """The listing of ``credentials``' environment, loading it with those
        credentials when missing or older than ``ttl``."""
        environment = credentials.environment
        entry = self._entries.get(environment)
        if entry is not None and self.clock() < entry.fresh_until:
            return entry.listings
        lock = self._locks.setdefault(environment, asyncio.Lock())
        async with lock:
            entry = self._entries.get(environment)
            if entry is not None and self.clock() < entry.fresh_until:
                return entry.listings
            try:
                listings = await self._load(credentials)
            except BrokerError as exc:
                if entry is None:
                    raise
                log.warning(
                    "listing refresh for %s failed (%s); serving the previous copy",
                    environment,
                    exc.code,
                )
                entry.fresh_until = self.clock() + min(RETRY_AFTER_FAILURE, self.ttl)
                return entry.listings
            self._entries[environment] = _Entry(listings, self.clock() + self.ttl)
            return listings

    async def _load(self, credentials: Credentials) -> Listings:
        self.loads += 1
        items: list[Listing] = []
        for market in MARKETS:
            items.extend(await self.broker.listings(market, credentials))
        log.info("loaded %d listings for %s", len(items), credentials.environment)
        return Listings(items, loaded_at=self.clock())
