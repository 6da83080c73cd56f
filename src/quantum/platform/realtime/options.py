"""Tuning of ``/ws/realtime`` connections (tests shorten the waits)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RealtimeOptions:
    auth_grace: float = 10.0
    """Seconds after the handshake within which ``AUTH`` must arrive."""
    max_queue: int = 1000
    """Messages waiting for one client before ticks and order books are conflated."""
    slow_grace: float = 5.0
    """Seconds a client may stay behind (conflating) before it is closed with 1008."""
    orderbook_interval: float = 1.0
    """Least seconds between two ``order_book`` calls for one code of one connection."""
    orderbook_retry: float = 5.0
    """Seconds before calling again after a failed ``order_book`` call."""
    close_timeout: float = 2.0
    """Seconds to wait for a close frame (or a farewell message) to be written."""

    def __post_init__(self) -> None:
        if self.auth_grace <= 0 or self.slow_grace <= 0 or self.max_queue < 1:
            raise ValueError("need auth_grace > 0, slow_grace > 0 and max_queue >= 1")
