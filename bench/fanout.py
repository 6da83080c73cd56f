"""Realtime fan-out: simulator → adapter hub → many WebSocket clients.

Run: ``python -m bench.fanout [--quick]``. A simulator subprocess (real clock,
0.1 s market steps, no rate limit) feeds an adapter subprocess (the realtime
router and hub on uvicorn, one upstream socket); N clients in this process
each subscribe to K of the first 100 listed stocks.

Prints:
- fanout_msgs_per_s: TICK messages received by all clients per second;
- fanout_p50_ms / fanout_p99_ms: from the tick's creation in the hub (a
  wall-clock stamp the bench adds to each TICK frame, bench only) to its
  receipt by a client (same machine, same clock);
- fanout_dropped: ticks clients never saw (per-code seq gaps, e.g. from
  conflation) plus clients disconnected as slow consumers;
- adapter_rss_mib: the adapter process's resident memory at the end;
- fanout_nodeflate_*: the same with clients that do not negotiate
  permessage-deflate (websockets clients do by default; compressing every
  frame costs the adapter about a third of its CPU).

The adapter is one asyncio process: once its CPU is saturated the backlog
grows in the per-client queues (latency rises) until conflation starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from bench._harness import free_port, report, simulator_process

SIMULATOR = {
    "clock": "real",
    "start": "2026-11-24T09:00:00+09:00",
    "step_seconds": 0.1,
    "rate_limit": {"enabled": False},
}
SESSION_DAY = date(2026, 11, 24)
APP_KEY = "PSbenchFANOUTkey000000000000000000"
APP_SECRET = "SEbenchFANOUTsecret0000000000000000"


# --------------------------------------------------------------------------- adapter process


def serve_adapter(sim_base: str, port: int) -> None:
    """The adapter side (run in its own process): router + hub, TICK frames stamped."""
    import uvicorn
    from fastapi import FastAPI

    from quantum.adapter.realtime import FeedSource, RealtimeHub, client_source
    from quantum.adapter.realtime import upstream as upstream_module
    from quantum.adapter.realtime.router import router
    from quantum.adapter.schema import RealtimeMessage, TickMessage
    from quantum.kiwoom.client import KiwoomClient
    from quantum.kiwoom.settings import KiwoomSettings

    router_module = sys.modules["quantum.adapter.realtime.router"]
    created: dict[tuple[str, int], float] = {}
    original_tick = upstream_module.tick_from_trade
    original_encode = router_module.encode

    def stamped_tick(trade: Any, seq: int) -> TickMessage:
        message = original_tick(trade, seq)
        created[(message.stock_code, seq)] = time.time()
        if len(created) > 200_000:
            for key in list(created)[:100_000]:
                del created[key]
        return message

    def stamped_encode(message: RealtimeMessage) -> str:
        if not isinstance(message, TickMessage):
            return str(original_encode(message))
        hit = router_module._encoded.get(id(message))
        if hit is not None and hit[0] is message:
            return str(hit[1])
        text = str(original_encode(message))
        stamp = created.get((message.stock_code, message.seq))
        if stamp is not None:
            text = text[:-1] + f',"hub_ts":{stamp:.6f}}}'
        router_module._encoded[id(message)] = (message, text)
        return text

    upstream_module.tick_from_trade = stamped_tick  # type: ignore[assignment]
    router_module.encode = stamped_encode  # type: ignore[attr-defined]

    settings = KiwoomSettings.for_url(sim_base, APP_KEY, APP_SECRET, rate_limit_enabled=False)
    client = KiwoomClient.from_settings(settings)

    async def source_for(credentials: Any) -> FeedSource:
        return client_source(
            client,
            fingerprint=settings.key_fingerprint,
            ws_url=settings.ws_url,
            session_date=SESSION_DAY,
        )

    hub = RealtimeHub(source_for)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.aclose()
        await client.aclose()

    app = FastAPI(lifespan=lifespan)
    app.state.realtime_hub = hub
    app.include_router(router)

    @app.get("/bench/stats")
    async def stats() -> dict[str, Any]:
        subscribers = [s.subscriber for s in hub._subscriptions]
        return {
            "health": hub.health(),
            "conflated": sum(s.conflated for s in subscribers),
            "conflation_episodes": sum(s.conflation_episodes for s in subscribers),
            "disconnected": sum(1 for s in subscribers if s.close_code is not None),
        }

    ws_impl = os.environ.get("BENCH_WS_IMPL", "websockets-sansio")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws=ws_impl)  # type: ignore[arg-type]


@contextlib.contextmanager
def adapter_process(sim_base: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [sys.executable, "-m", "bench.fanout", "--serve-adapter", sim_base, str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"adapter exited early:\n{error}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/bench/stats", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("adapter did not start")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------- clients


class Totals:
    def __init__(self) -> None:
        self.received = 0
        self.latencies: list[float] = []
        self.gaps = 0
        self.disconnected = 0
        self.measuring = False


async def client(
    url: str, codes: list[str], totals: Totals, stop: asyncio.Event, deflate: bool
) -> None:
    last: dict[str, int] = {}
    options: dict[str, Any] = {} if deflate else {"compression": None}
    async with connect(url, max_size=2**22, **options) as ws:
        await ws.send(orjson.dumps({"type": "SUBSCRIBE", "stock_codes": codes}).decode())
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            except Exception:
                totals.disconnected += 1
                return
            received_at = time.time()
            message = orjson.loads(raw)
            if message.get("type") == "ERROR" and message.get("code") == "slow_consumer":
                totals.disconnected += 1
                return
            if message.get("type") != "TICK":
                continue
            code, seq = message["stock_code"], message["seq"]
            previous = last.get(code)
            last[code] = seq
            if not totals.measuring:
                continue
            if previous is not None and seq > previous + 1:
                totals.gaps += seq - previous - 1
            totals.received += 1
            stamp = message.get("hub_ts")
            if stamp is not None:
                totals.latencies.append((received_at - stamp) * 1000)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(
    adapter_base: str,
    codes: list[str],
    clients: int,
    per_client: int,
    seconds: float,
    deflate: bool,
) -> tuple[Totals, float, dict[str, Any]]:
    url = adapter_base.replace("http://", "ws://") + "/ws/realtime"
    rng = random.Random(7)
    totals = Totals()
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(client(url, rng.sample(codes, per_client), totals, stop, deflate))
        for _ in range(clients)
    ]
    await asyncio.sleep(3.0)  # connect, subscribe, first ticks
    totals.measuring = True
    started = time.monotonic()
    await asyncio.sleep(seconds)
    totals.measuring = False
    elapsed = time.monotonic() - started
    async with httpx.AsyncClient() as http:
        stats: dict[str, Any] = (await http.get(f"{adapter_base}/bench/stats")).json()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return totals, elapsed, stats


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-adapter":
        logging.basicConfig(level=logging.ERROR)
        profile_to = os.environ.get("BENCH_PROFILE")
        if profile_to:
            import cProfile
            import signal

            profiler = cProfile.Profile()

            def dump(*_: Any) -> None:
                profiler.disable()
                profiler.dump_stats(profile_to)
                raise SystemExit(0)

            signal.signal(signal.SIGTERM, dump)
            profiler.enable()
        serve_adapter(sys.argv[2], int(sys.argv[3]))
        return
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    clients = args.clients or (200 if args.quick else 500)
    seconds = args.seconds or (10.0 if args.quick else 30.0)

    from quantum.simulator.listings import load_listings

    codes = list(load_listings())[:100]
    for deflate, prefix in ((True, "fanout"), (False, "fanout_nodeflate")):
        with simulator_process(SIMULATOR) as sim_base, adapter_process(sim_base) as (base, pid):
            totals, elapsed, stats = asyncio.run(
                run(base, codes, clients, args.per_client, seconds, deflate)
            )
            memory = rss_mib(pid)
        if deflate:
            report("fanout_clients", clients, "clients")
        report(f"{prefix}_msgs_per_s", totals.received / elapsed, "msgs/s")
        report(f"{prefix}_p50_ms", percentile(totals.latencies, 0.50), "ms")
        report(f"{prefix}_p99_ms", percentile(totals.latencies, 0.99), "ms")
        report(f"{prefix}_dropped", totals.gaps + totals.disconnected, "msgs")
        report(f"{prefix}_conflated_in_hub", int(stats["conflated"]), "msgs")
        report(f"{prefix}_slow_consumer_disconnects", int(stats["disconnected"]), "clients")
        if deflate:
            report("adapter_rss_mib", memory, "MiB")
        if os.environ.get("BENCH_VERBOSE"):
            print(stats["health"])


if __name__ == "__main__":
    main()
