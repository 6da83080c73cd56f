"""The order store's atomic writes on both databases (one statement each on
PostgreSQL, a transaction on SQLite): a write that loses or is refused leaves
nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from tests.integration.platform.databases import pg_admin, postgres_database

from quantum.platform.db.engine import create_engine
from quantum.platform.db.migrate import upgrade
from quantum.platform.db.units import units_for
from quantum.platform.trading.order_rows import event_columns, replace_view
from quantum.platform.trading.projection import OrderEvent, apply
from quantum.platform.trading.states import EventType, OrderState
from quantum.platform.trading.store import DuplicateKey, OrderStore

ORDER: dict[str, Any] = {
    "user_id": "user-1",
    "kiwoom_account_id": "acct-1",
    "stock_code": "005930",
    "side": "BUY",
    "order_type": "LIMIT",
    "quantity": 10,
    "price": 70000,
    "stop_price": None,
    "client_order_id": None,
}


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[OrderStore]:
    engine = create_engine(database_url)
    await upgrade(engine)
    units = units_for(engine)
    built = OrderStore(units)
    try:
        yield built
    finally:
        await units.aclose()
        await engine.dispose()


async def test_an_order_and_its_next_event(store: OrderStore) -> None:
    created = await store.create(ORDER)
    accepted = await store.append(
        created.order_id, EventType.ACCEPTED, {"broker_order_no": "0000123"}, current=created
    )
    assert accepted is not None and accepted.version == 2
    assert await store.get(created.order_id) == accepted
    events = await store.events(created.order_id)
    assert [(e.seq, e.type) for e in events] == [(1, EventType.SUBMITTED), (2, EventType.ACCEPTED)]
    assert events[0].data["price"] == 70000


async def test_a_stale_write_leaves_nothing_and_the_store_applies_it_again(
    store: OrderStore,
) -> None:
    created = await store.create(ORDER)
    first = await store.append(created.order_id, EventType.ACCEPTED, {"broker_order_no": "1"})
    assert first is not None

    # the change itself: the view moved on, so neither the view nor the event is written
    rejected = OrderEvent(created.order_id, 2, EventType.REJECTED, datetime.now(UTC), {})
    change = replace_view(created, apply(created, rejected), event_columns(rejected))
    assert await store._units.atomic(change) == 0  # the change the store makes
    assert [e.seq for e in await store.events(created.order_id)] == [1, 2]
    assert (await store.get(created.order_id)) == first

    # through the store: a caller holding the old view gets the event applied to the new one
    fill = {"fill_quantity": 4, "fill_price": 70000, "filled_quantity": 4}
    filled = await store.append(created.order_id, EventType.PARTIALLY_FILLED, fill, current=created)
    assert filled is not None and filled.version == 3
    assert filled.state is OrderState.PARTIALLY_FILLED and filled.filled_quantity == 4
    assert filled.broker_order_no == "1"  # the ACCEPTED it had not seen is kept


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "relaxed"])
async def test_a_relaxed_event_writes_and_refuses_what_a_durable_one_does(
    store: OrderStore, durable: bool
) -> None:
    """A relaxed event (the submit's answer: its commit does not wait for the disk
    on PostgreSQL) is the same change otherwise."""
    created = await store.create(ORDER)
    answer = {"broker_order_no": "0000321"}
    accepted = await store.append(
        created.order_id, EventType.ACCEPTED, answer, current=created, durable=durable
    )
    assert accepted is not None and accepted.broker_order_no == "0000321"
    assert await store.get(created.order_id) == accepted

    late = OrderEvent(created.order_id, 2, EventType.REJECTED, datetime.now(UTC), {})
    stale = replace_view(created, apply(created, late), event_columns(late), durable=durable)
    assert await store._units.atomic(stale) == 0
    assert [e.type for e in await store.events(created.order_id)] == [
        EventType.SUBMITTED,
        EventType.ACCEPTED,
    ]


def test_a_relaxed_event_relaxes_only_its_own_transaction() -> None:
    """``synchronous_commit`` is off for the relaxed statement's transaction alone:
    the next write on the same connection (an intent) waits for the disk again."""
    with postgres_database() as url:
        asyncio.run(_relax_one_transaction(url))


async def _relax_one_transaction(url: str) -> None:
    engine = create_engine(url)
    units = units_for(engine, change_connections=1)
    store = OrderStore(units)
    try:
        await upgrade(engine)
        created = await store.create(ORDER)
        await store.append(
            created.order_id, EventType.ACCEPTED, {"broker_order_no": "8"}, durable=False
        )
        pool = await units._changes._opened()  # type: ignore[attr-defined]  # the one connection
        async with pool.acquire() as connection:
            assert await connection.fetchval("SHOW synchronous_commit") == "on"
            # the same statement, run in an explicit transaction, shows its setting
            async with connection.transaction():
                await connection.execute("SELECT set_config('synchronous_commit', 'off', true)")
                assert await connection.fetchval("SHOW synchronous_commit") == "off"
            assert await connection.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await units.aclose()
        await engine.dispose()


async def test_concurrent_appends_make_one_unbroken_history(store: OrderStore) -> None:
    created = await store.create({**ORDER, "quantity": 100})
    accepted = await store.append(created.order_id, EventType.ACCEPTED, {"broker_order_no": "7"})
    assert accepted is not None
    fills = [
        store.append(
            created.order_id,
            EventType.PARTIALLY_FILLED,
            {"fill_quantity": 1, "fill_price": 70000, "filled_quantity": n + 1},
            dedupe_key=f"fill-{n}",
            current=accepted,
        )
        for n in range(6)
    ]
    results = await asyncio.gather(*fills)
    assert all(view is not None for view in results)
    events = await store.events(created.order_id)
    assert [e.seq for e in events] == list(range(1, 9))
    final = await store.get(created.order_id)
    assert final is not None and final.version == 8


async def test_a_repeated_broker_report_is_written_once(store: OrderStore) -> None:
    created = await store.create(ORDER)
    await store.append(created.order_id, EventType.ACCEPTED, {"broker_order_no": "9"})
    fill = {"fill_quantity": 4, "fill_price": 70000, "filled_quantity": 4}
    kind = EventType.PARTIALLY_FILLED
    first = await store.append(created.order_id, kind, fill, dedupe_key="fill-9-1")
    again = await store.append(created.order_id, kind, fill, dedupe_key="fill-9-1")
    assert first is not None and again is None
    assert [e.type for e in await store.events(created.order_id)][-1] is kind
    assert len(await store.events(created.order_id)) == 3
    assert await store.get(created.order_id) == first


async def test_a_used_idempotency_key_creates_nothing(store: OrderStore) -> None:
    first = await store.create(ORDER, idempotency=("user-1", "key-1", "hash-a"))
    for digest, same in (("hash-a", True), ("hash-b", False)):
        with pytest.raises(DuplicateKey) as caught:
            await store.create(ORDER, idempotency=("user-1", "key-1", digest))
        assert caught.value.order_id == first.order_id and caught.value.same_request is same
    assert [v.order_id for v in await store.all_views()] == [first.order_id]
    found = await store.by_idempotency_key("user-1", "key-1")
    assert found is not None and found[0].order_id == first.order_id
    other_user = await store.create(ORDER, idempotency=("user-2", "key-1", "hash-a"))
    assert len(await store.all_views()) == 2 and other_user.order_id != first.order_id


def test_pooled_connections_the_server_closed_are_replaced() -> None:
    """PostgreSQL ends every session (as a restart does) while the pool holds idle
    connections: the next operations get new ones, not an error (no pre-ping round
    trip: the driver saw the sockets close)."""
    with postgres_database() as url:
        asyncio.run(_survive_terminated_sessions(url))


async def _survive_terminated_sessions(url: str) -> None:
    engine = create_engine(url)
    units = units_for(engine)
    store = OrderStore(units)
    try:
        await upgrade(engine)
        created = await store.create(ORDER)
        assert await store.get(created.order_id) == created  # pooled and idle now
        # Each call returns once its backend is gone (waits up to 10 s).
        await pg_admin(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            f"WHERE datname = '{make_url(url).database}' AND pid <> pg_backend_pid()"
        )
        assert await store.get(created.order_id) == created
        accepted = await store.append(
            created.order_id, EventType.ACCEPTED, {"broker_order_no": "5"}, current=created
        )
        assert accepted is not None and accepted.version == 2
    finally:
        await units.aclose()
        await engine.dispose()
