"""Horizontal scale-out: the same load on 1 and on 3 platform instances, one run.

Topology (all on loopback, started and stopped by this bench):

- one simulator (``quantum simulator``: real clock from 2026-11-24 09:30 KST,
  0.1 s market steps, no rate limit);
- one broker adapter (``quantum adapter``, ``KIWOOM_REST_URL`` / ``KIWOOM_WS_URL``
  pointed at the simulator; every call carries the user's own app key in the
  ``X-Kiwoom-*`` headers the platform sends);
- a throw-away PostgreSQL database on 127.0.0.1:5432 (``QTP_BENCH_PG_DSN``) and
  a Redis database (``QTP_BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/5``,
  emptied before and after; no other Redis database is touched);
- N platform instances (``quantum run``) sharing DATABASE_URL, REDIS_URL,
  KIWOOM_ADAPTER_URL, QTP_SIMULATOR_URL, the JWT secret and the encryption keys;
  the first one is started (and migrates the database) before the others.

Phase 1 runs with N=1, phase 2 with N=3, on the same simulator, adapter and
database (users, accounts and app keys are created once, through the admin API
of the first instance, with :func:`bench.orders.setup_users`). Each phase,
after a warm-up order per user:

- orders: 100 users (its own SIMULATOR account and app key each) spread
  round-robin over the instances, each placing limit BUYs at the lower limit
  (they rest) every 250 ms (:func:`bench.orders.platform_orders`: under Kiwoom's
  5/s per app key) for a fixed time: ``orders_per_s_*`` accepted (201) orders
  per second over the wall time until the last answer, ``order_submit_p50_ms_*`` / ``_p99_ms_*``;
- fan-out: K WebSocket clients (``picows``, in ``--client-procs`` processes)
  spread round-robin over the instances and the users (``AUTH`` with the user's
  access token, ``SUBSCRIBE`` to a few of the first ``--codes`` listed stocks):
  ``fanout_msgs_per_s_*`` TICK messages received per second over the window;
  ``fanout_clients_closed_*``: clients closed during the window. (Latency is
  ``bench.fanout``'s subject; a TICK's ``time`` has whole seconds only.)

``*_scaling_ratio``: the 3-instance figure over the 1-instance one. CPU figures
(% of one core over the measurement window, per process role) show where the
machine's cores went. Instance and adapter logs stay under
``/tmp/qtp-scaleout-<id>/``; lines at ERROR level or above are counted in a
``#`` line at the end.

    python -m bench.scaleout [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench._harness import (
    children,
    client_window,
    cpu_seconds,
    platform_process,
    quantum_process,
    report,
    simulator_process,
)
from bench.orders import (
    INTERVAL,
    Order,
    percentile,
    platform_env,
    platform_orders,
    postgres_database,
    resting_orders,
    settled,
    setup_users,
)

SIMULATOR = {
    "clock": "real",
    "start": "2026-11-24T09:30:00+09:00",
    "step_seconds": 0.1,
    "rate_limit": {"enabled": False},
}
REDIS_URL = os.environ.get("QTP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
TOPOLOGIES = (1, 3)
TICK_PREFIX = b'{"type":"TICK"'


def suffix(instances: int) -> str:
    return f"{instances}_instance" if instances == 1 else f"{instances}_instances"


# ----------------------------------------------------------------- processes


@contextlib.contextmanager
def adapter_process(sim_url: str, log_path: Path) -> Iterator[tuple[str, int]]:
    """``quantum adapter`` pointed at the simulator, its rate budgets in Redis like the
    instances'; yields (base URL, pid)."""
    env = {
        "KIWOOM_REST_URL": sim_url,
        "KIWOOM_WS_URL": sim_url.replace("http://", "ws://") + "/api/dostk/websocket",
        "REDIS_URL": REDIS_URL,
    }
    with quantum_process(["adapter"], env, log_path=log_path, ready_timeout=60) as (base, process):
        yield base, process.pid


