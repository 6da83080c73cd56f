"""Orders when the broker misbehaves: a lost submit response ends in exactly one
broker order and the right state; a submit that never reached Kiwoom is rejected
after the grace period; retried submits create nothing new; start-up reconciles;
a cancel or change whose answer was lost is settled by what the broker shows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.integration.platform.conftest import Harness, StartHarness, error_of
from tests.waiting import eventually

from quantum.krx.rules import tick_up
from quantum.platform.db.units import Change

CODE = "005930"


def inject(harness: Harness, api_id: str, **rule: Any) -> None:
    """A simulator fault for ``api_id``'s requests (see quantum/simulator/faults.py)."""
    harness.sim.client.post("/_sim/faults", json={"api_id": api_id, **rule}).raise_for_status()


def kt10000(harness: Harness) -> int:
    return harness.sim.sim.requests["kt10000"]


async def limits(harness: Harness, headers: dict[str, str]) -> tuple[int, int]:
    q = (await harness.client.get(f"/api/v1/stocks/{CODE}", headers=headers)).json()
    return q["lowerLimit"], q["upperLimit"]


@pytest.fixture
def short_kiwoom_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform gives up on a lost answer after 3 s (the simulator holds it for
    10): short enough for a test, long for any answer that does come."""
    monkeypatch.setenv("KIWOOM_TIMEOUT_SECONDS", "3")


@pytest.mark.usefixtures("short_kiwoom_timeout")
async def test_lost_response_is_reconciled_into_one_order(start_harness: StartHarness) -> None:
    harness = await start_harness(simulator={"lost_response_seconds": 10})
    _user, headers = await harness.trader()
    _low, high = await limits(harness, headers)
    inject(harness, "kt10000", lose_response=True, times=1)
    keyed = {**headers, "Idempotency-Key": "lost-1"}
    body = {
        "stockCode": CODE,
        "orderType": "LIMIT",
        "orderSide": "BUY",
        "quantity": 5,
        "price": high,
    }
    first = await harness.client.post("/api/v1/orders", json=body, headers=keyed)
    assert first.status_code == 202, first.text
    assert first.json()["state"] == "OUTCOME_UNKNOWN"
    retried = await harness.client.post("/api/v1/orders", json=body, headers=keyed)
    assert retried.status_code == 200
    assert retried.json()["orderId"] == first.json()["orderId"]
    assert kt10000(harness) == 1
    await harness.platform.supervisor.run_once()
    order = (
        await harness.client.get(f"/api/v1/orders/{first.json()['orderId']}", headers=headers)
    ).json()
    assert order["state"] == "FILLED", order
    assert order["brokerOrderNo"] and order["filledQuantity"] == 5
    assert kt10000(harness) == 1  # never re-sent
    types = [e["type"] for e in order["events"]]
    assert types[:3] == ["SUBMITTED", "OUTCOME_UNKNOWN", "ACCEPTED"]


async def test_submit_that_never_arrived_is_rejected_after_grace(
    start_harness: StartHarness,
) -> None:
    harness = await start_harness(reconcile_grace_seconds=0.3)
    _user, headers = await harness.trader()
    low, _high = await limits(harness, headers)
    inject(harness, "kt10000", http_status=500, times=1)
    body = {"stockCode": CODE, "orderType": "LIMIT", "orderSide": "BUY", "quantity": 1}
    answer = await harness.client.post(
        "/api/v1/orders", json={**body, "price": low}, headers=headers
    )
    assert answer.status_code == 202, answer.text
    await asyncio.sleep(0.4)
    await harness.platform.supervisor.run_once()
    order = (
        await harness.client.get(f"/api/v1/orders/{answer.json()['orderId']}", headers=headers)
    ).json()
    assert order["state"] == "REJECTED"
    assert order["reasonCode"] == "not_at_broker"


@pytest.mark.usefixtures("short_kiwoom_timeout")
async def test_start_up_reconciles_orders_left_unknown(start_harness: StartHarness) -> None:
    harness = await start_harness(simulator={"lost_response_seconds": 10})
    user, headers = await harness.trader()
    low, _high = await limits(harness, headers)
    inject(harness, "kt10000", lose_response=True, times=1)
    body = {"stockCode": CODE, "orderType": "LIMIT", "orderSide": "BUY", "quantity": 2}
    answer = await harness.client.post(
        "/api/v1/orders", json={**body, "price": low}, headers=headers
    )
    assert answer.status_code == 202
    order_id = answer.json()["orderId"]
    await harness.platform.aclose()
    from quantum.platform.core import Platform

    again = await Platform.start(
        harness.platform.settings, simulator_clock=harness.sim.sim.clock.now
    )
    try:

        async def accepted() -> bool:
            view = await again.orders.store.get(order_id)
            return view is not None and view.state.value == "ACCEPTED"

        await eventually(accepted)
        view = await again.orders.store.get(order_id)
        assert view is not None and view.broker_order_no
        assert user["userId"] == view.user_id
    finally:
        await again.aclose()


async def test_an_answer_the_database_lost_is_found_again_at_the_broker(
    start_harness: StartHarness,
) -> None:
    """The submit's answer is written relaxed (order_rows.py): a database server that
    crashed right after acknowledging it could lose it. The order is then left as
    its intent, pending; reconciliation finds it at the broker under the number
    the user was told, and nothing is sent again."""
    harness = await start_harness(reconcile_grace_seconds=0.3)
    _user, headers = await harness.trader()
    low, _high = await limits(harness, headers)
    units = harness.platform.orders.store._units
    atomic = units.atomic

    async def losing_relaxed_writes(change: Change) -> int:
        if "synchronous_commit" in str(change.statement.statement):
            return 1  # acknowledged, then lost with the server
        return await atomic(change)

    units.atomic = losing_relaxed_writes  # type: ignore[method-assign]
    body = {"stockCode": CODE, "orderType": "LIMIT", "orderSide": "BUY", "quantity": 3}
    answer = await harness.client.post(
        "/api/v1/orders", json={**body, "price": low}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    told = answer.json()["brokerOrderNo"]
    order_id = answer.json()["orderId"]
    units.atomic = atomic  # type: ignore[method-assign]
    stored = await harness.platform.orders.store.get(order_id)
    assert stored is not None and stored.state.value == "PENDING_NEW"

    await asyncio.sleep(0.4)
    await harness.platform.supervisor.run_once()
    order = (await harness.client.get(f"/api/v1/orders/{order_id}", headers=headers)).json()
    assert order["state"] == "ACCEPTED" and order["brokerOrderNo"] == told
    assert kt10000(harness) == 1


async def settle_later(harness: Harness) -> None:
    """Reconcile as the poll would once the grace and settle periods are over, without
    waiting them out: the reconciler's clock is a few minutes ahead for this pass."""
    reconciler = harness.platform.supervisor.reconciler
    clock = reconciler._clock
    reconciler._clock = lambda: datetime.now(UTC) + timedelta(minutes=5)
    try:
        await harness.platform.supervisor.run_once()
    finally:
        reconciler._clock = clock


