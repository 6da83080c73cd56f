"""``qtp_order_submit_stage_seconds``: each stage of a submit that reached the
intent's write is timed once, the stages lie inside the request, and a refused
check or a repeated idempotency key times nothing."""

from __future__ import annotations

from tests.integration.platform.conftest import Harness
from tests.integration.platform.test_orders_api import order_body, quote
from tests.integration.platform.test_platform_metrics import scrape
from tests.integration.scraping import Samples, value

from quantum.platform.trading.stages import SubmitStage

P = {"service": "platform"}
SUBMIT = {**P, "method": "POST", "route": "/api/v1/orders"}


def stage_counts(found: Samples) -> dict[str, float | None]:
    return {
        stage.value: value(found, "qtp_order_submit_stage_seconds_count", **P, stage=stage.value)
        for stage in SubmitStage
    }


async def test_each_stage_of_a_submit_is_timed_once_inside_its_request(harness: Harness) -> None:
    _user, headers = await harness.trader()
    body = order_body(quantity=1, price=(await quote(harness, headers))["lowerLimit"])
    keyed = {**headers, "Idempotency-Key": "stages-1"}
    assert (
        await harness.client.post("/api/v1/orders", json=body, headers=keyed)
    ).status_code == 201

    _, found = await scrape(harness)
    assert stage_counts(found) == {stage.value: 1 for stage in SubmitStage}
    sums = {
        stage: value(found, "qtp_order_submit_stage_seconds_sum", **P, stage=stage.value) or 0.0
        for stage in SubmitStage
    }
    assert all(seconds > 0 for seconds in sums.values()), sums
    request = value(found, "qtp_http_request_duration_seconds_sum", **SUBMIT)
    assert request is not None and sum(sums.values()) <= request
    # the broker's share, as the Kiwoom call metrics count it, lies inside its stage
    kiwoom = value(found, "qtp_kiwoom_call_duration_seconds_sum", **P, api_id="kt10000")
    assert kiwoom is not None and kiwoom <= sums[SubmitStage.BROKER]

    # the same key again: the first order's answer, nothing sent, nothing timed
    repeat = await harness.client.post("/api/v1/orders", json=body, headers=keyed)
    assert repeat.status_code == 200, repeat.text
    # a price off the tick: refused by the checks, before any write
    off_tick = await harness.client.post(
        "/api/v1/orders", json={**body, "price": body["price"] + 1}, headers=headers
    )
    assert off_tick.status_code == 422, off_tick.text
    _, found = await scrape(harness)
    assert stage_counts(found) == {stage.value: 1 for stage in SubmitStage}
