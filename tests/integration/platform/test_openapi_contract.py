"""The platform against its own OpenAPI document, with schemathesis: every
operation called with generated valid and invalid input, on SQLite and on
PostgreSQL, by a signed-in trader (an admin for the admin routes). No answer may be
a 5xx of the platform's own; every status must be documented, with the documented
body and content type; invalid input must be refused; a route behind a token must
refuse a call without one. Sequences of order calls follow the document's links.
The committed ``web/openapi.json`` (the dashboard's types) must be this document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config import SchemathesisConfig
from tests.integration.cluster.processes import Service
from tests.integration.contract import WORKFLOW_CHECKS, call_and_check
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


ORDERS = schemathesis.openapi.from_dict(
    create_platform_app().openapi(),
    config=SchemathesisConfig.from_dict({"generation": {"mode": "positive"}}),
).include(path_regex="^/api/v1/orders")
"""The order routes, with valid input only: the sequences are the point here."""
PLACEABLE: dict[str, Any] = {}
"""A buy the checks let through (set per run): the links lead on only from a placed
order, and a generated one almost never passes the price checks."""


@ORDERS.hook
def map_body(context: Any, body: Any) -> Any:
    operation = context.operation
    if PLACEABLE and operation.method.upper() == "POST" and operation.path == "/api/v1/orders":
        quantity = body.get("quantity") if isinstance(body, dict) else None
        if isinstance(quantity, int) and 1 <= quantity <= 5:
            return {**PLACEABLE, "quantity": quantity}
        return dict(PLACEABLE)
    return body


def test_order_workflows_keep_to_the_document(running: Running) -> None:
    """Sequences that follow the document's links: an order placed, then read,
    modified or cancelled by its id (hypothesis' stateful testing)."""
    quote = httpx.get(f"{running.url}/api/v1/stocks/005930", headers=running.trader).json()
    PLACEABLE.update(
        {
            "stockCode": "005930",
            "orderType": "LIMIT",
            "orderSide": "BUY",
            "price": quote["lowerLimit"],  # it rests: open to modify and cancel
        }
    )

    followed: set[tuple[str, str, int]] = set()

    class Workflow(ORDERS.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": running.url, "headers": running.trader}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            followed.add((case.method, case.path, response.status_code))
            case.validate_response(response, checks=WORKFLOW_CHECKS)

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=25,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert ("POST", "/api/v1/orders", 201) in followed, "no order was placed"
    by_id = "/api/v1/orders/{orderId}"
    assert {("GET", by_id, 200), ("DELETE", by_id, 200)} <= followed, "no link was followed"


def test_the_dashboards_copy_of_the_document_is_current() -> None:
    """``web/openapi.json`` is what the dashboard's types are generated from:
    ``.venv/bin/python scripts/export_openapi.py`` and ``npm run gen:api`` renew it."""
    assert json.loads(WEB_OPENAPI.read_text()) == create_platform_app().openapi()
