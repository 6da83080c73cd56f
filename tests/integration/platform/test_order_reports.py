"""Fills arrive from Kiwoom's realtime order reports (no polling), once each."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.platform.conftest import Harness
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
