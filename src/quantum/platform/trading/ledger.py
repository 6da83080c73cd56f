"""What an account can still spend and sell, without a broker round trip per order.

The broker's deposit and balance are cached for a moment; orders this process sends
meanwhile are subtracted (reserved) until the next fetch, which already counts
them. Fills and cancels drop the cache. The broker checks again anyway: this only
keeps orders that cannot succeed from reaching it."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field

from quantum.adapter.broker import Broker, Credentials
from quantum.adapter.schema import Balance, Deposit


@dataclass
class _Entry:
    fetched_at: float
    value: Deposit | Balance
    reserved_cash: int = 0
    reserved_shares: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class AccountLedger:
    def __init__(self, broker: Broker, ttl_seconds: float = 2.0) -> None:
        self._broker = broker
        self._ttl = ttl_seconds
        self._deposits: dict[str, _Entry] = {}
        self._balances: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def lock(self, account_id: str) -> asyncio.Lock:
        """Held while an order of the account is checked and sent."""
        return self._locks[account_id]

    def _fresh(self, entry: _Entry | None) -> bool:
        return entry is not None and time.monotonic() - entry.fetched_at < self._ttl

    async def deposit(self, account_id: str, credentials: Credentials) -> tuple[Deposit, int]:
        """(deposit, cash reserved since it was fetched)."""
        entry = self._deposits.get(account_id)
        if not self._fresh(entry):
            entry = _Entry(time.monotonic(), await self._broker.deposit(credentials))
            self._deposits[account_id] = entry
        assert entry is not None and isinstance(entry.value, Deposit)
        return entry.value, entry.reserved_cash

    async def balance(
        self, account_id: str, credentials: Credentials, stock_code: str
    ) -> tuple[Balance, int]:
        """(balance, shares of ``stock_code`` reserved since it was fetched)."""
        entry = self._balances.get(account_id)
        if not self._fresh(entry):
            entry = _Entry(time.monotonic(), await self._broker.balance(credentials))
            self._balances[account_id] = entry
        assert entry is not None and isinstance(entry.value, Balance)
        return entry.value, entry.reserved_shares[stock_code]

    def reserve_cash(self, account_id: str, amount: int) -> None:
        entry = self._deposits.get(account_id)
        if entry is not None:
            entry.reserved_cash += amount

    def reserve_shares(self, account_id: str, stock_code: str, quantity: int) -> None:
        entry = self._balances.get(account_id)
        if entry is not None:
            entry.reserved_shares[stock_code] += quantity

    def invalidate(self, account_id: str) -> None:
        self._deposits.pop(account_id, None)
        self._balances.pop(account_id, None)
