"""Cached principals and trading accounts, dropped on every instance when one of
them changes a user or an account.

The change drops this instance's entries at once and is announced on the bus;
the other instances drop theirs when the message arrives (through Redis when they
share it). The caches' TTL is then only the bound for a message lost while a
connection was being re-established."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from quantum.platform.bus import Bus, BusSubscription

log = logging.getLogger(__name__)

TOPIC = "caches:changed"


class Invalidations:
    def __init__(
        self,
        bus: Bus,
        *,
        drop_principal: Callable[[str], None],
        drop_accounts: Callable[[], None],
    ) -> None:
        self._bus = bus
        self._drop_principal = drop_principal
        self._drop_accounts = drop_accounts
        self._origin = uuid.uuid4().hex
        self._subscription: BusSubscription | None = None
        self._listener: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(TOPIC)
        self._listener = asyncio.create_task(self._listen(self._subscription))

    def user_changed(self, user_id: str) -> None:
        """A user's role or status changed."""
        self._drop_principal(user_id)
        self._announce({"user_id": user_id})

    def accounts_changed(self) -> None:
        """An account, its assignment or its credentials changed."""
        self._drop_accounts()
        self._announce({"accounts": True})

    def _announce(self, change: dict[str, Any]) -> None:
        sending = asyncio.create_task(self._bus.publish(TOPIC, {**change, "origin": self._origin}))
        self._sending.add(sending)
        sending.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("cache change not announced: %s", task.exception())

    async def _listen(self, subscription: BusSubscription) -> None:
        async for message in subscription.messages():
            if message.get("origin") == self._origin:
                continue  # dropped here already
            if isinstance(message.get("user_id"), str):
                self._drop_principal(message["user_id"])
            if message.get("accounts"):
                self._drop_accounts()

    async def aclose(self) -> None:
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._subscription is not None:
            await self._subscription.close()
