"""The event loop the servers run on: uvloop where it is installed (Linux and macOS),
asyncio's own elsewhere. A platform spends a tenth of its CPU in the loop itself
(callbacks, sockets, the aiosqlite thread's wake-ups); uvloop's is cheaper."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.run(main)
    return uvloop.run(main)
