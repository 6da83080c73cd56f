"""Central token service under a burst: N concurrent ``GET /api/v1/kiwoom-accounts/me/token``
on a cold token store must cause one au10001, and answer quickly.

simulator (subprocess) <- platform (``quantum run`` subprocess, SQLite) <- N clients.
The platform is restarted with its token row deleted so that the burst meets an
empty cache (the credentials check had already issued a token).

    python -m bench.tokens [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

from bench._harness import platform_process, report, simulator_process

ADMIN = ("bench-admin", "bench-admin-password")
TRADER = ("bench-trader", "bench-trader-password")
APP_KEY = "bench-app-key-0001"


def platform_env(simulator_url: str) -> dict[str, str]:
    return {
        "QTP_SIMULATOR_URL": simulator_url,
        "QTP_ADMIN_USERNAME": ADMIN[0],
        "QTP_ADMIN_PASSWORD": ADMIN[1],
        "QTP_LOGIN_LIMIT_PER_CLIENT": "1000/minute",
    }


def login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


def prepare(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        admin = login(client, *ADMIN)
        client.post(
            "/api/v1/admin/users",
            json={"username": TRADER[0], "password": TRADER[1], "userId": "USER_BENCH"},
            headers=admin,
        ).raise_for_status()
        account = client.post(
            "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
        )
        account.raise_for_status()
        account_id = account.json()["kiwoomAccountId"]
        client.put(
            f"/api/v1/admin/kiwoom-accounts/{account_id}/assignment",
            json={"userId": "USER_BENCH"},
            headers=admin,
        ).raise_for_status()
        trader = login(client, *TRADER)
        client.put(
            "/api/v1/kiwoom-accounts/me/credentials",
            json={"clientId": APP_KEY, "clientSecret": "bench-secret"},
            headers=trader,
        ).raise_for_status()


async def burst(base: str, requests: int) -> tuple[list[float], int]:
    """``requests`` token requests at once, each on its own connection (aiohttp: the
    load generator must not be the bottleneck)."""
    connector = aiohttp.TCPConnector(limit=requests)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        async with session.post(
            "/api/v1/auth/login", json={"username": TRADER[0], "password": TRADER[1]}
        ) as answer:
            headers = {"Authorization": f"Bearer {(await answer.json())['accessToken']}"}
        start = asyncio.Event()

        async def one() -> tuple[float, str | None]:
            await start.wait()
            started = time.perf_counter()
            async with session.get("/api/v1/kiwoom-accounts/me/token", headers=headers) as got:
                body = await got.json()
            return (time.perf_counter() - started) * 1000, body.get("accessToken")

        tasks = [asyncio.create_task(one()) for _ in range(requests)]
        await asyncio.sleep(0)
        start.set()
        results = await asyncio.gather(*tasks)
    tokens = {token for _, token in results}
    failures = sum(1 for _, token in results if token is None)
    if len(tokens - {None}) != 1:
        raise AssertionError(f"{len(tokens)} distinct tokens handed out")
    return [ms for ms, _ in results], failures


async def steady(base: str, clients: int, each: int) -> list[float]:
    """Warm cache, ``clients`` callers in a loop: the latency a dashboard sees."""
    async with aiohttp.ClientSession(base) as session:
        async with session.post(
            "/api/v1/auth/login", json={"username": TRADER[0], "password": TRADER[1]}
        ) as answer:
            headers = {"Authorization": f"Bearer {(await answer.json())['accessToken']}"}

        async def caller() -> list[float]:
            seen = []
            for _ in range(each):
                started = time.perf_counter()
                async with session.get("/api/v1/kiwoom-accounts/me/token", headers=headers) as got:
                    await got.read()
                    got.raise_for_status()
                seen.append((time.perf_counter() - started) * 1000)
            return seen

        results = await asyncio.gather(*(caller() for _ in range(clients)))
    return [ms for seen in results for ms in seen]


def token_requests(simulator_url: str) -> int:
    state = httpx.get(f"{simulator_url}/_sim/state", timeout=5).json()
    return int(sum(state["token_requests"].values()))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one burst (default: three)")
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    config = {"rate_limit": {"per_second": 5}}
    with simulator_process(config) as simulator_url, tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        with platform_process(data_dir, platform_env(simulator_url)) as base:
            prepare(base)
        issuances: list[int] = []
        latencies: list[float] = []
        failures = 0
        warm: list[float] = []
        for _ in range(rounds):
            with sqlite3.connect(data_dir / "quantum.db") as db:
                db.execute("DELETE FROM kiwoom_tokens")
            with platform_process(data_dir, platform_env(simulator_url)) as base:
                before = token_requests(simulator_url)
                round_latencies, round_failures = asyncio.run(burst(base, args.requests))
                issuances.append(token_requests(simulator_url) - before)
                latencies += round_latencies
                failures += round_failures
                warm = asyncio.run(steady(base, clients=10, each=50 if args.quick else 200))
    report(f"platform_token_issuances_for_{args.requests}_concurrent_requests", max(issuances), "")
    report("token_endpoint_p50_ms", percentile(latencies, 50), "ms")
    report("token_endpoint_p99_ms", percentile(latencies, 99), "ms")
    report("token_endpoint_steady_10_clients_p50_ms", percentile(warm, 50), "ms")
    report("token_endpoint_steady_10_clients_p99_ms", percentile(warm, 99), "ms")
    report("token_endpoint_failures", failures, "")


if __name__ == "__main__":
    main()
