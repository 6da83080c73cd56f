"""The parts instances share through Redis, each on its own: the bus, leases and
the shared lock (the whole platform on several instances: test_instances.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis
from tests.integration.platform.databases import database
from tests.integration.simulator.conftest import (  # noqa: F401  (fixtures)
    StartSimulator,
    start_simulator,
)
from tests.redis_server import REDIS_URL
from tests.waiting import eventually

from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.tokens import TokenManager
from quantum.platform.cluster.leases import RedisLease
from quantum.platform.cluster.shared import Cluster
from quantum.platform.db.engine import create_engine, session_factory
from quantum.platform.db.migrate import upgrade
from quantum.platform.security.crypto import Keyring
from quantum.platform.services.token_store import DatabaseTokenCache


async def test_a_message_published_on_one_instance_reaches_the_others(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    instances = [Cluster(REDIS_URL, prefix=redis_prefix) for _ in range(3)]
    buses = [cluster.bus() for cluster in instances]
    try:
        listeners = [await bus.subscribe("orders:u1") for bus in buses[:2]]
        other_topic = await buses[0].subscribe("orders:u2")
        await buses[2].publish("orders:u1", {"type": "ORDER_UPDATE", "n": 1})
        for listener in listeners:
            received = listener.messages()
            assert await asyncio.wait_for(anext(received), 15) == {"type": "ORDER_UPDATE", "n": 1}
        await buses[1].publish("orders:u2", {"n": 2})
        assert await asyncio.wait_for(anext(other_topic.messages()), 15) == {"n": 2}
        # the publisher's own subscriber gets it once, through Redis
        await listeners[0].close()
        own = await buses[2].subscribe("orders:u1")
        await buses[2].publish("orders:u1", {"n": 3})
        assert await asyncio.wait_for(anext(own.messages()), 15) == {"n": 3}
        await buses[2].publish("orders:u1", {"n": 4})
        assert await asyncio.wait_for(anext(own.messages()), 15) == {"n": 4}
        channels = await redis_client.pubsub_channels(f"{redis_prefix}*")
        assert sorted(channels) == sorted(
            [f"{redis_prefix}bus:orders:u1".encode(), f"{redis_prefix}bus:orders:u2".encode()]
        )
    finally:
        for bus in buses:
            await bus.aclose()
        for cluster in instances:
            await cluster.aclose()


async def test_one_lease_holder_and_a_successor_when_it_goes(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    changes: list[tuple[int, bool]] = []

    def recorder(index: int):  # type: ignore[no-untyped-def]
        async def on_change(held: bool) -> None:
            changes.append((index, held))

        return on_change

    key = f"{redis_prefix}lease:job"
    # ttl 3 s, renewed every 0.75 s: a loaded machine's pauses do not let it run out
    leases = [RedisLease(redis_client, key, ttl=3.0) for _ in range(3)]

    def token(index: int) -> bytes:
        return leases[index]._token.encode()

    async def sole_holder(among: list[int]) -> int | None:
        """The lease among ``among`` whose token Redis holds, if it is the only one
        of them that believes it holds the lease."""
        value = await redis_client.get(key)
        owners = [i for i in among if token(i) == value]
        believers = [i for i in among if leases[i].held]
        return owners[0] if owners and believers == owners else None

    async def held_by(among: list[int]) -> bool:
        return await sole_holder(among) is not None

    try:
        for index, lease in enumerate(leases):
            lease.start(recorder(index))
        await eventually(lambda: held_by([0, 1, 2]))
        first = await sole_holder([0, 1, 2])
        assert first is not None
        assert changes == [(first, True)], changes
        # a holder that dies without handing back: Redis keeps its token until the
        # lease runs out, then one other takes it
        task = leases[first]._task
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert await redis_client.get(key) == token(first)
        others = [i for i in range(3) if i != first]
        await eventually(lambda: held_by(others))
        successor = await sole_holder(others)
        assert successor is not None
        assert changes == [(first, True), (successor, True)], changes
        # a clean shutdown hands it back at once (Redis no longer holds its token,
        # long before it would run out), and the last one takes it
        await leases[successor].aclose()
        assert await redis_client.get(key) != token(successor)
        last = [i for i in others if i != successor]
        await eventually(lambda: held_by(last))
        assert changes == [(first, True), (successor, True), (last[0], True)], changes
    finally:
        for lease in leases:
            await lease.aclose()


async def test_the_shared_lock_excludes_other_instances(redis_prefix: str) -> None:
    instances = [Cluster(REDIS_URL, prefix=redis_prefix) for _ in range(2)]
    inside = 0
    most = 0

    async def work(cluster: Cluster) -> None:
        nonlocal inside, most
        async with cluster.lock("kiwoom-token:abc"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    try:
        await asyncio.gather(*(work(instances[i % 2]) for i in range(10)))
        assert most == 1
    finally:
        for cluster in instances:
            await cluster.aclose()


async def test_without_redis_the_lock_does_not_block() -> None:
    async with Cluster(None).lock("anything"):
        pass
    down = Cluster("redis://127.0.0.1:1/0")
    try:
        async with down.lock("anything"):  # Redis down: the work goes ahead
            pass
    finally:
        await down.aclose()


async def test_instances_sharing_the_token_store_issue_one_token_per_key(
    redis_prefix: str,
    start_simulator: StartSimulator,  # noqa: F811
    shared_db: str,
) -> None:
    """Two instances' token managers for one app key, over one database and the shared
    lock, with a cold store: a burst of 200 requests on each makes one au10001."""
    sim = start_simulator()
    keyring = Keyring.generate()
    settings = KiwoomSettings.for_url(sim.base_url, "shared-key", "shared-secret")
    engine = create_engine(shared_db)
    await upgrade(engine)
    sessions = session_factory(engine)
    instances = [Cluster(REDIS_URL, prefix=redis_prefix) for _ in range(2)]
    managers = [
        TokenManager(
            settings, cache=DatabaseTokenCache(sessions, keyring, shared_lock=cluster.lock)
        )
        for cluster in instances
    ]
    try:
        tokens = await asyncio.gather(*(managers[i % 2].get() for i in range(400)))
        assert len({token.secret() for token in tokens}) == 1
        assert sum(sim.sim.tokens.requests.values()) == 1  # au10001 calls
    finally:
        for manager in managers:
            await manager.aclose()
        for cluster in instances:
            await cluster.aclose()
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


async def test_the_bus_subscribes_again_after_redis_drops_its_connection(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    cluster = Cluster(REDIS_URL, prefix=redis_prefix)
    bus = cluster.bus()
    try:
        listener = await bus.subscribe("orders:u9")
        received = listener.messages()
        await redis_client.client_kill_filter(_type="pubsub")
        # Messages published while the bus is away are lost (order updates are in the
        # database too); once it is back on its channel, they flow again.
        got = asyncio.ensure_future(anext(received))
        for n in range(100):
            await bus.publish("orders:u9", {"n": n})
            done, _ = await asyncio.wait([got], timeout=0.1)
            if done:
                break
        assert (await asyncio.wait_for(got, 1))["n"] >= 0
    finally:
        await bus.aclose()
        await cluster.aclose()