def redis_ready(url: str) -> bool:
    """Whether Redis answers at ``url``; empties that one database (only it)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        client.ping()
        client.flushdb()
    except Exception as exc:
        print(f"note: Redis at {url} not reachable ({exc!r}): skipped")
        return False
    finally:
        client.close()
    return True


def redis_clear(url: str) -> None:
    import redis

    with contextlib.suppress(Exception):
        client = redis.Redis.from_url(url, socket_timeout=3)
        client.flushdb()
        client.close()


class CpuMeter:
    """CPU seconds per role (adapter, platform, simulator) between two readings."""

    def __init__(self, adapter_pid: int) -> None:
        roles: dict[str, list[int]] = {"adapter": [adapter_pid], "platform": [], "simulator": []}
        for pid, command in children().items():
            parts = command.split(b"\0")
            if b"simulator" in parts:
                roles["simulator"].append(pid)
            elif b"run" in parts:
                roles["platform"].append(pid)
        self.roles = roles
        self._start = self._read()
        self._at = time.monotonic()

    def _read(self) -> dict[str, float]:
        return {role: sum(cpu_seconds(p) for p in pids) for role, pids in self.roles.items()}

    def percent(self) -> dict[str, float]:
        elapsed = time.monotonic() - self._at
        now = self._read()
        return {role: 100 * (now[role] - self._start[role]) / elapsed for role in now}


def report_cpu(prefix: str, cpu: dict[str, float], tail: str) -> None:
    for role, pct in cpu.items():
        report(f"{prefix}_{role}_cpu_pct_{tail}", pct, "%")


# ----------------------------------------------------------------- orders


async def orders_phase(
    bases: list[str],
    traders: list[tuple[dict[str, str], Order]],
    seconds: float,
    adapter_pid: int,
) -> dict[str, Any]:
    """Users round-robin over ``bases``, all placing resting orders for ``seconds``
    (4/s each offered; orders started by then are waited for)."""
    each = int(seconds / INTERVAL) + 1
    count = len(bases)
    groups = [traders[k::count] for k in range(count)]
    timeout = aiohttp.ClientTimeout(total=120)
    async with contextlib.AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(
                aiohttp.ClientSession(
                    base,
                    connector=aiohttp.TCPConnector(limit=2 * len(group) + 2),
                    timeout=timeout,
                )
            )
            for base, group in zip(bases, groups, strict=True)
        ]
        pairs = list(zip(sessions, groups, strict=True))
        # warm-up: one order per user on its instance (token, ledger, order stream); as
        # in bench.orders, measured orders do not queue behind the streams' snapshots
        await asyncio.gather(*(platform_orders(s, g, 1) for s, g in pairs))
        await asyncio.gather(*(settled(s) for s in sessions))
        meter = CpuMeter(adapter_pid)
        started = time.perf_counter()
        results = await asyncio.gather(
            *(platform_orders(s, g, each, duration=seconds) for s, g in pairs)
        )
        wall = time.perf_counter() - started
        cpu = meter.percent()
    latencies = [ms for seen, _, _ in results for ms in seen]
    failures = sum(f for _, _, f in results)
    return {
        "per_s": (len(latencies) - failures) / wall,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "failures": failures,
        "cpu": cpu,
    }


# ----------------------------------------------------------------- fan-out clients


@dataclass
class Totals:
    received: int = 0
    subscribed: int = 0
    failed: int = 0
    closed_in_window: int = 0
    errors: dict[str, int] = field(default_factory=dict)


async def platform_client(
    url: str, token: str, codes: list[str], user: int, totals: Totals, window: list[float]
) -> None:
    """One ``/ws/realtime`` client: AUTH, SUBSCRIBE, then count TICKs in ``window``
    (a byte-prefix test per frame: the load generator has to stay cheap)."""
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    text, close = WSMsgType.TEXT, WSMsgType.CLOSE
    auth = orjson.dumps({"type": "AUTH", "token": token})
    subscribe = orjson.dumps({"type": "SUBSCRIBE", "stockCodes": codes})
    state = {"subscribed": False}

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_connected(self, transport: WSTransport) -> None:
            transport.send(text, auth)

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            kind = frame.msg_type
            if kind == close:
                transport.disconnect()
                return
            if kind != text:
                return
            payload = frame.get_payload_as_bytes()
            if payload.startswith(TICK_PREFIX):
                now = time.time()
                if not window[0] <= now <= window[1]:
                    return
                totals.received += 1
                return
            message = orjson.loads(payload)
            kind_name = message.get("type")
            if kind_name == "AUTH_OK":
                transport.send(text, subscribe)
            elif kind_name == "SUBSCRIBED" and not state["subscribed"]:
                state["subscribed"] = True
                totals.subscribed += 1
            elif kind_name == "ERROR":
                code = str(message.get("code"))
                totals.errors[code] = totals.errors.get(code, 0) + 1

    transport = None
    try:
        transport, _ = await ws_connect(
            Listener, url, websocket_handshake_timeout=60, max_frame_size=2**22
        )
        await transport.wait_disconnected()
    except asyncio.CancelledError:
        raise
    except Exception:
        pass
    finally:
        if transport is not None:
            transport.disconnect()
        if not state["subscribed"]:
            totals.failed += 1
        elif window[0] <= time.time() <= window[1]:
            totals.closed_in_window += 1


async def client_worker() -> None:
    """A client process: spec on stdin, ``ready``, the window on stdin, JSON result."""
    spec = json.loads(await asyncio.to_thread(sys.stdin.readline))
    totals = Totals()
    window = [float("inf"), float("inf")]
    tasks = []
    for url, token, codes, user in spec["clients"]:
        tasks.append(asyncio.create_task(platform_client(url, token, codes, user, totals, window)))
        await asyncio.sleep(0.005)  # do not flood the instances' accept queues
    cpu = await client_window(
        tasks,
        window,
        settled=lambda: totals.subscribed + totals.failed >= len(tasks),
        ready_line=lambda: f"ready {totals.subscribed} {json.dumps(totals.errors)}",
        linger=0.2,
    )
    result = {
        "received": totals.received,
        "closed": totals.closed_in_window,
        "errors": totals.errors,
        "cpu": cpu,
    }
    print(json.dumps(result), flush=True)


async def fanout_phase(
    bases: list[str],
    tokens: list[str],
    subscriptions: list[list[str]],
    adapter_pid: int,
    procs: int,
    seconds: float,
) -> dict[str, Any]:
    count = len(bases)
    urls = [base.replace("http://", "ws://") + "/ws/realtime" for base in bases]
    users = len(tokens)
    clients = [
        (urls[i % count], tokens[i % users], codes, i % users)
        for i, codes in enumerate(subscriptions)
    ]
    workers = []
    try:
        for index in range(procs):
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.scaleout",
                "--client-worker",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            workers.append(worker)
            assert worker.stdin is not None
            spec = {"clients": clients[index::procs]}
            worker.stdin.write(json.dumps(spec).encode() + b"\n")
            await worker.stdin.drain()
        subscribed = 0
        errors: dict[str, int] = {}
        for worker in workers:
            assert worker.stdout is not None
            line = (await worker.stdout.readline()).decode().split(" ", 2)
            if not line or line[0] != "ready":
                raise RuntimeError("a client worker failed to start")
            subscribed += int(line[1])
            for code, n in json.loads(line[2]).items():
                errors[code] = errors.get(code, 0) + n
        if subscribed < len(clients) or errors:
            print(f"# {subscribed} of {len(clients)} clients subscribed; errors: {errors}")
        start = time.time() + 3.0  # first ticks through, queues settled
        end = start + seconds
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(f"{start} {end}\n".encode())
            await worker.stdin.drain()
        await asyncio.sleep(max(0.0, start - time.time()))
        meter = CpuMeter(adapter_pid)
        await asyncio.sleep(max(0.0, end - time.time()))
        cpu = meter.percent()
        results = []
        for worker in workers:
            assert worker.stdout is not None
            out = await asyncio.wait_for(worker.stdout.read(), 120)
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
            await worker.wait()
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    cpu["client"] = 100 * sum(r["cpu"] for r in results) / seconds
    return {
        "msgs_per_s": sum(r["received"] for r in results) / seconds,
        "closed": sum(r["closed"] for r in results),
        "subscribed": subscribed,
        "cpu": cpu,
    }


# ----------------------------------------------------------------- phases


@dataclass
class Load:
    users: int
    order_seconds: float
    clients: int
    per_client: int
    codes: int
    seconds: float
    procs: int


@dataclass
class Shared:
    """What both phases share: processes' addresses, the users, the environment."""

    sim_url: str
    adapter_base: str
    adapter_pid: int
    env: dict[str, str]
    logs: Path
    headers: list[dict[str, str]] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


