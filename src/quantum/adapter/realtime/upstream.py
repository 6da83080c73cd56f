"""``UpstreamFeed``: the one Kiwoom realtime socket of one app key, shared by every subscriber.

* Reference counts per stock code: ``REG`` goes upstream only when a code's
  first subscriber arrives, ``REMOVE`` only when its last one leaves. The
  counts are ours, not the socket's, so they survive reconnects (the
  :class:`KiwoomStream` re-registers what it holds by itself).
* Every :class:`TradeEvent` becomes a :class:`TickMessage` with a per-code
  increasing ``seq``; a trade whose ``(time, cum_volume)`` is not newer than the
  last one forwarded for its code is dropped, so a reconnect never produces a
  duplicate or an out-of-order tick.
* Every :class:`StatusEvent` becomes a :class:`StatusMessage` for every subscriber.
* Order updates: subscribers that asked for them (:meth:`UpstreamFeed.acquire_orders`)
  get every :class:`OrderEvent` (type ``00`` 주문체결, the key's own orders) as an
  :class:`OrderUpdateMessage`, never deduplicated or conflated. Type ``00``
  (item ``""``) is registered when the first such subscriber arrives and
  removed when the last one leaves; like the market types it is re-registered
  by the :class:`KiwoomStream` after every reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from quantum.adapter.broker import BrokerAuthError, BrokerUnavailable
from quantum.adapter.realtime.fanout import Subscriber
from quantum.adapter.schema import (
    ErrorMessage,
    OrderUpdateMessage,
    Side,
    StatusMessage,
    StreamStatus,
    SubscribedMessage,
    TickMessage,
)
from quantum.kiwoom.events import (
    OrderEvent,
    StatusEvent,
    StreamEvent,
    StreamState,
    TradeEvent,
)
from quantum.kiwoom.realtime import OrderStatusText, SideCode
from quantum.kiwoom.stream import (
    EventCallback,
    KiwoomStream,
    RegistrationError,
    StreamError,
    StreamLoginError,
    TokenProvider,
)

log = logging.getLogger(__name__)

__all__ = ["FeedSource", "StreamLike", "UpstreamFeed", "order_update", "tick_from_trade"]

STOCK_CODE = re.compile(r"^[0-9A-Z]{6}$")
ORDER_TYPE = "00"
"""Kiwoom realtime type 주문체결 (the key's own orders)."""
_FILLED_MEMORY = 50_000
"""Order numbers whose cumulative fill quantity the feed remembers (oldest forgotten first)."""


class StreamLike(Protocol):
    """What the feed needs of a :class:`KiwoomStream`."""

    @property
    def state(self) -> StreamState | None: ...

    async def start(self) -> None: ...

    async def subscribe(self, codes: Iterable[str], types: Iterable[str] = ...) -> None: ...

    async def unsubscribe(self, codes: Iterable[str], types: Iterable[str] = ...) -> None: ...

    async def close(self) -> None: ...


StreamFactory = Callable[[str, TokenProvider, EventCallback], StreamLike]


@dataclass(frozen=True)
class FeedSource:
    """Where one app key's realtime feed comes from."""

    ws_url: str
    token_provider: TokenProvider
    fingerprint: str
    token_expiry: Callable[[], datetime | None] | None = None
    """The current token's expiry, when known (for the health page)."""
    stream_options: dict[str, Any] | None = None
    """Extra :class:`KiwoomStream` keyword arguments (``stall_seconds``, ``session_date``...)."""


def tick_from_trade(trade: TradeEvent, seq: int) -> TickMessage:
    return TickMessage(
        stock_code=trade.code,
        seq=seq,
        time=trade.time,
        price=trade.price,
        change=trade.change,
        change_rate=trade.change_rate,
        quantity=trade.qty,
        buyer_initiated=trade.buyer_initiated,
        cum_volume=trade.cum_volume,
        best_ask=trade.best_ask,
        best_bid=trade.best_bid,
    )


_SIDES = {SideCode.BUY: Side.BUY, SideCode.SELL: Side.SELL}


def _unit_fill_qty(event: OrderEvent) -> int | None:
    return event.unit_fill_qty if event.unit_fill_qty is not None else event.fill_qty


def _is_fill(event: OrderEvent) -> bool:
    """A 체결 frame with a non-zero fill quantity (other frames may carry 911 = 0)."""
    return event.status == OrderStatusText.FILLED and bool(_unit_fill_qty(event))


def order_update(event: OrderEvent, filled_quantity: int | None = None) -> OrderUpdateMessage:
    """The :class:`OrderUpdateMessage` of one 00 frame (mapping: see its docstring).

    ``filled_quantity`` overrides 911 (the feed passes its running sum of unit fills
    when that is larger)."""
    fill_price = event.unit_fill_price if event.unit_fill_price is not None else event.fill_price
    fill_qty = _unit_fill_qty(event)
    is_fill = _is_fill(event)
    return OrderUpdateMessage(
        order_no=event.order_no,
        original_order_no=event.orig_order_no,
        stock_code=event.code,
        side=_SIDES.get(event.side) if event.side is not None else None,
        status=str(event.status),
        order_quantity=event.order_qty,
        order_price=event.order_price,
        filled_quantity=(filled_quantity if filled_quantity is not None else (event.fill_qty or 0)),
        remaining_quantity=event.unfilled_qty,
        fill_no=event.fill_no,
        fill_price=fill_price if is_fill else None,
        fill_quantity=fill_qty if is_fill else None,
        label=event.label,
        order_type=event.order_type,
        reject_reason=event.reject_reason,
        time=event.time,
    )


_STATUS = {state: StreamStatus[state.name] for state in StreamState}


class UpstreamFeed:
    """One :class:`KiwoomStream` and the subscribers sharing it."""

    def __init__(
        self,
        source: FeedSource,
        *,
        stream_factory: StreamFactory | None = None,
        start_timeout: float = 15.0,
    ) -> None:
        self.source = source
        self.fingerprint = source.fingerprint
        self._start_timeout = start_timeout
        factory = stream_factory or self._default_stream
        self._stream = factory(source.ws_url, source.token_provider, self._on_event)
        self._started = False
        self._closed = False
        self._lock = asyncio.Lock()
        self._by_code: dict[str, set[Subscriber]] = {}
        self._subscribers: set[Subscriber] = set()
        self._order_subscribers: set[Subscriber] = set()
        self._orders_registered = False
        self._filled: OrderedDict[str, int] = OrderedDict()
        """Order number → the sum of the unit fill quantities seen for it."""
        self._last: dict[str, tuple[datetime, int]] = {}
        self._seq: dict[str, int] = {}
        self._last_event_at: float | None = None
        self.ticks_forwarded = 0
        self.ticks_dropped = 0
        """Trades not newer than the last one forwarded for their code (replays after a reconnect)."""
        self.orders_forwarded = 0
        """Order updates (00 frames) received while someone wanted them."""

    def _default_stream(
        self, ws_url: str, token_provider: TokenProvider, on_event: EventCallback
    ) -> StreamLike:
        return KiwoomStream(
            ws_url, token_provider, on_event=on_event, **(self.source.stream_options or {})
        )

    @property
    def stream(self) -> StreamLike:
        return self._stream

    # ----------------------------------------------------------------- events

    def _on_event(self, event: StreamEvent) -> None:
        self._last_event_at = asyncio.get_running_loop().time()
        if isinstance(event, TradeEvent):
            self._on_trade(event)
        elif isinstance(event, OrderEvent):
            self._on_order(event)
        elif isinstance(event, StatusEvent):
            message = StatusMessage(status=_STATUS[event.state], detail=event.detail)
            for subscriber in list(self._subscribers):
                subscriber.offer(message)

    def _on_trade(self, trade: TradeEvent) -> None:
        code = trade.code
        key = (trade.time, trade.cum_volume)
        last = self._last.get(code)
        if last is not None and key <= last:
            self.ticks_dropped += 1
            return
        self._last[code] = key
        seq = self._seq.get(code, 0) + 1
        self._seq[code] = seq
        subscribers = self._by_code.get(code)
        if not subscribers:
            return
        message = tick_from_trade(trade, seq)
        self.ticks_forwarded += 1
        for subscriber in list(subscribers):
            subscriber.offer(message)

    def _on_order(self, event: OrderEvent) -> None:
        filled = self._filled.get(event.order_no, 0)
        if _is_fill(event):
            filled += _unit_fill_qty(event) or 0
            self._filled[event.order_no] = filled
            self._filled.move_to_end(event.order_no)
            while len(self._filled) > _FILLED_MEMORY:
                self._filled.popitem(last=False)
        subscribers = self._order_subscribers
        if not subscribers:
            return
        message = order_update(event, max(filled, event.fill_qty or 0))
        self.orders_forwarded += 1
        for subscriber in list(subscribers):
            subscriber.offer(message)  # never conflated: a full queue means slow_consumer

    # ----------------------------------------------------------------- ref counts

    async def _ensure_started(self) -> None:
        if self._closed:
            raise BrokerUnavailable("the realtime feed is closed")
        if self._started:
            return
        try:
            async with asyncio.timeout(self._start_timeout):
                await self._stream.start()
        except StreamLoginError as exc:
            raise BrokerAuthError(f"realtime login refused: {exc.message}") from None
        except (TimeoutError, StreamError) as exc:
            raise BrokerUnavailable(f"realtime connection failed: {exc}") from None
        self._started = True

    async def acquire(
        self, subscriber: Subscriber, codes: Iterable[str], *, announce: bool = True
    ) -> tuple[list[str], list[str]]:
        """Add ``subscriber`` to ``codes``; returns (subscribed, unknown) codes.

        A code nobody held before is registered upstream first; codes Kiwoom
        refuses (or that are not stock codes at all) are reported as unknown.
        With ``announce`` the subscriber is offered ``ERROR unknown_stock`` (if
        any) and ``SUBSCRIBED`` before any tick or status of the new codes.
        """
        wanted = list(dict.fromkeys(code.strip().upper() for code in codes))
        unknown = [code for code in wanted if not STOCK_CODE.match(code)]
        wanted = [code for code in wanted if code not in unknown]
        async with self._lock:
            await self._ensure_started()
            new = [code for code in wanted if not self._by_code.get(code)]
            if new:
                refused = await self._register(new)
                unknown.extend(refused)
                wanted = [code for code in wanted if code not in refused]
            # from here to the end: no await, so nothing can come in between
            if announce:
                if unknown:
                    subscriber.offer(
                        ErrorMessage(
                            code="unknown_stock", message=f"unknown stock codes: {unknown}"
                        )
                    )
                if wanted or not unknown:
                    subscriber.offer(SubscribedMessage(stock_codes=wanted))
            self._subscribers.add(subscriber)
            for code in wanted:
                self._by_code.setdefault(code, set()).add(subscriber)
        return wanted, unknown

    async def acquire_orders(self, subscriber: Subscriber) -> None:
        """Give ``subscriber`` the key's order updates (registers type 00 for the first one).

        Raises :class:`BrokerUnavailable` when Kiwoom refuses the registration."""
        async with self._lock:
            await self._ensure_started()
            if not self._orders_registered:
                try:
                    await self._stream.subscribe([], (ORDER_TYPE,))
                except RegistrationError as exc:
                    raise BrokerUnavailable(f"order updates refused: {exc}") from None
                except (StreamError, TimeoutError) as exc:
                    raise BrokerUnavailable(f"order updates registration failed: {exc}") from None
                self._orders_registered = True
            self._subscribers.add(subscriber)
            self._order_subscribers.add(subscriber)

    async def _register(self, codes: list[str]) -> list[str]:
        try:
            await self._stream.subscribe(codes, ("0B",))
            return []
        except RegistrationError:
            if len(codes) == 1:
                log.info("realtime REG refused for %s", codes[0])
                return codes
        refused: list[str] = []  # find which ones: one at a time
        for code in codes:
            try:
                await self._stream.subscribe([code], ("0B",))
            except RegistrationError:
                log.info("realtime REG refused for %s", code)
                refused.append(code)
        return refused

    async def release(
        self, subscriber: Subscriber, codes: Iterable[str] | None = None
    ) -> list[str]:
        """Take ``subscriber`` off ``codes`` (all of its codes when ``None``);
        codes left without subscribers are removed upstream. Returns the codes released."""
        async with self._lock:
            if codes is None:
                chosen = [code for code, held in self._by_code.items() if subscriber in held]
                self._subscribers.discard(subscriber)
                await self._release_orders(subscriber)
            else:
                chosen = [code.strip().upper() for code in codes]
            released: list[str] = []
            orphaned: list[str] = []
            for code in dict.fromkeys(chosen):
                holders = self._by_code.get(code)
                if holders is None or subscriber not in holders:
                    continue
                holders.discard(subscriber)
                released.append(code)
                if not holders:
                    del self._by_code[code]
                    orphaned.append(code)
            if orphaned and self._started and not self._closed:
                try:
                    await self._stream.unsubscribe(orphaned, ("0B",))
                except (StreamError, TimeoutError) as exc:
                    log.warning("realtime REMOVE failed: %s", exc)
        return released

    async def _release_orders(self, subscriber: Subscriber) -> None:
        """Under the lock: the last orders-subscriber gone → ``REMOVE`` type 00."""
        if subscriber not in self._order_subscribers:
            return
        self._order_subscribers.discard(subscriber)
        if self._order_subscribers or not self._orders_registered:
            return
        self._orders_registered = False
        if self._started and not self._closed:
            try:
                await self._stream.unsubscribe([], (ORDER_TYPE,))
            except (StreamError, TimeoutError) as exc:
                log.warning("realtime REMOVE of order updates failed: %s", exc)

    @property
    def order_subscribers(self) -> int:
        return len(self._order_subscribers)

    def refcount(self, code: str) -> int:
        return len(self._by_code.get(code, ()))

    # ----------------------------------------------------------------- health, close

    def health(self) -> dict[str, Any]:
        expiry = self.source.token_expiry() if self.source.token_expiry else None
        state = self._stream.state
        age = (
            None
            if self._last_event_at is None
            else round(asyncio.get_running_loop().time() - self._last_event_at, 3)
        )
        return {
            "key": self.fingerprint,
            "token_valid_until": expiry.isoformat() if expiry else None,
            "stream_state": _STATUS[state].value if state is not None else None,
            "last_frame_age_seconds": age,
            "subscribed_codes": sorted(self._by_code),
            "subscribers": len(self._subscribers),
            "order_subscribers": len(self._order_subscribers),
            "ticks_forwarded": self.ticks_forwarded,
            "orders_forwarded": self.orders_forwarded,
            "ticks_dropped_as_replayed": self.ticks_dropped,
        }

    async def aclose(self) -> None:
        self._closed = True
        await self._stream.close()
        for subscriber in list(self._subscribers):
            subscriber.close()
        self._subscribers.clear()
        self._order_subscribers.clear()
        self._by_code.clear()


def client_source(
    client: Any, *, fingerprint: str, ws_url: str, **stream_options: Any
) -> FeedSource:
    """A :class:`FeedSource` on a :class:`quantum.kiwoom.client.KiwoomClient`'s token manager."""
    tokens = client.transport.tokens
    last: list[datetime] = []

    async def provide(force: bool) -> str:
        token = await tokens.get(force_refresh=force)
        last[:] = [token.expires_at]
        return str(token.secret())

    def expiry() -> datetime | None:
        return last[0] if last else None

    return FeedSource(
        ws_url=ws_url,
        token_provider=provide,
        fingerprint=fingerprint,
        token_expiry=expiry,
        stream_options=stream_options or None,
    )
