"""What every server of ours (platform, adapter, simulator) tells uvicorn about idle
connections and client messages."""

from __future__ import annotations

from typing import Final

KEEP_ALIVE_SECONDS: Final = 75
"""Idle keep-alive: longer than our clients keep idle connections (the Kiwoom
transport and httpx: 5 s), so a server never closes a connection a client is just
reusing. For an order that is not a retry but an unknown outcome ("disconnected
without a response"); uvicorn's own default is 5 s, the clients' very moment."""

WS_MAX_MESSAGE_BYTES: Final = 64 * 1024
"""The largest WebSocket message a client may send to the platform or the adapter
(uvicorn closes with 1009 beyond): a SUBSCRIBE of the most codes either accepts,
100, is about 1 KB, and uvicorn's default would read 16 MiB."""
