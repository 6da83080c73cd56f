"""The shared metrics: label capping, the Kiwoom call observer, the HTTP middleware
(route templates, not raw paths) and per-app registries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from prometheus_client.parser import text_string_to_metric_families

from quantum.adapter.metrics import AdapterMetrics, RealtimeCollector, install_metrics
from quantum.kiwoom.records import CallRecord
from quantum.metrics import (
    CallMetrics,
    HttpMetrics,
    HttpMetricsMiddleware,
    chain_observers,
    error_code_label,
    new_registry,
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


def record(api_id: str = "ka10001", outcome: Any = "ok", code: str | None = None) -> CallRecord:
    return CallRecord(api_id, "/api/dostk/stkinfo", 250.0, outcome, code, 200, 1, "fp-secret")


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("1700", "1700"),
        ("RC4058", "RC4058"),
        ("KiwoomTimeoutError", "KiwoomTimeoutError"),
        (None, "none"),
        ("order 12345 refused for user bob", "other"),
        ("TOOLONGCODE", "other"),
        ("x" * 60 + "Error", "other"),
    ],
)
def test_error_codes_are_capped(code: str | None, label: str) -> None:
    assert error_code_label(code) == label


def test_call_metrics_count_outcomes_errors_and_token_issues() -> None:
    metrics = AdapterMetrics()
    calls = metrics.calls
    calls.observe(record("au10001"))
    calls.observe(record("au10001", "error", "8005"))
    calls.observe(record())
    calls.observe(record())
    calls.observe(record("kt10000", "unknown", "KiwoomTimeoutError"))
    calls.observe(record("ka10001", "error", "free text with an order id 0000123"))
    text = metrics.exposition().body.decode()
    assert (
        value(text, "qtp_kiwoom_calls_total", service="adapter", api_id="ka10001", outcome="ok")
        == 2
    )
    assert (
        value(
            text, "qtp_kiwoom_calls_total", service="adapter", api_id="kt10000", outcome="unknown"
        )
        == 1
    )
    assert value(text, "qtp_token_issuances_total", service="adapter") == 1
    errors = {
        (dict(labels)["api_id"], dict(labels)["error_code"]): v
        for (name, labels), v in samples(text).items()
        if name == "qtp_kiwoom_call_errors_total"
    }
    assert errors == {
        ("au10001", "8005"): 1,
        ("kt10000", "KiwoomTimeoutError"): 1,
        ("ka10001", "other"): 1,
    }
    assert (
        value(text, "qtp_kiwoom_call_duration_seconds_count", service="adapter", api_id="ka10001")
        == 3
    )
    assert (
        value(text, "qtp_kiwoom_call_duration_seconds_sum", service="adapter", api_id="ka10001")
        == 0.75
    )
    assert "fp-secret" not in text and "0000123" not in text


def test_registries_are_per_app() -> None:
    one, two = CallMetrics(new_registry(), "platform"), CallMetrics(new_registry(), "platform")
    one.observe(record())
    assert one.calls.labels("platform", "ka10001", "ok")._value.get() == 1
    assert two.calls.labels("platform", "ka10001", "ok")._value.get() == 0


def test_chained_observers_survive_a_failing_one() -> None:
    seen: list[CallRecord] = []

    def broken(record: CallRecord) -> None:
        raise RuntimeError("boom")

    chain_observers(broken, seen.append)(record())
    assert len(seen) == 1


async def test_middleware_labels_route_templates_and_statuses() -> None:
    app = FastAPI()
    http = HttpMetrics(new_registry(), "platform")
    app.add_middleware(HttpMetricsMiddleware, lookup=lambda scope: http)

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise HTTPException(404)
        return {"id": item_id}

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/items/user-secret-42")).status_code == 200
        assert (await client.get("/items/missing")).status_code == 404
        assert (await client.get("/nowhere/else")).status_code == 404
        assert (await client.post("/items/x")).status_code == 405
        assert (await client.get("/crash")).status_code == 500

    def count(method: str, route: str, status: str) -> float:
        return http.requests.labels("platform", method, route, status)._value.get()

    assert count("GET", "/items/{item_id}", "200") == 1
    assert count("GET", "/items/{item_id}", "404") == 1
    assert count("GET", "unmatched", "404") == 1
    assert count("POST", "/items/{item_id}", "405") == 1
    assert count("GET", "/crash", "500") == 1
    routes = {
        labels["route"]
        for metric in http.requests.collect()
        for s in metric.samples
        if (labels := s.labels)
    }
    assert routes == {"/items/{item_id}", "unmatched", "/crash"}


async def test_adapter_metrics_endpoint_without_a_broker() -> None:
    app = FastAPI()
    metrics = AdapterMetrics()
    install_metrics(app, metrics)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.get("/metrics")
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert value(text, "qtp_upstream_connected", service="adapter") == 0
    assert value(text, "qtp_ws_clients", service="adapter") == 0
    assert value(text, "qtp_fanout_dropped_total", service="adapter") == 0
    assert (
        value(
            text,
            "qtp_http_requests_total",
            service="adapter",
            method="GET",
            route="/metrics",
            status="200",
        )
        == 1
    )


class _Sub:
    def __init__(self, conflated: int, pending: int, close_code: int | None = None) -> None:
        self.conflated = conflated
        self.pending = pending
        self.close_code = close_code


class _Subscription:
    def __init__(self, subscriber: _Sub) -> None:
        self.subscriber = subscriber


class _Hub:
    def __init__(self) -> None:
        self._subscriptions: set[_Subscription] = set()
        self.feeds: list[dict[str, Any]] = []

    def health(self) -> list[dict[str, Any]]:
        return self.feeds


def _collected(collector: RealtimeCollector) -> dict[str, float]:
    return {s.name: s.value for family in collector.collect() for s in family.samples}


def test_realtime_collector_reads_health_and_keeps_dropped_monotonic() -> None:
    hub = _Hub()
    collector = RealtimeCollector("adapter", lambda: hub)
    hub.feeds = [
        {
            "stream_state": "LIVE",
            "last_frame_age_seconds": 0.5,
            "subscribers": 2,
            "subscribed_codes": ["005930", "000660"],
            "ticks_forwarded": 10,
            "orders_forwarded": 1,
        },
        {
            "stream_state": "RECONNECTING",
            "last_frame_age_seconds": 7.0,
            "subscribers": 1,
            "subscribed_codes": ["005930"],
            "ticks_forwarded": 3,
            "orders_forwarded": 0,
        },
    ]
    slow = _Subscription(_Sub(conflated=5, pending=40, close_code=1008))
    fine = _Subscription(_Sub(conflated=1, pending=3))
    hub._subscriptions = {slow, fine}
    got = _collected(collector)
    assert got["qtp_upstream_connected"] == 1
    assert got["qtp_upstream_feeds"] == 2
    assert got["qtp_upstream_last_frame_age_seconds"] == 7.0
    assert got["qtp_ws_subscriptions"] == 3
    assert got["qtp_upstream_subscribed_codes"] == 3
    assert got["qtp_upstream_ticks_forwarded_total"] == 13
    assert got["qtp_fanout_queue_depth"] == 40
    assert got["qtp_fanout_dropped_total"] == 6
    assert got["qtp_fanout_slow_consumer_disconnects_total"] == 1
    hub._subscriptions = {fine}  # the slow one is gone: its counts stay
    got = _collected(collector)
    assert got["qtp_fanout_dropped_total"] == 6
    assert got["qtp_fanout_slow_consumer_disconnects_total"] == 1
    assert got["qtp_fanout_queue_depth"] == 3