async def create_users(base: str, shared: Shared, load: Load) -> None:
    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=load.users * 2)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
        traders = await setup_users(session, load.users, secrets.token_hex(3))
        shared.headers = [h for h, _ in traders]
        shared.orders = await resting_orders(session, shared.headers[0], load.users)


def run_phase(
    instances: int, shared: Shared, load: Load, subscriptions: list[list[str]]
) -> dict[str, Any]:
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        bases = []
        for index in range(instances):
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            log_path = shared.logs / f"{suffix(instances)}-{index}.log"
            bases.append(
                stack.enter_context(platform_process(data_dir, shared.env, log_path=log_path))
            )
        started = time.monotonic()
        if not shared.headers:
            asyncio.run(create_users(bases[0], shared, load))
        created = time.monotonic()

        async def measure() -> dict[str, Any]:
            orders_began = time.monotonic()
            traders = list(zip(shared.headers, shared.orders, strict=True))
            orders = await orders_phase(bases, traders, load.order_seconds, shared.adapter_pid)
            orders["elapsed"] = time.monotonic() - orders_began
            tokens = [h["Authorization"].removeprefix("Bearer ") for h in shared.headers]
            fanout = await fanout_phase(
                bases,
                tokens,
                subscriptions,
                shared.adapter_pid,
                load.procs,
                load.seconds,
            )
            return {"orders": orders, "fanout": fanout}

        result = asyncio.run(measure())
        print(
            f"# {suffix(instances)}: started in {started - began:.0f} s, users created in"
            f" {created - started:.0f} s, orders phase {result['orders']['elapsed']:.0f} s,"
            f" fan-out phase {time.monotonic() - created - result['orders']['elapsed']:.0f} s",
            flush=True,
        )
    return result


