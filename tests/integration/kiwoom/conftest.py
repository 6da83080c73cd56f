"""The client library against a real simulator on loopback (fixed clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from tests.integration.simulator.conftest import (  # noqa: F401
    RunningSimulator,
    simulator,
    start_simulator,
)

from quantum.kiwoom.http import AiohttpClient, HttpClient
from quantum.kiwoom.ratelimit import OutboundLimiter
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.tokens import TokenManager
from quantum.kiwoom.transport import CallRecord, KiwoomTransport

APP_KEY = "PSintegrationAPPKEY0000000000000000"
APP_SECRET = "SEintegrationSECRET000000000000000000"

FAST_RETRIES: dict[str, Any] = {
    "retry_backoff_seconds": 0.02,
    "retry_backoff_max_seconds": 0.2,
    "retry_jitter_seconds": 0.01,
    "rate_limited_backoff_seconds": 0.05,
}


def sim_clock(running: RunningSimulator) -> Callable[[], datetime]:
    """The client's clock follows the simulator's (fixed) clock."""
    return running.sim.clock.now


def settings_for(
    running: RunningSimulator,
    *,
    app_key: str = APP_KEY,
    app_secret: str = APP_SECRET,
    mock: bool = False,
    **overrides: Any,
) -> KiwoomSettings:
    values: dict[str, Any] = {"rate_limit_per_second": 1000, "rate_limit_global_per_second": 0}
    values.update(FAST_RETRIES)
    values.update(overrides)
    return KiwoomSettings.for_url(
        running.base_url, app_key, app_secret, ws_url=running.ws_url, mock=mock, **values
    )


class Harness:
    """Builds transports wired to one simulator and closes them after the test."""

    def __init__(self) -> None:
        self.transports: list[KiwoomTransport] = []
        self.clients: list[httpx.AsyncClient] = []
        self.aiohttp_clients: list[AiohttpClient] = []
        self.records: list[CallRecord] = []

    def transport(
        self,
        running: RunningSimulator,
        *,
        limiter: OutboundLimiter | None = None,
        clock: Callable[[], datetime] | None = None,
        event_hooks: dict[str, list[Callable[..., Any]]] | None = None,
        **overrides: Any,
    ) -> KiwoomTransport:
        settings = settings_for(running, **overrides)
        limiter = limiter or OutboundLimiter.from_settings(settings)
        # the default HTTP (aiohttp) unless a test hooks into the requests (httpx)
        http: httpx.AsyncClient | HttpClient
        if event_hooks:
            http = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    settings.timeout_seconds, connect=settings.connect_timeout_seconds
                ),
                headers={"User-Agent": settings.user_agent},
                event_hooks=event_hooks,
            )
            self.clients.append(http)
        else:
            http = AiohttpClient(
                timeout=settings.timeout_seconds,
                connect_timeout=settings.connect_timeout_seconds,
                user_agent=settings.user_agent,
            )
            self.aiohttp_clients.append(http)
        # The token manager follows the simulated clock (token expiry is simulated time).
        tokens = TokenManager(
            settings, http=http, limiter=limiter, clock=clock or sim_clock(running)
        )
        transport = KiwoomTransport(
            settings, tokens=tokens, limiter=limiter, observer=self.records.append, http=http
        )
        self.transports.append(transport)
        return transport

    async def aclose(self) -> None:
        for transport in self.transports:
            await transport.aclose()
        for http in self.clients:
            await http.aclose()
        for client in self.aiohttp_clients:
            await client.aclose()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    built = Harness()
    yield built
    await built.aclose()


def sim_state(running: RunningSimulator) -> dict[str, Any]:
    response = running.client.get("/_sim/state")
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def add_fault(running: RunningSimulator, **rule: Any) -> None:
    response = running.client.post("/_sim/faults", json=rule)
    assert response.status_code == 200, response.text
