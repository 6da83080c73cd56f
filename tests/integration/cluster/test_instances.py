"""Three platform instances and one adapter, as separate processes, on PostgreSQL
and Redis (what deploy/'s compose file runs, started natively): any instance
serves any user, one token per app key, one rate budget per app key, and the
streams come back when the adapter or the instance holding the order reports
dies, with no order lost or sent twice."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import redis.asyncio as redis
from tests.integration.cluster.processes import Service, market_time
from tests.integration.platform.databases import postgres_database
from tests.integration.platform.test_realtime_ws import Peer, session
from tests.integration.serving import raw_http
from tests.integration.simulator.conftest import (  # noqa: F401  (fixtures)
    RunningSimulator,
    StartSimulator,
    start_simulator,
)
from tests.integration.test_http_protocol import RAW_QUERY, assert_json_bad_request
from tests.redis_server import REDIS_URL
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(300)

ADMIN = ("cluster-admin", "cluster-admin-password")
PASSWORD = "cluster-user-password"
CODE = "005930"
RATE = 5
"""The simulator's (Kiwoom's) requests per second per app key and api-id."""


@dataclass
class Deployment:
    sim: RunningSimulator
    adapter: Service
    instances: list[Service]
    redis_prefix: str

    def ws(self, instance: Service) -> str:
        return instance.url.replace("http://", "ws://") + "/ws/realtime"

    def sim_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.sim.client.get("/_sim/state").json()
        return state


@pytest.fixture
def deployment(
    start_simulator: StartSimulator,  # noqa: F811
    tmp_path: Path,
    redis_prefix: str,
) -> Iterator[Deployment]:
    sim = start_simulator(
        start=market_time(),
        token_lifetime_seconds=30 * 86_400,  # market_time() may be a holiday behind
        rate_limit={"per_second": RATE},
    )
    services: list[Service] = []
    with postgres_database() as database_url:
        try:
            adapter = Service(
                "adapter",
                ["adapter"],
                {
                    "KIWOOM_ENVIRONMENT": "production",
                    "KIWOOM_REST_URL": sim.base_url,
                    # a loaded machine can hold a granted send back a few hundred ms
                    # and bunch it with later ones at the simulator's token bucket
                    "KIWOOM_RATE_LIMIT_MARGIN_SECONDS": "0.3",
                    "REDIS_URL": REDIS_URL,
                    "QTP_REDIS_PREFIX": redis_prefix,
                },
                tmp_path,
            )
            services.append(adapter.start())
            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "QTP_REDIS_PREFIX": redis_prefix,
                "KIWOOM_ADAPTER_URL": adapter.url,
                "QTP_SIMULATOR_URL": sim.base_url,
                "QTP_JWT_SECRET": secrets.token_urlsafe(32),
                "QTP_ENCRYPTION_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
                "QTP_ADMIN_USERNAME": ADMIN[0],
                "QTP_ADMIN_PASSWORD": ADMIN[1],
                "QTP_PASSWORD_TIME_COST": "1",
                "QTP_PASSWORD_MEMORY_COST": "64",
                "QTP_LOGIN_LIMIT_PER_CLIENT": "100000/minute",
                "QTP_RECONCILE_POLL_SECONDS": "1",
                "QTP_LEASE_SECONDS": "1.5",
                "QTP_DB_POOL_SIZE": "5",
                "QTP_DB_MAX_OVERFLOW": "10",
            }
            instances = [
                Service(
                    f"platform-{i}", ["run", "--data-dir", str(tmp_path / f"p{i}")], env, tmp_path
                )
                for i in range(3)
            ]
            for instance in instances:  # one after the other: each migrates at start
                services.append(instance.start())
            yield Deployment(sim, adapter, instances, redis_prefix)
        finally:
            for service in services:
                service.stop()


async def login(http: httpx.AsyncClient, base: str, username: str, password: str) -> dict[str, str]:
    answer = await http.post(
        f"{base}/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


async def trader(http: httpx.AsyncClient, base: str, name: str) -> dict[str, str]:
    """A user with a SIMULATOR account and stored credentials (set up on ``base``)."""
    admin = await login(http, base, *ADMIN)
    user = await http.post(
        f"{base}/api/v1/admin/users", json={"username": name, "password": PASSWORD}, headers=admin
    )
    assert user.status_code == 201, user.text
    account = await http.post(
        f"{base}/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
    )
    assert account.status_code == 201, account.text
    assigned = await http.put(
        f"{base}/api/v1/admin/kiwoom-accounts/{account.json()['kiwoomAccountId']}/assignment",
        json={"userId": user.json()["userId"]},
        headers=admin,
    )
    assert assigned.status_code == 200, assigned.text
    headers = await login(http, base, name, PASSWORD)
    stored = await http.put(
        f"{base}/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": f"key-{name}", "clientSecret": "secret"},
        headers=headers,
    )
    assert stored.status_code == 200, stored.text
    return headers


async def buy(
    http: httpx.AsyncClient, base: str, headers: dict[str, str], limit: str
) -> dict[str, Any]:
    """A LIMIT buy at the day's ``lowerLimit`` (rests) or ``upperLimit`` (fills at once)."""
    stock = await http.get(f"{base}/api/v1/stocks/{CODE}", headers=headers)
    assert stock.status_code == 200, stock.text
    body = {
        "stockCode": CODE,
        "orderType": "LIMIT",
        "orderSide": "BUY",
        "quantity": 1,
        "price": stock.json()[limit],
    }
    placed = await http.post(f"{base}/api/v1/orders", json=body, headers=headers)
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


