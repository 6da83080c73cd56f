"""The realtime hub and ``WS /ws/realtime`` against the simulator (fixed clock).

REAL frames flow only when the clock moves: ``advance`` is a sync httpx call,
hence ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from tests.integration.kiwoom.conftest import Harness, settings_for, sim_state
from tests.integration.serving import serve_in_thread
from tests.integration.simulator.conftest import RunningSimulator
from tests.waiting import eventually
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from quantum.adapter.broker import Credentials
from quantum.adapter.realtime import FeedSource, HubSubscription, RealtimeHub, client_source
from quantum.adapter.realtime.router import router
from quantum.adapter.schema import (
    ErrorMessage,
    RealtimeMessage,
    StatusMessage,
    StreamStatus,
    SubscribedMessage,
    TickMessage,
    UnsubscribedMessage,
)
from quantum.adapter.server import UVICORN_WS_OPTIONS
from quantum.kiwoom.client import KiwoomClient
from quantum.serving import WS_MAX_MESSAGE_BYTES

SESSION_DAY = date(2026, 11, 24)


class Collector:
    """Reads one subscription's messages on a task of its own."""

    def __init__(self, subscription: HubSubscription) -> None:
        self.subscription = subscription
        self.messages: list[RealtimeMessage] = []
        self.arrived: list[float] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for message in self.subscription.messages():
            self.messages.append(message)
            self.arrived.append(time.monotonic())
            self.changed.set()

    async def wait_status(self, status: StreamStatus, since: float) -> None:
        while status not in self.statuses(since):
            self.changed.clear()
            await self.changed.wait()

    def ticks(self, since: float = 0.0) -> list[TickMessage]:
        return [
            m
            for m, at in zip(self.messages, self.arrived, strict=True)
            if isinstance(m, TickMessage) and at >= since
        ]

    def statuses(self, since: float = 0.0) -> list[StreamStatus]:
        return [
            m.status
            for m, at in zip(self.messages, self.arrived, strict=True)
            if isinstance(m, StatusMessage) and at >= since
        ]

    async def stop(self) -> None:
        await self.subscription.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 15)


async def until_ticks(
    running: RunningSimulator,
    collectors: list[Collector],
    codes: set[str],
    *,
    since: float = 0.0,
    count: int = 1,
    within: float = 15.0,
) -> None:
    """Advance the simulated clock until every collector has ``count`` ticks of every code."""
    async with asyncio.timeout(within):
        while True:
            done = all(
                sum(1 for t in c.ticks(since) if t.stock_code == code) >= count
                for c in collectors
                for code in codes
            )
            if done:
                return
            await asyncio.to_thread(running.advance, 5)
            await asyncio.sleep(0.1)


def assert_seq_increasing(ticks: list[TickMessage]) -> None:
    by_code: dict[str, list[TickMessage]] = {}
    for tick in ticks:
        by_code.setdefault(tick.stock_code, []).append(tick)
    for code, seen in by_code.items():
        seqs = [t.seq for t in seen]
        assert seqs == sorted(set(seqs)), f"{code}: seq not strictly increasing: {seqs}"
        keys = [(t.time, t.cum_volume) for t in seen]
        assert keys == sorted(set(keys)), f"{code}: duplicate or out-of-order tick"


@contextlib.asynccontextmanager
async def hub_for(
    running: RunningSimulator, harness: Harness, **options: Any
) -> AsyncIterator[RealtimeHub]:
    settings = settings_for(running)
    client = KiwoomClient(harness.transport(running))

    async def source_for(credentials: Credentials | None) -> FeedSource:
        assert credentials is None
        return client_source(
            client,
            fingerprint=settings.key_fingerprint,
            ws_url=running.ws_url,
            session_date=SESSION_DAY,
            backoff_initial=0.05,
            backoff_max=0.5,
        )

    hub = RealtimeHub(source_for, **options)
    try:
        yield hub
    finally:
        await hub.aclose()


# --------------------------------------------------------------------------- hub


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    built = Harness()
    yield built
    await built.aclose()


