"""The parts instances share through Redis, each on its own: the bus, leases and
the shared lock (the whole platform on several instances: test_instances.py)."""

from __future__ import annotations

import asyncio

import redis.asyncio as redis
from tests.redis_server import REDIS_URL

from quantum.platform.cluster.leases import RedisLease
from quantum.platform.cluster.shared import Cluster


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
            assert await asyncio.wait_for(anext(received), 5) == {"type": "ORDER_UPDATE", "n": 1}
        await buses[1].publish("orders:u2", {"n": 2})
        assert await asyncio.wait_for(anext(other_topic.messages()), 5) == {"n": 2}
        # the publisher's own subscriber gets it once, through Redis
        await listeners[0].close()
        own = await buses[2].subscribe("orders:u1")
        await buses[2].publish("orders:u1", {"n": 3})
        assert await asyncio.wait_for(anext(own.messages()), 5) == {"n": 3}
        await buses[2].publish("orders:u1", {"n": 4})
        assert await asyncio.wait_for(anext(own.messages()), 5) == {"n": 4}
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

    leases = [RedisLease(redis_client, f"{redis_prefix}lease:job", ttl=0.6) for _ in range(3)]
    for index, lease in enumerate(leases):
        lease.start(recorder(index))
    await asyncio.sleep(1.0)
    holders = [i for i, lease in enumerate(leases) if lease.held]
    assert len(holders) == 1, changes
    first = holders[0]
    # a holder that dies without handing back: the lease runs out and one other takes it
    task = leases[first]._task
    assert task is not None
    task.cancel()
    await asyncio.sleep(1.2)
    successors = [i for i, lease in enumerate(leases) if lease.held and i != first]
    assert len(successors) == 1, changes
    # a clean shutdown hands it back at once
    await leases[successors[0]].aclose()
    await asyncio.sleep(0.4)
    assert [i for i, lease in enumerate(leases) if i not in (first, successors[0]) and lease.held]
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
