"""A realtime connection's market data: the broker subscription with the user's
credentials (made on the first ``SUBSCRIBE``, made again when the broker ends it,
e.g. a restarted adapter), the codes asked for, and the order-book pollers.

Everything goes to the connection through ``send`` (never waiting on the client);
a failure of the feed itself ends the connection through ``finish``."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

from quantum.adapter.broker import BrokerError, BrokerRateLimited, Subscription
from quantum.adapter.schema import (
    ErrorMessage,
    RealtimeMessage,
    StatusMessage,
    SubscribedMessage,
    TickMessage,
    UnsubscribedMessage,
)
from quantum.platform.core import Platform
from quantum.platform.errors import ApiError
from quantum.platform.realtime.messages import error_message, orderbook_message, tick_message
from quantum.platform.realtime.options import RealtimeOptions
from quantum.platform.services.accounts import Trading
from quantum.platform.services.usage import acting_for

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
RESUBSCRIBE_PAUSE = 0.2
RESUBSCRIBE_MAX_PAUSE = 1.0
"""Seconds between attempts to get a lost broker feed back (doubling, capped)."""

Send = Callable[[dict[str, Any], object | None], None]


class MarketFeed:
    def __init__(
        self,
        platform: Platform,
        options: RealtimeOptions,
        *,
        send: Send,
        finish: Callable[[int | None, str], None],
        finished: Callable[[], bool],
    ) -> None:
        self._platform = platform
        self._options = options
        self._send_to_client = send
        self._finish = finish
        self._finished = finished
        self.user_id = ""
        """Set once the connection is authenticated (before any subscription)."""
        self._trading: Trading | None = None
        self._subscription: Subscription | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._books: dict[str, asyncio.Task[None]] = {}
        self._book_wanted: set[str] = set()
        self._codes: set[str] = set()
        """Stock codes the client subscribed to (to subscribe again after a lost feed)."""

    def _send(self, message: dict[str, Any], key: object | None = None) -> None:
        self._send_to_client(message, key)

    def _error(self, code: str, message: str) -> None:
        self._send(error_message(code, message))

    async def aclose(self) -> None:
        tasks = [*self._pumps, *self._books.values()]
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

    def _acting(self) -> contextlib.AbstractContextManager[None]:
        assert self._trading is not None
        return acting_for(self.user_id, self._trading.kiwoom_account_id)

    async def subscribe(self, codes: list[str], *, orderbook: bool) -> None:
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
        try:
            trading = await self._platform.accounts.trading(self.user_id)
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

    async def unsubscribe(self, codes: list[str]) -> None:
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
        task = asyncio.create_task(self._pump(subscription), name="ws-realtime-broker")
        self._pumps.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._pumps.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("realtime broker feed failed", exc_info=finished.exception())
                self._finish(INTERNAL_ERROR, "internal error")

        task.add_done_callback(done)

    async def _pump(self, subscription: Subscription) -> None:
        while True:
            async for message in subscription.messages():
                self._forward(message)
            if self._subscription is not subscription or self._finished():
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
            if self._finished() or trading is None or self._subscription is not None:
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
