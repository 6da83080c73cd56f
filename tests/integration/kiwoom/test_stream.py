"""KiwoomStream against the simulator's realtime socket (PROTOCOL.md §8).

The simulator runs a fixed clock: REAL 0B/0C/0D frames flow only after
``advance`` (a sync httpx call, hence ``asyncio.to_thread``). Reconnect timing
is measured from the status events' arrival times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator
from tests.waiting import PRESENCE_SECONDS, eventually
from websockets.asyncio.client import connect

from quantum.kiwoom.events import (
    BalanceEvent,
    BookEvent,
    OrderEvent,
    StatusEvent,
    StreamEvent,
    StreamState,
    TradeEvent,
)
from quantum.kiwoom.realtime import OrderStatusText, SideCode
from quantum.kiwoom.stream import (
    KiwoomStream,
    RegistrationError,
    StreamClosedError,
    StreamLoginError,
)
from quantum.kiwoom.wire import KST, parse_price

SESSION_DAY = date(2026, 11, 24)
"""The simulator fixture's fixed-clock trading day."""


@dataclass
class Recorder:
    """``on_event`` callback keeping every event and when it arrived."""

    events: list[StreamEvent] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: StreamEvent) -> None:
        self.events.append(event)
        self.arrived.append(time.monotonic())
        self._new.set()

    def statuses(self, since: float = 0.0) -> list[tuple[float, StatusEvent]]:
        return [
            (at, e)
            for at, e in zip(self.arrived, self.events, strict=True)
            if isinstance(e, StatusEvent) and at >= since
        ]

    def states(self, since: float = 0.0) -> list[StreamState]:
        return [e.state for _, e in self.statuses(since)]

    async def wait_for(
        self,
        predicate: Callable[[StreamEvent], bool],
        *,
        since: float = 0.0,
        within: float = PRESENCE_SECONDS,
    ) -> tuple[float, StreamEvent]:
        """The first event at or after ``since`` matching ``predicate``, and its arrival time."""
        index = 0
        async with asyncio.timeout(within):
            while True:
                while index < len(self.events):
                    at, event = self.arrived[index], self.events[index]
                    index += 1
                    if at >= since and predicate(event):
                        return at, event
                self._new.clear()
                await self._new.wait()

    async def wait_state(
        self, state: StreamState, *, since: float = 0.0, within: float = PRESENCE_SECONDS
    ) -> float:
        at, _ = await self.wait_for(
            lambda e: isinstance(e, StatusEvent) and e.state is state, since=since, within=within
        )
        return at

    async def trades(
        self,
        sim: RunningSimulator,
        codes: set[str],
        *,
        since: float,
        within: float = PRESENCE_SECONDS,
    ) -> list[TradeEvent]:
        """Advance the clock until a trade of every code in ``codes`` arrived after ``since``."""
        seen: dict[str, TradeEvent] = {}
        async with asyncio.timeout(within):
            while not codes <= seen.keys():
                await asyncio.to_thread(sim.advance, 30)
                await asyncio.sleep(0.2)
                for at, event in zip(self.arrived, self.events, strict=True):
                    if at >= since and isinstance(event, TradeEvent):
                        seen.setdefault(event.code, event)
        return list(seen.values())


def _provider(token: str) -> Callable[[bool], Any]:
    async def provide(force: bool) -> str:
        return token

    return provide


@contextlib.asynccontextmanager
async def open_stream(
    sim: RunningSimulator, **options: Any
) -> AsyncIterator[tuple[KiwoomStream, Recorder]]:
    token = await asyncio.to_thread(sim.token)
    recorder = Recorder()
    options.setdefault("session_date", SESSION_DAY)
    stream = KiwoomStream(sim.ws_url, _provider(token), on_event=recorder, **options)
    async with asyncio.timeout(10):
        await stream.start()
    try:
        yield stream, recorder
    finally:
        await stream.close()


async def _sim_sessions(sim: RunningSimulator) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        sessions: list[dict[str, Any]] = (await client.get("/_sim/state")).json()["sessions"]
    return sessions


