"""What every server of ours (platform, adapter, simulator) tells uvicorn about idle
connections, and how the platform and the adapter are served."""

from __future__ import annotations

from typing import Any, Final

from quantum.http_protocol import JsonErrorHttpProtocol

KEEP_ALIVE_SECONDS: Final = 75
"""Idle keep-alive: longer than our clients keep idle connections (the Kiwoom
transport and httpx: 5 s), so a server never closes a connection a client is just
reusing. For an order that is not a retry but an unknown outcome ("disconnected
without a response"); uvicorn's own default is 5 s, the clients' very moment."""

WS_MAX_MESSAGE_BYTES: Final = 64 * 1024
"""The largest WebSocket message a client may send to the platform or the adapter
(uvicorn closes with 1009 beyond): a SUBSCRIBE of the most codes either accepts,
100, is about 1 KB, and uvicorn's default would read 16 MiB."""

WS_OPTIONS: Final[dict[str, Any]] = {"ws": "websockets-sansio", "ws_max_size": WS_MAX_MESSAGE_BYTES}
"""The WebSocket side of :data:`SERVICE_OPTIONS`."""

SERVICE_OPTIONS: Final[dict[str, Any]] = {
    "http": JsonErrorHttpProtocol,
    # every call is counted in /metrics (and the adapter's calls are logged by the
    # platform that made them): a line per request cost CPU on every order's path
    "access_log": False,
    "timeout_graceful_shutdown": 10,
    "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    **WS_OPTIONS,
}
"""How the platform and the adapter are served by uvicorn (the tests serve them the
same way); the simulator mimics Kiwoom's hosts instead."""
