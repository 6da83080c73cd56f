"""A real simulator on a loopback port, served by uvicorn in a background thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.integration.serving import ServedApp, serve_in_thread

from quantum.simulator.app import create_app
from quantum.simulator.config import SimulatorConfig
from quantum.simulator.core import Simulator

SESSION_START = "2026-11-24T10:00:00+09:00"
"""A Tuesday inside the continuous session."""


@dataclass
class RunningSimulator:
    sim: Simulator
    base_url: str
    client: httpx.Client

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/dostk/websocket"

    def token(self, app_key: str = "test-app-key", secret: str = "test-secret") -> str:
        response = self.client.post(
            "/oauth2/token",
            json={"grant_type": "client_credentials", "appkey": app_key, "secretkey": secret},
        )
        body = response.json()
        assert body["return_code"] == 0, body
        return str(body["token"])

    def call(
        self,
        api_id: str,
        category: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {
            "api-id": api_id,
            "authorization": f"Bearer {token or self.token()}",
            "Content-Type": "application/json;charset=UTF-8",
        }
        sent.update(headers or {})
        return self.client.post(f"/api/dostk/{category}", json=body or {}, headers=sent)

    def account_no(self, token: str) -> str:
        return str(self.call("ka00001", "acnt", {}, token).json()["acctNo"])

    def advance(self, seconds: float) -> None:
        response = self.client.post("/_sim/clock", json={"advance_seconds": seconds})
        assert response.status_code == 200, response.text


StartSimulator = Callable[..., RunningSimulator]


@pytest.fixture
def start_simulator() -> Iterator[StartSimulator]:
    servers: list[tuple[ServedApp, httpx.Client]] = []

    def start(**overrides: Any) -> RunningSimulator:
        settings: dict[str, Any] = {
            "clock": "fixed",
            "start": SESSION_START,
            "rate_limit": {"per_second": 1000},
        }
        settings.update(overrides)
        config = SimulatorConfig.model_validate(settings)
        app = create_app(config)
        served = serve_in_thread(app, "simulator")
        client = httpx.Client(base_url=served.base_url, timeout=10.0)
        servers.append((served, client))
        return RunningSimulator(app.state.sim, served.base_url, client)

    yield start
    for served, client in servers:
        client.close()
        served.stop()


@pytest.fixture
def simulator(start_simulator: StartSimulator) -> RunningSimulator:
    return start_simulator()
