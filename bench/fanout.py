"""Realtime fan-out: simulator → adapter hub → many WebSocket clients.

Run: ``python -m bench.fanout [--quick] [--compare]``. A simulator subprocess
(real clock, 0.1 s market steps, no rate limit: 100 stocks → ~1,000 trades/s)
feeds an adapter subprocess (the realtime router and hub on uvicorn with the
production WebSocket options of :data:`quantum.adapter.server.UVICORN_WS_OPTIONS`,
one upstream socket); N clients, spread over ``--client-procs`` client
processes (default 2: the machine has 2 cores shared by simulator, adapter
and clients), each subscribe to K of the first 100 listed stocks. Clients use
``picows`` (the cheapest client measured: the clients are the load, not the
system under test) unless ``--client websockets``.

Full run: 1,000 clients × 10 of 100 stocks, 30 s. ``--quick``: the same
1,000 × 10 load for 10 s. Clients use the batched frames (``?batch=1``)
unless ``--no-batch``; ``--compare`` adds a pass of the guide's one-object-per-
frame clients (``fanout_unbatched_*``).

Prints (``#`` lines describe the load):
- fanout_msgs_per_s: TICK messages received by all clients per second;
- fanout_p50_ms / fanout_p99_ms: from the tick's arrival in the adapter (a
  wall-clock stamp the bench adds to each TICK when the upstream frame is
  parsed, bench only) to its receipt by a client (same machine, same clock).
  Not from the simulator's trade time: Kiwoom (and the simulator) give trade
  times as HHMMSS, a 1 s resolution, useless for milliseconds; instead
- fanout_upstream_lag_max_s: adapter arrival − simulated trade time (as wall
  time: the simulator's clock offset is read from ``/_sim/state``), 1 s
  resolution: up to ~1.3 s means no backlog before the adapter (the simulator
  starts at 2026-11-24 09:00 KST so the session is open at any wall time);
- fanout_upstream_trades_per_s / fanout_offered_msgs_per_s: trades the adapter
  read, messages the hub queued for clients (all clients are ``SUBSCRIBED``
  before the window starts);
- fanout_dropped: ticks clients never saw (per-code seq gaps, e.g. from
  conflation) plus clients disconnected as slow consumers;
- adapter_rss_mib: the adapter process's resident memory at the end;
- adapter_cpu_pct / client_cpu_pct / simulator_cpu_pct: CPU (user + system)
  over the window, in % of one core (clients: all client processes).

Knobs for measuring alternatives: ``--ws`` (uvicorn ws backend), ``--deflate``
(server permessage-deflate on, clients offering it), ``--batch-delay``,
``--client``, ``--asgi-send`` (the router's ASGI ``send_text`` path instead of
its direct transport writes), ``--push-interval`` (the simulator's
``websocket.push_interval_seconds``). ``BENCH_TRACE=1`` also prints the
adapter's share of the latency (tick arrival → frame written),
``BENCH_PROFILE=file`` profiles the adapter. Figures: docs/adapter-contracts.md,
"Fan-out performance".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from bench._harness import (
    child_pid,
    client_window,
    cpu_seconds,
    free_port,
    report,
    simulator_process,
)

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
    from quantum.adapter.schema import TickMessage
    from quantum.kiwoom.client import KiwoomClient
    from quantum.kiwoom.settings import KiwoomSettings

    router_module = sys.modules["quantum.adapter.realtime.router"]
    original_tick = upstream_module.tick_from_trade
    encode = router_module.encode
    cache = router_module._encoded

    sim_offset = float(os.environ.get("BENCH_SIM_OFFSET", "0"))
    arrivals: list[tuple[float, float]] = []  # (adapter receipt, receipt - trade time) wall s

    def stamped_tick(trade: Any, seq: int) -> TickMessage:
        """The tick, with its encoding pre-cached as the router's plus ``hub_ts``."""
        message = original_tick(trade, seq)
        stamp = time.time()
        arrivals.append((stamp, stamp - (trade.time.timestamp() - sim_offset)))
        if len(arrivals) > 500_000:
            del arrivals[:250_000]
        text = encode(message)
        cache[id(message)] = (message, text[:-1] + f',"hub_ts":{stamp:.6f}}}')
        return message

    upstream_module.tick_from_trade = stamped_tick

    waits: list[tuple[float, float]] = []  # (frame written, ms since its first tick's hub_ts)
    if os.environ.get("BENCH_TRACE"):  # when each frame is written (bench only)
        from starlette.websockets import WebSocket

        def trace(data: str) -> None:
            at = data.find('"hub_ts":')
            if at >= 0:
                now = time.time()
                waits.append((now, 1000 * (now - float(data[at + 9 : data.index("}", at)]))))
                if len(waits) > 500_000:
                    del waits[:250_000]

        send_text = WebSocket.send_text
        direct_write = router_module._DirectWriter.write

        async def traced_send_text(self: WebSocket, data: str) -> None:
            await send_text(self, data)
            trace(data)

        def traced_write(self: Any, data: str) -> None:
            direct_write(self, data)
            trace(data)

        WebSocket.send_text = traced_send_text  # type: ignore[method-assign]
        router_module._DirectWriter.write = traced_write

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
    async def stats(start: float = 0.0, end: float = 0.0) -> dict[str, Any]:
        subscribers = [s.subscriber for s in hub._subscriptions]
        lags = sorted(lag for at, lag in arrivals if start <= at <= end)
        written = sorted(wait for at, wait in waits if start <= at <= end)
        return {
            "adapter_wait_p50_ms": written[len(written) // 2] if written else float("nan"),
            "adapter_wait_p99_ms": written[int(len(written) * 0.99)] if written else float("nan"),
            "offered": sum(s.offered for s in subscribers),
            "upstream_trades": len(lags),
            "upstream_lag_max_s": lags[-1] if lags else float("nan"),
            "health": hub.health(),
            "conflated": sum(s.conflated for s in subscribers),
            "conflation_episodes": sum(s.conflation_episodes for s in subscribers),
            "disconnected": sum(1 for s in subscribers if s.close_code is not None),
        }

    from quantum.adapter.server import UVICORN_WS_OPTIONS

    options = dict(UVICORN_WS_OPTIONS)
    if os.environ.get("BENCH_WS_IMPL"):
        options["ws"] = os.environ["BENCH_WS_IMPL"]
    if os.environ.get("BENCH_WS_DEFLATE"):
        options["ws_per_message_deflate"] = os.environ["BENCH_WS_DEFLATE"] == "1"
    if os.environ.get("BENCH_ASGI_SEND"):  # the router's ASGI ``send_text`` path only
        router_module._DirectWriter.of = classmethod(lambda cls, websocket: None)  # type: ignore[assignment]
    if os.environ.get("BENCH_BATCH_DELAY"):
        router_module.BATCH_MAX_DELAY = float(os.environ["BENCH_BATCH_DELAY"])  # type: ignore[attr-defined]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **options)


@contextlib.contextmanager
def adapter_process(sim_base: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [sys.executable, "-m", "bench.fanout", "--serve-adapter", sim_base, str(port)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **env}
    )
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


def sim_clock_offset(sim_base: str) -> float:
    """Simulated time minus wall time (s): the simulator's real clock runs from ``start``."""
    before = time.time()
    now = httpx.get(f"{sim_base}/_sim/state", timeout=10).json()["clock"]["now"]
    return datetime.fromisoformat(now).timestamp() - (before + time.time()) / 2


# --------------------------------------------------------------------------- clients


class Totals:
    def __init__(self) -> None:
        self.received = 0
        self.latencies: list[float] = []
        self.gaps = 0
        self.disconnected = 0
        self.connected = 0
        """Clients that got their ``SUBSCRIBED``."""


class Consumer:
    """One client's bookkeeping (either client library): counts TICKs received
    inside ``window`` = [start, end] (wall clock), per-code seq gaps, latency."""

    __slots__ = ("last", "subscribed", "totals", "window")

    def __init__(self, totals: Totals, window: list[float]) -> None:
        self.totals = totals
        self.window = window
        self.last: dict[str, int] = {}
        self.subscribed = False

    def handle(self, raw: str | bytes | memoryview, received_at: float) -> bool:
        """One text frame (a JSON object, or an array of them); False: stop reading."""
        totals = self.totals
        last = self.last
        body = orjson.loads(raw)
        messages = body if isinstance(body, list) else (body,)
        measuring = self.window[0] <= received_at <= self.window[1]
        for message in messages:
            kind = message.get("type")
            if kind != "TICK":
                if kind == "SUBSCRIBED" and not self.subscribed:
                    self.subscribed = True
                    totals.connected += 1
                if kind == "ERROR" and message.get("code") == "slow_consumer":
                    totals.disconnected += 1
                    return False
                continue
            code, seq = message["stock_code"], message["seq"]
            previous = last.get(code)
            last[code] = seq
            if not measuring:
                continue
            if previous is not None and seq > previous + 1:
                totals.gaps += seq - previous - 1
            totals.received += 1
            stamp = message.get("hub_ts")
            if stamp is not None:
                totals.latencies.append((received_at - stamp) * 1000)
        return True


async def client(
    url: str,
    codes: list[str],
    totals: Totals,
    window: list[float],
    deflate: bool,
) -> None:
    """One consumer on the ``websockets`` asyncio client."""
    consumer = Consumer(totals, window)
    options: dict[str, Any] = {} if deflate else {"compression": None}
    try:
        async with connect(url, max_size=2**22, open_timeout=60, **options) as ws:
            await ws.send(orjson.dumps({"type": "SUBSCRIBE", "stock_codes": codes}).decode())
            async for raw in ws:
                if not consumer.handle(raw, time.time()):
                    return
    except asyncio.CancelledError:
        raise
    except Exception:
        totals.disconnected += 1


async def picows_client(
    url: str,
    codes: list[str],
    totals: Totals,
    window: list[float],
    deflate: bool,
) -> None:
    """One consumer on ``picows`` (Cython framing, a callback per frame, no
    per-frame task or queue): the cheap client. No permessage-deflate."""
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    consumer = Consumer(totals, window)
    command = orjson.dumps({"type": "SUBSCRIBE", "stock_codes": codes})
    text_frame, close_frame = WSMsgType.TEXT, WSMsgType.CLOSE
    stopped = [False]  # the consumer counted its own end (slow_consumer)

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_connected(self, transport: WSTransport) -> None:
            transport.send(text_frame, command)

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            kind = frame.msg_type
            if kind == text_frame:
                if not consumer.handle(frame.get_payload_as_memoryview(), time.time()):
                    stopped[0] = True
                    transport.disconnect()
            elif kind == close_frame:
                transport.disconnect()

    transport = None
    try:
        transport, _ = await ws_connect(
            Listener, url, websocket_handshake_timeout=60, max_frame_size=2**22
        )
        await transport.wait_disconnected()
        if not stopped[0]:  # the server closed the connection
            totals.disconnected += 1
    except asyncio.CancelledError:
        raise
    except Exception:
        totals.disconnected += 1
    finally:
        if transport is not None:
            transport.disconnect()


CLIENTS = {"websockets": client, "picows": picows_client}


async def client_worker(spec: dict[str, Any]) -> None:
    """A client process: connect, say ``ready``, read the window from stdin, report JSON."""
    totals = Totals()
    window = [float("inf"), float("inf")]
    url = spec["url"]
    tasks = []
    for codes in spec["subscriptions"]:
        connect_one = CLIENTS[spec["client"]]
        tasks.append(asyncio.create_task(connect_one(url, codes, totals, window, spec["deflate"])))
        await asyncio.sleep(0.002)  # do not flood the adapter's accept queue
    cpu = await client_window(
        tasks,
        window,
        settled=lambda: totals.connected + totals.disconnected >= len(tasks),
        ready_line=lambda: f"ready {totals.connected}",
        linger=0.3,
    )
    result = {
        "received": totals.received,
        "gaps": totals.gaps,
        "disconnected": totals.disconnected,
        "latencies": totals.latencies,
        "cpu": cpu,
    }
    print(json.dumps(result), flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_pass(
    adapter_base: str,
    pid: int,
    subscriptions: list[list[str]],
    procs: int,
    seconds: float,
    deflate: bool,
    batch: bool,
    client_impl: str = "picows",
) -> dict[str, Any]:
    url = adapter_base.replace("http://", "ws://") + "/ws/realtime" + ("?batch=1" if batch else "")
    workers = []
    for index in range(procs):
        spec = {
            "url": url,
            "subscriptions": subscriptions[index::procs],
            "deflate": deflate,
            "client": client_impl,
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "bench.fanout", "--client-worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        workers.append(worker)
    try:
        subscribed = 0
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().split()
            if not line or line[0] != "ready":
                raise RuntimeError("a client worker failed to start")
            subscribed += int(line[1])
        if subscribed < len(subscriptions):
            print(f"# only {subscribed} of {len(subscriptions)} clients subscribed in 120 s")
        start = time.time() + 3.0  # first ticks, queues settled
        end = start + seconds
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(f"{start} {end}\n")
            worker.stdin.flush()
        sim = child_pid(b"simulator")
        time.sleep(max(0.0, start - time.time()))
        cpu_start = cpu_seconds(pid)
        offered_start = httpx.get(f"{adapter_base}/bench/stats", timeout=30).json()["offered"]
        sim_start = cpu_seconds(sim) if sim else float("nan")
        time.sleep(max(0.0, end - time.time()))
        adapter_cpu = cpu_seconds(pid) - cpu_start
        sim_cpu = cpu_seconds(sim) - sim_start if sim else float("nan")
        stats: dict[str, Any] = httpx.get(
            f"{adapter_base}/bench/stats", params={"start": start, "end": end}, timeout=30
        ).json()
        memory = rss_mib(pid)
        results = []
        for worker in workers:
            out, _ = worker.communicate(timeout=120)
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "upstream_trades_per_s": stats["upstream_trades"] / seconds,
        "upstream_lag_max_s": stats["upstream_lag_max_s"],
        "offered_msgs_per_s": (stats["offered"] - offered_start) / seconds,
        "msgs_per_s": sum(r["received"] for r in results) / seconds,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "dropped": sum(r["gaps"] + r["disconnected"] for r in results),
        "conflated_in_hub": int(stats["conflated"]),
        "slow_consumer_disconnects": int(stats["disconnected"]),
        "adapter_rss_mib": memory,
        "adapter_cpu_pct": 100 * adapter_cpu / seconds,
        "client_cpu_pct": 100 * sum(r["cpu"] for r in results) / seconds,
        "simulator_cpu_pct": 100 * sim_cpu / seconds,
        "stats": stats,
    }


UNITS = {
    "upstream_trades_per_s": "trades/s",
    "upstream_lag_max_s": "s",
    "offered_msgs_per_s": "msgs/s",
    "msgs_per_s": "msgs/s",
    "p50_ms": "ms",
    "p99_ms": "ms",
    "dropped": "msgs",
    "conflated_in_hub": "msgs",
    "slow_consumer_disconnects": "clients",
    "adapter_rss_mib": "MiB",
    "adapter_cpu_pct": "%",
    "client_cpu_pct": "%",
    "simulator_cpu_pct": "%",
}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--client-worker":
        import uvloop  # the clients are load, not the system under test: the cheapest loop

        profile_to = os.environ.get("BENCH_CLIENT_PROFILE")
        if profile_to:
            import cProfile

            cProfile.runctx(
                "uvloop.run(client_worker(spec))",
                {"uvloop": uvloop, "client_worker": client_worker, "spec": json.loads(sys.argv[2])},
                {},
                f"{profile_to}.{os.getpid()}",
            )
            return
        uvloop.run(client_worker(json.loads(sys.argv[2])))
        return
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
    parser.add_argument("--quick", action="store_true", help="short run (10 s)")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--no-batch", action="store_true", help="the guide's one-object frames")
    parser.add_argument("--compare", action="store_true", help="add an unbatched pass")
    parser.add_argument("--ws", default=None, help="uvicorn ws backend (default: the server's)")
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on")
    parser.add_argument("--batch-delay", type=float, default=None, help="seconds")
    parser.add_argument(
        "--client",
        choices=sorted(CLIENTS),
        default="picows",
        help="client library of the bench's consumers (the load, not the system under test)",
    )
    parser.add_argument(
        "--asgi-send",
        action="store_true",
        help="router sends through ASGI send_text (not its direct transport writes)",
    )
    parser.add_argument(
        "--push-interval",
        type=float,
        default=None,
        help="simulator websocket.push_interval_seconds (default: the simulator's)",
    )
    args = parser.parse_args()
    seconds = args.seconds or (10.0 if args.quick else 30.0)

    from quantum.simulator.listings import load_listings

    codes = list(load_listings())[:100]
    rng = random.Random(7)
    subscriptions = [rng.sample(codes, args.per_client) for _ in range(args.clients)]
    env: dict[str, str] = {}
    if args.ws:
        env["BENCH_WS_IMPL"] = args.ws
    env["BENCH_WS_DEFLATE"] = "1" if args.deflate else "0"
    if args.asgi_send:
        env["BENCH_ASGI_SEND"] = "1"
    if args.batch_delay is not None:
        env["BENCH_BATCH_DELAY"] = str(args.batch_delay)
    passes = [("fanout", not args.no_batch)]
    if args.compare and not args.no_batch:
        passes.append(("fanout_unbatched", False))
    print(
        f"# load: {args.clients} clients x {args.per_client} of {len(codes)} stocks, "
        f"{args.client_procs} client processes, {seconds:.0f} s window; simulator real clock, "
        f"0.1 s steps; ws={args.ws or 'server default'} deflate={args.deflate} "
        f"batch_delay={args.batch_delay if args.batch_delay is not None else 'default'} "
        f"client={args.client} push_interval={args.push_interval or 'default'} "
        f"send={'asgi' if args.asgi_send else 'direct'}",
        flush=True,
    )
    simulator = dict(SIMULATOR)
    if args.push_interval is not None:
        simulator["websocket"] = {"push_interval_seconds": args.push_interval}
    for prefix, batch in passes:
        with (
            simulator_process(simulator) as sim_base,
            adapter_process(
                sim_base, {**env, "BENCH_SIM_OFFSET": str(sim_clock_offset(sim_base))}
            ) as (base, pid),
        ):
            result = run_pass(
                base,
                pid,
                subscriptions,
                args.client_procs,
                seconds,
                args.deflate,
                batch,
                args.client,
            )
        print(f"# {prefix}: {'batched (?batch=1)' if batch else 'one object per frame'}")
        if prefix == "fanout":
            report("fanout_clients", args.clients, "clients")
        for name, unit in UNITS.items():
            plain = prefix == "fanout" and name.startswith(("adapter_", "client_", "simulator_"))
            report(name if plain else f"{prefix}_{name}", result[name], unit)
        if os.environ.get("BENCH_TRACE"):
            for name in ("adapter_wait_p50_ms", "adapter_wait_p99_ms"):
                report(f"# {name}", result["stats"][name], "ms")
        if os.environ.get("BENCH_VERBOSE"):
            print(result["stats"]["health"])


if __name__ == "__main__":
    main()
