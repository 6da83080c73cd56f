"""The floor under ``bench.orders``: the least any platform with the same two
guarantees could add to a Kiwoom order call on this machine, under the same load.

A bare ASGI app on the platform's server stack (uvicorn, uvloop, httptools) takes
``bench.orders``' 100 traders' submits and does only what those guarantees need:
parse the body, write the intent (durably, before Kiwoom hears of the order), call
Kiwoom with the platform's own client, write the answer (relaxed on PostgreSQL, as
the platform does), reply. No sign-in, checks, metrics or order stream. Its
overhead over the direct call (measured in the same run, as ``bench.orders``
does) is what the guarantees and the HTTP hop cost; what the platform adds above
it is its own work.

``--burn-us N`` adds N microseconds of CPU per submit on the request path (in three
parts: before the intent, before the broker call, before the reply): how the
overhead grows with the CPU a submit costs, on a machine whose two cores the
platform shares with the simulator, the database and the clients.

    python -m bench.submit_floor [--quick] [--burn-us N] [--only none|sqlite|postgresql]

Not a product: a measuring instrument for the submit path (see docs/platform.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import uvicorn

from bench._harness import (
    cpu_seconds,
    free_port,
    python_loop_ms,
    report,
    simulator_process,
    wait_healthy,
)
from bench.orders import (
    SECRET,
    SESSION_START,
    STOCKS,
    direct_orders,
    percentile,
    platform_orders,
    postgres_database,
)
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.orders import OrderType
from quantum.kiwoom.settings import KiwoomSettings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

KINDS = ("none", "sqlite", "postgresql")
"""Where the two writes go: nowhere (the hop and the call only), a SQLite file
(WAL, synchronous=NORMAL, on the loop's thread, as the platform), PostgreSQL."""
PG_CONNECTIONS = 10
TABLE = "floor_orders (id {key}, app_key text, body text, state text, order_no text)"
INTENT_PG = (
    "INSERT INTO floor_orders (app_key, body, state) VALUES ($1, $2, 'SUBMITTED') RETURNING id"
)
ANSWER_PG = (
    "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)) "
    "UPDATE floor_orders SET state = 'ACCEPTED', order_no = $2 FROM relaxed WHERE id = $1"
)


class FloorApp:
    """The submit path stripped to the two writes and the broker call."""

    def __init__(self, kind: str, sim_url: str, dsn: str, sqlite_path: str, burn_us: float):
        self._kind = kind
        self._sim_url = sim_url
        self._dsn = dsn
        self._sqlite_path = sqlite_path
        self._burn = burn_us / 1e6 / 3
        self._clients: dict[str, KiwoomClient] = {}
        self._connections: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
        self._sqlite: sqlite3.Connection | None = None
        self._writes: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await self._open()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["method"] == "GET":  # readiness, and the writes' p50 of the last window
            writes = sorted(self._writes)
            self._writes.clear()
            p50 = writes[len(writes) // 2] if writes else 0.0
            await _reply(send, 200, {"writeP50Ms": p50})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        app_key = dict(scope["headers"])[b"x-app-key"].decode()
        order = orjson.loads(body)
        self._spend()
        order_id = await self._write_intent(app_key, body.decode())
        self._spend()
        ack = await self._client(app_key).buy(
            order["stockCode"], 1, OrderType.LIMIT, order["price"]
        )
        await self._write_answer(order_id, ack.order_no)
        self._spend()
        await _reply(send, 201, {"orderId": order_id, "brokerOrderNo": ack.order_no})

    async def _open(self) -> None:
        if self._kind == "postgresql":
            for _ in range(PG_CONNECTIONS):
                self._connections.put_nowait(await asyncpg.connect(self._dsn))
            await self._pg(
                "CREATE TABLE IF NOT EXISTS " + TABLE.format(key="bigserial PRIMARY KEY")
            )
        elif self._kind == "sqlite":
            self._sqlite = sqlite3.connect(self._sqlite_path, isolation_level=None)
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._sqlite.execute("PRAGMA synchronous=NORMAL")
            self._sqlite.execute(
                "CREATE TABLE IF NOT EXISTS " + TABLE.format(key="INTEGER PRIMARY KEY")
            )

    def _spend(self) -> None:
        """The CPU ``--burn-us`` stands for (a third of it)."""
        until = time.perf_counter() + self._burn
        while time.perf_counter() < until:
            pass

    def _client(self, app_key: str) -> KiwoomClient:
        client = self._clients.get(app_key)
        if client is None:
            settings = KiwoomSettings.for_url(
                self._sim_url, app_key, SECRET, rate_limit_enabled=False
            )
            client = self._clients[app_key] = KiwoomClient.from_settings(settings)
        return client

    async def _pg(self, sql: str, *args: Any) -> Any:
        connection = await self._connections.get()
        try:
            return await connection.fetchval(sql, *args)
        finally:
            self._connections.put_nowait(connection)

    def _sqlite_commit(self, sql: str, *args: Any) -> int:
        assert self._sqlite is not None
        self._sqlite.execute("BEGIN")
        row_id = self._sqlite.execute(sql, args).lastrowid
        self._sqlite.execute("COMMIT")
        return row_id or 0

    async def _write_intent(self, app_key: str, body: str) -> int:
        started = time.perf_counter()
        order_id = 0
        if self._kind == "postgresql":
            order_id = await self._pg(INTENT_PG, app_key, body)
        elif self._kind == "sqlite":
            order_id = self._sqlite_commit(
                "INSERT INTO floor_orders (app_key, body, state) VALUES (?, ?, 'SUBMITTED')",
                app_key,
                body,
            )
        self._writes.append((time.perf_counter() - started) * 1000)
        return order_id

    async def _write_answer(self, order_id: int, order_no: str) -> None:
        started = time.perf_counter()
        if self._kind == "postgresql":
            await self._pg(ANSWER_PG, order_id, order_no)
        elif self._kind == "sqlite":
            self._sqlite_commit(
                "UPDATE floor_orders SET state = 'ACCEPTED', order_no = ? WHERE id = ?",
                order_no,
                order_id,
            )
        self._writes.append((time.perf_counter() - started) * 1000)


async def _reply(send: Send, status: int, body: dict[str, Any]) -> None:
    content = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def serve(kind: str, sim_url: str, dsn: str, sqlite_path: str, port: int, burn_us: float) -> None:
    app = FloorApp(kind, sim_url, dsn, sqlite_path, burn_us)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
    )


async def lower_limits(sim_url: str) -> dict[str, int]:
    settings = KiwoomSettings.for_url(sim_url, "floor-probe", SECRET, rate_limit_enabled=False)
    async with KiwoomClient.from_settings(settings) as client:
        return {code: (await client.stock_info(code)).lower_limit for code in STOCKS}


async def measure(base: str, sim_url: str, pid: int, users: int, each: int, kind: str) -> None:
    """``bench.orders``' load and baseline, against the floor."""
    run_id = secrets.token_hex(3)
    lower = await lower_limits(sim_url)
    keys = [
        (f"floor-{run_id}-{i:03d}", (code, lower[code]))
        for i, code in enumerate(STOCKS[i % len(STOCKS)] for i in range(users))
    ]
    placing = [({"X-App-Key": key}, order) for key, order in keys]
    connector = aiohttp.TCPConnector(limit=users * 2)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        await platform_orders(session, placing, 1)  # warm-up: tokens, connections
        async with session.get("/stats") as answer:
            await answer.read()
        cpu_before = cpu_seconds(pid)
        latencies, wall, failures = await platform_orders(session, placing, each)
        cpu = cpu_seconds(pid) - cpu_before
        async with session.get("/stats") as answer:
            write_p50 = float((await answer.json())["writeP50Ms"])
    direct, _ = await direct_orders(sim_url, keys, each)
    p50, direct_p50 = percentile(latencies, 50), percentile(direct, 50)
    report(f"floor_submit_p50_ms_{kind}", p50, "ms")
    report(f"floor_orders_per_s_{kind}", len(latencies) / wall, "orders/s")
    report(f"floor_failures_{kind}", failures, "")
    report(f"floor_cpu_per_order_ms_{kind}", cpu * 1000 / len(latencies), "ms")
    if kind != "none":
        report(f"floor_write_p50_ms_{kind}", write_p50, "ms")
    report(f"floor_direct_kiwoom_p50_ms_{kind}", direct_p50, "ms")
    report(f"floor_overhead_p50_ms_{kind}", p50 - direct_p50, "ms")


def run(kind: str, dsn: str, users: int, each: int, burn_us: float) -> None:
    report(f"machine_loop_ms_{kind}", python_loop_ms(), "ms")
    config = {"clock": "fixed", "start": SESSION_START, "rate_limit": {"per_second": 100000}}
    with tempfile.TemporaryDirectory() as folder, simulator_process(config) as sim_url:
        port = free_port()
        command = [sys.executable, "-m", "bench.submit_floor", "--serve", kind, sim_url, dsn]
        command += [str(Path(folder) / "floor.db"), str(port), str(burn_us)]
        process = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy("the floor server", f"{base}/stats", process, 30, lambda: "")
            asyncio.run(measure(base, sim_url, process.pid, users, each, kind))
        finally:
            process.terminate()
            process.wait(10)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        kind, sim_url, dsn, sqlite_path, port, burn_us = sys.argv[2:8]
        serve(kind, sim_url, dsn, sqlite_path, int(port), float(burn_us))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 orders per user (default 40)")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--burn-us", type=float, default=0.0, help="CPU per submit to add")
    parser.add_argument("--only", choices=KINDS, help="one kind of write only")
    args = parser.parse_args()
    each = 8 if args.quick else 40
    for kind in [args.only] if args.only else KINDS:
        if kind != "postgresql":
            run(kind, "", args.users, each, args.burn_us)
            continue
        with postgres_database() as url:
            if url is not None:
                run(kind, url, args.users, each, args.burn_us)


if __name__ == "__main__":
    main()
