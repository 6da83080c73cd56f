"""One ``/ws/realtime`` connection: authenticate, then relay the user's market data
and order updates through a bounded, conflating send queue.

States: *authenticating* (only ``AUTH`` is accepted, within ``auth_grace``
seconds) → *open* (``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``PING``) → *closed*
(broker and bus subscriptions, order-book pollers and tasks released).

Sources, each feeding :class:`Outbox` without ever waiting on the client:

* the broker subscription (:mod:`~quantum.platform.realtime.market_feed`:
  ``Broker.subscribe`` with the user's credentials,
  created on the first ``SUBSCRIBE``; the adapter's hub keeps one upstream
  registration per app key however many connections share it): ``TICK``,
  ``STATUS``, ``SUBSCRIBED``, ``UNSUBSCRIBED``, ``ERROR``;
* the bus topic ``order_topic(user_id)`` (subscribed right after ``AUTH``):
  ``ORDER_UPDATE`` dicts forwarded as published;
* order-book pollers: the broker's realtime stream has no order-book messages,
  so ``ORDERBOOK`` is made by calling ``broker.order_book(code, credentials)``
  at most once per ``orderbook_interval`` (1 s) per code subscribed with
  ``"orderbook": true``, while it stays subscribed; a book is sent when its
  levels differ from the last one sent on this connection.

A client that does not keep up: once ``max_queue`` messages wait, ``TICK`` and
``ORDERBOOK`` are conflated (only the latest per stock is kept) while everything
else (``ORDER_UPDATE``, ``STATUS``, ``ERROR``, replies) is kept in order. A client
still behind ``slow_grace`` seconds later, or with another ``max_queue`` of those
unconflatable messages waiting, is closed with 1008 ``slow consumer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Coroutine
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from quantum.platform.bus import BusSubscription, order_topic
from quantum.platform.core import Platform
from quantum.platform.errors import ApiError
from quantum.platform.realtime.market_feed import INTERNAL_ERROR, POLICY_VIOLATION, MarketFeed
from quantum.platform.realtime.messages import (
    dumps,
    error_message,
)
from quantum.platform.realtime.options import RealtimeOptions
from quantum.platform.realtime.outbox import Outbox
from quantum.platform.services.auth import Principal

log = logging.getLogger(__name__)

__all__ = ["POLICY_VIOLATION", "RealtimeOptions", "RealtimeSession"]

GOING_AWAY = 1001
STOCK_CODE = re.compile(r"[0-9A-Z]{6}")
MAX_CODES = 100
AUTH_HELP = 'the first message must be {"type":"AUTH","token":"<access token>"}'


# ----------------------------------------------------------------- messages


class RealtimeSession:
    """The state machine of one accepted-to-be WebSocket; :meth:`run` serves it to the end."""

    def __init__(
        self, websocket: WebSocket, platform: Platform, options: RealtimeOptions | None = None
    ) -> None:
        self._ws = websocket
        self._platform = platform
        self._options = options or RealtimeOptions()
        self._outbox = Outbox(
            max_queue=self._options.max_queue,
            grace=self._options.slow_grace,
            on_stuck=lambda _why: self._finish(POLICY_VIOLATION, "slow consumer"),
        )
        self.principal: Principal | None = None
        self._bus_subscription: BusSubscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()
        self._market = MarketFeed(
            platform,
            self._options,
            send=self._send,
            finish=self._finish,
            finished=self._finished.is_set,
        )
        self._close: tuple[int, str] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        await self._ws.accept()
        principal = await self._authenticate()
        if principal is None:
            return
        self.principal = principal
        self._market.user_id = principal.user_id
        try:
            self._bus_subscription = await self._platform.bus.subscribe(
                order_topic(principal.user_id)
            )
            # Offered before the bus is read: AUTH_OK precedes every ORDER_UPDATE,
            # and none published after the subscription above is missed.
            self._send({"type": "AUTH_OK", "userId": principal.user_id})
            self._sender = self._spawn(self._send_loop(), "sender", on_end=None)
            self._spawn(
                self._pump_bus(self._bus_subscription),
                "bus",
                on_end=(GOING_AWAY, "server shutting down"),
            )
            self._spawn(self._receive_loop(), "receiver", on_end=None)
            await self._finished.wait()
        finally:
            await self._cleanup()

    def _spawn(
        self,
        work: Coroutine[Any, Any, None],
        name: str,
        *,
        on_end: tuple[int, str] | None,
    ) -> asyncio.Task[None]:
        """A task that ends the session when it ends (``on_end``: the close to send);
        a failure closes with 1011."""
        task = asyncio.create_task(work, name=f"ws-realtime-{name}")
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if finished.cancelled():
                return
            error = finished.exception()
            if error is not None and not _is_disconnect(error):
                log.error("realtime %s failed", name, exc_info=error)
                self._finish(INTERNAL_ERROR, "internal error")
            elif error is not None or on_end is None:
                self._finish(None, "")
            else:
                self._finish(*on_end)

        task.add_done_callback(done)
        return task

    def _finish(self, code: int | None, reason: str) -> None:
        """End the session (first caller wins); ``code`` None: the client is gone."""
        if self._finished.is_set():
            return
        self._close = (code, reason) if code is not None else None
        self._finished.set()

    async def _cleanup(self) -> None:
        self._finished.set()
        self._outbox.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await self._market.aclose()
        bus_subscription, self._bus_subscription = self._bus_subscription, None
        if bus_subscription is not None:
            with contextlib.suppress(Exception):
                await bus_subscription.close()
        if self._close is not None:
            await self._close_socket(*self._close)

    async def _close_socket(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._ws.close(code=code, reason=reason), self._options.close_timeout
            )

    # -- authentication -------------------------------------------------------------------

    async def _authenticate(self) -> Principal | None:
        grace = self._options.auth_grace
        try:
            frame = await asyncio.wait_for(self._ws.receive(), grace)
        except TimeoutError:
            await self._reject("auth_timeout", f"no AUTH message within {grace:g} s")
            return None
        if frame["type"] == "websocket.disconnect":
            return None
        body = _parse(_text_of(frame))
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(body, dict) or body.get("type") != "AUTH":
            await self._reject("bad_message", AUTH_HELP)
            return None
        if not isinstance(token, str) or not token:
            await self._reject("bad_message", AUTH_HELP)
            return None
        try:
            return await self._platform.auth.authenticate(token)
        except ApiError as exc:
            await self._reject("auth_failed", exc.message)
            return None

    async def _reject(self, code: str, message: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._ws.send_text(dumps(error_message(code, message))),
                self._options.close_timeout,
            )
        await self._close_socket(POLICY_VIOLATION, code)

    # -- sending --------------------------------------------------------------------------

    def _send(self, message: dict[str, Any], key: object | None = None) -> None:
        self._outbox.offer(dumps(message), key)

    def _error(self, code: str, message: str) -> None:
        self._send(error_message(code, message))

    async def _send_loop(self) -> None:
        while (text := await self._outbox.get()) is not None:
            await self._ws.send_text(text)

    # -- receiving ------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            frame = await self._ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            await self._command(_text_of(frame))

    async def _command(self, raw: str) -> None:
        body = _parse(raw)
        if not isinstance(body, dict):
            self._error("bad_message", "expected a JSON object with a type")
            return
        kind = body.get("type")
        if kind == "PING":
            self._send({"type": "PONG"})
        elif kind in ("SUBSCRIBE", "UNSUBSCRIBE"):
            codes = self._stock_codes(body.get("stockCodes"))
            if codes is None:
                return
            if kind == "UNSUBSCRIBE":
                await self._market.unsubscribe(codes)
                return
            orderbook = body.get("orderbook", False)
            if not isinstance(orderbook, bool):
                self._error("bad_message", "orderbook: expected true or false")
                return
            await self._market.subscribe(codes, orderbook=orderbook)
        elif kind == "AUTH":
            self._error("bad_message", "already authenticated")
        else:
            self._error("bad_message", "expected a message of type SUBSCRIBE, UNSUBSCRIBE or PING")

    def _stock_codes(self, value: object) -> list[str] | None:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_CODES:
            self._error(
                "invalid_stock_codes", f"stockCodes: a list of 1 to {MAX_CODES} stock codes"
            )
            return None
        bad = [code for code in value if not isinstance(code, str) or not _is_code(code)]
        if bad:
            shown = ", ".join(repr(code) for code in bad[:10])
            self._error(
                "invalid_stock_codes",
                f"stock codes are 6 characters of 0-9 and A-Z; invalid: {shown}",
            )
            return None
        return list(dict.fromkeys(str(code) for code in value))

    async def _pump_bus(self, subscription: BusSubscription) -> None:
        async for message in subscription.messages():
            self._send(message)


# ----------------------------------------------------------------- helpers


def _is_code(code: str) -> bool:
    return STOCK_CODE.fullmatch(code) is not None


def _text_of(frame: Any) -> str:
    text = frame.get("text")
    if text is None and frame.get("bytes") is not None:
        text = frame["bytes"].decode("utf-8", "replace")
    return str(text or "")


def _parse(raw: str) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _is_disconnect(error: BaseException) -> bool:
    """A send or receive on a socket the client has already closed."""
    return isinstance(error, WebSocketDisconnect | OSError)
