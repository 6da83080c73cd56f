"""The Kiwoom client library against the simulator. Run: ``python -m bench.kiwoom_client [--quick]``.

Prints:
- token_issuances_for_1000_concurrent_calls: au10001 requests the simulator saw
  while 1,000 ka10001 calls started at once on a cold client (must be 1);
- limiter_max_in_any_1s_window / limiter_limit_per_s: the most sends of one
  api-id in any sliding 1-second window while callers keep the limiter busy,
  against the configured limit (never over), and limiter_utilisation_pct;
- client_overhead_us: median extra time per ka10001 call of KiwoomClient over
  raw aiohttp (its HTTP library) with the same request on the same server;
- ws_reconnect_ms_p50 / ws_reconnect_ms_max: from a dropped socket to LIVE again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from bisect import bisect_left
from typing import Any

import aiohttp
import httpx

from bench._harness import report, simulator_process
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.events import StatusEvent, StreamEvent, StreamState
from quantum.kiwoom.ratelimit import OutboundLimiter
from quantum.kiwoom.settings import KiwoomSettings, key_fingerprint
from quantum.kiwoom.stream import KiwoomStream
from quantum.kiwoom.transport import CallRecord, KiwoomTransport

QUOTE = {"stk_cd": "005930"}
UNLIMITED = {"rate_limit": {"enabled": False}}
PRODUCTION_LIMITS = {"rate_limit": {"per_second": 5}}


def _settings(base: str, key: str, **overrides: Any) -> KiwoomSettings:
    return KiwoomSettings.for_url(base, key, "bench-secret", **overrides)


async def token_issuances(base: str) -> int:
    key = "bench-single-flight"
    settings = _settings(base, key, rate_limit_enabled=False)
    async with KiwoomTransport(settings) as transport:
        await asyncio.gather(*(transport.call("ka10001", QUOTE) for _ in range(1000)))
    async with httpx.AsyncClient() as control:
        state = (await control.get(f"{base}/_sim/state")).json()
    return int(state["token_requests"].get(key_fingerprint(key), 0))


def _max_in_window(stamps: list[float], span: float = 1.0) -> int:
    stamps = sorted(stamps)
    return max(
        (bisect_left(stamps, start + span) - index for index, start in enumerate(stamps)),
        default=0,
    )


async def limiter_figures(base: str, seconds: float) -> tuple[int, float, int, int]:
    """(most sends of one api-id in any 1 s window, utilisation %, the limit, calls
    that met a 429 from the simulator). Utilisation is the sends made inside the
    measured period over what the limit allows in it."""
    sends: dict[str, list[float]] = {}
    retried: list[CallRecord] = []

    def on_acquire(fingerprint: str, api_id: str, waited: float) -> None:
        sends.setdefault(api_id, []).append(time.monotonic())

    def observe(record: CallRecord) -> None:
        if record.attempts > 1 or record.outcome != "ok":
            retried.append(record)

    settings = _settings(base, "bench-limiter")
    limiter = OutboundLimiter.from_settings(settings, on_acquire=on_acquire)
    limit = int(settings.rate_limit_per_second or 5)
    work = [("ka10001", QUOTE), ("ka10004", QUOTE), ("ka00001", {})]
    async with KiwoomTransport(settings, limiter=limiter, observer=observe) as transport:
        await transport.call("ka10001", QUOTE)
        await asyncio.sleep(1.1)
        sends.clear()
        started = time.monotonic()
        deadline = started + seconds

        async def caller(api_id: str, body: dict[str, str]) -> None:
            while time.monotonic() < deadline:
                await transport.call(api_id, body)

        await asyncio.gather(*(caller(a, b) for a, b in work for _ in range(4)))
    worst = max(_max_in_window(stamps) for stamps in sends.values())
    inside = [sum(1 for t in stamps if t < deadline) for stamps in sends.values()]
    utilisation = 100.0 * statistics.mean(inside) / (seconds * limit)
    return worst, utilisation, limit, len(retried)


async def client_overhead(base: str, calls: int) -> float:
    settings = _settings(base, "bench-overhead", rate_limit_enabled=False)
    async with KiwoomClient.from_settings(settings) as client:
        await client.stock_info("005930")
        token = (await client.transport.tokens.get()).authorization
        headers = {
            "api-id": "ka10001",
            "authorization": token,
            "Content-Type": "application/json;charset=UTF-8",
        }
        async with aiohttp.ClientSession(base) as raw:

            async def raw_call() -> None:
                async with raw.post("/api/dostk/stkinfo", json=QUOTE, headers=headers) as answer:
                    await answer.json(content_type=None)

            await raw_call()
            raw_times, client_times = [], []
            for _ in range(calls):
                started = time.perf_counter()
                await raw_call()
                raw_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                await client.stock_info("005930")
                client_times.append(time.perf_counter() - started)
    return (statistics.median(client_times) - statistics.median(raw_times)) * 1e6


async def reconnect_times(base: str, trials: int) -> list[float]:
    settings = _settings(base, "bench-stream", rate_limit_enabled=False)
    times: list[float] = []
    async with KiwoomTransport(settings) as transport:

        async def token(force: bool) -> str:
            return (await transport.tokens.get(force_refresh=force)).secret()

        async with httpx.AsyncClient(base_url=base) as control:
            for _ in range(trials):
                live = asyncio.Event()

                def on_event(event: StreamEvent, flag: asyncio.Event = live) -> None:
                    if isinstance(event, StatusEvent) and event.state is StreamState.LIVE:
                        flag.set()

                stream = KiwoomStream(settings.ws_url, token, on_event=on_event)
                await stream.start()
                await stream.subscribe(["005930"], ("0B",))
                await asyncio.sleep(0.05)
                live.clear()
                started = time.perf_counter()
                await control.post("/_sim/ws/drop", json={})
                await asyncio.wait_for(live.wait(), 10)
                times.append((time.perf_counter() - started) * 1000)
                await stream.close()
    return times


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run")
    args = parser.parse_args()
    limiter_seconds = 4.0 if args.quick else 12.0
    overhead_calls = 200 if args.quick else 1000
    trials = 5 if args.quick else 20

    with simulator_process(UNLIMITED) as base:
        report(
            "token_issuances_for_1000_concurrent_calls",
            asyncio.run(token_issuances(base)),
            "requests",
        )
        report("client_overhead_us", asyncio.run(client_overhead(base, overhead_calls)), "us")
        times = asyncio.run(reconnect_times(base, trials))
        report("ws_reconnect_ms_p50", statistics.median(times), "ms")
        report("ws_reconnect_ms_max", max(times), "ms")
    with simulator_process(PRODUCTION_LIMITS) as base:
        worst, utilisation, limit, retried = asyncio.run(limiter_figures(base, limiter_seconds))
        report("limiter_max_in_any_1s_window", worst, "requests")
        report("limiter_limit_per_s", limit, "requests")
        report("limiter_utilisation_pct", utilisation, "%")
        report("limiter_calls_rate_limited_by_server", retried, "calls")


if __name__ == "__main__":
    main()
