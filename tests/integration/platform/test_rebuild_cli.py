"""``quantum admin rebuild-projections``: a damaged ``order_view`` is rebuilt from
``order_events`` to exactly what it was."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from sqlalchemy import text
from tests.integration.platform.conftest import Harness
from tests.integration.platform.test_orders_api import place, quote, settle
from typer.testing import CliRunner

from quantum.cli import app


async def test_rebuild_projections_restores_a_damaged_order_view(harness: Harness) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    filled = await place(harness, headers, price=q["upperLimit"])
    resting = await place(harness, headers, price=q["lowerLimit"], quantity=3)
    cancelled = await place(harness, headers, price=q["lowerLimit"], quantity=2)
    answer = await harness.client.delete(f"/api/v1/orders/{cancelled['orderId']}", headers=headers)
    assert answer.status_code == 200, answer.text
    await settle(harness)

    store = harness.platform.orders.store
    before = [asdict(view) for view in await store.all_views()]
    states = {view["order_id"]: view["state"] for view in before}
    assert states == {
        filled["orderId"]: "FILLED",
        resting["orderId"]: "ACCEPTED",
        cancelled["orderId"]: "CANCELLED",
    }

    async with harness.platform.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE order_view SET state = 'REJECTED', filled_quantity = 99 "
                "WHERE order_id = :id"
            ),
            {"id": filled["orderId"]},
        )
        await connection.execute(
            text("DELETE FROM order_view WHERE order_id = :id"), {"id": resting["orderId"]}
        )
    damaged = [asdict(view) for view in await store.all_views()]
    assert damaged != before and len(damaged) == 2

    settings = harness.platform.settings
    await harness.platform.aclose()

    env: dict[str, Any] = {
        "DATABASE_URL": settings.resolved_database_url(),
        "QTP_DATA_DIR": str(settings.data_dir),
        "QTP_SIMULATOR_URL": None,
        "QTP_RECONCILE_POLL_SECONDS": "0",
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["admin", "rebuild-projections"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "rebuilt 3 order views" in result.output

    from quantum.platform.db.engine import create_engine
    from quantum.platform.db.units import units_for
    from quantum.platform.trading.store import OrderStore

    engine = create_engine(settings.resolved_database_url())
    units = units_for(engine)
    store = OrderStore(units)
    try:
        after = [asdict(view) for view in await store.all_views()]
    finally:
        await units.aclose()
        await engine.dispose()
    assert after == before
