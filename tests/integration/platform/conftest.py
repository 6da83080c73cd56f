"""The platform on a real database (SQLite and PostgreSQL: every test that takes
``harness`` runs on both) and a real simulator, driven through its ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.platform.databases import database
from tests.integration.simulator.conftest import (  # noqa: F401  (fixtures)
    RunningSimulator,
    StartSimulator,
    start_simulator,
)

from quantum.platform.app import create_platform_app
from quantum.platform.core import Platform
from quantum.platform.settings import PlatformSettings

ADMIN_USERNAME = "root-admin"
ADMIN_PASSWORD = "admin-password-1"
USER_PASSWORD = "user-password-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def platform_settings(database_url: str, data_dir: Path, **overrides: Any) -> PlatformSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "simulator": False,
        "admin_username": ADMIN_USERNAME,
        "admin_password": ADMIN_PASSWORD,
        "password_time_cost": 1,
        "password_memory_cost": 64,
        "usage_flush_seconds": 0.05,
        "login_limit_per_client": "1000/minute",
        "reconcile_poll_seconds": 0,
    }
    values.update(overrides)
    return PlatformSettings(_env_file=None, **values)  # type: ignore[call-arg]


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The body of an API error, checked: status, the one error shape, the code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    return body


@dataclass
class Harness:
    platform: Platform
    client: httpx.AsyncClient
    sim: RunningSimulator
    _counter: list[int] = field(default_factory=lambda: [0])

    async def login(self, username: str, password: str) -> dict[str, str]:
        response = await self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['accessToken']}"}

    async def admin(self) -> dict[str, str]:
        return await self.login(ADMIN_USERNAME, ADMIN_PASSWORD)

    async def create_user(self, username: str | None = None, **fields: Any) -> dict[str, Any]:
        self._counter[0] += 1
        body = {"username": username or f"user{self._counter[0]}", "password": USER_PASSWORD}
        body.update(fields)
        response = await self.client.post(
            "/api/v1/admin/users", json=body, headers=await self.admin()
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def buy(
        self, headers: dict[str, str], *, quantity: int = 1, limit: str = "upperLimit"
    ) -> dict[str, Any]:
        """A LIMIT buy of 005930 at today's ``upperLimit`` (fills at once) or
        ``lowerLimit`` (rests); the order as ``POST /api/v1/orders`` answered it."""
        stock = await self.client.get("/api/v1/stocks/005930", headers=headers)
        assert stock.status_code == 200, stock.text
        body = {
            "stockCode": "005930",
            "orderType": "LIMIT",
            "orderSide": "BUY",
            "quantity": quantity,
            "price": stock.json()[limit],
        }
        placed = await self.client.post("/api/v1/orders", json=body, headers=headers)
        assert placed.status_code == 201, placed.text
        order: dict[str, Any] = placed.json()
        return order

    async def trader(
        self, *, app_key: str | None = None, secret: str = "trader-secret"
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """A new user with a SIMULATOR account and stored credentials; (user, headers)."""
        user = await self.create_user()
        admin = await self.admin()
        account = await self.client.post(
            "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
        )
        assert account.status_code == 201, account.text
        account_id = account.json()["kiwoomAccountId"]
        assigned = await self.client.put(
            f"/api/v1/admin/kiwoom-accounts/{account_id}/assignment",
            json={"userId": user["userId"]},
            headers=admin,
        )
        assert assigned.status_code == 200, assigned.text
        headers = await self.login(user["username"], USER_PASSWORD)
        stored = await self.client.put(
            "/api/v1/kiwoom-accounts/me/credentials",
            json={"clientId": app_key or f"key-{user['userId']}", "clientSecret": secret},
            headers=headers,
        )
        assert stored.status_code == 200, stored.text
        return user, headers


StartHarness = Callable[..., Awaitable[Harness]]


def asgi_client(app: Any) -> httpx.AsyncClient:
    """A client of ``app`` in this process, as from the address 10.1.2.3."""
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://platform")


@pytest.fixture
async def start_harness(
    database_url: str,
    start_simulator: StartSimulator,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[StartHarness]:
    """``await start_harness(simulator={...}, **settings)``: the platform on the test's
    database and a simulator started with those overrides."""
    started: list[tuple[Platform, httpx.AsyncClient]] = []

    async def start(simulator: dict[str, Any] | None = None, **overrides: Any) -> Harness:
        sim = start_simulator(**(simulator or {}))
        data_dir = tmp_path / f"data{len(started)}"
        settings = platform_settings(
            database_url, data_dir, simulator_url=sim.base_url, **overrides
        )
        platform = await Platform.start(settings, simulator_clock=sim.sim.clock.now)
        client = asgi_client(create_platform_app(platform=platform))
        started.append((platform, client))
        return Harness(platform, client, sim)

    yield start
    for platform, client in started:
        await client.aclose()
        await platform.aclose()


@pytest.fixture
async def harness(start_harness: StartHarness) -> Harness:
    return await start_harness()
