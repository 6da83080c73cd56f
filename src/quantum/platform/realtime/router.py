"""``WS /ws/realtime``: live ticks, order books and order updates of the signed-in user.

Protocol (one JSON object per text frame, camelCase):

Client → server
    ``{"type": "AUTH", "token": "<access token>"}`` first, within ``auth_grace``
    seconds (default 10); then ``{"type": "SUBSCRIBE", "stockCodes": [...],
    "orderbook": false}``, ``{"type": "UNSUBSCRIBE", "stockCodes": [...]}``
    (1 to 100 codes of 6 characters ``[0-9A-Z]``) and ``{"type": "PING"}``.

Server → client
    ``AUTH_OK {"userId"}``; ``SUBSCRIBED`` / ``UNSUBSCRIBED {"stockCodes"}``;
    ``TICK {"stockCode", "price", "change", "changeRate", "volume" (this trade's
    quantity), "cumulativeVolume", "time", "seq"}``; ``ORDERBOOK {"stockCode",
    "asks": [{"price", "quantity"}], "bids": [...], "time"}`` (polled, see
    :mod:`quantum.platform.realtime.session`); ``ORDER_UPDATE`` (as published on
    the bus, see ``quantum.platform.trading.service.update_message``);
    ``STATUS {"status": "CONNECTING"|"LIVE"|"STALLED"|"RECONNECTING"|"CLOSED",
    "detail"}``; ``PONG``; ``ERROR {"code", "message"}``.

Closing: a missing, malformed or rejected ``AUTH`` is answered with ``ERROR``
(``auth_timeout``, ``bad_message``, ``auth_failed``) and close code 1008; a client
that cannot keep up is closed with 1008 ``slow consumer``. Other errors after
``AUTH`` (``invalid_stock_codes``, ``bad_message``, ``credentials_missing``,
``unknown_stock``, broker errors) leave the connection open.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from quantum.platform.core import Platform
from quantum.platform.realtime.session import RealtimeOptions, RealtimeSession

__all__ = ["realtime_router", "router"]


def realtime_router(
    options: RealtimeOptions | None = None,
    *,
    auth_grace: float = 10.0,
    max_queue: int = 1000,
    slow_grace: float = 5.0,
    orderbook_interval: float = 1.0,
) -> APIRouter:
    """The endpoint with ``options``, or with these settings: ``auth_grace`` seconds
    to send ``AUTH``, ``max_queue`` messages waiting before conflation,
    ``slow_grace`` seconds behind before a 1008 close, ``orderbook_interval``
    seconds between order-book polls of one code."""
    chosen = options or RealtimeOptions(
        auth_grace=auth_grace,
        max_queue=max_queue,
        slow_grace=slow_grace,
        orderbook_interval=orderbook_interval,
    )
    router = APIRouter(tags=["realtime"])

    @router.websocket("/ws/realtime")
    async def realtime(websocket: WebSocket) -> None:
        platform: Platform = websocket.app.state.platform
        await RealtimeSession(websocket, platform, chosen).run()

    return router


router = realtime_router()
"""The endpoint with the default options (10 s to authenticate)."""
