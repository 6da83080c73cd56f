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
from collections import OrderedDict

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
    while (message := await subscriber.get()) is not None:
        if not mode.batch:
            await websocket.send_text(encode(message))
            continue
        if BATCH_MAX_DELAY > 0 and subscriber.pending < BATCH_MAX_MESSAGES:
            await asyncio.sleep(BATCH_MAX_DELAY)
        parts = [encode(message)]
        parts.extend(map(encode, subscriber.drain(BATCH_MAX_MESSAGES - 1)))
        await websocket.send_text("[" + ",".join(parts) + "]")
    if subscription.close_code is not None:
        await websocket.close(
            code=subscription.close_code, reason=subscription.subscriber.close_reason
        )


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
