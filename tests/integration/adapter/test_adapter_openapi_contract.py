"""The adapter against its own OpenAPI document, with schemathesis: every operation
called with generated valid and invalid input, with an app key in the X-Kiwoom-*
headers as a platform instance sends it, against the simulator. No answer may be a
5xx of the adapter's own; every status must be documented, with the documented body
and content type; invalid input must be refused."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from tests.integration.cluster.processes import Service, market_time
from tests.integration.contract import call_and_check

from quantum.adapter.api import create_adapter_app

KEYS = itertools.count()
"""A new app key for every case: Kiwoom's per-key limits (5 orders a second) would
otherwise pace the generated calls."""


def key() -> dict[str, str]:
    return {
        "X-Kiwoom-App-Key": f"contract-app-key-{next(KEYS)}",
        "X-Kiwoom-App-Secret": "contract-app-secret",
        "X-Kiwoom-Environment": "production",
    }


@dataclass(frozen=True)
class Running:
    url: str


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The simulator (open market, long tokens, no rate limit) and ``quantum adapter``
    on it, as processes."""
    folder = tmp_path_factory.mktemp("adapter-contract")
    config = folder / "simulator.json"
    config.write_text(
        json.dumps(
            {
                "start": market_time(),
                "token_lifetime_seconds": 30 * 86_400,  # market_time() may be a holiday behind
                "rate_limit": {"per_second": 100_000},
            }
        )
    )
    simulator = Service(
        "simulator", ["simulator", "--config", str(config)], {}, folder, health="/_sim/state"
    )
    adapter = Service(
        "adapter",
        ["adapter"],
        {
            "KIWOOM_ENVIRONMENT": "production",
            "KIWOOM_REST_URL": simulator.url,
            # whatever a case asks for, nothing but the simulator is reachable: any
            # other host goes to a closed local port (a 503, which fails the test)
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        },
        folder,
    )
    try:
        simulator.start()
        adapter.start()
        yield Running(adapter.url)
    finally:
        adapter.stop()
        simulator.stop()


class _NoBroker:
    """The document needs no broker: routes are declared, not called."""


schema = schemathesis.openapi.from_dict(create_adapter_app(_NoBroker()).openapi())  # type: ignore[arg-type]
"""The document the adapter serves at /openapi.json, built here without a broker so
that pytest can list its operations."""


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_the_document(case: Any, running: Running) -> None:
    on_loopback(case)
    call_and_check(case, running.url, key())


def on_loopback(case: Any) -> None:
    """An adapter sends a MOCK key to Kiwoom's mock host (its own host serves only
    its environment and SIMULATOR): generated cases ask for production instead, which
    this adapter serves from the simulator. Nothing leaves the machine."""
    if isinstance(case.body, dict) and str(case.body.get("environment", "mock")).lower() == "mock":
        case.body["environment"] = "production"
    headers = case.headers or {}
    names = {name.lower(): name for name in headers}
    environment = names.get("x-kiwoom-environment")
    if environment is not None and str(headers[environment]).strip().lower() == "mock":
        headers[environment] = "production"
    elif environment is None and "x-kiwoom-app-key" in names:
        headers["X-Kiwoom-Environment"] = "production"  # (the default is MOCK)


def test_the_served_document_is_the_one_tested(running: Running) -> None:
    served = httpx.get(f"{running.url}/openapi.json").json()
    assert served == create_adapter_app(_NoBroker()).openapi()  # type: ignore[arg-type]
