"""The adapter API's routes: JSON shapes, errors, /health, /docs — and bad requests
never reach Kiwoom (the simulator's request counters stay unchanged)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.integration.adapter.conftest import CODE, RunningAdapter, sim_requests
from tests.integration.simulator.conftest import RunningSimulator

from quantum.http_errors import MAX_BODY_BYTES


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert "details" in error
    return error


def test_market_data_shapes(adapter: RunningAdapter) -> None:
    http = adapter.client
    quote = http.get(f"/api/stocks/{CODE}").json()
    assert {"stock_code", "name", "price", "change_rate", "upper_limit", "time"} <= set(quote)
    assert quote["stock_code"] == CODE and isinstance(quote["price"], int)
    assert quote["time"] == "2026-11-24T10:00:00+09:00"

    book = http.get(f"/api/stocks/{CODE}/orderbook").json()
    assert set(book) == {
        "stock_code",
        "time",
        "asks",
        "bids",
        "total_ask_quantity",
        "total_bid_quantity",
    }
    assert set(book["asks"][0]) == {"price", "quantity"}

    listings = http.get("/api/stocks", params={"market": "KOSDAQ"}).json()
    assert listings and set(listings[0]) == {
        "stock_code",
        "name",
        "market",
        "listed_shares",
        "last_price",
    }

    chart = http.get(f"/api/chart/{CODE}/W", params={"count": 4}).json()
    assert (chart["stock_code"], chart["period"], len(chart["candles"])) == (CODE, "W", 4)
    assert set(chart["candles"][0]) == {"time", "open", "high", "low", "close", "volume"}
    times = [candle["time"] for candle in chart["candles"]]
    assert times == sorted(times)
    until = http.get(f"/api/chart/{CODE}/D", params={"count": 2, "until": "2026-06-30"})
    assert until.json()["candles"][-1]["time"] <= "2026-06-30T00:00:00+09:00"


def test_token_orders_and_account_shapes(adapter: RunningAdapter) -> None:
    http = adapter.client
    token = http.post("/api/fn_au10001")
    assert token.status_code == 200 and set(token.json()) == {
        "token",
        "token_type",
        "expires_at",
    }
    book = http.get(f"/api/stocks/{CODE}/orderbook").json()
    low = book["bids"][-1]["price"]
    placed = http.post(
        "/api/orders",
        json={
            "stock_code": CODE,
            "side": "BUY",
            "order_type": "LIMIT",
            "quantity": 2,
            "price": low,
        },
    )
    assert placed.status_code == 200, placed.text
    order_no = placed.json()["order_no"]
    (resting,) = http.get("/api/orders/open").json()
    assert resting["order_no"] == order_no and resting["side"] == "BUY"
    modified = http.patch(
        f"/api/orders/{order_no}", json={"stock_code": CODE, "quantity": 0, "price": low - 100}
    ).json()
    assert modified["original_order_no"] == order_no
    cancelled = http.request(
        "DELETE", f"/api/orders/{modified['order_no']}", json={"stock_code": CODE}
    ).json()
    assert cancelled["original_order_no"] == modified["order_no"] and cancelled["quantity"] == 2
    assert http.get("/api/orders/open").json() == []
    assert http.get("/api/orders/fills").json() == []
    assert set(http.get("/api/account/deposit").json()) == {"cash", "orderable", "withdrawable"}
    balance = http.get("/api/account/balance").json()
    assert balance["holdings"] == [] and "estimated_assets" in balance


def test_unknown_stock_is_404(adapter: RunningAdapter) -> None:
    error = assert_error(adapter.client.get("/api/stocks/999999"), 404, "not_found")
    assert error["details"] == {"kiwoom_code": "1902"}


BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("GET", "/api/stocks/12345", {}, 422, "invalid_input"),
    ("GET", "/api/stocks/abcdef/orderbook", {}, 422, "invalid_input"),
    ("GET", "/api/stocks?market=NYSE", {}, 422, "invalid_input"),
    ("GET", f"/api/chart/{CODE}/7", {}, 422, "invalid_input"),
    ("GET", f"/api/chart/{CODE}/X", {}, 422, "invalid_input"),
    ("GET", f"/api/chart/{CODE}/D?count=0", {}, 422, "invalid_input"),
    ("GET", f"/api/chart/{CODE}/D?until=yesterday", {}, 422, "invalid_input"),
    (
        "POST",
        "/api/orders",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        400,
        "malformed_json",
    ),
    ("POST", "/api/orders", {"json": {"stock_code": CODE, "side": "BUY"}}, 422, "invalid_input"),
    (
        "POST",
        "/api/orders",
        {"content": b" " * (MAX_BODY_BYTES + 1), "headers": {"content-type": "application/json"}},
        413,
        "payload_too_large",
    ),
    (
        "POST",
        "/api/orders",
        {"json": {"stock_code": CODE, "side": "HOLD", "order_type": "LIMIT", "quantity": 1}},
        422,
        "invalid_input",
    ),
    (
        "POST",
        "/api/orders",
        {"json": {"stock_code": CODE, "side": "BUY", "order_type": "FOO", "quantity": 1}},
        422,
        "invalid_input",
    ),
    (
        "POST",
        "/api/orders",
        {"json": {"stock_code": CODE, "side": "BUY", "order_type": "LIMIT", "quantity": 1}},
        422,
        "invalid_input",
    ),
    ("PATCH", "/api/orders/12x", {"json": {"stock_code": CODE, "price": 1}}, 422, "invalid_input"),
    ("PATCH", "/api/orders/123", {"json": {"stock_code": CODE}}, 422, "invalid_input"),
    ("DELETE", "/api/orders/123", {}, 422, "invalid_input"),
    ("GET", "/api/nothing-here", {}, 404, "not_found"),
    ("PUT", "/api/orders/open", {}, 405, "method_not_allowed"),
    (
        "GET",
        f"/api/stocks/{CODE}",
        {"headers": {"X-Kiwoom-App-Key": "only-the-key"}},
        401,
        "broker_auth_failed",
    ),
    (
        "GET",
        f"/api/stocks/{CODE}",
        {
            "headers": {
                "X-Kiwoom-App-Key": "k",
                "X-Kiwoom-App-Secret": "s",
                "X-Kiwoom-Environment": "x",
            }
        },
        422,
        "invalid_input",
    ),
]


def test_bad_requests_are_json_errors_and_never_reach_kiwoom(
    adapter: RunningAdapter, running: RunningSimulator
) -> None:
    adapter.client.get(f"/api/stocks/{CODE}")  # a token exists: count only data TRs below
    before = sim_requests(running)
    for method, url, kwargs, status, code in BAD_REQUESTS:
        response = adapter.client.request(method, url, **kwargs)
        assert_error(response, status, code)
    assert sim_requests(running) == before


def test_malformed_json_message_is_clear(adapter: RunningAdapter) -> None:
    response = adapter.client.post(
        "/api/orders", content=b'{"stock_code": ', headers={"content-type": "application/json"}
    )
    error = assert_error(response, 400, "malformed_json")
    assert "JSON" in error["message"]
    missing = assert_error(adapter.client.post("/api/orders", json={}), 422, "invalid_input")
    assert "stock_code" in missing["message"] or "body" in missing["message"]


def test_health_and_docs(adapter: RunningAdapter) -> None:
    http = adapter.client
    http.get(f"/api/stocks/{CODE}")
    health = http.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    fingerprint = body["default_key"]
    assert fingerprint and body["keys"][fingerprint]["token_valid_until"]
    assert "SEintegration" not in health.text and "PSintegration" not in health.text
    assert http.get("/docs").status_code == 200
    spec = http.get("/openapi.json").json()
    for path in (
        "/api/fn_au10001",
        "/api/stocks/{stock_code}",
        "/api/stocks/{stock_code}/orderbook",
        "/api/stocks",
        "/api/chart/{stock_code}/{period}",
        "/api/orders",
        "/api/orders/{order_no}",
        "/api/orders/open",
        "/api/orders/fills",
        "/api/account/deposit",
        "/api/account/balance",
    ):
        assert path in spec["paths"], path


@pytest.mark.parametrize("with_body", [False, True])
def test_token_with_credentials(adapter: RunningAdapter, with_body: bool) -> None:
    other = {"app_key": "PSotherAPPKEY000000000000", "app_secret": "SEotherSECRET0000000000000"}
    if with_body:
        response = adapter.client.post(
            "/api/fn_au10001", json={**other, "environment": "production"}
        )
    else:
        response = adapter.client.post(
            "/api/fn_au10001",
            headers={
                "X-Kiwoom-App-Key": other["app_key"],
                "X-Kiwoom-App-Secret": other["app_secret"],
                "X-Kiwoom-Environment": "production",
            },
        )
    assert response.status_code == 200, response.text
    default = adapter.client.post("/api/fn_au10001").json()
    assert response.json()["token"] != default["token"]
    health = adapter.client.get("/health").json()
    assert len(health["keys"]) == 2
    assert other["app_key"] not in adapter.client.get("/health").text