async def test_shared_code_is_registered_once_and_removed_with_its_last_subscriber(
    simulator: RunningSimulator,
    harness: Harness,
) -> None:
    async with hub_for(simulator, harness) as hub:
        first = Collector(await hub.subscribe(["005930"]))
        second = Collector(await hub.subscribe(["005930"]))
        state = sim_state(simulator)
        assert state["ws_items"].get("REG") == 1, state["ws_items"]
        await until_ticks(simulator, [first, second], {"005930"}, count=3)
        for collector in (first, second):
            assert isinstance(collector.messages[0], SubscribedMessage)
            assert collector.messages[0].stock_codes == ["005930"]
            assert_seq_increasing(collector.ticks())
        assert [t.seq for t in first.ticks()][:3] == [t.seq for t in second.ticks()][:3]

        [health] = hub.health()
        assert health["key"] == settings_for(simulator).key_fingerprint
        assert health["stream_state"] == "LIVE"
        assert health["subscribed_codes"] == ["005930"]
        assert health["token_valid_until"] is not None
        assert health["last_frame_age_seconds"] is not None
        assert "PSintegration" not in repr(health)

        await first.stop()
        assert sim_state(simulator)["ws_items"].get("REMOVE", 0) == 0
        await second.stop()
        state = sim_state(simulator)
        assert state["ws_items"].get("REMOVE") == 1, state["ws_items"]
        assert state["ws_items"].get("REG") == 1
        assert hub.health()[0]["subscribed_codes"] == []


async def test_add_remove_and_unknown_codes(
    simulator: RunningSimulator,
    harness: Harness,
) -> None:
    async with hub_for(simulator, harness) as hub:
        subscription = await hub.subscribe(["005930"])
        collector = Collector(subscription)
        await subscription.add(["000660", "999999", "bad"])
        await subscription.remove(["005930"])
        await eventually(lambda: len(collector.messages) >= 4)
        assert collector.messages[:4] == [
            SubscribedMessage(stock_codes=["005930"]),
            ErrorMessage(code="unknown_stock", message="unknown stock codes: ['BAD', '999999']"),
            SubscribedMessage(stock_codes=["000660"]),
            UnsubscribedMessage(stock_codes=["005930"]),
        ]
        assert hub.health()[0]["subscribed_codes"] == ["000660"]
        await until_ticks(simulator, [collector], {"000660"})
        await collector.stop()


async def test_reconnect_keeps_subscriptions_and_seq_without_duplicates(
    simulator: RunningSimulator,
    harness: Harness,
) -> None:
    async with hub_for(simulator, harness) as hub:
        a = Collector(await hub.subscribe(["005930", "000660"]))
        b = Collector(await hub.subscribe(["005930"]))
        await until_ticks(simulator, [a, b], {"005930"}, count=2)
        before = sim_state(simulator)
        assert before["ws_messages"].get("REG") == 1
        assert before["ws_items"].get("REG") == 2

        dropped_at = time.monotonic()
        async with httpx.AsyncClient(base_url=simulator.base_url) as http:
            assert (await http.post("/_sim/ws/drop", json={})).json() == {"dropped": 1}
        async with asyncio.timeout(15):
            for collector in (a, b):
                await collector.wait_status(StreamStatus.LIVE, dropped_at)
        for collector in (a, b):
            assert collector.statuses(dropped_at) == [StreamStatus.RECONNECTING, StreamStatus.LIVE]
        after = sim_state(simulator)
        assert after["ws_messages"].get("REG") == 2, "exactly one re-registration"
        assert after["ws_items"].get("REG") == 4

        live_at = time.monotonic()
        await until_ticks(simulator, [a], {"005930", "000660"}, since=live_at, count=2)
        await until_ticks(simulator, [b], {"005930"}, since=live_at, count=2)
        for collector in (a, b):
            assert_seq_increasing(collector.ticks())
        await a.stop()
        await b.stop()


async def test_slow_subscriber_is_dropped_and_released_without_delaying_others(
    simulator: RunningSimulator,
    harness: Harness,
) -> None:
    # the reader's queue holds a burst even when a loaded machine keeps it waiting
    # (max_queue and grace apply to it too); the stuck one, never read, still fills it
    async with hub_for(simulator, harness, max_queue=50, grace_seconds=1.0) as hub:
        stuck = await hub.subscribe(["005930", "000660"])  # never read
        reader = Collector(await hub.subscribe(["005930"]))
        await until_ticks(simulator, [reader], {"005930"}, count=20, within=20)
        async with asyncio.timeout(15):
            while not stuck.closed:
                await asyncio.to_thread(simulator.advance, 5)
                await asyncio.sleep(0.1)
        assert stuck.close_code == 1008
        got = [m async for m in stuck.messages()]
        assert got[-1] == ErrorMessage(code="slow_consumer", message="slow consumer")
        # the release runs on a task of its own
        await eventually(lambda: hub.health()[0]["subscribed_codes"] == ["005930"])
        # 000660 only
        await eventually(lambda: sim_state(simulator)["ws_items"].get("REMOVE") == 1)
        assert_seq_increasing(reader.ticks())
        since = time.monotonic()
        await until_ticks(simulator, [reader], {"005930"}, since=since, count=3)
        assert reader.subscription.close_code is None
        await reader.stop()


