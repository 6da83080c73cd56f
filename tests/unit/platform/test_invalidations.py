"""Cache changes reach every instance: two instances share one bus (as they share
Redis); each drops its own entries at once and the other's on the message."""

from __future__ import annotations

import asyncio

from quantum.platform.bus import InProcessBus
from quantum.platform.cluster.invalidations import Invalidations


class Instance:
    def __init__(self, bus: InProcessBus) -> None:
        self.principals_dropped: list[str] = []
        self.accounts_dropped = 0
        self.invalidations = Invalidations(
            bus, drop_principal=self.principals_dropped.append, drop_accounts=self._accounts
        )

    def _accounts(self) -> None:
        self.accounts_dropped += 1


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_change_drops_the_caches_of_every_instance_once() -> None:
    bus = InProcessBus()
    a, b = Instance(bus), Instance(bus)
    await a.invalidations.start()
    await b.invalidations.start()
    try:
        a.invalidations.user_changed("user-1")
        assert a.principals_dropped == ["user-1"]  # at once, before any message
        await _settle()
        assert b.principals_dropped == ["user-1"]
        assert a.principals_dropped == ["user-1"]  # its own message is not applied again

        b.invalidations.accounts_changed()
        assert b.accounts_dropped == 1
        await _settle()
        assert (a.accounts_dropped, b.accounts_dropped) == (1, 1)
        assert a.principals_dropped == ["user-1"] and b.principals_dropped == ["user-1"]
    finally:
        await a.invalidations.aclose()
        await b.invalidations.aclose()


async def test_a_stranger_message_is_ignored() -> None:
    bus = InProcessBus()
    a = Instance(bus)
    await a.invalidations.start()
    try:
        await bus.publish("caches:changed", {"origin": "x", "user_id": 42, "other": True})
        await _settle()
        assert a.principals_dropped == [] and a.accounts_dropped == 0
    finally:
        await a.invalidations.aclose()
