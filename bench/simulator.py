"""How fast the simulator serves: ka10001 requests/s over REST and REAL values/s
pushed to 100 WebSocket sessions; and, in this process, what its market model
costs where a request can wait for it (best of several runs, in ms): five years of
daily history for a stock (a chart's first request), a stock's market caught up
from the open to 11:00 at one-second steps (the first request of a day started
late), and 1,300 trading days from the KRX calendar. Run:
``python -m bench.simulator [--quick]``.

The simulator runs in its own process; this process is the client. Rate limits
are off and the market steps every 10 ms of simulated time so the realtime side
has plenty to push.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import time
from collections.abc import Callable
from datetime import date, datetime

import aiohttp
import orjson

from bench._harness import report, simulator_process
from quantum.krx.sessions import KrxCalendar
from quantum.simulator.clock import KST, ClockMode, SimClock
from quantum.simulator.history import daily_history
from quantum.simulator.listings import load_listings
from quantum.simulator.market import Market

START = "2026-11-24T09:00:00+09:00"
"""A Tuesday at the open, so no catch-up stepping happens at start."""
CODES = ["005930", "000660", "035420", "005380", "051910", "006400", "035720", "068270"]


async def _token(session: aiohttp.ClientSession, base: str, key: str) -> str:
    body = {"grant_type": "client_credentials", "appkey": key, "secretkey": "bench-secret"}
    async with session.post(f"{base}/oauth2/token", json=body) as response:
        data = await response.json(content_type=None)
    return str(data["token"])


async def rest_rate(base: str, seconds: float, concurrency: int = 48) -> tuple[float, int]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        token = await _token(session, base, "bench-rest")
        headers = {
            "api-id": "ka10001",
            "authorization": f"Bearer {token}",
            "Content-Type": "application/json;charset=UTF-8",
        }
        payload = orjson.dumps({"stk_cd": "005930"})
        done = errors = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < deadline:
                async with session.post(
                    f"{base}/api/dostk/stkinfo", data=payload, headers=headers
                ) as response:
                    data = orjson.loads(await response.read())
                if response.status == 200 and data.get("return_code") == 0:
                    done += 1
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started), errors


async def realtime_rate(base: str, seconds: float, sockets: int = 100) -> float:
    ws_url = base.replace("http", "ws") + "/api/dostk/websocket"
    received = 0
    counting = False

    async with aiohttp.ClientSession() as session:
        token = await _token(session, base, "bench-ws")

        async def client(ready: asyncio.Event) -> None:
            nonlocal received
            async with session.ws_connect(ws_url, max_msg_size=0) as ws:
                await ws.send_str(orjson.dumps({"trnm": "LOGIN", "token": token}).decode())
                register = {
                    "trnm": "REG",
                    "grp_no": "1",
                    "refresh": "1",
                    "data": [{"item": CODES, "type": ["0B"]}],
                }
                await ws.send_str(orjson.dumps(register).decode())
                ready.set()
                async for message in ws:
                    frame = orjson.loads(message.data)
                    trnm = frame.get("trnm")
                    if trnm == "PING":
                        await ws.send_str(message.data)
                    elif trnm == "REAL" and counting:
                        received += len(frame["data"])

        events = [asyncio.Event() for _ in range(sockets)]
        tasks = [asyncio.create_task(client(event)) for event in events]
        await asyncio.gather(*(event.wait() for event in events))
        await asyncio.sleep(1.0)
        counting = True
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - started
        counting = False
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return received / elapsed


def best_ms(work: Callable[[], object], runs: int) -> float:
    """The fastest of ``runs`` calls: the model's own cost, not the machine's noise."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def model_costs(runs: int) -> None:
    calendar = KrxCalendar()
    first_day = date(2026, 11, 24)
    calendar.is_trading_day(first_day)  # loads the calendar outside the timed part
    days = calendar.trading_days_before(first_day, 1_250)
    report(
        "history_five_years_ms",
        best_ms(lambda: daily_history(3, "005930", 70_000, days), runs),
        "ms",
    )
    template = next(iter(load_listings().values()))
    listings = {"005930": dataclasses.replace(template, code="005930", base_price=70_000)}

    def catch_up() -> None:
        clock = SimClock(mode=ClockMode.FIXED, start=datetime(2026, 11, 24, 11, tzinfo=KST))
        Market(listings, calendar, clock, 1, step_seconds=1.0).state("005930")

    report("market_catch_up_open_to_11_ms", best_ms(catch_up, runs), "ms")
    report(
        "calendar_1300_trading_days_ms",
        best_ms(lambda: calendar.trading_days_before(first_day, 1_300), runs),
        "ms",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 10.0
    model_costs(runs=5 if args.quick else 20)
    config = {
        "clock": "real",
        "start": START,
        "step_seconds": 0.01,
        "rate_limit": {"enabled": False},
        "websocket": {"push_interval_seconds": 0.05},
    }
    with simulator_process(config) as base:
        rate, errors = asyncio.run(rest_rate(base, seconds))
        report("rest_ka10001_requests_per_s", rate, "req/s")
        report("rest_ka10001_errors", errors, "requests")
        report(
            "real_values_per_s_100_sockets", asyncio.run(realtime_rate(base, seconds)), "values/s"
        )


if __name__ == "__main__":
    main()
