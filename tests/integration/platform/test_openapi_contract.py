"""The platform against its own OpenAPI document, with schemathesis: every
operation called with generated valid and invalid input, on SQLite and on
PostgreSQL, by a signed-in trader (an admin for the admin routes). No answer may be
a 5xx of the platform's own; every status must be documented, with the documented
body and content type; invalid input must be refused; a route behind a token must
refuse a call without one. A placed order's links, followed from a real answer,
must lead to operations that keep to the document too. The committed
``web/openapi.json`` (the dashboard's types) must be this document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from bench.web import SIMULATED_START
from hypothesis import HealthCheck, settings
from tests.integration.cluster.processes import Service
from tests.integration.contract import CHECKS, call_and_check
from tests.integration.platform.databases import database

from quantum.platform.app import create_platform_app

ADMIN = ("contract-admin", "contract-admin-password")
TRADER = ("demo", "demo-trader-1")  # --demo's trader, whose account has an app key
WEB_OPENAPI = Path(__file__).parents[3] / "web" / "openapi.json"


@dataclass(frozen=True)
class Running:
    url: str
    trader: dict[str, str]
    admin: dict[str, str]


def _sign_in(url: str, username: str, password: str) -> dict[str, str]:
    answer = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": username, "password": password}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """``quantum run --demo`` (its own simulator) on a throw-away database."""
    folder = tmp_path_factory.mktemp(f"contract-{request.param}")
    with database(request.param, folder) as database_url:
        env = {
            "DATABASE_URL": database_url,
            "QTP_SIMULATOR_PORT": "0",
            # inside the regular session whatever the hour: no auction, no closed market
            "QTP_SIMULATOR_START": SIMULATED_START,
            "QTP_ADMIN_USERNAME": ADMIN[0],
            "QTP_ADMIN_PASSWORD": ADMIN[1],
            # generated sign-ins: cheap hashing, and no lock-out of the test's own
            "QTP_PASSWORD_TIME_COST": "1",
            "QTP_PASSWORD_MEMORY_COST": "64",
            "QTP_LOGIN_LIMIT_PER_CLIENT": "100000/minute",
        }
        service = Service(
            "platform", ["run", "--demo", "--data-dir", str(folder / "data")], env, folder
        )
        service.start(ready_timeout=90)
        try:
            yield Running(
                service.url, _sign_in(service.url, *TRADER), _sign_in(service.url, *ADMIN)
            )
        finally:
            service.stop()


schema = schemathesis.openapi.from_dict(create_platform_app().openapi())
"""The document the platform serves at /openapi.json (the same app's, built here
without starting it), so that pytest can list its operations."""


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_the_document(case: Any, running: Running) -> None:
    # the admin has no Kiwoom account: storing an app key is refused after the
    # checks of its body, and the trader's key, which the other operations use, stays
    admin = case.path.startswith("/api/v1/admin") or case.path.endswith("/me/credentials")
    call_and_check(case, running.url, running.admin if admin else running.trader)


def _resolve(expression: str, answer: Any) -> Any:
    """A link parameter's ``$response.body#/pointer`` in ``answer`` (JSON)."""
    prefix = "$response.body#"
    assert expression.startswith(prefix), expression
    value = answer
    for part in expression.removeprefix(prefix).split("/")[1:]:
        value = value[part]
    return value


def test_a_placed_orders_links_lead_where_they_say(running: Running) -> None:
    """Generated cases never reach a live order (their ids are random): this one
    places a resting buy and follows each link of the answer (read, modify, then
    cancel) to the operation it names, with the id it says, and holds each answer
    to the document."""
    submit = schema["/api/v1/orders"]["POST"]
    stock = httpx.get(f"{running.url}/api/v1/stocks/005930", headers=running.trader).json()
    placing = submit.Case(
        body={
            "stockCode": "005930",
            "orderType": "LIMIT",
            "orderSide": "BUY",
            "quantity": 2,
            "price": stock["lowerLimit"],  # rests
        }
    )
    placed = placing.call(base_url=running.url, headers=running.trader)
    assert placed.status_code == 201, placed.text
    placing.validate_response(placed, checks=CHECKS)

    links = submit.definition.raw["responses"]["201"]["links"]
    steps = [
        ("GetOrder", None, 200),
        ("ModifyOrder", {"quantity": 1}, 200),
        ("CancelOrder", None, 200),  # last: the order is gone after it
    ]
    assert sorted(links) == sorted(name for name, _, _ in steps)
    for name, body, status in steps:
        link = links[name]
        operation = schema.find_operation_by_id(link["operationId"])
        parameters = {
            key: _resolve(value, placed.json()) for key, value in link["parameters"].items()
        }
        case = operation.Case(
            path_parameters=parameters, **({} if body is None else {"body": body})
        )
        answer = case.call(base_url=running.url, headers=running.trader)
        assert answer.status_code == status, f"{name}: {answer.text}"
        case.validate_response(answer, checks=CHECKS)
        assert answer.json()["orderId"] == parameters["orderId"]
    final = httpx.get(
        f"{running.url}/api/v1/orders/{parameters['orderId']}", headers=running.trader
    )
    assert final.json()["state"] in ("PENDING_CANCEL", "CANCELLED"), final.text


def test_the_dashboards_copy_of_the_document_is_current() -> None:
    """``web/openapi.json`` is what the dashboard's types are generated from:
    ``.venv/bin/python scripts/export_openapi.py`` and ``npm run gen:api`` renew it."""
    assert json.loads(WEB_OPENAPI.read_text()) == create_platform_app().openapi()
