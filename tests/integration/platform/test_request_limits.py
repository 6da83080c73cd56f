"""What the API refuses before a route runs: oversized bodies, query parameters a
route does not declare, times without an offset, and booleans that are numbers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from tests.integration.platform.conftest import USER_PASSWORD, Harness, error_of

from quantum.http_errors import MAX_BODY_BYTES

ORDERS = "/api/v1/orders"


async def test_a_body_over_the_limit_is_refused_in_json(harness: Harness) -> None:
    _, headers = await harness.trader()
    oversized = json.dumps({"stockCode": "A" * MAX_BODY_BYTES}).encode()
    declared = await harness.client.post(
        ORDERS, content=oversized, headers={**headers, "Content-Type": "application/json"}
    )
    error_of(declared, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(oversized), 8192):
            yield oversized[start : start + 8192]

    streamed = await harness.client.post(
        ORDERS, content=chunks(), headers={**headers, "Content-Type": "application/json"}
    )
    error_of(streamed, 413, "payload_too_large")
    listed = await harness.client.get(ORDERS, headers=headers)
    assert listed.json()["total"] == 0  # nothing was placed


async def test_a_query_parameter_no_route_declares_is_refused(harness: Harness) -> None:
    _, headers = await harness.trader()
    placed = await harness.buy(headers, limit="lowerLimit")
    # a misspelt filter would otherwise answer with every order, unfiltered
    misspelt = await harness.client.get(f"{ORDERS}?stock_code=000660", headers=headers)
    body = error_of(misspelt, 422, "unknown_query_parameter")
    assert body["error"]["details"]["unknown"] == ["stock_code"]
    assert "stockCode" in body["error"]["details"]["known"]
    filtered = await harness.client.get(f"{ORDERS}?stockCode=005930", headers=headers)
    assert [o["orderId"] for o in filtered.json()["items"]] == [placed["orderId"]]
    # declared by a dependency, or none at all: still fine
    assert (await harness.client.get(f"{ORDERS}?page=0&size=5", headers=headers)).status_code == 200
    assert (await harness.client.get("/api/v1/users/me?x=1", headers=headers)).status_code == 422
    # signing in and roles come first
    error_of(await harness.client.get(f"{ORDERS}?stock_code=000660"), 401, "unauthorized")
    admin_only = await harness.client.get("/api/v1/admin/users?x=1", headers=headers)
    error_of(admin_only, 403, "admin_only")


@pytest.mark.parametrize(
    "value",
    ["2026-11-25T09:00:00", "2026-11-25", "0.5", "1764000000", "0001-01-01T00:00:00+01:00"],
)
async def test_times_in_queries_need_an_offset(harness: Harness, value: str) -> None:
    _, headers = await harness.trader()
    answer = await harness.client.get(ORDERS, params={"from": value}, headers=headers)
    assert error_of(answer, 422, "invalid_input")["error"]["details"][0]["loc"] == [
        "query",
        "from",
    ]
    usage = await harness.client.get(
        "/api/v1/admin/kiwoom/usage", params={"to": value}, headers=await harness.admin()
    )
    error_of(usage, 422, "invalid_input")


async def test_times_with_an_offset_are_read_in_any_zone(harness: Harness) -> None:
    _, headers = await harness.trader()
    placed = await harness.buy(headers, limit="lowerLimit")
    created = placed["createdAt"]
    for since in ("2000-01-01T00:00:00Z", "2000-01-01T09:00:00+09:00", "2000-01-01 00:00:00Z"):
        found = await harness.client.get(ORDERS, params={"from": since}, headers=headers)
        assert found.json()["total"] == 1, (since, found.text)
    later = await harness.client.get(
        ORDERS, params={"from": created, "to": created}, headers=headers
    )
    assert later.status_code == 200 and later.json()["total"] == 0


async def test_booleans_must_be_booleans(harness: Harness) -> None:
    user = await harness.create_user()
    admin = await harness.admin()
    for value in (0, 1, "false", None):
        patched = await harness.client.patch(
            f"/api/v1/admin/users/{user['userId']}", json={"isActive": value}, headers=admin
        )
        if value is None:  # "not changed"
            assert patched.status_code == 200, patched.text
        else:
            error_of(patched, 422, "invalid_input")
    assert (await harness.login(user["username"], USER_PASSWORD))["Authorization"]


async def test_text_with_a_nul_character_is_refused_on_both_databases(harness: Harness) -> None:
    """PostgreSQL's text cannot hold it (a 500 there); SQLite's can: refused alike."""
    _, headers = await harness.trader()
    admin = await harness.admin()
    body = {"stockCode": "005930", "orderType": "MARKET", "orderSide": "BUY", "quantity": 1}
    placed = await harness.client.post(
        ORDERS, json={**body, "clientOrderId": "a\x00b"}, headers=headers
    )
    error_of(placed, 422, "invalid_input")
    assert (await harness.client.get(ORDERS, headers=headers)).json()["total"] == 0
    for answer in (
        await harness.client.get("/api/v1/admin/kiwoom/logs?userId=a%00b", headers=admin),
        await harness.client.get("/api/v1/admin/kiwoom/usage?userId=a%00b", headers=admin),
        await harness.client.patch(
            "/api/v1/admin/users/a%00b", json={"isActive": True}, headers=admin
        ),
        await harness.client.get("/api/v1/admin/kiwoom-accounts/a%00b", headers=admin),
        await harness.client.post(
            "/api/v1/admin/users",
            json={"username": "nul\x00user", "password": "x" * 12},
            headers=admin,
        ),
    ):
        error_of(answer, 422, "invalid_input")
