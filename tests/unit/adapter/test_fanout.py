"""Subscriber: bounded queue, conflation and the slow-consumer drop (fake messages)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

from quantum.adapter.realtime.fanout import SLOW_CONSUMER_CLOSE_CODE, Subscriber
from quantum.adapter.schema import (
    ErrorMessage,
    RealtimeMessage,
    StatusMessage,
    StreamStatus,
    TickMessage,
)
from quantum.kiwoom.wire import KST

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=KST)


def tick(code: str, seq: int) -> TickMessage:
    return TickMessage(
        stock_code=code,
        seq=seq,
        time=T0,
        price=70_000 + seq,
        change=100,
        change_rate=Decimal("0.14"),
        quantity=1,
        buyer_initiated=True,
        cum_volume=seq,
        best_ask=70_100,
        best_bid=70_000,
    )


def drain(subscriber: Subscriber) -> list[RealtimeMessage]:
    out: list[RealtimeMessage] = []
    while (message := subscriber.get_nowait()) is not None:
        out.append(message)
    return out


async def test_messages_pass_in_order_while_there_is_room() -> None:
    subscriber = Subscriber(max_queue=10)
    for seq in range(1, 6):
        assert subscriber.offer(tick("005930", seq))
    assert [m.seq for m in drain(subscriber) if isinstance(m, TickMessage)] == [1, 2, 3, 4, 5]
    assert not subscriber.conflating


async def test_full_queue_conflates_to_the_latest_tick_per_code_keeping_statuses() -> None:
    subscriber = Subscriber(max_queue=4, grace_seconds=5)
    for seq in range(1, 5):
        subscriber.offer(tick("005930", seq))
    # the queue is full: from now on only the latest tick per code is kept
    for seq in range(5, 50):
        subscriber.offer(tick("005930", seq))
        subscriber.offer(tick("000660", seq))
    subscriber.offer(StatusMessage(status=StreamStatus.RECONNECTING))
    subscriber.offer(tick("005930", 50))
    assert subscriber.conflating
    assert subscriber.pending == 4 + 3
    got = drain(subscriber)
    ticks = [(m.stock_code, m.seq) for m in got if isinstance(m, TickMessage)]
    kept = [("005930", 1), ("005930", 2), ("005930", 3), ("005930", 4)]
    assert ticks == [*kept, ("000660", 49), ("005930", 50)]
    assert [m for m in got if isinstance(m, StatusMessage)] == [
        StatusMessage(status=StreamStatus.RECONNECTING)
    ]
    # per code, seq never goes backwards
    for code in ("005930", "000660"):
        seqs = [s for c, s in ticks if c == code]
        assert seqs == sorted(seqs)
    assert not subscriber.conflating, "an emptied queue ends the conflation"
    assert subscriber.conflated == 45 + 44  # 46 ticks of 005930 and 45 of 000660 kept as 2
    assert subscriber.close_code is None


async def test_consumer_still_behind_after_the_grace_is_disconnected() -> None:
    dropped: list[Subscriber] = []
    subscriber = Subscriber(max_queue=3, grace_seconds=0.2, on_disconnect=dropped.append)
    for seq in range(1, 10):
        subscriber.offer(tick("005930", seq))
    assert subscriber.conflating
    await asyncio.sleep(0.3)  # nobody reads; the grace timer fires without new offers
    assert subscriber.closed and dropped == [subscriber]
    assert subscriber.close_code == SLOW_CONSUMER_CLOSE_CODE == 1008
    assert not subscriber.offer(tick("005930", 99))
    got = [m async for m in subscriber.messages()]
    assert got == [ErrorMessage(code="slow_consumer", message="slow consumer")]


async def test_too_many_conflation_rounds_disconnect() -> None:
    subscriber = Subscriber(max_queue=2, grace_seconds=60, max_rounds=2)
    for seq in range(1, 4):
        subscriber.offer(tick("005930", seq))
    for round_no in range(6):
        while subscriber.pending > 1 and not subscriber.closed:  # read most, never catch up
            subscriber.get_nowait()
        subscriber.offer(tick("000660", 10 + round_no))
        subscriber.offer(tick("005930", 10 + round_no))
    assert subscriber.closed and subscriber.close_code == 1008


async def test_a_consumer_that_catches_up_is_not_dropped() -> None:
    subscriber = Subscriber(max_queue=5, grace_seconds=0.2)
    for seq in range(1, 20):
        subscriber.offer(tick("005930", seq))
    assert subscriber.conflating
    drain(subscriber)
    await asyncio.sleep(0.3)
    assert not subscriber.closed
    subscriber.offer(tick("005930", 20))
    assert [m.seq for m in drain(subscriber) if isinstance(m, TickMessage)] == [20]


async def test_a_slow_subscriber_never_delays_the_others() -> None:
    slow = Subscriber(max_queue=100, grace_seconds=0.3, name="slow")
    fast = Subscriber(max_queue=100, grace_seconds=0.3, name="fast")
    received: list[int] = []

    async def read_fast() -> None:
        async for message in fast.messages():
            assert isinstance(message, TickMessage)
            received.append(message.seq)

    reader = asyncio.create_task(read_fast())
    total = 2000
    for seq in range(1, total + 1):
        message = tick("005930", seq)
        slow.offer(message)  # nobody ever reads this one
        fast.offer(message)
        if seq % 50 == 0:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.4)
    fast.close()
    await asyncio.wait_for(reader, 15)
    assert received == list(range(1, total + 1)), "the reading subscriber got every tick in order"
    assert slow.closed and slow.close_code == 1008
    assert not fast.closed or fast.close_code is None
    assert fast.conflation_episodes == 0, "the reading subscriber was never behind"


async def test_drain_returns_what_get_nowait_would_in_batches() -> None:
    def filled() -> Subscriber:
        subscriber = Subscriber(max_queue=4, grace_seconds=5)
        for seq in range(1, 30):  # 4 queued, then conflating
            subscriber.offer(tick("005930", seq))
            subscriber.offer(tick("000660", seq))
        subscriber.offer(StatusMessage(status=StreamStatus.LIVE))
        return subscriber

    expected = drain(filled())
    subscriber = filled()
    got: list[RealtimeMessage] = []
    while batch := subscriber.drain(3):
        assert len(batch) <= 3
        got.extend(batch)
    assert got == expected
    assert not subscriber.conflating, "an emptied queue ends the conflation"
    assert subscriber.drain(10) == []


async def test_a_waiting_consumer_wakes_for_each_burst() -> None:
    subscriber = Subscriber(max_queue=100)
    received: list[int] = []

    async def read() -> None:
        async for message in subscriber.messages():
            assert isinstance(message, TickMessage)
            received.append(message.seq)

    reader = asyncio.create_task(read())
    for burst in range(3):
        for seq in range(burst * 10 + 1, burst * 10 + 11):
            subscriber.offer(tick("005930", seq))
        await asyncio.sleep(0.01)
        assert received == list(range(1, burst * 10 + 11))
    subscriber.close()
    await asyncio.wait_for(reader, 15)
