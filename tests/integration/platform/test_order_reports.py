"""Fills arrive from Kiwoom's realtime order reports (no polling), once each."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.platform.conftest import Harness
from tests.integration.platform.test_orders_api import order_body, quote
from tests.waiting import eventually

from quantum.platform.trading import reports as reports_module

CODE = "005930"


async def submit(harness: Harness, headers: dict[str, str], price: int) -> dict[str, Any]:
    body = {"stockCode": CODE, "orderType": "LIMIT", "orderSide": "BUY", "quantity": 3}
    answer = await harness.client.post(
        "/api/v1/orders", json={**body, "price": price}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_fill_is_applied_from_the_stream(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fill that beats its acknowledgement waits for it, however slow the machine,
    # instead of falling back to a snapshot (which would be a ka10076 call).
    monkeypatch.setattr(reports_module, "PARK_SECONDS", 60.0)
    _user, headers = await harness.trader()
    quote = (await harness.client.get(f"/api/v1/stocks/{CODE}", headers=headers)).json()
    resting = await submit(harness, headers, quote["lowerLimit"])
    account = resting["kiwoomAccountId"]
    reports = harness.platform.supervisor.reports
    assert reports is not None

    async def live() -> bool:
        return reports.is_live(account)

    await eventually(live)
    polled_before = harness.sim.sim.requests["ka10076"]
    order = await submit(harness, headers, quote["upperLimit"])

    async def filled() -> bool:
        view = await harness.platform.orders.store.get(order["orderId"])
        return view is not None and view.state.value == "FILLED"

    await eventually(filled)
    assert harness.sim.sim.requests["ka10076"] == polled_before  # no snapshot was needed
    events = await harness.platform.orders.store.events(order["orderId"])
    fills = [e for e in events if e.type.value in ("PARTIALLY_FILLED", "FILLED")]
    assert sum(int(e.data["fill_quantity"]) for e in fills) == 3
    await harness.platform.supervisor.run_once()  # snapshots agree: nothing new
    assert len(await harness.platform.orders.store.events(order["orderId"])) == len(events)


async def test_a_fill_is_measured_against_the_order_as_stored(harness: Harness) -> None:
    """The stream and a snapshot may report the same fill at once, each handed the
    order as it was when its report came: a snapshot's cumulative 3 after the
    stream's 1 is 2 more shares, not 3; the stream's 3 after that is nothing new."""
    _user, headers = await harness.trader()
    quote = (await harness.client.get(f"/api/v1/stocks/{CODE}", headers=headers)).json()
    order = await submit(harness, headers, quote["lowerLimit"])
    store = harness.platform.orders.store
    reconciler = harness.platform.supervisor.reconciler
    before = await store.get(order["orderId"])
    assert before is not None and before.broker_order_no is not None
    number, price = before.broker_order_no, quote["lowerLimit"]

    assert await reconciler.apply_unit_fill(before, number, 1, 1, price) == 1
    assert await reconciler.apply_fill(before, number, 3, price) == 1
    assert await reconciler.apply_unit_fill(before, number, 3, 2, price) == 0
    after = await store.get(order["orderId"])
    assert after is not None
    assert (after.state.value, after.filled_quantity, after.broker_filled_quantity) == (
        "FILLED",
        3,
        3,
    )
    fills = [e for e in await store.events(order["orderId"]) if "fill_quantity" in e.data]
    assert [int(e.data["fill_quantity"]) for e in fills] == [1, 2]
    assert await reconciler.apply_unit_fill(after, number, 5, 1, price) is None  # a gap


async def test_an_order_ended_before_the_stream_was_up_is_settled_without_a_poll(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FOK order the exchange ended at once, its 확인 sent before the account's order
    stream was up: the stream's first snapshot finds the order gone but too fresh to
    settle, and looks again once it may (the harness has no polling)."""
    user, headers = await harness.trader()
    monkeypatch.setattr(harness.platform.orders, "on_working", None)  # no stream yet
    reports = harness.platform.supervisor.reports
    assert reports is not None

    async def unheard(*_: object) -> None:
        """The order's 확인 went out before the stream was up: it never hears it."""

    monkeypatch.setattr(reports, "_on_order", unheard)
    price = (await quote(harness, headers))["lowerLimit"]
    body = order_body(orderType="LIMIT_FOK", quantity=1, price=price)
    answer = await harness.client.post("/api/v1/orders", json=body, headers=headers)
    assert answer.status_code == 201 and answer.json()["state"] == "ACCEPTED", answer.text
    trading = await harness.platform.accounts.trading(user["userId"])
    assert trading is not None
    await reports.watch(user["userId"], trading)

    async def cancelled() -> bool:
        view = await harness.platform.orders.store.get(answer.json()["orderId"])
        return view is not None and view.state.value == "CANCELLED"

    await eventually(cancelled)
