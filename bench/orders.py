"""Order submission through the platform against direct Kiwoom calls.

simulator (subprocess, fixed clock inside a session; the platform follows its
clock) <- ``quantum run`` (subprocess) <- 100 users, each with its own SIMULATOR
account and app key, placing limit BUYs at the lower limit (they rest) of one of
``STOCKS`` (trader i trades stock i mod 20, so no book grows deep), N each,
one every 250 ms per user: under Kiwoom's 5 orders/s per app key, which the
platform's client enforces, so latency is the platform's and not the limiter's. Once on SQLite, once on a
throw-away PostgreSQL database (skipped with a note when 127.0.0.1:5432 is not
reachable). Each trader's first order is a warm-up (token, ledger, order stream),
and the measuring starts once the platform has stopped calling Kiwoom for it (each
order stream opens with a snapshot). Baseline: the same number of direct
``KiwoomClient.buy`` calls with the same keys against the same simulator. The
platform's and the simulator's CPU per measured order are printed too: on a
shared machine they drift far less than latencies do; ``machine_loop_ms`` (a fixed
pure-Python loop, timed just before each run) tells how fast the machine was.
``order_stage_*`` are the platform's own timings of the measured submits'
stages (``qtp_order_submit_stage_seconds``), so a run shows where its overhead went.

    python -m bench.orders [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from bench._harness import (
    child_pid,
    cpu_seconds,
    platform_process,
    python_loop_ms,
    report,
    simulator_process,
)
from bench._metrics import histograms, scrape, total, window_quantile
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.orders import OrderType
from quantum.kiwoom.settings import KiwoomSettings
from quantum.simulator.listings import load_listings

ADMIN = ("bench-admin", "bench-admin-password")
PASSWORD = "bench-user-password"
SECRET = "bench-secret"
STOCKS = list(load_listings())[:20]
"""Traders spread over 20 stocks: the simulator's work per order grows with the
stock's resting orders, and one stock with thousands would time the simulator."""
SESSION_START = "2026-11-24T10:00:00+09:00"
INTERVAL = 0.25
"""Seconds between one user's orders: 4/s, under Kiwoom's 5/s per app key."""
SINGLE = 50
"""Orders of the sequential single-user run."""
PG_ADMIN_DSN = os.environ.get("QTP_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def platform_env(database_url: str | None, simulator_url: str) -> dict[str, str]:
    """``quantum run`` for SIMULATOR accounts on ``simulator_url``."""
    env = {
        "QTP_SIMULATOR_URL": simulator_url,
        "QTP_ADMIN_USERNAME": ADMIN[0],
        "QTP_ADMIN_PASSWORD": ADMIN[1],
        "QTP_LOGIN_LIMIT_PER_CLIENT": "100000/minute",
        "QTP_RECONCILE_POLL_SECONDS": "0",
        # setup creates 100 users: cheap password hashing (not what is measured)
        "QTP_PASSWORD_TIME_COST": "1",
        "QTP_PASSWORD_MEMORY_COST": "64",
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


async def _json(answer: aiohttp.ClientResponse, *expected: int) -> Any:
    body = await answer.json()
    if answer.status not in expected:
        raise RuntimeError(f"{answer.method} {answer.url}: {answer.status} {body}")
    return body


async def _login(session: aiohttp.ClientSession, username: str, password: str) -> dict[str, str]:
    async with session.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    ) as answer:
        body = await _json(answer, 200)
    return {"Authorization": f"Bearer {body['accessToken']}"}


async def _create(
    session: aiohttp.ClientSession, admin: dict[str, str], username: str
) -> tuple[dict[str, Any], str]:
    async with session.post(
        "/api/v1/admin/users", json={"username": username, "password": PASSWORD}, headers=admin
    ) as answer:
        user = await _json(answer, 201)
    async with session.post(
        "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
    ) as answer:
        account_id = (await _json(answer, 201))["kiwoomAccountId"]
    return user, account_id


async def setup_users(
    session: aiohttp.ClientSession, users: int, run_id: str
) -> list[tuple[dict[str, str], str]]:
    """``users`` traders, each with a SIMULATOR account and its own app key:
    [(headers, app_key)]."""
    admin = await _login(session, *ADMIN)
    gate = asyncio.Semaphore(10)
    creating = asyncio.Lock()  # account ids are numbered in order: create one at a time

    async def one(index: int) -> tuple[dict[str, str], str]:
        async with gate:
            username = f"bench{index:03d}"
            async with creating:
                user, account_id = await _create(session, admin, username)
            async with session.put(
                f"/api/v1/admin/kiwoom-accounts/{account_id}/assignment",
                json={"userId": user["userId"]},
                headers=admin,
            ) as answer:
                await _json(answer, 200)
            headers = await _login(session, username, PASSWORD)
            app_key = f"bench-{run_id}-{index:03d}"
            async with session.put(
                "/api/v1/kiwoom-accounts/me/credentials",
                json={"clientId": app_key, "clientSecret": SECRET},
                headers=headers,
            ) as answer:
                await _json(answer, 200)
            return headers, app_key

    return list(await asyncio.gather(*(one(i) for i in range(users))))


Order = tuple[str, int]
"""What a trader buys: (stock code, limit price)."""


async def resting_orders(
    session: aiohttp.ClientSession, headers: dict[str, str], traders: int
) -> list[Order]:
    """Trader i's order: a buy at the lower limit (it rests) of stock i mod 20."""
    lower = {}
    for code in STOCKS:
        async with session.get(f"/api/v1/stocks/{code}", headers=headers) as answer:
            lower[code] = int((await _json(answer, 200))["lowerLimit"])
    return [(code, lower[code]) for code in (STOCKS[i % len(STOCKS)] for i in range(traders))]


async def platform_orders(
    session: aiohttp.ClientSession,
    traders: list[tuple[dict[str, str], Order]],
    each: int,
    duration: float | None = None,
) -> tuple[list[float], float, int]:
    """Every trader places ``each`` resting orders one after another, all traders at
    once (with ``duration``: no order is started after that many seconds):
    (latencies ms, wall seconds, failures)."""
    failures = 0

    async def trader(headers: dict[str, str], order: Order) -> list[float]:
        nonlocal failures
        code, price = order
        body = {
            "stockCode": code,
            "orderType": "LIMIT",
            "orderSide": "BUY",
            "quantity": 1,
            "price": price,
        }
        seen = []
        pace = Pacer()
        for _ in range(each):
            await pace.next()
            if time.perf_counter() > stop_at:
                break
            started = time.perf_counter()
            try:
                async with session.post("/api/v1/orders", json=body, headers=headers) as answer:
                    await answer.read()
                    ok = answer.status == 201
            except (aiohttp.ClientError, TimeoutError):  # e.g. reset by a failing server
                ok = False
            seen.append((time.perf_counter() - started) * 1000)
            failures += not ok
        return seen

    started = time.perf_counter()
    stop_at = float("inf") if duration is None else started + duration
    results = await asyncio.gather(*(trader(h, o) for h, o in traders))
    wall = time.perf_counter() - started
    return [ms for seen in results for ms in seen], wall, failures


async def direct_orders(
    sim_url: str, keys: list[tuple[str, Order]], each: int
) -> tuple[list[float], float]:
    """The same orders straight to the simulator with ``KiwoomClient`` (tokens
    fetched before timing starts)."""
    clients = [
        (
            KiwoomClient.from_settings(
                KiwoomSettings.for_url(sim_url, key, SECRET, rate_limit_enabled=False)
            ),
            order,
        )
        for key, order in keys
    ]
    try:
        await asyncio.gather(*(client.stock_info(code) for client, (code, _) in clients))

        async def caller(client: KiwoomClient, order: Order) -> list[float]:
            code, price = order
            seen = []
            pace = Pacer()
            for _ in range(each):
                await pace.next()
                started = time.perf_counter()
                await client.buy(code, 1, OrderType.LIMIT, price)
                seen.append((time.perf_counter() - started) * 1000)
            return seen

        started = time.perf_counter()
        results = await asyncio.gather(*(caller(c, o) for c, o in clients))
        wall = time.perf_counter() - started
    finally:
        await asyncio.gather(*(client.aclose() for client, _ in clients))
    return [ms for seen in results for ms in seen], wall


async def kiwoom_calls(session: aiohttp.ClientSession) -> float:
    """The platform's Kiwoom calls so far (``qtp_kiwoom_calls`` on its /metrics)."""
    return total(await scrape(session), "qtp_kiwoom_calls", "qtp_kiwoom_calls_total")


STAGES = "qtp_order_submit_stage_seconds"


def report_stages(before: str, after: str, suffix: str) -> None:
    """p50 of each stage of the measured submits, as the platform timed them: its own
    work is every stage but ``broker_call``; what the stages leave out of a submit's
    latency is the HTTP hop, the server and the framework."""
    waits = "qtp_rate_limit_waits", "qtp_rate_limit_waits_total"
    report(
        f"order_rate_limit_waits_{suffix}", int(total(after, *waits) - total(before, *waits)), ""
    )
    earlier = histograms(before, STAGES, "stage")
    for stage, buckets in histograms(after, STAGES, "stage").items():
        p50 = window_quantile(earlier.get(stage), buckets, 0.5) * 1000
        report(f"order_stage_{stage}_p50_ms_{suffix}", p50, "ms")


async def settled(session: aiohttp.ClientSession, quiet: float = 0.5, most: float = 15.0) -> None:
    """Wait until the platform has made no Kiwoom call for ``quiet`` seconds (at most
    ``most``): each account's first working order starts its order stream with a
    snapshot (open orders and fills: two calls within the key's 5/s), and the
    measured orders should not queue behind the warm-up's."""
    deadline = time.perf_counter() + most
    seen = await kiwoom_calls(session)
    while time.perf_counter() < deadline:
        await asyncio.sleep(quiet)
        now = await kiwoom_calls(session)
        if now == seen:
            return
        seen = now


class Pacer:
    """One order every ``INTERVAL`` per user (a random phase each, so users do not
    send in lock-step); a slow answer delays only that user's next order."""

    def __init__(self) -> None:
        self._next = time.perf_counter() + random.uniform(0, INTERVAL)

    async def next(self) -> None:
        await asyncio.sleep(max(0.0, self._next - time.perf_counter()))
        self._next = max(self._next, time.perf_counter()) + INTERVAL


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def measure(base: str, sim_url: str, users: int, each: int, suffix: str) -> None:
    run_id = secrets.token_hex(3)
    connector = aiohttp.TCPConnector(limit=users * 2)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
        traders = await setup_users(session, users, run_id)
        orders = await resting_orders(session, traders[0][0], users)
        placing = [(headers, order) for (headers, _), order in zip(traders, orders, strict=True)]
        keys = [(key, order) for (_, key), order in zip(traders, orders, strict=True)]
        # warm-up: one order per trader (token, ledger, order stream), not measured
        await platform_orders(session, placing, 1)
        await settled(session)
        platform_pid, simulator_pid = child_pid(b"run"), child_pid(b"simulator")
        metrics_before = await scrape(session)
        cpu_before = [
            cpu_seconds(pid) if pid else float("nan") for pid in (platform_pid, simulator_pid)
        ]
        latencies, wall, failures = await platform_orders(session, placing, each)
        cpu_used = [
            (cpu_seconds(pid) if pid else float("nan")) - before
            for pid, before in zip((platform_pid, simulator_pid), cpu_before, strict=True)
        ]
        metrics_after = await scrape(session)
    # a new session: the load's pooled connections may have been closed as idle by now
    async with aiohttp.ClientSession(base, timeout=timeout) as session:
        single, _, _ = await platform_orders(session, placing[:1], SINGLE)
    p50 = percentile(latencies, 50)
    report(f"order_submit_p50_ms_{suffix}", p50, "ms")
    report(f"order_submit_p99_ms_{suffix}", percentile(latencies, 99), "ms")
    report(f"orders_per_s_{suffix}", len(latencies) / wall, "orders/s")
    report(f"order_submit_failures_{suffix}", failures, "")
    # CPU per order varies less than latency on a shared machine: compare sittings by it
    for process, seconds in zip(("platform", "simulator"), cpu_used, strict=True):
        report(f"{process}_cpu_per_order_ms_{suffix}", seconds * 1000 / len(latencies), "ms")
    report_stages(metrics_before, metrics_after, suffix)

    direct, direct_wall = await direct_orders(sim_url, keys, each)
    direct_p50 = percentile(direct, 50)
    report(f"direct_kiwoom_p50_ms_{suffix}", direct_p50, "ms")
    report(f"direct_kiwoom_orders_per_s_{suffix}", len(direct) / direct_wall, "orders/s")
    report(f"platform_overhead_p50_ms_{suffix}", p50 - direct_p50, "ms")
    report(f"platform_overhead_ratio_{suffix}", p50 / direct_p50, "x")

    # one user, one order at a time: the overhead without queueing
    direct_single, _ = await direct_orders(sim_url, keys[:1], SINGLE)
    single_p50, direct_single_p50 = percentile(single, 50), percentile(direct_single, 50)
    report(f"single_user_order_submit_p50_ms_{suffix}", single_p50, "ms")
    report(f"single_user_direct_kiwoom_p50_ms_{suffix}", direct_single_p50, "ms")
    report(f"single_user_platform_overhead_p50_ms_{suffix}", single_p50 - direct_single_p50, "ms")


def run_on(database_url: str | None, suffix: str, users: int, each: int) -> None:
    report(f"machine_loop_ms_{suffix}", python_loop_ms(), "ms")
    config = {"clock": "fixed", "start": SESSION_START, "rate_limit": {"per_second": 100000}}
    with (
        tempfile.TemporaryDirectory() as folder,
        simulator_process(config) as sim_url,
        platform_process(
            Path(folder),
            platform_env(database_url, sim_url),
            log_path=Path(folder) / "platform.log",
        ) as base,
    ):
        asyncio.run(measure(base, sim_url, users, each, suffix))


async def _pg(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A throw-away database's URL (dropped afterwards), or None if unreachable."""
    name = f"qtp_bench_{secrets.token_hex(5)}"
    try:
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"note: PostgreSQL at {PG_ADMIN_DSN} not reachable ({exc!r}): skipped")
        yield None
        return
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 orders per user (default 40)")
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args()
    each = 8 if args.quick else 40
    run_on(None, "sqlite", args.users, each)
    with postgres_database() as url:
        if url is not None:
            run_on(url, "postgresql", args.users, each)


if __name__ == "__main__":
    main()
