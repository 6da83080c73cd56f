"""``GET /metrics`` of the adapter (uvicorn on loopback, simulator behind it): Kiwoom
calls, HTTP by route template, the realtime hub with a WebSocket client, no secrets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import orjson
from tests.integration.adapter.conftest import CODE
from tests.integration.kiwoom.conftest import APP_KEY, APP_SECRET, settings_for
from tests.integration.scraping import Samples, parse, value
from tests.integration.serving import serve_in_thread
from tests.integration.simulator.conftest import RunningSimulator
from websockets.asyncio.client import connect

from quantum.adapter.factory import inprocess_broker
from quantum.adapter.metrics import AdapterMetrics
from quantum.adapter.server import app_closing
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.settings import KiwoomSettings, key_fingerprint
from quantum.metrics import chain_observers

A = {"service": "adapter"}


@contextlib.contextmanager
def adapter_on(running: RunningSimulator) -> Iterator[tuple[str, AdapterMetrics]]:
    """The server's app (``app_closing``) on a broker whose clients report to its metrics."""
    metrics = AdapterMetrics()

    def today() -> date:
        return running.sim.clock.now().date()

    def factory(settings: KiwoomSettings) -> KiwoomClient:
        return KiwoomClient.from_settings(
            settings, today=today, observer=chain_observers(metrics.calls.observe)
        )

    broker = inprocess_broker(
        settings_for(running),
        client_factory=factory,
        clock=running.sim.clock.now,
        hub_options={"stream_options": {"session_date": today}},
    )
    served = serve_in_thread(app_closing(broker, broker.hub, metrics=metrics), "adapter")
    try:
        yield served.base_url, metrics
    finally:
        served.stop()


async def scrape(http: httpx.AsyncClient) -> tuple[str, Samples]:
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    return answer.text, parse(answer.text)


async def _next(ws: Any, wanted: str, within: float = 15.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if message["type"] == wanted:
                return message


async def test_adapter_metrics_after_rest_and_realtime(running: RunningSimulator) -> None:
    with adapter_on(running) as (base_url, _metrics):
        async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as http:
            quote = await http.get(f"/api/stocks/{CODE}")
            assert quote.status_code == 200, quote.text
            placed = await http.post(
                "/api/orders",
                json={
                    "stock_code": CODE,
                    "side": "BUY",
                    "order_type": "LIMIT",
                    "quantity": 1,
                    "price": quote.json()["upper_limit"],
                },
            )
            assert placed.status_code == 200, placed.text
            order_no = placed.json()["order_no"]
            assert (await http.get("/api/stocks/12")).status_code == 422
            assert (await http.get("/nowhere")).status_code == 404

            text, found = await scrape(http)
            assert value(found, "qtp_kiwoom_calls_total", **A, api_id="kt10000", outcome="ok") == 1
            assert value(found, "qtp_kiwoom_calls_total", **A, api_id="au10001", outcome="ok") == 1
            assert value(found, "qtp_token_issuances_total", **A) == 1
            assert (
                value(found, "qtp_kiwoom_call_duration_seconds_count", **A, api_id="kt10000") == 1
            )
            stocks = {"method": "GET", "route": "/api/stocks/{stock_code}"}
            assert value(found, "qtp_http_requests_total", **A, **stocks, status="200") == 1
            assert value(found, "qtp_http_requests_total", **A, **stocks, status="422") == 1
            orders = {"method": "POST", "route": "/api/orders", "status": "200"}
            assert value(found, "qtp_http_requests_total", **A, **orders) == 1
            unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
            assert value(found, "qtp_http_requests_total", **A, **unmatched) == 1
            assert value(found, "qtp_ws_clients", **A) == 0
            # the limiter's waits are read (1000/s in these settings: none waited)
            assert not [n for (n, _l), v in found.items() if n.startswith("qtp_rate_limit") and v]

            ws_url = base_url.replace("http://", "ws://") + "/ws/realtime"
            async with connect(ws_url) as ws:
                await ws.send(orjson.dumps({"type": "SUBSCRIBE", "stock_codes": [CODE]}).decode())
                await _next(ws, "SUBSCRIBED")
                async with asyncio.timeout(15):
                    while True:
                        _t, live = await scrape(http)
                        if value(live, "qtp_upstream_connected", **A) == 1:
                            break
                        await asyncio.sleep(0.05)
                assert value(live, "qtp_upstream_feeds", **A) == 1
                assert value(live, "qtp_ws_clients", **A) == 1
                assert value(live, "qtp_ws_subscriptions", **A) == 1
                assert value(live, "qtp_upstream_subscribed_codes", **A) == 1
                ticks = 0.0
                async with asyncio.timeout(15):
                    while ticks < 1:
                        await asyncio.to_thread(running.advance, 5)
                        await asyncio.sleep(0.1)
                        _t, live = await scrape(http)
                        ticks = value(live, "qtp_upstream_ticks_forwarded_total", **A) or 0
                age = value(live, "qtp_upstream_last_frame_age_seconds", **A)
                assert age is not None and age >= 0
                assert value(live, "qtp_fanout_queue_depth", **A) is not None
                assert value(live, "qtp_fanout_dropped_total", **A) == 0

            async with asyncio.timeout(15):
                while value(live, "qtp_ws_clients", **A) != 0:
                    await asyncio.sleep(0.05)
                    _t, live = await scrape(http)

    for leaked in (APP_KEY, APP_SECRET, key_fingerprint(APP_KEY), order_no):
        assert leaked not in text, leaked