def scan_logs(folder: Path) -> None:
    for path in sorted(folder.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        bad = [ln for ln in lines if " ERROR " in ln or " CRITICAL " in ln or "Traceback" in ln]
        print(f"# log {path}: {len(lines)} lines, {len(bad)} at ERROR or tracebacks")


def encryption_key() -> str:
    return "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()


def run(load: Load) -> None:
    from quantum.simulator.listings import load_listings

    if not redis_ready(REDIS_URL):
        return
    pool = list(load_listings())[: load.codes]
    rng = random.Random(7)
    subscriptions = [rng.sample(pool, load.per_client) for _ in range(load.clients)]
    logs = Path(f"/tmp/qtp-scaleout-{secrets.token_hex(3)}")
    logs.mkdir(parents=True)
    print(
        f"# load: orders {load.users} users at 4/s for {load.order_seconds:.0f} s; fan-out {load.clients} clients"
        f" x {load.per_client} of {load.codes} stocks, {load.seconds:.0f} s window; logs {logs}",
        flush=True,
    )
    results: dict[int, dict[str, Any]] = {}
    try:
        with postgres_database() as database_url:
            if database_url is None:
                return
            with (
                simulator_process(SIMULATOR) as sim_url,
                adapter_process(sim_url, logs / "adapter.log") as (adapter_base, adapter_pid),
            ):
                env = {
                    **platform_env(database_url, sim_url),
                    "REDIS_URL": REDIS_URL,
                    "KIWOOM_ADAPTER_URL": adapter_base,
                    "QTP_JWT_SECRET": secrets.token_urlsafe(48),
                    "QTP_ENCRYPTION_KEYS": encryption_key(),
                    "QTP_ACCESS_TOKEN_MINUTES": "240",
                }
                shared = Shared(sim_url, adapter_base, adapter_pid, env, logs)
                for instances in TOPOLOGIES:
                    results[instances] = run_phase(instances, shared, load, subscriptions)
    finally:
        redis_clear(REDIS_URL)
    figures(results)
    scan_logs(logs)


def figures(results: dict[int, dict[str, Any]]) -> None:
    one, three = results[1], results[3]
    for kind, unit in (("fanout", "msgs"), ("orders", "orders")):
        name = "fanout_msgs_per_s" if kind == "fanout" else "orders_per_s"
        key = "msgs_per_s" if kind == "fanout" else "per_s"
        for instances, result in results.items():
            report(f"{name}_{suffix(instances)}", result[kind][key], f"{unit}/s")
        report(f"{kind}_scaling_ratio", three[kind][key] / one[kind][key], "x")
    for instances, result in results.items():
        tail = suffix(instances)
        orders, fanout = result["orders"], result["fanout"]
        report(f"order_submit_p50_ms_{tail}", orders["p50"], "ms")
        report(f"order_submit_p99_ms_{tail}", orders["p99"], "ms")
        report(f"order_submit_failures_{tail}", orders["failures"], "")
        report(f"fanout_clients_subscribed_{tail}", fanout["subscribed"], "clients")
        report(f"fanout_clients_closed_{tail}", fanout["closed"], "clients")
        report_cpu("orders", orders["cpu"], tail)
        report_cpu("fanout", fanout["cpu"], tail)


def main() -> None:
    if sys.argv[1:] == ["--client-worker"]:
        import uvloop  # the clients are load, not the system under test: the cheapest loop

        uvloop.run(client_worker())
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short phases (~3 min in all)")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--clients", type=int, default=None, help="default 200 (quick), 500")
    parser.add_argument("--per-client", type=int, default=5, help="stocks per client")
    parser.add_argument("--codes", type=int, default=20, help="of the first N listed stocks")
    parser.add_argument("--seconds", type=float, default=None, help="fan-out window")
    parser.add_argument("--client-procs", type=int, default=1)
    args = parser.parse_args()
    load = Load(
        users=args.users,
        order_seconds=6.0 if args.quick else 20.0,
        clients=args.clients or (200 if args.quick else 500),
        per_client=args.per_client,
        codes=args.codes,
        seconds=args.seconds or (10.0 if args.quick else 30.0),
        procs=args.client_procs,
    )
    run(load)


if __name__ == "__main__":
    main()
