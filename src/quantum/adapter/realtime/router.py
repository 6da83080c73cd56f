"""``WS /ws/realtime``: the guide's realtime protocol on top of :class:`RealtimeHub`.

Client → adapter: ``{"type": "SUBSCRIBE" | "UNSUBSCRIBE", "stock_codes": [...]}``.
Adapter → client, one JSON object per text frame: ``SUBSCRIBED``,
``UNSUBSCRIBED``, ``TICK``, ``ORDER``, ``STATUS`` and ``ERROR`` (bad JSON, unknown
command or unknown stock codes leave the connection open; a slow consumer is
sent ``ERROR slow_consumer`` and closed with 1008).

Batched mode (opt-in): a client that connects with ``?batch=1`` (or sends
``"batch": true`` in a ``SUBSCRIBE``/``UNSUBSCRIBE`` command; ``"batch": false``
turns it off again) gets every text frame as a JSON *array* of those same
objects, in order: whatever is queued for it, gathered for at most
:data:`BATCH_MAX_DELAY` seconds after the first message and at most
:data:`BATCH_MAX_MESSAGES` per frame. Each tick is still encoded once for all
subscribers; an array frame is the encoded objects joined. Far fewer frames
means far less CPU per message (see docs/adapter-contracts.md, "Fan-out
performance").

Sending: on uvicorn's ``websockets-sansio`` protocol (the adapter's, see
:data:`quantum.adapter.server.UVICORN_WS_OPTIONS`) without permessage-deflate,
a connection's frames are built and written straight to its transport by one
loop callback shared by all connections (:class:`_Flusher`): no task wake-up,
timer or ASGI ``send`` per frame. The frames are the same (one unfragmented
text frame per object, or per array in batched mode); a transport that is
paused for writing is not written to, so its subscriber's queue fills and
conflates exactly as with ``send_text``. Any other server uses ``send_text``.

Order updates (opt-in): a client that connects with ``?orders=1`` also gets
every ``ORDER`` message (Kiwoom 00 주문체결 of its app key, whatever its stock
codes). The subscription (and with ``?orders=1`` the upstream type-00
registration) is made before the WebSocket handshake completes, so once the
client's connect returns no order update of the key can be missed.

The hub is ``websocket.app.state.realtime_hub``; the optional
``X-Kiwoom-App-Key`` / ``X-Kiwoom-App-Secret`` (``X-Kiwoom-Environment``)
headers select the app key, the adapter's configured keys otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import OrderedDict
from typing import Any, ClassVar

import orjson
from fastapi import APIRouter, WebSocket
from pydantic import SecretStr, ValidationError

from quantum.adapter.broker import BrokerError, Credentials
from quantum.adapter.realtime.hub import HubSubscription, RealtimeHub
from quantum.adapter.schema import (
    Environment,
    ErrorMessage,
    RealtimeMessage,
    SubscribeCommand,
    TickMessage,
)

log = logging.getLogger(__name__)

__all__ = ["BATCH_MAX_DELAY", "BATCH_MAX_MESSAGES", "encode", "router"]

router = APIRouter()

_CACHE_SIZE = 4096

BATCH_MAX_DELAY = 0.005
"""Seconds a batched sender waits after the first queued message for more to join it."""
BATCH_MAX_MESSAGES = 500
"""Most messages in one batched frame."""
_TRUE = frozenset({"1", "true", "yes", "on"})
_encoded: OrderedDict[int, tuple[RealtimeMessage, str]] = OrderedDict()


def encode(message: RealtimeMessage) -> str:
    """The JSON text of ``message``; a tick shared by many subscribers is encoded once."""
    if isinstance(message, TickMessage):
        hit = _encoded.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
    text = orjson.dumps(message.model_dump(mode="json")).decode()
    if isinstance(message, TickMessage):
        _encoded[id(message)] = (message, text)
        if len(_encoded) > _CACHE_SIZE:
            _encoded.popitem(last=False)
    return text


def credentials_from(websocket: WebSocket) -> Credentials | None:
    key = websocket.headers.get("x-kiwoom-app-key")
    secret = websocket.headers.get("x-kiwoom-app-secret")
    if not key or not secret:
        return None
    environment = websocket.headers.get("x-kiwoom-environment", Environment.MOCK.value)
    try:
        env = Environment(environment.strip().lower())
    except ValueError:
        env = Environment.MOCK
    return Credentials(SecretStr(key), SecretStr(secret), env)


def _flag(websocket: WebSocket, name: str) -> bool:
    return websocket.query_params.get(name, "").strip().lower() in _TRUE


def _error(code: str, message: str) -> str:
    return encode(ErrorMessage(code=code, message=message))


class _Mode:
    """How one connection's frames are built (changed by a command's ``batch``)."""

    __slots__ = ("batch",)

    def __init__(self, batch: bool) -> None:
        self.batch = batch


@router.websocket("/ws/realtime")
async def realtime(websocket: WebSocket) -> None:
    hub: RealtimeHub = websocket.app.state.realtime_hub
    mode = _Mode(_flag(websocket, "batch"))
    try:
        subscription = await hub.subscribe(
            [], credentials_from(websocket), orders=_flag(websocket, "orders")
        )
    except BrokerError as exc:
        await websocket.accept()
        await websocket.send_text(_error(exc.code, exc.message))
        await websocket.close(code=1011)
        return
    try:
        await websocket.accept()
    except BaseException:
        await subscription.close()
        raise
    sender = asyncio.create_task(_send(websocket, subscription, mode), name="ws-realtime-send")
    try:
        await _receive(websocket, subscription, sender, mode)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        await subscription.close()


async def _send(websocket: WebSocket, subscription: HubSubscription, mode: _Mode) -> None:
    subscriber = subscription.subscriber
    writer = _DirectWriter.of(websocket)
    if writer is not None:
        await _send_direct(subscription, mode, writer)
    else:
        await _send_asgi(websocket, subscription, mode)
    if subscription.close_code is not None:
        await websocket.close(code=subscription.close_code, reason=subscriber.close_reason)


async def _send_asgi(websocket: WebSocket, subscription: HubSubscription, mode: _Mode) -> None:
    subscriber = subscription.subscriber
    while (message := await subscriber.get()) is not None:
        if not mode.batch:
            await websocket.send_text(encode(message))
            continue
        if BATCH_MAX_DELAY > 0 and subscriber.pending < BATCH_MAX_MESSAGES:
            await asyncio.sleep(BATCH_MAX_DELAY)
        parts = [encode(message)]
        parts.extend(map(encode, subscriber.drain(BATCH_MAX_MESSAGES - 1)))
        await websocket.send_text("[" + ",".join(parts) + "]")


# --------------------------------------------------------------------------- direct path

_SHORT = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")


class _DirectWriter:
    """Unmasked, unfragmented text frames written to a uvicorn ``websockets-sansio``
    connection's transport (the server side of RFC 6455 §5.2), bypassing ASGI."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport

    @classmethod
    def of(cls, websocket: WebSocket) -> _DirectWriter | None:
        """The writer for ``websocket``, or ``None`` when it is not served by
        uvicorn's ``websockets-sansio`` protocol without extensions (deflate)."""
        try:
            from uvicorn.protocols.websockets.websockets_sansio_impl import (
                WebSocketsSansIOProtocol,
            )
        except ImportError:  # pragma: no cover - uvicorn without websockets
            return None
        protocol = getattr(websocket._receive, "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol):
            return None
        if getattr(protocol.conn, "extensions", None) or not protocol.handshake_complete:
            return None
        return cls(protocol)

    @property
    def open(self) -> bool:
        protocol = self._protocol
        return not (protocol.disconnected or protocol.close_sent or self._transport.is_closing())

    @property
    def writable(self) -> bool:
        """False while the transport is paused (its buffer above the high-water mark)."""
        is_set: bool = self._protocol.writable.is_set()
        return is_set

    def write(self, text: str) -> None:
        payload = text.encode()
        size = len(payload)
        if size < 126:
            header = bytes((0x81, size))
        elif size < 65536:
            header = _SHORT.pack(0x81, 126, size)
        else:
            header = _LONG.pack(0x81, 127, size)
        self._transport.write(header + payload)


class _Direct:
    """One connection on the direct path: its subscriber calls :meth:`ready`
    when messages wait, the loop's :class:`_Flusher` writes them."""

    __slots__ = ("done", "flusher", "mode", "subscriber", "writer")

    def __init__(self, subscription: HubSubscription, mode: _Mode, writer: _DirectWriter) -> None:
        loop = asyncio.get_running_loop()
        self.subscriber = subscription.subscriber
        self.mode = mode
        self.writer = writer
        self.flusher = _Flusher.of(loop)
        self.done: asyncio.Future[None] = loop.create_future()

    def ready(self) -> None:
        self.flusher.mark(self, delayed=self.mode.batch and BATCH_MAX_DELAY > 0)

    def flush(self) -> None:
        """Write what is waiting (as the ASGI sender would); finish once closed and drained."""
        if self.done.done():
            return
        writer = self.writer
        if not writer.open:
            self.done.set_result(None)
            return
        subscriber = self.subscriber
        while writer.writable:
            messages = subscriber.drain(BATCH_MAX_MESSAGES)
            if not messages:
                if subscriber.closed:
                    self.done.set_result(None)
                return
            if self.mode.batch:
                writer.write("[" + ",".join(map(encode, messages)) + "]")
            else:
                for message in messages:
                    writer.write(encode(message))
        self.flusher.mark(self, delayed=True)  # paused: look again after the delay

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class _Flusher:
    """Per event loop: writes every marked connection's frames from one callback —
    batched ones :data:`BATCH_MAX_DELAY` after the first mark, others on the next
    loop iteration."""

    _by_loop: ClassVar[dict[asyncio.AbstractEventLoop, _Flusher]] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._delayed: dict[_Direct, None] = {}
        self._soon: dict[_Direct, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._handle: asyncio.Handle | None = None
        self.users = 0

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _Flusher:
        flusher = cls._by_loop.get(loop)
        if flusher is None:
            flusher = cls._by_loop[loop] = cls(loop)
        return flusher

    def mark(self, direct: _Direct, *, delayed: bool) -> None:
        if delayed:
            self._delayed[direct] = None
            if self._timer is None:
                delay = BATCH_MAX_DELAY if BATCH_MAX_DELAY > 0 else 0.005
                self._timer = self._loop.call_later(delay, self._flush_delayed)
        else:
            self._soon[direct] = None
            if self._handle is None:
                self._handle = self._loop.call_soon(self._flush_soon)

    def discard(self, direct: _Direct) -> None:
        self._delayed.pop(direct, None)
        self._soon.pop(direct, None)

    def _flush_delayed(self) -> None:
        self._timer = None
        marked, self._delayed = self._delayed, {}
        self._flush(marked)

    def _flush_soon(self) -> None:
        self._handle = None
        marked, self._soon = self._soon, {}
        self._flush(marked)

    def _flush(self, marked: dict[_Direct, None]) -> None:
        for direct in marked:
            try:
                direct.flush()
            except Exception as exc:
                direct.fail(exc)
        self._forget_if_idle()

    def release(self) -> None:
        """A connection stopped using this flusher; forget it with the last one."""
        self.users -= 1
        self._forget_if_idle()

    def _forget_if_idle(self) -> None:
        idle = self.users <= 0 and not self._delayed and not self._soon
        if idle and self._by_loop.get(self._loop) is self:
            del self._by_loop[self._loop]


async def _send_direct(subscription: HubSubscription, mode: _Mode, writer: _DirectWriter) -> None:
    subscriber = subscription.subscriber
    direct = _Direct(subscription, mode, writer)
    direct.flusher.users += 1
    subscriber.notify = direct.ready
    try:
        if subscriber.pending or subscriber.closed:
            direct.ready()
        await direct.done
    finally:
        subscriber.notify = None
        direct.flusher.discard(direct)
        direct.flusher.release()


async def _receive(
    websocket: WebSocket, subscription: HubSubscription, sender: asyncio.Task[None], mode: _Mode
) -> None:
    while True:
        receiving = asyncio.ensure_future(websocket.receive())
        done, _ = await asyncio.wait({receiving, sender}, return_when=asyncio.FIRST_COMPLETED)
        if receiving not in done:  # the sender ended (slow consumer or closed)
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiving
            return
        frame = receiving.result()
        if frame["type"] == "websocket.disconnect":
            return
        raw = frame.get("text")
        if raw is None and frame.get("bytes") is not None:
            raw = frame["bytes"].decode("utf-8", "replace")
        await _command(subscription, raw or "", mode)


async def _command(subscription: HubSubscription, raw: str, mode: _Mode) -> None:
    offer = subscription.subscriber.offer
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        offer(ErrorMessage(code="invalid_json", message="the message is not valid JSON"))
        return
    if not isinstance(body, dict) or body.get("type") not in ("SUBSCRIBE", "UNSUBSCRIBE"):
        offer(
            ErrorMessage(
                code="unknown_command",
                message='expected {"type": "SUBSCRIBE"|"UNSUBSCRIBE", "stock_codes": [...]}',
            )
        )
        return
    batch = body.pop("batch", None)
    if isinstance(batch, bool):
        mode.batch = batch  # before the reply is queued: the reply is framed the new way
    try:
        command = SubscribeCommand.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        offer(ErrorMessage(code="invalid_input", message=problems))
        return
    try:
        if command.type == "SUBSCRIBE":
            await subscription.add(command.stock_codes)
        else:
            await subscription.remove(command.stock_codes)
    except BrokerError as exc:
        offer(ErrorMessage(code=exc.code, message=exc.message))
