"""The event loop the servers run on: uvloop where it is installed (Linux and macOS),
asyncio's own elsewhere. A platform spends a tenth of its CPU in the loop itself
(callbacks, sockets, the aiosqlite thread's wake-ups); uvloop's is cheaper."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.run(main)
    return uvloop.run(main)


def settle_heap() -> None:
    """Call once a server has built what it keeps (listings, calendars, apps,
    compiled statements): the garbage collector's full collections skip all of it
    from then on. Until then each one walked the whole start-up heap: 160-210 ms
    pauses of the platform's loop, several a second under load (measured)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
