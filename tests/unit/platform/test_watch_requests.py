"""An instance without the supervision lease asks the holder over the bus to watch
an account: once per account while its request stands, not once per order."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from quantum.platform.bus import InProcessBus
from quantum.platform.cluster.leases import OnChange
from quantum.platform.services.accounts import Trading
from quantum.platform.trading.reports import OrderReports
from quantum.platform.trading.supervisor import ASK_AGAIN_SECONDS, WATCH_TOPIC, TradingSupervisor


class HeldElsewhere:
    held = False

    def start(self, on_change: OnChange) -> None:
        pass

    async def aclose(self) -> None:
        pass


def trading(account_id: str) -> Trading:
    return Trading(account_id, cast(Any, None))


async def test_an_instance_without_the_lease_asks_once_per_account_until_it_is_time_again() -> None:
    bus = InProcessBus()
    heard = await bus.subscribe(WATCH_TOPIC)
    now = [1000.0]
    unused: Any = None
    supervisor = TradingSupervisor(
        unused,
        unused,
        unused,
        reports=OrderReports(unused, unused),
        lease=HeldElsewhere(),
        bus=bus,
        clock=lambda: now[0],
    )
    for _ in range(5):  # five orders of one account start working
        supervisor.watch("user-a", trading("acct-a"))
    supervisor.watch("user-b", trading("acct-b"))
    now[0] += ASK_AGAIN_SECONDS - 0.5
    supervisor.watch("user-a", trading("acct-a"))  # its request still stands
    now[0] += 0.5
    supervisor.watch("user-a", trading("acct-a"))  # time to ask again

    messages = heard.messages()
    asked = [(await asyncio.wait_for(anext(messages), 15))["user_id"] for _ in range(3)]
    assert asked == ["user-a", "user-b", "user-a"]
    await asyncio.sleep(0.05)
    await supervisor.aclose()
    await heard.close()
    assert [m["user_id"] async for m in heard.messages()] == []
