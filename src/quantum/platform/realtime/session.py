"""One ``/ws/realtime`` connection: authenticate, then relay the user's market data
and order updates through a bounded, conflating send queue.

States: *authenticating* (only ``AUTH`` is accepted, within ``auth_grace``
seconds) → *open* (``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``PING``) → *closed*
(broker and bus subscriptions, order-book pollers and tasks released).

Sources, each feeding :class:`Outbox` without ever waiting on the client:

* the broker subscription (``Broker.subscribe`` with the user's credentials,
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
import itertools
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from quantum.adapter.broker import BrokerError, BrokerRateLimited, Subscription
from quantum.adapter.schema import (
    ErrorMessage,
    RealtimeMessage,
    StatusMessage,
    SubscribedMessage,
    TickMessage,
    UnsubscribedMessage,
)
from quantum.platform.bus import BusSubscription, order_topic
from quantum.platform.core import Platform
from quantum.platform.errors import ApiError
from quantum.platform.realtime.messages import (
    dumps,
    error_message,
    orderbook_message,
    tick_message,
)
from quantum.platform.realtime.outbox import Outbox
from quantum.platform.services.accounts import Trading
from quantum.platform.services.auth import Principal
from quantum.platform.services.usage import acting_for

log = logging.getLogger(__name__)

__all__ = ["POLICY_VIOLATION", "RealtimeOptions", "RealtimeSession"]

POLICY_VIOLATION = 1008
GOING_AWAY = 1001
INTERNAL_ERROR = 1011
STOCK_CODE = re.compile(r"[0-9A-Z]{6}")
MAX_CODES = 100
AUTH_HELP = 'the first message must be {"type":"AUTH","token":"<access token>"}'


RESUBSCRIBE_PAUSE = 0.2
RESUBSCRIBE_MAX_PAUSE = 1.0
"""Seconds between attempts to get a lost broker feed back (doubling, capped)."""


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
        self._trading: Trading | None = None
        self._subscription: Subscription | None = None
        self._bus_subscription: BusSubscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._books: dict[str, asyncio.Task[None]] = {}
        self._book_wanted: set[str] = set()
        self._codes: set[str] = set()
        """Stock codes the client subscribed to (to subscribe again after a lost feed)."""
        self._finished = asyncio.Event()
        self._close: tuple[int, str] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        await self._ws.accept()
        principal = await self._authenticate()
        if principal is None:
            return
        self.principal = principal
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
        tasks = [*self._tasks, *self._books.values()]
        self._books.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.close()
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
                await self._unsubscribe(codes)
                return
            orderbook = body.get("orderbook", False)
            if not isinstance(orderbook, bool):
                self._error("bad_message", "orderbook: expected true or false")
                return
            await self._subscribe(codes, orderbook=orderbook)
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

    # -- subscriptions --------------------------------------------------------------------

    def _acting(self) -> contextlib.AbstractContextManager[None]:
        assert self.principal is not None and self._trading is not None
        return acting_for(self.principal.user_id, self._trading.kiwoom_account_id)

    async def _subscribe(self, codes: list[str], *, orderbook: bool) -> None:
        if orderbook:
            self._book_wanted.update(codes)
        try:
            if self._subscription is not None:
                with self._acting():
                    await self._subscription.add(codes)
                self._codes.update(codes)
                return
            trading = await self._load_trading()
            if trading is None:
                return
            with self._acting():
                subscription = await self._platform.broker.subscribe(codes, trading.credentials)
        except BrokerError as exc:
            self._error(exc.code, exc.message)
            return
        self._subscription = subscription
        self._codes.update(codes)
        self._spawn_pump(subscription)

    async def _load_trading(self) -> Trading | None:
        assert self.principal is not None
        try:
            trading = await self._platform.accounts.trading(self.principal.user_id)
        except ApiError as exc:
            self._error(exc.error_code, exc.message)
            return None
        if trading is None:
            self._error(
                "credentials_missing",
                "store your Kiwoom app key and secret first "
                "(PUT /api/v1/kiwoom-accounts/me/credentials)",
            )
            return None
        self._trading = trading
        return trading

    async def _unsubscribe(self, codes: list[str]) -> None:
        self._book_wanted.difference_update(codes)
        self._codes.difference_update(codes)
        for code in codes:
            poller = self._books.pop(code, None)
            if poller is not None:
                poller.cancel()
        if self._subscription is None:
            self._send({"type": "UNSUBSCRIBED", "stockCodes": []})
            return
        try:
            with self._acting():
                await self._subscription.remove(codes)
        except BrokerError as exc:
            self._error(exc.code, exc.message)

    def _spawn_pump(self, subscription: Subscription) -> None:
        task = asyncio.create_task(self._pump_broker(subscription), name="ws-realtime-broker")
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("realtime broker feed failed", exc_info=finished.exception())
                self._finish(INTERNAL_ERROR, "internal error")

        task.add_done_callback(done)

    async def _pump_broker(self, subscription: Subscription) -> None:
        while True:
            async for message in subscription.messages():
                self._forward(message)
            if self._subscription is not subscription or self._finished.is_set():
                return
            self._subscription = None
            self._stop_books()
            with contextlib.suppress(Exception):
                await subscription.close()
            if getattr(subscription, "close_code", None) == POLICY_VIOLATION:
                self._finish(POLICY_VIOLATION, "slow consumer")
                return
            resumed = await self._resubscribe()
            if resumed is None:
                return
            subscription = self._subscription = resumed

    async def _resubscribe(self) -> Subscription | None:
        """The broker ended the feed by itself (a restarted adapter, say): subscribe
        again, pausing longer each time, until it works or the session ends. The
        client sees STATUS RECONNECTING, then the new feed's SUBSCRIBED and ticks."""
        self._send({"type": "STATUS", "status": "RECONNECTING", "detail": "feed lost"})
        trading = self._trading
        for attempt in itertools.count():
            await asyncio.sleep(min(RESUBSCRIBE_MAX_PAUSE, RESUBSCRIBE_PAUSE * 2**attempt))
            if self._finished.is_set() or trading is None or self._subscription is not None:
                return None  # the session ended, or the client subscribed anew meanwhile
            try:
                with self._acting():
                    return await self._platform.broker.subscribe(
                        sorted(self._codes), trading.credentials
                    )
            except BrokerError:
                continue
        return None

    def _forward(self, message: RealtimeMessage) -> None:
        if isinstance(message, TickMessage):
            self._send(tick_message(message), ("TICK", message.stock_code))
        elif isinstance(message, StatusMessage):
            self._send({"type": "STATUS", "status": message.status.value, "detail": message.detail})
        elif isinstance(message, SubscribedMessage):
            self._send({"type": "SUBSCRIBED", "stockCodes": list(message.stock_codes)})
            for code in message.stock_codes:
                if code in self._book_wanted and code not in self._books:
                    self._books[code] = asyncio.create_task(
                        self._poll_book(code), name=f"ws-realtime-book-{code}"
                    )
        elif isinstance(message, UnsubscribedMessage):
            self._send({"type": "UNSUBSCRIBED", "stockCodes": list(message.stock_codes)})
        elif isinstance(message, ErrorMessage):
            self._error(message.code, message.message)
        # ORDER messages of the broker are not asked for: ORDER_UPDATE comes from the bus.

    def _stop_books(self) -> None:
        for task in self._books.values():
            task.cancel()
        self._books.clear()

    async def _poll_book(self, code: str) -> None:
        options = self._options
        loop = asyncio.get_running_loop()
        trading = self._trading
        assert trading is not None
        last: object = None
        failing = False
        while True:
            started = loop.time()
            delay = options.orderbook_interval
            try:
                with self._acting():
                    book = await self._platform.broker.order_book(code, trading.credentials)
            except BrokerRateLimited as exc:
                delay = max(delay, exc.retry_after)
            except BrokerError as exc:
                if not failing:
                    self._error(exc.code, f"order book of {code}: {exc.message}")
                failing = True
                delay = max(delay, options.orderbook_retry)
            else:
                failing = False
                levels = (book.asks, book.bids)
                if levels != last:
                    last = levels
                    self._send(orderbook_message(book), ("ORDERBOOK", code))
            await asyncio.sleep(max(0.0, started + delay - loop.time()))

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