# --------------------------------------------------------------------------- WS router


@contextlib.contextmanager
def serve(app: FastAPI, **options: Any) -> Iterator[str]:
    served = serve_in_thread(app, "adapter", **options)
    try:
        yield served.base_url.replace("http://", "ws://") + "/ws/realtime"
    finally:
        served.stop()


def adapter_app(running: RunningSimulator, **options: Any) -> FastAPI:
    """A tiny app with the router; the hub lives (and is closed) on uvicorn's loop."""

    async def source_for(credentials: Credentials | None) -> FeedSource:
        token = await asyncio.to_thread(running.token)

        async def provide(force: bool) -> str:
            return token

        return FeedSource(
            running.ws_url,
            provide,
            fingerprint="test",
            stream_options={"session_date": SESSION_DAY},
        )

    hub = RealtimeHub(source_for, **options)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.aclose()

    app = FastAPI(lifespan=lifespan)
    app.state.realtime_hub = hub
    app.include_router(router)
    return app


async def _next(ws: Any, wanted: str, within: float = 15.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if message["type"] == wanted:
                return message


# Without permessage-deflate the router writes frames straight to uvicorn's
# transport (its direct path); with it, through ASGI ``send_text``: test both.
COMPRESSION = pytest.mark.parametrize("compression", ["deflate", None], ids=["asgi", "direct"])


router_module = importlib.import_module("quantum.adapter.realtime.router")


def count_direct_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    written: list[str] = []
    write = router_module._DirectWriter.write

    def counted(self: Any, text: str) -> None:
        written.append(text)
        write(self, text)

    monkeypatch.setattr(router_module._DirectWriter, "write", counted)
    return written


@COMPRESSION
async def test_websocket_protocol_end_to_end(
    simulator: RunningSimulator, compression: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = count_direct_writes(monkeypatch)
    with serve(adapter_app(simulator)) as url:
        async with connect(url, compression=compression) as ws:
            await ws.send(orjson.dumps({"type": "SUBSCRIBE", "stock_codes": ["005930"]}).decode())
            # a STATUS (the upstream socket going LIVE) may come first
            assert (await _next(ws, "SUBSCRIBED"))["stock_codes"] == ["005930"]
            await ws.send("{not json")
            assert (await _next(ws, "ERROR"))["code"] == "invalid_json"
            await ws.send(orjson.dumps({"type": "HELLO"}).decode())
            assert (await _next(ws, "ERROR"))["code"] == "unknown_command"
            await ws.send(orjson.dumps({"type": "SUBSCRIBE", "stock_codes": ["999999"]}).decode())
            assert (await _next(ws, "ERROR"))["code"] == "unknown_stock"

            ticks: list[dict[str, Any]] = []
            async with asyncio.timeout(15):
                while len(ticks) < 3:
                    await asyncio.to_thread(simulator.advance, 5)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.5):
                            while True:
                                message = orjson.loads(await ws.recv())
                                if message["type"] == "TICK":
                                    ticks.append(message)
            assert {t["stock_code"] for t in ticks} == {"005930"}
            seqs = [t["seq"] for t in ticks]
            assert seqs == sorted(set(seqs))
            assert set(ticks[0]) == set(TickMessage.model_fields)
            TickMessage.model_validate(ticks[0])

            await ws.send(orjson.dumps({"type": "UNSUBSCRIBE", "stock_codes": ["005930"]}).decode())
            assert (await _next(ws, "UNSUBSCRIBED"))["stock_codes"] == ["005930"]
            await eventually(lambda: sim_state(simulator)["ws_items"].get("REMOVE") == 1)
        # the connection is gone: nothing stays registered upstream
        await asyncio.sleep(0.2)
        assert sim_state(simulator)["ws_items"].get("REG") == 1
    assert bool(direct) == (compression is None)


async def _read_until_closed(ws: Any, within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while True:  # a STATUS may come first
            await ws.recv()


async def test_an_oversized_message_closes_with_1009(simulator: RunningSimulator) -> None:
    with serve(adapter_app(simulator), **UVICORN_WS_OPTIONS) as url:
        async with connect(url) as ws:
            await ws.send("x" * (WS_MAX_MESSAGE_BYTES + 1))
            with pytest.raises(ConnectionClosed):
                await _read_until_closed(ws)
            assert ws.close_code == 1009  # message too big
        async with connect(url) as ws:  # the server goes on; the largest command is taken
            codes = [f"{n:06d}" for n in range(100)]
            await ws.send(orjson.dumps({"type": "SUBSCRIBE", "stock_codes": codes}).decode())
            assert (await _next(ws, "ERROR"))["code"] == "unknown_stock"


async def _next_batch(ws: Any, within: float = 15.0) -> list[dict[str, Any]]:
    """One frame of a batched connection: always a JSON array of messages."""
    async with asyncio.timeout(within):
        frame = orjson.loads(await ws.recv())
    assert isinstance(frame, list) and frame, frame
    return frame


async def _collect_batched(
    ws: Any, wanted: str, within: float = 15.0
) -> tuple[dict[str, Any], list[list[dict[str, Any]]]]:
    frames: list[list[dict[str, Any]]] = []
    async with asyncio.timeout(within):
        while True:
            frames.append(await _next_batch(ws, within))
            for message in frames[-1]:
                if message["type"] == wanted:
                    return message, frames


async def _batched_ticks(
    ws: Any, simulator: RunningSimulator, count: int
) -> tuple[list[dict[str, Any]], int]:
    """At least ``count`` TICKs (advancing the clock) and how many frames carried them."""
    ticks: list[dict[str, Any]] = []
    frames = 0
    async with asyncio.timeout(15):
        while len(ticks) < count:
            await asyncio.to_thread(simulator.advance, 5)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    while True:
                        batch = await _next_batch(ws, 1.0)
                        frames += 1
                        ticks.extend(m for m in batch if m["type"] == "TICK")
    return ticks, frames


@COMPRESSION
async def test_batched_mode_end_to_end(
    simulator: RunningSimulator, compression: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = count_direct_writes(monkeypatch)
    codes = ["005930", "000660"]
    with serve(adapter_app(simulator)) as url:
        # opt in on the URL: every frame, replies included, is a JSON array
        async with connect(f"{url}?batch=1", compression=compression) as ws:
            await ws.send(orjson.dumps({"type": "SUBSCRIBE", "stock_codes": codes}).decode())
            subscribed, _ = await _collect_batched(ws, "SUBSCRIBED")
            assert subscribed["stock_codes"] == codes
            await ws.send("{not json")
            assert (await _collect_batched(ws, "ERROR"))[0]["code"] == "invalid_json"

            ticks, frames = await _batched_ticks(ws, simulator, 6)
            assert {t["stock_code"] for t in ticks} <= set(codes)
            assert frames < len(ticks)  # several ticks share a frame
            for code in codes:
                seqs = [t["seq"] for t in ticks if t["stock_code"] == code]
                assert seqs == sorted(set(seqs))
            assert set(ticks[0]) == set(TickMessage.model_fields)
            TickMessage.model_validate(ticks[0])

            await ws.send(orjson.dumps({"type": "UNSUBSCRIBE", "stock_codes": codes}).decode())
            unsubscribed, _ = await _collect_batched(ws, "UNSUBSCRIBED")
            assert sorted(unsubscribed["stock_codes"]) == sorted(codes)

        # opt in by command: from the reply on, frames are arrays; ``false`` turns it off
        async with connect(url, compression=compression) as ws:
            command = {"type": "SUBSCRIBE", "stock_codes": ["005930"], "batch": True}
            await ws.send(orjson.dumps(command).decode())
            subscribed, _ = await _collect_batched(ws, "SUBSCRIBED")
            assert subscribed["stock_codes"] == ["005930"]
            ticks, _ = await _batched_ticks(ws, simulator, 2)
            assert {t["stock_code"] for t in ticks} == {"005930"}

            command = {"type": "UNSUBSCRIBE", "stock_codes": ["005930"], "batch": False}
            await ws.send(orjson.dumps(command).decode())
            async with asyncio.timeout(15):
                while True:  # a batch being gathered may still carry the reply
                    frame = orjson.loads(await ws.recv())
                    found = frame if isinstance(frame, list) else [frame]
                    if any(m["type"] == "UNSUBSCRIBED" for m in found):
                        break
            await ws.send(orjson.dumps({"type": "SUBSCRIBE", "stock_codes": ["000660"]}).decode())
            assert (await _next(ws, "SUBSCRIBED"))["stock_codes"] == ["000660"]
    assert bool(direct) == (compression is None)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