async def resting_buy(harness: Harness, headers: dict[str, str], quantity: int) -> dict[str, Any]:
    low, _high = await limits(harness, headers)
    body = {"stockCode": CODE, "orderType": "LIMIT", "orderSide": "BUY", "quantity": quantity}
    answer = await harness.client.post(
        "/api/v1/orders", json={**body, "price": low}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


async def detail(harness: Harness, headers: dict[str, str], order_id: str) -> dict[str, Any]:
    answer = await harness.client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    order: dict[str, Any] = answer.json()
    return order


@pytest.mark.usefixtures("short_kiwoom_timeout")
async def test_a_cancel_the_broker_never_took_leaves_the_order_working(
    start_harness: StartHarness,
) -> None:
    harness = await start_harness()
    _user, headers = await harness.trader()
    order = await resting_buy(harness, headers, 4)
    inject(harness, "kt10003", http_status=500, times=1)
    url = f"/api/v1/orders/{order['orderId']}"
    pending = await harness.client.delete(url, headers=headers)
    assert pending.status_code == 202 and pending.json()["state"] == "PENDING_CANCEL"

    await harness.platform.supervisor.run_once()  # too soon to tell: left pending
    assert (await detail(harness, headers, order["orderId"]))["state"] == "PENDING_CANCEL"
    await settle_later(harness)
    working = await detail(harness, headers, order["orderId"])
    assert working["state"] == "ACCEPTED", working
    assert working["events"][-1]["type"] == "CANCEL_REJECTED"
    assert working["events"][-1]["data"]["code"] == "not_at_broker"
    # working again: the user can cancel it
    cancelled = await harness.client.delete(url, headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "CANCELLED"


@pytest.mark.usefixtures("short_kiwoom_timeout")
async def test_a_lost_answer_to_a_reduction_is_found_in_the_remainder(
    start_harness: StartHarness,
) -> None:
    harness = await start_harness(simulator={"lost_response_seconds": 5})
    _user, headers = await harness.trader()
    order = await resting_buy(harness, headers, 10)
    inject(harness, "kt10003", lose_response=True, times=1)
    url = f"/api/v1/orders/{order['orderId']}"
    pending = await harness.client.patch(url, json={"quantity": 4}, headers=headers)
    assert pending.status_code == 202 and pending.json()["state"] == "PENDING_MODIFY"

    await settle_later(harness)
    reduced = await detail(harness, headers, order["orderId"])
    assert reduced["state"] == "ACCEPTED", reduced
    assert (reduced["quantity"], reduced["remainingQuantity"]) == (4, 4)
    assert reduced["brokerOrderNo"] == order["brokerOrderNo"]


@pytest.mark.usefixtures("short_kiwoom_timeout")
async def test_a_lost_answer_to_a_reprice_finds_the_new_broker_order(
    start_harness: StartHarness,
) -> None:
    harness = await start_harness(simulator={"lost_response_seconds": 5})
    _user, headers = await harness.trader()
    order = await resting_buy(harness, headers, 3)
    _low, high = await limits(harness, headers)
    inject(harness, "kt10002", lose_response=True, times=1)
    url = f"/api/v1/orders/{order['orderId']}"
    pending = await harness.client.patch(url, json={"price": high}, headers=headers)
    assert pending.status_code == 202 and pending.json()["state"] == "PENDING_MODIFY"

    await settle_later(harness)  # the new order bought at once (marketable)
    filled = await detail(harness, headers, order["orderId"])
    assert filled["state"] == "FILLED" and filled["filledQuantity"] == 3, filled
    assert filled["price"] == high
    assert filled["brokerOrderNo"] not in (None, order["brokerOrderNo"])
    assert [e["type"] for e in filled["events"]][-2:] == ["MODIFIED", "FILLED"]


async def test_a_submit_the_broker_refuses_is_an_error_naming_the_order(
    start_harness: StartHarness,
) -> None:
    harness = await start_harness()
    _user, headers = await harness.trader()
    low, _high = await limits(harness, headers)
    inject(harness, "kt10000", business="RC4058:장종료", times=1)
    keyed = {**headers, "Idempotency-Key": "refused-1"}
    body = {"stockCode": CODE, "orderType": "LIMIT", "orderSide": "BUY", "quantity": 2}
    refused = await harness.client.post(
        "/api/v1/orders", json={**body, "price": low}, headers=keyed
    )
    error = error_of(refused, 409, "order_rejected")["error"]
    assert "RC4058" in error["message"]
    order_id = error["details"]["orderId"]
    assert error["details"]["reasonCode"] == "RC4058"
    order = await detail(harness, headers, order_id)
    assert order["state"] == "REJECTED" and order["brokerOrderNo"] is None
    # a retry with the key answers as the first call did, and sends nothing
    again = await harness.client.post("/api/v1/orders", json={**body, "price": low}, headers=keyed)
    assert error_of(again, 409, "order_rejected")["error"]["details"]["orderId"] == order_id
    assert kt10000(harness) == 1


@pytest.mark.usefixtures("short_kiwoom_timeout")
async def test_a_reprice_whose_new_order_ended_unfilled_is_cancelled(
    start_harness: StartHarness,
) -> None:
    """The re-price's answer was lost and its new order was cancelled at the broker
    before any fill: neither broker list shows either order any more."""
    harness = await start_harness(simulator={"lost_response_seconds": 5})
    _user, headers = await harness.trader()
    order = await resting_buy(harness, headers, 3)
    low, _high = await limits(harness, headers)
    inject(harness, "kt10002", lose_response=True, times=1)
    url = f"/api/v1/orders/{order['orderId']}"
    pending = await harness.client.patch(url, json={"price": tick_up(low, 1)}, headers=headers)
    assert pending.status_code == 202 and pending.json()["state"] == "PENDING_MODIFY"
    engine = harness.sim.sim.engine
    first = engine.order(order["brokerOrderNo"])
    assert first is not None
    (new,) = [o for o in engine.orders(first.account_no) if o.orig_order_no == first.order_no]
    engine.cancel(first.account_no, new.order_no, CODE, 0)

    await settle_later(harness)
    ended = await detail(harness, headers, order["orderId"])
    assert ended["state"] == "CANCELLED" and ended["filledQuantity"] == 0, ended
    assert ended["remainingQuantity"] == 0
