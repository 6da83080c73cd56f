"""What an account can still spend and sell, without a broker round trip per order.

The broker's deposit and balance are cached for a moment; orders this process sends
meanwhile are subtracted (reserved) until the next fetch, which already counts
them. Fills and cancels drop the cache. The broker checks again anyway: this only
keeps orders that cannot succeed from reaching it.

An order that reads a snapshot past its middle age has it fetched again in the
background: an account that keeps trading never waits for the broker here (with a
plain expiry, one order in ten of a trader at 4/s waited for a kt00001 round trip:
measured)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from quantum.adapter.broker import Broker, BrokerError, Credentials
from quantum.adapter.schema import Balance, Deposit

log = logging.getLogger(__name__)

T = TypeVar("T", Deposit, Balance)


@dataclass
class _Entry(Generic[T]):
    fetched_at: float
    """When the fetch was sent: the snapshot is at least this old."""
    value: T
    reserved_cash: int = 0
    reserved_shares: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class _Snapshots(Generic[T]):
    """One kind of per-account snapshot: used for ``ttl`` seconds, fetched again in
    the background when an order reads it after ``refresh_after``."""

    def __init__(
        self,
        fetch: Callable[[Credentials], Awaitable[T]],
        ttl: float,
        refresh_after: float,
        clock: Callable[[], float],
    ) -> None:
        self._fetch: Callable[[Credentials], Awaitable[T]] = fetch
        self._clock = clock
        self._ttl = ttl
        self._refresh_after = refresh_after
        self.entries: dict[str, _Entry[T]] = {}
        self._generations: dict[str, int] = defaultdict(int)
        """Bumped by :meth:`drop`: a fetch sent before it must not be kept."""
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def get(self, account_id: str, credentials: Credentials) -> _Entry[T]:
        entry = self.entries.get(account_id)
        if entry is None or (age := self._clock() - entry.fetched_at) >= self._ttl:
            return await self._load(account_id, credentials)
        if age >= self._refresh_after and account_id not in self._refreshing:
            # the task inherits the caller's context: the call is the user's usage
            task = asyncio.create_task(self._refresh(account_id, credentials))
            self._refreshing[account_id] = task
        return entry

    def drop(self, account_id: str) -> None:
        self.entries.pop(account_id, None)
        self._generations[account_id] += 1

    async def aclose(self) -> None:
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _load(self, account_id: str, credentials: Credentials) -> _Entry[T]:
        generation = self._generations[account_id]
        sent = self._clock()
        entry = _Entry(sent, await self._fetch(credentials))
        if self._generations[account_id] == generation:
            self.entries[account_id] = entry
        return entry

    async def _refresh(self, account_id: str, credentials: Credentials) -> None:
        try:
            await self._load(account_id, credentials)
        except BrokerError as exc:  # the snapshot expires; the next order asks and sees why
            log.info("account %s: background refresh failed (%s)", account_id, exc.code)
        except Exception:
            log.exception("account %s: background refresh failed", account_id)
        finally:
            self._refreshing.pop(account_id, None)


class AccountLedger:
    def __init__(
        self,
        broker: Broker,
        ttl_seconds: float = 10.0,
        refresh_after_seconds: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A snapshot is used for ``ttl_seconds`` at most; a trading account's is
        fetched about every ``refresh_after_seconds``. Every fetch spends the app
        key's budget, which its orders share: about 1/s in all on the mock host, 5/s
        per TR in production (a refresh every 2 s took half the mock host's).
        What a fetch would catch in between is what the platform did not do itself
        (an order from another program or instance): the broker refuses what that
        made impossible."""
        self._deposits = _Snapshots(broker.deposit, ttl_seconds, refresh_after_seconds, clock)
        self._balances = _Snapshots(broker.balance, ttl_seconds, refresh_after_seconds, clock)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def lock(self, account_id: str) -> asyncio.Lock:
        """Held while an order of the account is checked and sent."""
        return self._locks[account_id]

    async def deposit(self, account_id: str, credentials: Credentials) -> tuple[Deposit, int]:
        """(deposit, cash reserved since it was fetched)."""
        entry = await self._deposits.get(account_id, credentials)
        return entry.value, entry.reserved_cash

    async def balance(
        self, account_id: str, credentials: Credentials, stock_code: str
    ) -> tuple[Balance, int]:
        """(balance, shares of ``stock_code`` reserved since it was fetched)."""
        entry = await self._balances.get(account_id, credentials)
        return entry.value, entry.reserved_shares[stock_code]

    def reserve_cash(self, account_id: str, amount: int) -> None:
        entry = self._deposits.entries.get(account_id)
        if entry is not None:
            entry.reserved_cash += amount

    def reserve_shares(self, account_id: str, stock_code: str, quantity: int) -> None:
        entry = self._balances.entries.get(account_id)
        if entry is not None:
            entry.reserved_shares[stock_code] += quantity

    def invalidate(self, account_id: str) -> None:
        self._deposits.drop(account_id)
        self._balances.drop(account_id)

    async def aclose(self) -> None:
        """Stops the background fetches (the platform is stopping)."""
        await asyncio.gather(self._deposits.aclose(), self._balances.aclose())
