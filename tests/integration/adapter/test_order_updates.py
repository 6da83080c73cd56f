"""Order updates (Kiwoom 00 주문체결 → ``ORDER`` messages) for ``orders=True``
subscribers, in-process and over ``WS /ws/realtime?orders=1``, against the
simulator (fixed clock 2026-11-24 10:00 KST, inside the regular session)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from tests.integration.adapter.conftest import CODE, MakeBroker
from tests.integration.simulator.conftest import RunningSimulator
from tests.waiting import eventually

from quantum.adapter.broker import Broker, Subscription
from quantum.adapter.realtime.fanout import SLOW_CONSUMER_CLOSE_CODE, Subscriber
from quantum.adapter.realtime.upstream import order_update
from quantum.adapter.remote import parse_message
from quantum.adapter.schema import (
    CancelRequest,
    ErrorMessage,
    ModifyRequest,
    OrderRequest,
    OrderUpdateMessage,
    RealtimeMessage,
    Side,
    StatusMessage,
    StreamStatus,
    TickMessage,
)
from quantum.kiwoom.event_parsing import parse_entry
from quantum.kiwoom.events import OrderEvent
from quantum.kiwoom.wire import KST

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=KST)


class Reader:
    """Reads one subscription's messages on a task of its own."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.messages: list[RealtimeMessage] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for message in self.subscription.messages():
            self.messages.append(message)
            self._changed.set()

    def orders(self, order_no: str | None = None) -> list[OrderUpdateMessage]:
        return [
            m
            for m in self.messages
            if isinstance(m, OrderUpdateMessage) and order_no in (None, m.order_no)
        ]

    def statuses(self) -> list[StreamStatus]:
        return [m.status for m in self.messages if isinstance(m, StatusMessage)]

    async def wait_for(self, done: Callable[[Reader], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not done(self):
                self._changed.clear()
                await self._changed.wait()

    async def wait_filled(self, order_no: str, quantity: int) -> list[OrderUpdateMessage]:
        def filled(reader: Reader) -> bool:
            return any(
                m.status == "체결" and m.filled_quantity == quantity
                for m in reader.orders(order_no)
            )

        await self.wait_for(filled)
        return self.orders(order_no)

    async def stop(self) -> None:
        await self.subscription.close()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(self._task, 5)


def ws_messages(running: RunningSimulator) -> dict[str, int]:
    response = running.client.get("/_sim/state")
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()["ws_messages"]
    return dict(counts)


async def until_ws_messages(running: RunningSimulator, trnm: str, count: int) -> None:
    async def arrived() -> bool:
        counts = await asyncio.to_thread(ws_messages, running)
        return counts.get(trnm, 0) >= count

    await eventually(arrived, within=10)


async def buy_marketable(broker: Broker, quantity: int) -> str:
    """A LIMIT buy at the upper limit price: fills at once (against the asks)."""
    quote = await broker.quote(CODE)
    ack = await broker.place_order(
        OrderRequest(
            stock_code=CODE,
            side=Side.BUY,
            order_type="LIMIT",
            quantity=quantity,
            price=quote.upper_limit,
        )
    )
    return ack.order_no


def assert_fill_sequence(updates: list[OrderUpdateMessage], quantity: int, limit: int) -> None:
    """One 접수, then fills adding up to ``quantity`` with a cumulative ``filled_quantity``."""
    accepted, *fills = updates
    assert accepted.status == "접수"
    assert (accepted.order_quantity, accepted.remaining_quantity) == (quantity, quantity)
    assert accepted.filled_quantity == 0
    assert (accepted.fill_no, accepted.fill_price, accepted.fill_quantity) == (None, None, None)
    assert fills and all(f.status == "체결" for f in fills)
    cumulative = 0
    for fill in fills:
        assert fill.fill_quantity is not None and fill.fill_quantity > 0
        assert fill.fill_price is not None and 0 < fill.fill_price <= limit
        assert fill.fill_no
        cumulative += fill.fill_quantity
        assert fill.filled_quantity == cumulative
        assert fill.remaining_quantity == quantity - cumulative
    assert cumulative == quantity
    for update in updates:
        assert update.stock_code == CODE and update.side is Side.BUY
        assert update.label == "+매수" and update.order_type == "보통"
        assert update.original_order_no is None and update.reject_reason == ""
        assert update.order_price == limit and update.time == NOW


# --------------------------------------------------------------------------- the broker


async def test_accept_and_fill_reach_only_orders_subscribers(
    make_broker: MakeBroker, running: RunningSimulator
) -> None:
    broker = await make_broker(running)
    orders = Reader(await broker.subscribe([], orders=True))
    plain = Reader(await broker.subscribe([CODE]))
    try:
        quote = await broker.quote(CODE)
        order_no = await buy_marketable(broker, 10)
        updates = await orders.wait_filled(order_no, 10)
        assert [m.order_no for m in orders.orders()] == [order_no] * len(updates)
        assert_fill_sequence(updates, 10, quote.upper_limit)

        (fill,) = await broker.fills()
        amount = sum((u.fill_price or 0) * (u.fill_quantity or 0) for u in updates)
        assert abs(fill.filled_price * 10 - amount) < 10

        await asyncio.to_thread(running.advance, 2)  # the plain one has a tick by now
        await plain.wait_for(lambda r: any(isinstance(m, TickMessage) for m in r.messages))
        await asyncio.sleep(0.3)
        assert plain.orders() == []
        assert not any(isinstance(m, TickMessage) for m in orders.messages)
    finally:
        await orders.stop()
        await plain.stop()


async def test_modify_and_cancel_name_their_original_order(
    make_broker: MakeBroker, running: RunningSimulator
) -> None:
    broker = await make_broker(running)
    reader = Reader(await broker.subscribe([], orders=True))
    try:
        quote = await broker.quote(CODE)
        book = await broker.order_book(CODE)
        placed = await broker.place_order(
            OrderRequest(
                stock_code=CODE,
                side=Side.BUY,
                order_type="LIMIT",
                quantity=5,
                price=quote.lower_limit,
            )
        )
        await reader.wait_for(lambda r: bool(r.orders(placed.order_no)))
        (accepted,) = reader.orders(placed.order_no)
        assert (accepted.status, accepted.label) == ("접수", "+매수")
        assert (accepted.order_quantity, accepted.remaining_quantity) == (5, 5)
        assert accepted.order_price == quote.lower_limit

        new_price = book.bids[-1].price
        modified = await broker.modify_order(
            placed.order_no, ModifyRequest(stock_code=CODE, quantity=0, price=new_price)
        )
        await reader.wait_for(lambda r: bool(r.orders(modified.order_no)))
        cancelled = await broker.cancel_order(modified.order_no, CancelRequest(stock_code=CODE))
        await reader.wait_for(
            lambda r: any(m.status == "확인" for m in r.orders(cancelled.order_no))
        )

        moved = reader.orders(modified.order_no)
        assert {m.original_order_no for m in moved} == {placed.order_no}
        assert {m.label for m in moved} == {"매수정정"}
        assert all(m.order_price == new_price and m.order_quantity == 5 for m in moved)

        cancel = reader.orders(cancelled.order_no)
        assert [m.status for m in cancel] == ["접수", "확인"]
        assert {m.original_order_no for m in cancel} == {modified.order_no}
        assert {m.label for m in cancel} == {"매수취소"}
        assert all(m.order_quantity == 5 and m.fill_quantity is None for m in cancel)
        assert await broker.open_orders() == []
    finally:
        await reader.stop()


async def test_two_orders_subscribers_share_one_registration(
    make_broker: MakeBroker, running: RunningSimulator
) -> None:
    broker = await make_broker(running)
    before = ws_messages(running)
    first = Reader(await broker.subscribe([], orders=True))
    second = Reader(await broker.subscribe([], orders=True))
    after = ws_messages(running)
    assert after.get("REG", 0) - before.get("REG", 0) == 1, after
    assert sum(running.sim.ws_items.values()) == 0  # only the account type was registered

    order_no = (
        await broker.place_order(
            OrderRequest(stock_code=CODE, side=Side.BUY, order_type="MARKET", quantity=3)
        )
    ).order_no
    for reader in (first, second):
        updates = await reader.wait_filled(order_no, 3)
        assert updates[0].status == "접수" and updates[0].order_type == "시장가"
    assert first.orders() == second.orders()

    await first.stop()
    await asyncio.sleep(0.3)
    assert ws_messages(running).get("REMOVE", 0) == before.get("REMOVE", 0)
    await second.stop()
    await until_ws_messages(running, "REMOVE", before.get("REMOVE", 0) + 1)
    assert ws_messages(running).get("REG") == after.get("REG")


async def test_order_updates_resume_after_the_upstream_socket_drops(
    make_broker: MakeBroker, running: RunningSimulator
) -> None:
    broker = await make_broker(running)
    reader = Reader(await broker.subscribe([], orders=True))
    try:
        first = await buy_marketable(broker, 2)
        await reader.wait_filled(first, 2)
        registrations = ws_messages(running).get("REG", 0)

        dropped = await asyncio.to_thread(running.client.post, "/_sim/ws/drop", json={})
        assert dropped.json() == {"dropped": 1}
        await reader.wait_for(
            lambda r: r.statuses()[-2:] == [StreamStatus.RECONNECTING, StreamStatus.LIVE]
        )
        assert ws_messages(running).get("REG") == registrations + 1, "00 re-registered once"

        second = await buy_marketable(broker, 4)
        updates = await reader.wait_filled(second, 4)
        assert updates[0].status == "접수"
        assert {m.order_no for m in reader.orders()} == {first, second}
    finally:
        await reader.stop()


# --------------------------------------------------------------------------- pieces


def _order_entry(values: dict[str, str]) -> OrderEvent:
    base = {
        "9201": "5012345611",
        "9203": "0048213",
        "9001": "A005930",
        "913": "체결",
        "302": "삼성전자",
        "900": "10",
        "901": "74500",
        "902": "4",
        "903": "447000",
        "904": "0000000",
        "905": "+매수",
        "906": "보통",
        "907": "2",
        "908": "101503",
        "909": "1012",
        "910": "74500",
        "911": "6",
        "914": "74400",
        "915": "2",
        "919": "",
    }
    event = parse_entry({"type": "00", "item": "", "values": base | values}, date(2026, 11, 24))
    assert isinstance(event, OrderEvent)
    return event


def test_order_update_mapping_prefers_unit_fill_values() -> None:
    message = order_update(_order_entry({}))
    assert message.model_dump() == {
        "type": "ORDER",
        "order_no": "0048213",
        "original_order_no": None,
        "stock_code": "005930",
        "side": Side.BUY,
        "status": "체결",
        "order_quantity": 10,
        "order_price": 74500,
        "filled_quantity": 6,
        "remaining_quantity": 4,
        "fill_no": "1012",
        "fill_price": 74400,
        "fill_quantity": 2,
        "label": "+매수",
        "order_type": "보통",
        "reject_reason": "",
        "time": datetime(2026, 11, 24, 10, 15, 3, tzinfo=KST),
    }
    accepted = order_update(
        _order_entry(
            {"913": "접수", "902": "10", "909": "", "910": "", "911": "", "914": "", "915": ""}
        )
    )
    assert (accepted.filled_quantity, accepted.fill_price, accepted.fill_quantity) == (
        0,
        None,
        None,
    )
    sold = order_update(_order_entry({"907": "1", "905": "-매도", "904": "0048200"}))
    assert sold.side is Side.SELL and sold.original_order_no == "0048200"


def test_order_message_round_trips_through_json() -> None:
    message = order_update(_order_entry({}))
    assert parse_message(message.model_dump_json()) == message


async def test_order_updates_are_never_conflated() -> None:
    """A full queue keeps every ORDER message (ticks conflate); a consumer still
    behind after the grace period is dropped with ERROR slow_consumer."""
    # a grace long enough that a loaded machine's pause between two offers of a
    # loop does not end it; the second round outlasts it
    subscriber = Subscriber(max_queue=2, grace_seconds=1.0)
    update = order_update(_order_entry({}))
    tick: dict[str, Any] = {
        "stock_code": CODE,
        "time": NOW,
        "price": 1,
        "change": 0,
        "change_rate": 0,
        "quantity": 1,
        "buyer_initiated": True,
        "cum_volume": 1,
        "best_ask": 1,
        "best_bid": 1,
    }
    offered: list[RealtimeMessage] = []
    for seq in range(1, 5):
        offered.append(TickMessage(seq=seq, **tick))
        offered.append(update.model_copy(update={"fill_no": str(seq)}))
    for message in offered:
        assert subscriber.offer(message)
    received = subscriber.drain(100)
    orders = [m for m in received if isinstance(m, OrderUpdateMessage)]
    assert [m.fill_no for m in orders] == ["1", "2", "3", "4"]
    assert len([m for m in received if isinstance(m, TickMessage)]) < 4

    for message in offered:
        subscriber.offer(message)
    await asyncio.sleep(1.2)
    assert not subscriber.offer(update)
    assert subscriber.drain(100) == [ErrorMessage(code="slow_consumer", message="slow consumer")]
    assert subscriber.close_code == SLOW_CONSUMER_CLOSE_CODE
