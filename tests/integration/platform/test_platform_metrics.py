"""``GET /metrics`` of the platform after a real flow on the simulator: the numbers
match what happened, labels are route templates, and no secret or id leaks."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.platform.conftest import ADMIN_PASSWORD, USER_PASSWORD, Harness
from tests.integration.scraping import Samples, parse, value

from quantum.kiwoom.settings import key_fingerprint

CODE = "005930"


def label_values(found: Samples, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for (n, labels) in found if n == name and label in dict(labels)}


async def scrape(harness: Harness) -> tuple[str, Samples]:
    answer = await harness.client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text, parse(answer.text)


async def test_metrics_after_an_order_flow(harness: Harness) -> None:
    app_key, secret = "PSmetricsAPPKEY000000000000000000000", "SEmetricsSECRET00000000000000"
    user, headers = await harness.trader(app_key=app_key, secret=secret)
    order = await harness.buy(headers, quantity=10)
    await harness.platform.supervisor.run_once()
    assert (await harness.client.get("/api/v1/nowhere", headers=headers)).status_code == 404

    text, found = await scrape(harness)
    p = {"service": "platform"}

    # Kiwoom calls, as the usage log sees them
    assert value(found, "qtp_kiwoom_calls_total", **p, api_id="kt10000", outcome="ok") == 1
    assert value(found, "qtp_token_issuances_total", **p) == 1
    assert value(found, "qtp_kiwoom_calls_total", **p, api_id="au10001", outcome="ok") == 1
    assert (value(found, "qtp_kiwoom_calls_total", **p, api_id="ka10001", outcome="ok") or 0) >= 1
    assert value(found, "qtp_kiwoom_call_duration_seconds_count", **p, api_id="kt10000") == 1
    assert (value(found, "qtp_kiwoom_call_duration_seconds_sum", **p, api_id="kt10000") or 0) > 0
    assert "outcome" in {k for (_n, labels) in found for k, _v in labels}
    assert not label_values(found, "qtp_kiwoom_call_errors_total", "api_id")

    # HTTP by route template
    orders = {"method": "POST", "route": "/api/v1/orders", "status": "201"}
    assert value(found, "qtp_http_requests_total", **p, **orders) == 1
    routes = label_values(found, "qtp_http_requests_total", "route")
    assert "/api/v1/stocks/{stock_code}" in routes or any(
        r.startswith("/api/v1/stocks/{") for r in routes
    ), routes
    assert all(CODE not in r for r in routes), routes
    assert "unmatched" in routes or "/{path:path}" in routes, routes
    assert (
        value(
            found,
            "qtp_http_request_duration_seconds_count",
            **p,
            method="POST",
            route="/api/v1/orders",
        )
        == 1
    )

    # orders by state, counted from order_view at scrape time
    states = {dict(labels)["state"]: v for (n, labels), v in found.items() if n == "qtp_orders"}
    assert states["FILLED"] == 1, states
    assert sum(states.values()) == 1

    # the in-process broker's hub (the order stream's feed of the trader's key) is
    # read; no WebSocket client here
    feeds = value(found, "qtp_upstream_feeds", **p)
    assert feeds is not None and feeds <= 1
    assert (value(found, "qtp_upstream_connected", **p) or 0) <= feeds
    assert value(found, "qtp_ws_clients", **p) == 0
    assert value(found, "qtp_fanout_dropped_total", **p) == 0

    # no secret, no id
    login = await harness.client.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": USER_PASSWORD}
    )
    secrets: list[Any] = [
        app_key,
        secret,
        key_fingerprint(app_key),
        USER_PASSWORD,
        ADMIN_PASSWORD,
        user["userId"],
        user["username"],
        order["orderId"],
        order["brokerOrderNo"],
        headers["Authorization"].split()[1],
        login.json()["accessToken"],
        login.json().get("refreshToken"),
    ]
    for leaked in filter(None, secrets):
        # as a whole word: a short broker order number ("0000001") may be digits of a float
        assert not re.search(rf"(?<![\w.]){re.escape(str(leaked))}(?!\w)", text), leaked

    # a second scrape counts the first one (and only GETs of /metrics)
    _text, again = await scrape(harness)
    metrics_route = {"method": "GET", "route": "/metrics", "status": "200"}
    assert value(again, "qtp_http_requests_total", **p, **metrics_route) == 1
