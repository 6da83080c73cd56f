"""A remote adapter tells its caller which Kiwoom calls a request caused
(``X-Kiwoom-Calls``), so the platform's usage log is the same in or out of process."""

from __future__ import annotations

import pytest
from tests.integration.kiwoom.conftest import settings_for
from tests.integration.serving import serve_in_thread
from tests.integration.simulator.conftest import StartSimulator

from quantum.adapter import calls
from quantum.adapter.broker import BrokerNotFound
from quantum.adapter.factory import inprocess_broker
from quantum.adapter.remote import RemoteBroker
from quantum.adapter.server import app_closing
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.records import CallRecord


def test_header_round_trip() -> None:
    record = CallRecord("ka10001", "/api/dostk/stkinfo", 12.5, "error", "1700", 429, 3, "fp")
    assert calls.decode(calls.encode([record, record]), "fp") == [record, record]
    assert calls.decode("garbage,a;b;c;d;e;f;g", "fp") == []


async def test_remote_broker_reports_the_adapters_kiwoom_calls(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator()
    broker = inprocess_broker(
        settings_for(sim),
        client_factory=lambda s: KiwoomClient.from_settings(s, observer=calls.observe),
    )
    served = serve_in_thread(app_closing(broker, broker.hub), "adapter")
    seen: list[CallRecord] = []
    remote = RemoteBroker(served.base_url, observer=seen.append)
    try:
        await remote.quote("005930")
        assert [r.api_id for r in seen] == ["au10001", "ka10001"]
        assert all(r.outcome == "ok" and r.http_status == 200 for r in seen)
        assert seen[1].path == "/api/dostk/stkinfo" and seen[1].latency_ms > 0
        seen.clear()
        await remote.quote("000660")
        assert [r.api_id for r in seen] == ["ka10001"]  # the token is reused
        seen.clear()
        with pytest.raises(BrokerNotFound):
            await remote.quote("999999")
        assert [r.outcome for r in seen] == ["error"]
        assert seen[0].error_code is not None
    finally:
        await remote.close()
        served.stop()
