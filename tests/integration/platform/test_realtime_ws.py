"""``WS /ws/realtime`` of the platform, served by uvicorn in the test's own event loop
(the platform's database engine and broker belong to that loop), against the
simulator with a fixed clock: REAL frames flow only when the clock is advanced."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from tests.integration.platform.conftest import USER_PASSWORD, Harness
from tests.integration.serving import free_port
from tests.waiting import eventually
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from quantum.platform.app import create_platform_app
from quantum.platform.bus import order_topic
from quantum.platform.realtime.outbox import Outbox
from quantum.platform.realtime.router import realtime_router
from quantum.platform.realtime.session import (
    MAX_CODES,
    RealtimeOptions,
    RealtimeSession,
)
from quantum.serving import SERVICE_OPTIONS, WS_MAX_MESSAGE_BYTES

CODE = "005930"
OTHER = "000660"


# ----------------------------------------------------------------- serving and clients


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """uvicorn on a free port in this event loop; yields the ``ws://`` URL of the endpoint."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **SERVICE_OPTIONS)
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn did not start")
            await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/ws/realtime"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def url(harness: Harness) -> AsyncIterator[str]:
    async with serve(create_platform_app(platform=harness.platform)) as served:
        yield served


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


class Peer:
    """A client connection whose messages are collected by a reader task."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                self.received.append(orjson.loads(raw))
                self._changed.set()
        self._changed.set()

    @property
    def closed(self) -> bool:
        return self._reader.done()

    async def closed_event(self, within: float = 10.0) -> None:
        """Wait until the server has closed the connection."""
        await asyncio.wait_for(asyncio.shield(self._reader), within)

    async def send(self, **message: Any) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    def of(self, kind: str, since: int = 0) -> list[dict[str, Any]]:
        return [m for m in self.received[since:] if m["type"] == kind]

    async def expect(
        self,
        kind: str,
        *,
        since: int = 0,
        within: float = 10.0,
        where: Callable[[dict[str, Any]], bool] = lambda _m: True,
        nudge: Callable[[], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """The first message of ``kind`` at or after index ``since`` (calling
        ``nudge``, e.g. advancing the simulator, while waiting)."""
        async with asyncio.timeout(within):
            while True:
                found = [m for m in self.of(kind, since) if where(m)]
                if found:
                    return found[0]
                assert not self.closed, f"closed while waiting for {kind}: {self.received}"
                if nudge is not None:
                    await nudge()
                    await asyncio.sleep(0.1)
                else:
                    self._changed.clear()
                    await self._changed.wait()

    async def settle(self, seconds: float = 0.3) -> None:
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def session(url: str, headers: dict[str, str]) -> AsyncIterator[Peer]:
    """A connection that has been answered ``AUTH_OK``."""
    async with connect(url) as ws:
        peer = Peer(ws)
        await peer.send(type="AUTH", token=token_of(headers))
        await peer.expect("AUTH_OK")
        yield peer


def advancing(harness: Harness, seconds: float = 5) -> Callable[[], Awaitable[None]]:
    async def nudge() -> None:
        await asyncio.to_thread(harness.sim.advance, seconds)

    return nudge


async def sim_state(harness: Harness) -> dict[str, Any]:
    response = await asyncio.to_thread(harness.sim.client.get, "/_sim/state")
    state: dict[str, Any] = response.json()
    return state


async def rejected(url: str, *messages: str) -> tuple[dict[str, Any], int | None, str | None]:
    """Send raw ``messages``; (the ERROR received, close code, close reason)."""
    async with connect(url) as ws:
        for raw in messages:
            await ws.send(raw)
        error = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return error, ws.close_code, ws.close_reason


# ----------------------------------------------------------------- authentication


async def test_auth_ok_ping_and_errors_that_keep_the_socket(harness: Harness, url: str) -> None:
    user, headers = await harness.trader()
    async with session(url, headers) as peer:
        assert peer.received[0] == {"type": "AUTH_OK", "userId": user["userId"]}
        await peer.send(type="PING")
        await peer.expect("PONG")

        bad_inputs: list[Any] = [
            ["005930", "abc"],
            ["00593a"],
            [],
            [f"{n:06d}" for n in range(101)],
            "005930",
            [5930],
        ]
        for codes in bad_inputs:
            mark = len(peer.received)
            await peer.send(type="SUBSCRIBE", stockCodes=codes)
            error = await peer.expect("ERROR", since=mark)
            assert error["code"] == "invalid_stock_codes", error
        mark = len(peer.received)
        await peer.send(type="UNSUBSCRIBE", stockCodes=["bad"])
        assert (await peer.expect("ERROR", since=mark))["code"] == "invalid_stock_codes"
        for raw in ("not json", '{"type":"HELLO"}', "[1,2]", '{"type":"AUTH","token":"x"}'):
            mark = len(peer.received)
            await peer.ws.send(raw)
            assert (await peer.expect("ERROR", since=mark))["code"] == "bad_message"
        mark = len(peer.received)
        await peer.send(type="PING")
        await peer.expect("PONG", since=mark)
        assert not peer.closed


async def test_rejected_authentication_closes_with_1008(harness: Harness, url: str) -> None:
    _user, headers = await harness.trader()
    error, code, reason = await rejected(url, '{"type":"AUTH","token":"not-a-jwt"}')
    assert (error["type"], error["code"], code, reason) == (
        "ERROR",
        "auth_failed",
        1008,
        "auth_failed",
    )
    tampered = token_of(headers)[:-4] + "AAAA"
    error, code, _ = await rejected(url, orjson.dumps({"type": "AUTH", "token": tampered}).decode())
    assert (error["code"], code) == ("auth_failed", 1008)

    subscribe_first = orjson.dumps({"type": "SUBSCRIBE", "stockCodes": [CODE]}).decode()
    for first in (subscribe_first, '{"type":"PING"}', "garbage", '{"type":"AUTH"}'):
        error, code, _ = await rejected(url, first)
        assert (error["code"], code) == ("bad_message", 1008), first


async def test_an_oversized_message_closes_with_1009(harness: Harness, url: str) -> None:
    _user, headers = await harness.trader()
    async with session(url, headers) as peer:
        await peer.ws.send("x" * (WS_MAX_MESSAGE_BYTES + 1))
        await peer.closed_event()
        assert peer.ws.close_code == 1009  # message too big
    async with session(url, headers) as peer:  # the server itself goes on
        codes = [f"{n:06d}" for n in range(MAX_CODES)]
        mark = len(peer.received)
        await peer.send(type="SUBSCRIBE", stockCodes=codes)  # the largest message it takes
        await eventually(lambda: len(peer.received) > mark or peer.closed)
        assert not peer.closed, peer.received[mark:]


async def test_auth_timeout(harness: Harness) -> None:
    app = FastAPI()
    app.state.platform = harness.platform
    app.include_router(realtime_router(auth_grace=0.3))
    async with serve(app) as short:
        started = time.monotonic()
        error, code, reason = await rejected(short)
        assert (error["code"], code, reason) == ("auth_timeout", 1008, "auth_timeout")
        # the 0.3 s grace, not the default 10 s
        assert 0.25 < time.monotonic() - started < 9


# ----------------------------------------------------------------- market data


async def test_ticks_flow_and_stop_after_unsubscribe(harness: Harness, url: str) -> None:
    _user, headers = await harness.trader()
    async with session(url, headers) as peer:
        await peer.send(type="SUBSCRIBE", stockCodes=[CODE])
        assert (await peer.expect("SUBSCRIBED"))["stockCodes"] == [CODE]
        tick = await peer.expect("TICK", nudge=advancing(harness))
        assert set(tick) == {
            "type",
            "stockCode",
            "price",
            "change",
            "changeRate",
            "volume",
            "cumulativeVolume",
            "time",
            "seq",
        }
        assert tick["stockCode"] == CODE and tick["price"] > 0 and tick["volume"] > 0
        assert tick["cumulativeVolume"] >= tick["volume"]
        await peer.expect("TICK", since=peer.received.index(tick) + 1, nudge=advancing(harness))
        seqs = [t["seq"] for t in peer.of("TICK")]
        assert seqs == sorted(set(seqs))

        await peer.send(type="UNSUBSCRIBE", stockCodes=[CODE])
        unsubscribed = await peer.expect("UNSUBSCRIBED")
        assert unsubscribed["stockCodes"] == [CODE]
        after = peer.received.index(unsubscribed) + 1
        for _ in range(3):
            await advancing(harness)()
        await peer.settle()
        assert peer.of("TICK", after) == []


async def test_two_connections_of_a_user_share_one_upstream_registration(
    harness: Harness, url: str
) -> None:
    _user, headers = await harness.trader()
    async with session(url, headers) as first, session(url, headers) as second:
        for peer in (first, second):
            await peer.send(type="SUBSCRIBE", stockCodes=[CODE])
            await peer.expect("SUBSCRIBED")
        state = await sim_state(harness)
        assert state["ws_items"].get("REG") == 1, state["ws_items"]
        for peer in (first, second):
            await peer.expect("TICK", nudge=advancing(harness))
        await first.ws.close()
        await asyncio.sleep(0.3)
        assert (await sim_state(harness))["ws_items"].get("REMOVE", 0) == 0
        await second.send(type="PING")
        await second.expect("PONG")

    async def released() -> bool:  # the last socket closed: its registration is removed
        removed: int = (await sim_state(harness))["ws_items"].get("REMOVE", 0)
        return removed == 1

    await eventually(released)


async def test_dropped_upstream_socket_reports_status_and_ticks_resume(
    harness: Harness, url: str
) -> None:
    _user, headers = await harness.trader()
    async with session(url, headers) as peer:
        await peer.send(type="SUBSCRIBE", stockCodes=[CODE, OTHER])
        await peer.expect("TICK", nudge=advancing(harness))
        mark = len(peer.received)
        dropped = await asyncio.to_thread(harness.sim.client.post, "/_sim/ws/drop", json={})
        assert dropped.json() == {"dropped": 1}
        await peer.expect("STATUS", since=mark, where=lambda m: m["status"] == "RECONNECTING")
        live = await peer.expect("STATUS", since=mark, where=lambda m: m["status"] == "LIVE")
        assert set(live) == {"type", "status", "detail"}
        resumed = peer.received.index(live) + 1
        await peer.expect("TICK", since=resumed, nudge=advancing(harness))


async def test_orderbook_is_polled_at_most_once_a_second(harness: Harness, url: str) -> None:
    _user, headers = await harness.trader()
    broker = harness.platform.broker
    calls: list[tuple[str, float]] = []
    original = broker.order_book

    async def counting(stock_code: str, credentials: Any = None) -> Any:
        calls.append((stock_code, time.monotonic()))
        return await original(stock_code, credentials)

    broker.order_book = counting  # type: ignore[method-assign]
    try:
        async with session(url, headers) as peer:
            await peer.send(type="SUBSCRIBE", stockCodes=[CODE], orderbook=True)
            await peer.send(type="SUBSCRIBE", stockCodes=[OTHER])
            book = await peer.expect("ORDERBOOK")
            assert book["stockCode"] == CODE
            assert set(book) == {"type", "stockCode", "asks", "bids", "time"}
            assert book["asks"] and book["bids"]
            assert set(book["asks"][0]) == {"price", "quantity"}
            assert book["asks"][0]["price"] > book["bids"][0]["price"]
            await eventually(lambda: sum(code == CODE for code, _ in calls) >= 3)
            polled = [at for code, at in calls if code == CODE]
            assert all(b - a >= 0.9 for a, b in itertools.pairwise(polled)), polled
            assert all(code == CODE for code, _ in calls), "no book of a code not asked for"
            changed = await peer.expect(
                "ORDERBOOK",
                within=15,
                where=lambda m: m is not book,
                nudge=advancing(harness, 30),
            )
            assert changed["stockCode"] == CODE

            await peer.send(type="UNSUBSCRIBE", stockCodes=[CODE])
            await peer.expect("UNSUBSCRIBED")
            count = len(calls)
            await asyncio.sleep(1.5)
            assert len(calls) == count, "polling stopped with the subscription"
    finally:
        broker.order_book = original  # type: ignore[method-assign]


# ----------------------------------------------------------------- order updates


async def test_order_updates_reach_only_their_user(harness: Harness, url: str) -> None:
    buyer, buyer_headers = await harness.trader()
    _other, other_headers = await harness.trader()
    async with session(url, buyer_headers) as mine, session(url, other_headers) as theirs:
        order_id = (await harness.buy(buyer_headers))["orderId"]
        update = await mine.expect("ORDER_UPDATE", where=lambda m: m["state"] == "ACCEPTED")
        assert update["orderId"] == order_id and update["stockCode"] == CODE
        await harness.platform.supervisor.run_once()  # reconcile: the fill
        await mine.expect("ORDER_UPDATE", where=lambda m: m["state"] == "FILLED")
        assert {m["orderId"] for m in mine.of("ORDER_UPDATE")} == {order_id}
        versions = [m["version"] for m in mine.of("ORDER_UPDATE")]
        assert versions == sorted(versions)
        await theirs.settle()
        assert theirs.of("ORDER_UPDATE") == []
        assert buyer["userId"] != _other["userId"]


async def test_credentials_missing_keeps_the_socket_for_order_updates(
    harness: Harness, url: str
) -> None:
    user = await harness.create_user()
    admin = await harness.admin()
    account = await harness.client.post(
        "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
    )
    assigned = await harness.client.put(
        f"/api/v1/admin/kiwoom-accounts/{account.json()['kiwoomAccountId']}/assignment",
        json={"userId": user["userId"]},
        headers=admin,
    )
    assert assigned.status_code == 200, assigned.text
    headers = await harness.login(user["username"], USER_PASSWORD)
    async with session(url, headers) as peer:
        await peer.send(type="SUBSCRIBE", stockCodes=[CODE])
        error = await peer.expect("ERROR")
        assert error["code"] == "credentials_missing"
        update = {"type": "ORDER_UPDATE", "orderId": "o-1", "state": "ACCEPTED"}
        await harness.platform.bus.publish(order_topic(user["userId"]), update)
        assert await peer.expect("ORDER_UPDATE") == update
        await peer.send(type="PING")
        await peer.expect("PONG")


# ----------------------------------------------------------------- the send queue


async def test_outbox_conflates_ticks_and_keeps_everything_else() -> None:
    stuck: list[str] = []
    box = Outbox(max_queue=2, grace=60, on_stuck=stuck.append)
    box.offer("t1", ("TICK", "A"))
    box.offer("t2", ("TICK", "A"))
    box.offer("t3", ("TICK", "A"))  # behind from here on
    box.offer("o1")
    box.offer("t4", ("TICK", "A"))
    box.offer("t5", ("TICK", "B"))
    box.offer("s1")
    assert box.behind and box.dropped == 1
    taken = [box.get_nowait() for _ in range(6)]
    assert taken == ["t1", "t2", "o1", "t4", "t5", "s1"]
    assert box.get_nowait() is None and not box.behind and not stuck


async def test_outbox_gives_up_on_a_stuck_client() -> None:
    stuck: list[str] = []
    box = Outbox(max_queue=2, grace=0.2, on_stuck=stuck.append)
    for n in range(5):
        box.offer(f"t{n}", ("TICK", "A"))
    await asyncio.sleep(0.3)
    assert stuck and box.closed and box.stuck
    assert await box.get() is None

    stuck.clear()
    box = Outbox(max_queue=2, grace=60, on_stuck=stuck.append)
    for n in range(5):
        box.offer(f"o{n}")  # order updates are never dropped: too many of them close it
    assert stuck and box.closed


class StuckSocket:
    """A WebSocket whose client authenticates, then never reads again."""

    def __init__(self, token: str) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming.put_nowait(
            {
                "type": "websocket.receive",
                "text": orjson.dumps({"type": "AUTH", "token": token}).decode(),
            }
        )
        self.sent: list[str] = []
        self.closed_with: tuple[int, str] | None = None

    async def accept(self) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        if len(self.sent) > 1:
            await asyncio.Event().wait()  # the second frame never gets out

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = (code, reason)


async def test_a_stuck_client_is_closed_without_holding_up_others(
    harness: Harness, url: str
) -> None:
    user, headers = await harness.trader()
    socket = StuckSocket(token_of(headers))
    options = RealtimeOptions(max_queue=5, slow_grace=30)
    running = asyncio.create_task(
        RealtimeSession(socket, harness.platform, options).run()  # type: ignore[arg-type]
    )
    async with session(url, headers) as healthy:

        async def greeted() -> bool:
            return bool(socket.sent)

        await eventually(greeted)
        assert orjson.loads(socket.sent[0])["type"] == "AUTH_OK"
        topic = order_topic(user["userId"])
        for n in range(20):
            await harness.platform.bus.publish(topic, {"type": "ORDER_UPDATE", "version": n})
        await asyncio.wait_for(running, 15)
        assert socket.closed_with == (1008, "slow consumer")
        await healthy.expect("ORDER_UPDATE", where=lambda m: m["version"] == 19)
        assert [m["version"] for m in healthy.of("ORDER_UPDATE")] == list(range(20))
    bus = harness.platform.bus
    assert topic not in getattr(bus, "_subscribers", {}), "both bus subscriptions released"
