"""Every order type of the continuous session end to end: placed through the API,
sent to the simulator with the right ``trde_tp``, and settled in a sane state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.platform.conftest import Harness
from tests.integration.platform.databases import database
from tests.integration.platform.test_orders_api import quote, settle

from quantum.platform.trading.order_types import ORDER_TYPES
from quantum.simulator.engine.order_types import ORDER_TYPES as SIMULATOR_TYPES
from quantum.simulator.engine.order_types import TimeInForce

CODE = "005930"
QUANTITY = 10
SETTLE_AFTER = 3.2
"""A little over the reconciler's ``settle_after`` (3 s, wall clock)."""


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only here: the types exercise the broker path, which does not depend on
    the database (the store is covered on both by the other tests)."""
    with database("sqlite", tmp_path) as url:
        yield url


def _fields(name: str, q: dict[str, Any]) -> dict[str, Any]:
    """The body for a BUY of ``name``: priced types at the upper limit (marketable);
    STOP_LIMIT with its stop at the last price (already reached: it triggers)."""
    spec = ORDER_TYPES[name]
    body: dict[str, Any] = {
        "stockCode": CODE,
        "orderType": name,
        "orderSide": "BUY",
        "quantity": QUANTITY,
    }
    if spec.needs_price:
        body["price"] = q["upperLimit"]
    if spec.needs_stop_price:
        body["stopPrice"] = q["price"]
    return body


# What the simulator does with a marketable BUY of 10 shares of 005930 (best bid
# 72,200, best ask 72,300 with depth > 10 at the fixed clock; see
# src/quantum/simulator/engine/order_types.py and validation.resolve_prices):
#  - priced limits at the upper limit, the market types and the best (counter-side
#    quote) types trade at once against the asks: FILLED;
#  - STOP_LIMIT with its stop already reached triggers and trades as a limit: FILLED;
#  - FIRST_LIMIT (own side's best bid) and MID_PRICE (the midpoint rounded toward
#    the own side, here the bid) do not cross: they rest, ACCEPTED;
#  - MID_PRICE_IOC/FOK do not cross either: the broker cancels them unfilled, and
#    the reconciler records CANCELLED once the order is no longer open.
EXPECTED: dict[str, str] = {
    "LIMIT": "FILLED",
    "MARKET": "FILLED",
    "CONDITIONAL_LIMIT": "FILLED",
    "BEST_LIMIT": "FILLED",
    "FIRST_LIMIT": "ACCEPTED",
    "LIMIT_IOC": "FILLED",
    "MARKET_IOC": "FILLED",
    "BEST_IOC": "FILLED",
    "LIMIT_FOK": "FILLED",
    "MARKET_FOK": "FILLED",
    "BEST_FOK": "FILLED",
    "STOP_LIMIT": "FILLED",
    "MID_PRICE": "ACCEPTED",
    "MID_PRICE_IOC": "CANCELLED",
    "MID_PRICE_FOK": "CANCELLED",
}


async def _settled(harness: Harness, headers: dict[str, str], order_id: str) -> dict[str, Any]:
    await settle(harness)
    detail = await harness.client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert detail.status_code == 200, detail.text
    body: dict[str, Any] = detail.json()
    return body


def test_every_type_has_an_expectation() -> None:
    assert set(EXPECTED) == set(ORDER_TYPES)


@pytest.mark.parametrize("name", sorted(ORDER_TYPES))
async def test_order_type_end_to_end(harness: Harness, name: str) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    answer = await harness.client.post("/api/v1/orders", json=_fields(name, q), headers=headers)
    assert answer.status_code in (200, 201), answer.text
    placed = answer.json()
    assert placed["orderType"] == name and placed["brokerOrderNo"], placed

    final = await _settled(harness, headers, placed["orderId"])
    if (
        final["state"] == "ACCEPTED"
        and SIMULATOR_TYPES[ORDER_TYPES[name].code].tif is not TimeInForce.DAY
    ):
        # The IOC/FOK remainder is gone at the broker, but the reconciler leaves a
        # fresh order alone for SETTLE_AFTER (the broker's lists may lag behind)
        await asyncio.sleep(SETTLE_AFTER)
        final = await _settled(harness, headers, placed["orderId"])

    sent = harness.sim.sim.engine.order(placed["brokerOrderNo"])
    assert sent is not None
    assert sent.trde_tp == ORDER_TYPES[name].code
    assert sent.qty == QUANTITY
    assert (sent.price or None) == placed["price"]
    assert (sent.stop_price or None) == placed["stopPrice"]

    assert final["state"] == EXPECTED[name], (name, final, sent)
    assert final["filledQuantity"] == sent.filled_qty
    assert final["filledQuantity"] + final["remainingQuantity"] <= QUANTITY
    if final["state"] == "FILLED":
        assert final["filledQuantity"] == QUANTITY and final["remainingQuantity"] == 0
        assert final["averageFillPrice"] <= q["upperLimit"]
    elif final["state"] == "ACCEPTED":
        assert final["filledQuantity"] == 0 and final["remainingQuantity"] == QUANTITY
        assert sent.is_open
    elif final["state"] == "CANCELLED":
        assert final["remainingQuantity"] == 0 and not sent.is_open