async def ticking(deployment: Deployment, peer: Peer, since: int, within: float) -> float:
    """Seconds until a TICK at or after ``since`` arrives (the simulator advanced meanwhile)."""
    started = time.monotonic()

    async def nudge() -> None:
        await asyncio.to_thread(deployment.sim.advance, 2)

    await peer.expect("TICK", since=since, within=within, nudge=nudge)
    return time.monotonic() - started


async def token_burst(
    instances: list[Service], headers: dict[str, str], count: int
) -> list[tuple[int, dict[str, Any]]]:
    """``count`` concurrent ``GET /me/token``, round-robin over ``instances`` (aiohttp:
    httpx's pool spends quadratic time queueing a thousand requests in one client)."""

    async def one(session: aiohttp.ClientSession, index: int) -> tuple[int, dict[str, Any]]:
        url = f"{instances[index % len(instances)].url}/api/v1/kiwoom-accounts/me/token"
        async with session.get(url, headers=headers) as answer:
            return answer.status, await answer.json()

    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector) as session:
        return await asyncio.gather(*(one(session, i) for i in range(count)))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=300)) as client:
        yield client


async def test_three_instances_share_users_tokens_budgets_and_survive_deaths(
    deployment: Deployment, http: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    a, b, c = deployment.instances
    for service in (deployment.adapter, a):  # what uvicorn cannot parse: our JSON error too
        assert_json_bad_request(*raw_http(service.url, RAW_QUERY))
    headers = await trader(http, a.url, "trader1")
    kt10000_before = deployment.sim_state()["requests"].get("kt10000", 0)
    placed: list[str] = []

    # A user's socket on A gets the ORDER_UPDATE of an order placed through B.
    async with session(deployment.ws(a), headers) as peer:
        await peer.send(type="SUBSCRIBE", stockCodes=[CODE])
        await peer.expect("SUBSCRIBED")
        await ticking(deployment, peer, 0, within=20)
        order = await buy(http, b.url, headers, "lowerLimit")
        placed.append(order["orderId"])
        update = await peer.expect(
            "ORDER_UPDATE", within=15, where=lambda m: m["orderId"] == order["orderId"]
        )
        assert update["state"] == "ACCEPTED"

        # 1,000 concurrent token requests over the three instances: the key's one
        # au10001 stays the one its credentials check made.
        answers = await token_burst([a, b, c], headers, 1000)
        assert {status for status, _ in answers} == {200}
        assert len({body["accessToken"] for _, body in answers}) == 1
        assert sum(deployment.sim_state()["token_requests"].values()) == 1

        # Password guesses spread over the instances are counted together.
        statuses = []
        for attempt in range(6):
            answer = await http.post(
                f"{(a, b, c)[attempt % 3].url}/api/v1/auth/login",
                json={"username": "trader1", "password": f"guess-{attempt}"},
            )
            statuses.append(answer.status_code)
        assert statuses == [401] * 5 + [429], statuses

        # Orders at four times the key's budget, through all three instances: the
        # simulator never answers "too many requests".
        burst = await asyncio.gather(
            *(buy(http, (a, b, c)[i % 3].url, headers, "lowerLimit") for i in range(4 * RATE))
        )
        placed += [o["orderId"] for o in burst]
        assert deployment.sim_state().get("rate_limited", {}) == {}
        budgets = [
            key async for key in redis_client.scan_iter(f"{deployment.redis_prefix}ratelimit:*")
        ]
        assert budgets, "the adapter keeps the key's budget in Redis"

        # A user disabled through A is refused by B and C at once: their cached
        # principal is dropped through Redis (its TTL is 10 s).
        other = await trader(http, a.url, "trader2")
        for instance in (b, c):
            me = await http.get(f"{instance.url}/api/v1/users/me", headers=other)
            assert me.status_code == 200, me.text
        admin = await login(http, a.url, *ADMIN)
        disabled = await http.patch(
            f"{a.url}/api/v1/admin/users/{me.json()['userId']}",
            json={"isActive": False},
            headers=admin,
        )
        assert disabled.status_code == 200, disabled.text
        # Within 5 s: inside the cached principal's 10 s TTL, so only the
        # invalidation sent through Redis can refuse it.
        for instance in (b, c):
            me_url = f"{instance.url}/api/v1/users/me"

            async def refused(url: str = me_url) -> bool:
                return (await http.get(url, headers=other)).status_code == 401

            await eventually(refused, within=5.0)

        # The adapter dies (SIGKILL) and comes back: ticks resume on their own.
        deployment.adapter.kill()
        killed = time.monotonic()
        mark = len(peer.received)
        deployment.adapter.start()
        restarted = time.monotonic()
        resumed = await ticking(deployment, peer, mark, within=30)
        assert peer.of("STATUS", mark), "the client was told the feed was lost"
        print(f"adapter down {restarted - killed:.1f} s; ticks back {resumed:.1f} s after restart")

        # An order that fills at once, through C: its fill reaches the user on A.
        filled = await buy(http, c.url, headers, "upperLimit")
        placed.append(filled["orderId"])
        await peer.expect(
            "ORDER_UPDATE",
            within=15,
            where=lambda m: m["orderId"] == filled["orderId"] and m["state"] == "FILLED",
        )

    # The instance holding the order-report lease dies: another takes over.
    holder = await redis_client.get(f"{deployment.redis_prefix}lease:order-supervision")
    assert holder is not None
    pid = int(holder.decode().split(":")[1])
    victim = next(i for i in deployment.instances if i.pid == pid)
    survivors = [i for i in deployment.instances if i is not victim]
    victim.kill()
    async with session(deployment.ws(survivors[0]), headers) as peer:
        started = time.monotonic()
        late = await buy(http, survivors[1].url, headers, "upperLimit")
        placed.append(late["orderId"])
        await peer.expect(
            "ORDER_UPDATE",
            within=20,
            where=lambda m: m["orderId"] == late["orderId"] and m["state"] == "FILLED",
        )
        took = time.monotonic() - started
        print(f"order supervision taken over; fill applied {took:.1f} s after the holder died")

    # Nothing lost, nothing twice: one broker order per order placed, each in its
    # right final state with its fill counted once.
    assert deployment.sim_state()["requests"]["kt10000"] - kt10000_before == len(placed)
    base = survivors[0].url
    listed = await http.get(f"{base}/api/v1/orders", params={"size": 100}, headers=headers)
    assert listed.status_code == 200, listed.text
    orders = {o["orderId"]: o for o in listed.json()["items"]}
    assert set(orders) == set(placed)
    assert len({o["brokerOrderNo"] for o in orders.values()}) == len(placed)
    for order_id in (filled["orderId"], late["orderId"]):
        assert orders[order_id]["state"] == "FILLED"
        assert orders[order_id]["filledQuantity"] == 1
    resting = [
        o for o in orders.values() if o["orderId"] not in (filled["orderId"], late["orderId"])
    ]
    assert {o["state"] for o in resting} == {"ACCEPTED"}
    assert deployment.sim_state().get("rate_limited", {}) == {}

    # A graceful stop (SIGTERM): the user's socket is closed with a reason, the
    # process exits cleanly by itself, and it hands its lease back.
    leaving, staying = survivors
    async with session(deployment.ws(leaving), headers) as peer:
        await asyncio.to_thread(leaving.stop)
        await peer.closed_event()
        assert peer.ws.close_code == 1012, peer.ws.close_code  # "service restart"
        # uvicorn re-raises the SIGTERM it handled once it has shut down; a process
        # still running 20 s after it would have been killed (-9)
        assert leaving.process is not None and leaving.process.returncode == -15
    holder = await redis_client.get(f"{deployment.redis_prefix}lease:order-supervision")
    assert holder is None or int(holder.decode().split(":")[1]) == staying.pid
    log = leaving.log_tail(100_000)
    assert "Traceback" not in log and "platform stopped" in log
