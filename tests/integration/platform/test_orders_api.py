"""Orders end to end on the simulator (fixed clock inside a session): place, fill,
cancel, modify, idempotency, and the checks that keep bad orders from the broker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.integration.platform.conftest import Harness

from quantum.platform.db.units import Change

CODE = "005930"


async def quote(harness: Harness, headers: dict[str, str]) -> dict[str, Any]:
    answer = await harness.client.get(f"/api/v1/stocks/{CODE}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def order_body(**fields: Any) -> dict[str, Any]:
    body = {"stockCode": CODE, "orderType": "LIMIT", "orderSide": "BUY", "quantity": 10}
    body.update(fields)
    return body


async def place(harness: Harness, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    answer = await harness.client.post("/api/v1/orders", json=order_body(**fields), headers=headers)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def settle(harness: Harness) -> None:
    await harness.platform.supervisor.run_once()


async def test_marketable_buy_fills_and_history_tells_it(harness: Harness) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    order = await place(harness, headers, price=q["upperLimit"])
    assert order["state"] == "ACCEPTED" and order["brokerOrderNo"]
    await settle(harness)
    detail = (
        await harness.client.get(f"/api/v1/orders/{order['orderId']}", headers=headers)
    ).json()
    assert detail["state"] == "FILLED"
    assert detail["filledQuantity"] == 10 and detail["remainingQuantity"] == 0
    assert detail["averageFillPrice"] <= q["upperLimit"]
    assert [e["type"] for e in detail["events"]][:2] == ["SUBMITTED", "ACCEPTED"]
    assert detail["events"][-1]["type"] == "FILLED"


async def test_resting_order_is_cancelled(harness: Harness) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    order = await place(harness, headers, price=q["lowerLimit"])
    cancelled = await harness.client.delete(f"/api/v1/orders/{order['orderId']}", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "CANCELLED"
    again = await harness.client.delete(f"/api/v1/orders/{order['orderId']}", headers=headers)
    assert again.status_code == 409
    await settle(harness)
    final = (await harness.client.get(f"/api/v1/orders/{order['orderId']}", headers=headers)).json()
    assert final["state"] == "CANCELLED"


async def test_only_the_submits_answer_skips_the_wait_for_the_disk(harness: Harness) -> None:
    """The intent is on disk before the broker hears of it; the broker's answer to a
    submit is relaxed (order_rows.py: reconciliation would find it again); a cancel's
    intent and answer, like every other event, wait for the disk."""
    written: list[bool] = []
    units = harness.platform.orders.store._units
    atomic = units.atomic

    async def recording(change: Change) -> int:
        sql = str(change.statement.statement)
        written.append("synchronous_commit" in sql)
        return await atomic(change)

    units.atomic = recording  # type: ignore[method-assign]
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    order = await place(harness, headers, price=q["lowerLimit"])
    assert order["state"] == "ACCEPTED"
    cancelled = await harness.client.delete(f"/api/v1/orders/{order['orderId']}", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    # SUBMITTED, ACCEPTED, CANCEL_REQUESTED, CANCELLED: whether each was relaxed
    assert written == [False, True, False, False]


async def test_modify_price_and_quantity(harness: Harness) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    order = await place(harness, headers, price=q["lowerLimit"])
    url = f"/api/v1/orders/{order['orderId']}"
    lower = await harness.client.patch(url, json={"quantity": 4}, headers=headers)
    assert lower.status_code == 200, lower.text
    assert lower.json()["quantity"] == 4 and lower.json()["state"] == "ACCEPTED"
    repriced = await harness.client.patch(
        url, json={"price": q["lowerLimit"] + 100}, headers=headers
    )
    assert repriced.status_code == 200, repriced.text
    body = repriced.json()
    assert body["price"] == q["lowerLimit"] + 100
    assert body["brokerOrderNo"] != order["brokerOrderNo"]
    await settle(harness)
    final = (await harness.client.get(url, headers=headers)).json()
    assert final["state"] == "ACCEPTED" and final["remainingQuantity"] == 4


async def test_bad_modifications_reach_no_broker_and_change_nothing(harness: Harness) -> None:
    """The same checks as a new order's, with the same error bodies."""
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    order = await place(harness, headers, price=q["lowerLimit"])
    url = f"/api/v1/orders/{order['orderId']}"
    sent_before = sum(harness.sim.sim.requests[a] for a in ("kt10002", "kt10003"))
    cases = [
        ({"price": q["lowerLimit"] + 1}, "invalid_tick", {"field": "price"}),
        (
            {"price": q["upperLimit"] + 1_000},
            "price_out_of_limits",
            {"field": "price", "lowerLimit": q["lowerLimit"], "upperLimit": q["upperLimit"]},
        ),
        ({"quantity": 10}, "invalid_quantity", {}),
        ({"price": q["price"], "quantity": 1}, "invalid_modify", {}),
    ]
    for body, code, details in cases:
        answer = await harness.client.patch(url, json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()["error"]
        assert error["code"] == code and details.items() <= (error["details"] or {}).items(), error
    assert sum(harness.sim.sim.requests[a] for a in ("kt10002", "kt10003")) == sent_before
    detail = (await harness.client.get(url, headers=headers)).json()
    assert [e["type"] for e in detail["events"]] == ["SUBMITTED", "ACCEPTED"]
    assert (detail["price"], detail["quantity"]) == (q["lowerLimit"], 10)


async def test_idempotent_submit_creates_one_order(harness: Harness) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    keyed = {**headers, "Idempotency-Key": "retry-me-1"}
    body = order_body(price=q["lowerLimit"])
    first = await harness.client.post("/api/v1/orders", json=body, headers=keyed)
    second = await harness.client.post("/api/v1/orders", json=body, headers=keyed)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["orderId"] == second.json()["orderId"]
    other = await harness.client.post(
        "/api/v1/orders", json=order_body(price=q["lowerLimit"], quantity=3), headers=keyed
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    listed = (await harness.client.get("/api/v1/orders", headers=headers)).json()
    assert listed["total"] == 1


async def test_a_retry_answers_with_its_first_order_when_its_checks_would_now_refuse(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is read only when an order is not created (a keyed submit costs no
    extra read): after the close, a new order is refused, and a retry of one placed
    before it is answered as before."""
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    store = harness.platform.orders.store
    reads: list[str] = []
    read_key = store.by_idempotency_key

    async def counted(user_id: str, key: str) -> Any:
        reads.append(key)
        return await read_key(user_id, key)

    monkeypatch.setattr(store, "by_idempotency_key", counted)
    keyed = {**headers, "Idempotency-Key": "before-the-close"}
    body = order_body(price=q["lowerLimit"])
    first = await harness.client.post("/api/v1/orders", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    assert reads == []
    now = harness.sim.sim.clock.now()
    closed = now.replace(hour=16, minute=0, second=0, microsecond=0)
    await asyncio.to_thread(harness.sim.advance, (closed - now).total_seconds())
    refused = await harness.client.post("/api/v1/orders", json=body, headers=headers)
    assert refused.status_code == 409, refused.text
    again = await harness.client.post("/api/v1/orders", json=body, headers=keyed)
    assert again.status_code == 200, again.text
    assert again.json()["orderId"] == first.json()["orderId"]
    assert reads == ["before-the-close"]
    other = await harness.client.post(
        "/api/v1/orders", json=order_body(price=q["lowerLimit"], quantity=3), headers=keyed
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_rejections_record_nothing_and_send_nothing(harness: Harness) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    sent_before = sum(harness.sim.sim.requests[a] for a in ("kt10000", "kt10001"))
    cases = [
        (order_body(price=q["upperLimit"] + 1_000_000), 422, None),
        (order_body(price=q["lowerLimit"] + 1), 422, "invalid_tick"),
        (order_body(orderType="FANCY", price=q["price"]), 422, "invalid_order_type"),
        (order_body(orderType="MARKET", price=q["price"]), 422, "unexpected_price"),
        (order_body(orderType="STOP_LIMIT", price=q["price"]), 422, "missing_stopPrice"),
        (order_body(quantity=10_000_000, price=q["upperLimit"]), 409, "insufficient_buying_power"),
        (order_body(orderSide="SELL", price=q["price"]), 409, "insufficient_holdings"),
        (order_body(quantity="10", price=q["price"]), 422, "invalid_input"),
        (order_body(stockCode="12345", price=q["price"]), 422, "invalid_input"),
    ]
    for body, status, code in cases:
        answer = await harness.client.post("/api/v1/orders", json=body, headers=headers)
        assert answer.status_code == status, (body, answer.text)
        if code is not None:
            assert answer.json()["error"]["code"] == code, answer.text
    listed = (await harness.client.get("/api/v1/orders", headers=headers)).json()
    assert listed["total"] == 0
    assert sum(harness.sim.sim.requests[a] for a in ("kt10000", "kt10001")) == sent_before


async def test_orders_are_private(harness: Harness) -> None:
    _a, alice = await harness.trader()
    _b, bob = await harness.trader()
    q = await quote(harness, alice)
    order = await place(harness, alice, price=q["lowerLimit"])
    url = f"/api/v1/orders/{order['orderId']}"
    assert (await harness.client.get(url, headers=bob)).status_code == 404
    assert (await harness.client.delete(url, headers=bob)).status_code == 404
    assert (await harness.client.patch(url, json={"quantity": 1}, headers=bob)).status_code == 404
    assert (await harness.client.get("/api/v1/orders", headers=bob)).json()["total"] == 0
