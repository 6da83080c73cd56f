"""Telling the caller which Kiwoom calls its request caused.

The adapter answers every request with ``X-Kiwoom-Calls``: one entry per call to
Kiwoom (api-id, path, latency, outcome, error code, HTTP status, attempts), so a
platform using the remote adapter logs the same rows as one running it in
process. Made with ``ContextVar`` collection: the kiwoom client reports calls to
:func:`observe` in the request's own task.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quantum.kiwoom.records import CallRecord

HEADER = "x-kiwoom-calls"
_FIELDS = 7

_collected: ContextVar[list[CallRecord] | None] = ContextVar("kiwoom_calls", default=None)


def observe(record: CallRecord) -> None:
    calls = _collected.get()
    if calls is not None:
        calls.append(record)


def encode(records: list[CallRecord]) -> str:
    return ",".join(
        ";".join(
            (
                r.api_id,
                r.path,
                f"{r.latency_ms:.3f}",
                r.outcome,
                r.error_code or "",
                str(r.http_status or ""),
                str(r.attempts),
            )
        )
        for r in records
    )


def decode(value: str, key_fingerprint: str) -> list[CallRecord]:
    """The records of a header value; malformed entries are skipped."""
    records = []
    for entry in filter(None, value.split(",")):
        parts = entry.split(";")
        if len(parts) != _FIELDS or parts[3] not in ("ok", "error", "unknown"):
            continue
        try:
            records.append(
                CallRecord(
                    api_id=parts[0],
                    path=parts[1],
                    latency_ms=float(parts[2]),
                    outcome=parts[3],  # type: ignore[arg-type]
                    error_code=parts[4] or None,
                    http_status=int(parts[5]) if parts[5] else None,
                    attempts=int(parts[6]),
                    key_fingerprint=key_fingerprint,
                )
            )
        except ValueError:
            continue
    return records


class KiwoomCallsHeader:
    """ASGI middleware: collect the request's Kiwoom calls, send them as a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        calls: list[CallRecord] = []
        token = _collected.set(calls)

        async def send_with_calls(message: Message) -> None:
            if message["type"] == "http.response.start" and calls:
                headers: list[Any] = list(message.get("headers", []))
                headers.append((HEADER.encode(), encode(calls).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_calls)
        finally:
            _collected.reset(token)
