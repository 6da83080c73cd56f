"""What the client reports after every call to Kiwoom, for usage logs and metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["ok", "error", "unknown"]
"""``unknown``: an order may have reached Kiwoom but its answer was lost."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """Given to the observer after every call (success or failure)."""

    api_id: str
    path: str
    latency_ms: float
    """Whole call: token, rate-limit waits, every attempt and backoff."""
    outcome: Outcome
    error_code: str | None
    """Kiwoom's code (``"1700"``, ``"RC4058"``) or the error class name."""
    http_status: int | None
    attempts: int
    key_fingerprint: str


Observer = Callable[[CallRecord], None]
