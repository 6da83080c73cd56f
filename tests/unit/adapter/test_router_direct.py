"""The realtime router's direct path: frames written to the transport by one
shared flusher (bench.fanout's "Fan-out performance" choice)."""

from __future__ import annotations

import asyncio
import importlib
import struct
from types import SimpleNamespace
from typing import Any

import orjson
from tests.unit.adapter.test_fanout import tick

from quantum.adapter.realtime.fanout import Subscriber
from quantum.adapter.schema import ErrorMessage

router_module = importlib.import_module("quantum.adapter.realtime.router")


class FakeTransport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closing = False

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return self.closing


def fake_protocol() -> Any:
    protocol = SimpleNamespace(
        transport=FakeTransport(), disconnected=False, close_sent=False, writable=asyncio.Event()
    )
    protocol.writable.set()
    return protocol


def frames(data: bytes) -> list[Any]:
    """Parse unmasked server text frames (RFC 6455 §5.2)."""
    out = []
    at = 0
    while at < len(data):
        first, second = data[at], data[at + 1]
        assert first == 0x81  # FIN + text
        assert second & 0x80 == 0  # unmasked
        size = second & 0x7F
        at += 2
        if size == 126:
            (size,) = struct.unpack_from("!H", data, at)
            at += 2
        elif size == 127:
            (size,) = struct.unpack_from("!Q", data, at)
            at += 8
        out.append(orjson.loads(data[at : at + size]))
        at += size
    return out


def direct_for(subscriber: Subscriber, batch: bool) -> tuple[Any, Any]:
    protocol = fake_protocol()
    writer = router_module._DirectWriter(protocol)
    direct = router_module._Direct(
        SimpleNamespace(subscriber=subscriber), router_module._Mode(batch), writer
    )
    subscriber.notify = direct.ready
    return protocol, direct


async def test_batched_frames_are_arrays_written_by_the_shared_flusher() -> None:
    subscriber = Subscriber(max_queue=100)
    protocol, direct = direct_for(subscriber, batch=True)
    for seq in range(1, 4):
        subscriber.offer(tick("005930", seq))
    assert protocol.transport.data == b""  # gathered for BATCH_MAX_DELAY
    await asyncio.sleep(router_module.BATCH_MAX_DELAY * 4)
    [frame] = frames(bytes(protocol.transport.data))
    assert [m["seq"] for m in frame] == [1, 2, 3]
    subscriber.close()
    await asyncio.sleep(router_module.BATCH_MAX_DELAY * 4)
    assert direct.done.done()


async def test_unbatched_frames_one_object_each_and_long_frames() -> None:
    subscriber = Subscriber(max_queue=100)
    protocol, _ = direct_for(subscriber, batch=False)
    subscriber.offer(tick("005930", 1))
    subscriber.offer(ErrorMessage(code="x", message="y" * 70_000))  # 64-bit length
    subscriber.offer(ErrorMessage(code="x", message="y" * 200))  # 16-bit length
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    got = frames(bytes(protocol.transport.data))
    assert [m["type"] for m in got] == ["TICK", "ERROR", "ERROR"]
    assert len(got[1]["message"]) == 70_000


async def test_paused_transport_is_not_written_and_the_subscriber_conflates() -> None:
    # a long grace: this is about the pause, not about dropping a slow consumer
    subscriber = Subscriber(max_queue=2, grace_seconds=10)
    protocol, direct = direct_for(subscriber, batch=True)
    protocol.writable.clear()
    for seq in range(1, 6):
        subscriber.offer(tick("005930", seq))
    await asyncio.sleep(router_module.BATCH_MAX_DELAY * 4)
    assert protocol.transport.data == b""
    assert subscriber.conflating
    protocol.writable.set()  # the client reads again before the grace ends
    await asyncio.sleep(router_module.BATCH_MAX_DELAY * 4)
    [frame] = frames(bytes(protocol.transport.data))
    assert [m["seq"] for m in frame] == [1, 2, 5]  # 3 and 4 conflated into 5
    assert not direct.done.done()


async def test_slow_consumer_gets_the_error_then_the_sender_ends() -> None:
    subscriber = Subscriber(max_queue=1, grace_seconds=0.05)
    protocol, direct = direct_for(subscriber, batch=True)
    protocol.writable.clear()
    subscriber.offer(tick("005930", 1))
    subscriber.offer(tick("005930", 2))
    await asyncio.sleep(0.1)
    assert subscriber.close_code == 1008
    protocol.writable.set()
    await asyncio.wait_for(direct.done, 15)
    [frame] = frames(bytes(protocol.transport.data))
    assert frame == [{"type": "ERROR", "code": "slow_consumer", "message": "slow consumer"}]


async def test_closed_transport_ends_the_sender() -> None:
    subscriber = Subscriber(max_queue=10)
    protocol, direct = direct_for(subscriber, batch=False)
    protocol.disconnected = True
    subscriber.offer(tick("005930", 1))
    await asyncio.wait_for(direct.done, 15)
    assert protocol.transport.data == b""
