"""Waiting in tests for what must come, without betting on the machine's speed.

A test waits for an outcome, not for a time: it polls until the outcome holds and
fails only when it has not come long after any loaded machine would have got there.
How fast something happens is a benchmark's figure (``bench/``), never a test's.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

PRESENCE_SECONDS = 15.0
"""How long a test waits for what must come."""


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    within: float = PRESENCE_SECONDS,
    every: float = 0.05,
) -> None:
    """Return once ``check()`` holds; ``TimeoutError`` when it has not within ``within`` s."""
    async with asyncio.timeout(within):
        while True:
            held = check()
            if inspect.isawaitable(held):
                held = await held
            if held:
                return
            await asyncio.sleep(every)