async def _control(sim: RunningSimulator, path: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        body: dict[str, Any] = (await client.post(path, json={})).json()
    return body


# --------------------------------------------------------------------------- login, REG, REAL


async def test_login_subscribe_and_typed_trades(
    simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await asyncio.to_thread(simulator.token)
    recorder = Recorder()
    stream = KiwoomStream(
        simulator.ws_url, _provider(token), on_event=recorder, session_date=SESSION_DAY
    )
    async with asyncio.timeout(10):
        await stream.start()  # production mode: a SYSTEM frame precedes the LOGIN answer
    await recorder.wait_state(StreamState.LIVE)  # callbacks run on their own task
    assert recorder.states() == [StreamState.CONNECTING, StreamState.LIVE]
    assert stream.state is StreamState.LIVE

    await stream.subscribe(["005930", "000660"])
    await stream.subscribe("005930", types=("0B", "0D"))  # 0B already there: only 0D is sent
    assert stream.registrations == {
        "1": frozenset({("005930", "0B"), ("000660", "0B"), ("005930", "0D")})
    }
    assert [s["registrations"] for s in await _sim_sessions(simulator)] == [3]

    trades = await recorder.trades(simulator, {"005930", "000660"}, since=0)
    for trade in trades:
        assert trade.time.date() == SESSION_DAY and trade.time.tzinfo is KST
        assert trade.price > 0 and trade.qty > 0
        assert trade.low <= trade.price <= trade.high
        assert trade.best_bid < trade.best_ask
    _, book = await recorder.wait_for(lambda e: isinstance(e, BookEvent))
    assert isinstance(book, BookEvent) and book.code == "005930"
    assert len(book.asks) == len(book.bids) == 10
    assert book.asks[0].price > book.bids[0].price

    await stream.close()
    assert recorder.states()[-1] is StreamState.CLOSED
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith("quantum.simulator")]
    assert logged, "the stream logs its transitions"
    assert not [m for m in logged if token in m], "the token must never be logged"


async def test_mock_mode_login_answer_first(start_simulator: StartSimulator) -> None:
    sim = start_simulator(mode="mock", rate_limit={"per_second": 100})
    async with open_stream(sim) as (stream, _):
        await stream.subscribe("005930")
        assert stream.state is StreamState.LIVE


async def test_registration_error_raises_and_registers_nothing(
    simulator: RunningSimulator,
) -> None:
    async with open_stream(simulator) as (stream, _):
        with pytest.raises(RegistrationError) as caught:
            await stream.subscribe(["999999"])
        assert caught.value.return_code == 1 and caught.value.trnm == "REG"
        assert "999999" in str(caught.value)
        assert stream.registrations == {}
        assert stream.state is StreamState.LIVE, "a refused REG does not end the session"
        await stream.subscribe("005930")
        assert stream.registrations == {"1": frozenset({("005930", "0B")})}
        with pytest.raises(ValueError, match="unknown realtime types"):
            await stream.subscribe("005930", types=("ZZ",))


async def test_unsubscribe_sends_remove_and_trades_stop(simulator: RunningSimulator) -> None:
    async with open_stream(simulator) as (stream, recorder):
        await stream.subscribe(["005930", "000660"])
        await stream.unsubscribe(["005930", "000660"])
        assert stream.registrations == {}
        assert [s["registrations"] for s in await _sim_sessions(simulator)] == [0]
        await asyncio.to_thread(simulator.advance, 60)
        with pytest.raises(TimeoutError):
            await recorder.wait_for(lambda e: isinstance(e, TradeEvent), within=0.5)


async def test_items_are_spread_over_groups(start_simulator: StartSimulator) -> None:
    sim = start_simulator(websocket={"max_items_per_group": 2})
    codes = ["005930", "000660", "035420", "000100", "000120"]
    async with open_stream(sim, items_per_group=2) as (stream, _):
        await stream.subscribe(codes)
        await stream.subscribe([], types=("00", "04"))
        groups = stream.registrations
        assert sorted(groups) == ["1", "2", "3"]
        for pairs in groups.values():
            assert len({item for item, t in pairs if t == "0B"}) <= 2
        assert {item for pairs in groups.values() for item, t in pairs if t == "0B"} == set(codes)
        assert ("", "00") in groups["1"] and ("", "04") in groups["1"]
        await stream.unsubscribe(codes[:2])
        assert "1" in stream.registrations, "the group still holds the account types"
        assert [s["registrations"] for s in await _sim_sessions(sim)] == [5]
        await stream.subscribe("035720", group="77")
        assert stream.registrations["77"] == frozenset({("035720", "0B")})


# --------------------------------------------------------------------------- login refusals


async def test_refused_login_refreshes_the_token_once(simulator: RunningSimulator) -> None:
    token = await asyncio.to_thread(simulator.token)
    calls: list[bool] = []

    async def provider(force: bool) -> str:
        calls.append(force)
        return token if force else "stale-token"

    stream = KiwoomStream(simulator.ws_url, provider, session_date=SESSION_DAY)
    async with asyncio.timeout(10):
        await stream.start()
    assert calls == [False, True]
    assert stream.state is StreamState.LIVE
    await stream.close()


async def test_login_refused_twice_is_a_clear_error(
    simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    calls: list[bool] = []

    async def provider(force: bool) -> str:
        calls.append(force)
        return "secret-but-invalid-token"

    stream = KiwoomStream(simulator.ws_url, provider)
    with pytest.raises(StreamLoginError) as caught:
        async with asyncio.timeout(10):
            await stream.start()
    assert caught.value.return_code == 805004
    assert "8005" in str(caught.value)
    assert "secret-but-invalid-token" not in str(caught.value)
    assert calls == [False, True]
    assert stream.state is StreamState.CLOSED
    with pytest.raises(StreamLoginError):
        await stream.subscribe("005930")
    assert "secret-but-invalid-token" not in caplog.text


# --------------------------------------------------------------------------- keepalive, drops


async def test_echoed_pings_keep_the_session(start_simulator: StartSimulator) -> None:
    # Unechoed, ten PINGs end the session after 1 s; echoed, a loaded machine's
    # pauses of a few hundred ms do not.
    sim = start_simulator(websocket={"ping_interval_seconds": 0.1, "max_missed_pings": 10})
    async with open_stream(sim) as (stream, recorder):
        await stream.subscribe("005930")
        # Thirty echoes take 3 s, beyond the ten missed PINGs that would end the session.
        await eventually(lambda: stream.pings_echoed >= 30, within=30)
        assert recorder.states() == [StreamState.CONNECTING, StreamState.LIVE]
        assert stream.reconnects == 0
        assert [s["registrations"] for s in await _sim_sessions(sim)] == [1]


async def test_dropped_socket_is_live_again_with_its_subscriptions(
    simulator: RunningSimulator,
) -> None:
    async with open_stream(simulator) as (stream, recorder):
        await stream.subscribe(["005930", "000660"])
        await stream.subscribe([], types=("00",))
        timings: list[float] = []
        after_detection: list[float] = []
        for _ in range(3):
            dropped_at = time.monotonic()
            assert await _control(simulator, "/_sim/ws/drop") == {"dropped": 1}
            noticed_at = await recorder.wait_state(StreamState.RECONNECTING, since=dropped_at)
            live_at = await recorder.wait_state(StreamState.LIVE, since=dropped_at)
            timings.append(live_at - dropped_at)
            after_detection.append(live_at - noticed_at)
            assert recorder.states(dropped_at) == [StreamState.RECONNECTING, StreamState.LIVE]
            assert [s["registrations"] for s in await _sim_sessions(simulator)] == [3]
            await recorder.trades(simulator, {"005930", "000660"}, since=live_at)
        print(
            "\ndrop request → LIVE: "
            + ", ".join(f"{t * 1000:.0f} ms" for t in timings)
            + "; RECONNECTING → LIVE: "
            + ", ".join(f"{t * 1000:.0f} ms" for t in after_detection)
        )
        assert stream.reconnects == 3


async def test_silenced_socket_is_detected_and_replaced(start_simulator: StartSimulator) -> None:
    # A stall threshold well above any pause of a loaded machine's event loops.
    sim = start_simulator(websocket={"ping_interval_seconds": 0.1})
    async with open_stream(sim, stall_seconds=1.5) as (stream, recorder):
        await stream.subscribe("005930")
        await asyncio.sleep(2.0)
        assert recorder.states() == [StreamState.CONNECTING, StreamState.LIVE], (
            "PINGs every 0.1 s keep a healthy socket from looking stalled"
        )
        silenced_at = time.monotonic()
        assert await _control(sim, "/_sim/ws/silence") == {"silenced": 1}
        stalled_at = await recorder.wait_state(StreamState.STALLED, since=silenced_at)
        live_at = await recorder.wait_state(StreamState.LIVE, since=silenced_at)
        assert recorder.states(silenced_at) == [
            StreamState.STALLED,
            StreamState.RECONNECTING,
            StreamState.LIVE,
        ]
        print(
            f"\nsilence → STALLED {(stalled_at - silenced_at) * 1000:.0f} ms, "
            f"STALLED → LIVE {(live_at - stalled_at) * 1000:.0f} ms"
        )
        stalled = next(e for _, e in recorder.statuses(silenced_at))
        assert stalled.detail == "no frame for 1.5s", stalled.detail
        await recorder.trades(sim, {"005930"}, since=live_at)
        sessions = await _sim_sessions(sim)
        assert [s["registrations"] for s in sessions if not s["silent"]] == [1]


async def test_system_r10001_is_treated_as_a_drop(start_simulator: StartSimulator) -> None:
    sim = start_simulator(websocket={"single_session_per_key": True})
    async with open_stream(sim) as (stream, recorder):
        await stream.subscribe("005930")
        other_started = time.monotonic()
        async with connect(sim.ws_url) as other:
            await other.send(
                json.dumps({"trnm": "LOGIN", "token": await asyncio.to_thread(sim.token)})
            )
            await recorder.wait_state(StreamState.RECONNECTING, since=other_started)
            live_at = await recorder.wait_state(StreamState.LIVE, since=other_started)
        reconnecting = next(e for _, e in recorder.statuses(other_started))
        assert "R10001" in reconnecting.detail
        assert stream.registrations == {"1": frozenset({("005930", "0B")})}
        await recorder.trades(sim, {"005930"}, since=live_at)


async def test_unreachable_server_keeps_retrying_with_backoff() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    recorder = Recorder()
    stream = KiwoomStream(
        f"ws://127.0.0.1:{port}/api/dostk/websocket",
        _provider("token"),
        on_event=recorder,
        backoff_initial=0.05,
        backoff_max=0.2,
    )
    starting = asyncio.create_task(stream.start())
    retried = 0

    def fourth_retry(event: StreamEvent) -> bool:
        nonlocal retried
        retried += isinstance(event, StatusEvent) and event.state is StreamState.RECONNECTING
        return retried == 4

    await recorder.wait_for(fourth_retry)
    starting.cancel()  # a caller giving up: the stream must close, not linger
    with pytest.raises(asyncio.CancelledError):
        await starting
    states = recorder.states()
    assert states[0] is StreamState.CONNECTING and states[-1] is StreamState.CLOSED
    retries = [e for _, e in recorder.statuses() if e.state is StreamState.RECONNECTING]
    assert len(retries) >= 4, "backoff capped at 0.2 s keeps retrying"
    assert "connection failed" in retries[0].detail


# --------------------------------------------------------------------------- account events


async def test_order_events_after_a_rest_order(simulator: RunningSimulator) -> None:
    token = await asyncio.to_thread(simulator.token)
    async with open_stream(simulator) as (stream, recorder):
        await stream.subscribe([], types=("00", "04"))
        assert stream.registrations == {"1": frozenset({("", "00"), ("", "04")})}
        headers = {"authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=simulator.base_url, headers=headers) as rest:
            account = await rest.post("/api/dostk/acnt", json={}, headers={"api-id": "ka00001"})
            account_no = account.json()["acctNo"]
            book = await rest.post(
                "/api/dostk/mrkcond", json={"stk_cd": "005930"}, headers={"api-id": "ka10004"}
            )
            ask = parse_price(book.json()["sel_fpr_bid"])
            order = {
                "dmst_stex_tp": "KRX",
                "stk_cd": "005930",
                "ord_qty": "1",
                "ord_uv": str(ask),
                "trde_tp": "0",
            }
            placed = await rest.post("/api/dostk/ordr", json=order, headers={"api-id": "kt10000"})
            answer = placed.json()
            assert answer["return_code"] == 0, answer
        order_no = answer["ord_no"]

        def own(status: OrderStatusText) -> Callable[[StreamEvent], bool]:
            return lambda e: (
                isinstance(e, OrderEvent) and e.order_no == order_no and e.status == status
            )

        _, accepted = await recorder.wait_for(own(OrderStatusText.ACCEPTED))
        _, filled = await recorder.wait_for(own(OrderStatusText.FILLED))
        assert isinstance(accepted, OrderEvent) and isinstance(filled, OrderEvent)
        assert accepted.account_no == account_no and accepted.code == "005930"
        assert (accepted.order_qty, accepted.order_price) == (1, ask)
        assert accepted.side is SideCode.BUY and accepted.label == "+매수"
        assert accepted.fill_qty is None and accepted.orig_order_no is None
        assert accepted.time.date() == SESSION_DAY
        assert filled.is_fill and filled.fill_qty == 1 and filled.unfilled_qty == 0
        assert filled.fill_price is not None and filled.fill_price <= ask
        assert filled.fill_no
        _, balance = await recorder.wait_for(lambda e: isinstance(e, BalanceEvent))
        assert isinstance(balance, BalanceEvent)
        assert balance.code == "005930" and balance.qty == 1
        assert balance.avg_price == filled.fill_price


# --------------------------------------------------------------------------- iterator, close


async def test_events_iterator_and_close(simulator: RunningSimulator) -> None:
    token = await asyncio.to_thread(simulator.token)
    stream = KiwoomStream(simulator.ws_url, _provider(token), session_date=SESSION_DAY)
    async with asyncio.timeout(10):
        await stream.start()
    await stream.subscribe("005930")
    await asyncio.to_thread(simulator.advance, 30)
    seen: list[StreamEvent] = []
    async with asyncio.timeout(PRESENCE_SECONDS):
        async for event in stream.events():
            seen.append(event)
            if isinstance(event, TradeEvent):
                await stream.close()
    assert [e.state for e in seen if isinstance(e, StatusEvent)] == [
        StreamState.CONNECTING,
        StreamState.LIVE,
        StreamState.CLOSED,
    ]
    assert any(isinstance(e, TradeEvent) and e.code == "005930" for e in seen)
    with pytest.raises(StreamClosedError):
        await stream.subscribe("000660")

    async def server_noticed_the_close() -> bool:
        return not await _sim_sessions(simulator)

    await eventually(server_noticed_the_close, within=5)


async def test_an_async_callback_may_subscribe(simulator: RunningSimulator) -> None:
    """Callbacks run on their own task: one awaiting a REG answer blocks nothing."""
    token = await asyncio.to_thread(simulator.token)
    trades: list[TradeEvent] = []
    subscribed = asyncio.Event()

    async def on_event(event: StreamEvent) -> None:
        if isinstance(event, StatusEvent) and event.state is StreamState.LIVE:
            await stream.subscribe(["005930", "000660"])
            subscribed.set()
        elif isinstance(event, TradeEvent):
            trades.append(event)

    stream = KiwoomStream(
        simulator.ws_url, _provider(token), on_event=on_event, session_date=SESSION_DAY
    )
    async with asyncio.timeout(10):
        await stream.start()
        await subscribed.wait()
    assert stream.registrations == {"1": frozenset({("005930", "0B"), ("000660", "0B")})}
    async with asyncio.timeout(PRESENCE_SECONDS):
        while not trades:
            await asyncio.to_thread(simulator.advance, 30)
            await asyncio.sleep(0.2)
    await stream.close()
