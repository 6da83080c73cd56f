"""The full chain on loopback: simulator → InProcessBroker → adapter app (uvicorn in a
thread) → RemoteBroker. Fixed simulator clock 2026-11-24 10:00 KST."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from tests.integration.kiwoom.conftest import settings_for
from tests.integration.serving import ServedApp, serve_in_thread
from tests.integration.simulator.conftest import (  # noqa: F401
    RunningSimulator,
    StartSimulator,
    simulator,
    start_simulator,
)

from quantum.adapter.broker import Broker
from quantum.adapter.factory import inprocess_broker as build_inprocess_broker
from quantum.adapter.remote import RemoteBroker
from quantum.adapter.server import app_closing
from quantum.adapter.service import InProcessBroker
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.settings import KiwoomSettings

CODE = "005930"


def inprocess_broker(running: RunningSimulator, **kwargs: Any) -> InProcessBroker:
    """An InProcessBroker on ``running``; its clients read times on the simulated date."""

    def today() -> date:
        return running.sim.clock.now().date()

    def factory(settings: KiwoomSettings) -> KiwoomClient:
        return KiwoomClient.from_settings(settings, today=today)

    return build_inprocess_broker(
        settings_for(running),
        client_factory=factory,
        clock=running.sim.clock.now,
        hub_options={"stream_options": {"session_date": today}},
        **kwargs,
    )


class RunningAdapter:
    def __init__(self, base_url: str, broker: InProcessBroker) -> None:
        self.base_url = base_url
        self.broker = broker
        self.client = httpx.Client(base_url=base_url, timeout=30.0)


StartAdapter = Callable[..., RunningAdapter]


@pytest.fixture
def start_adapter() -> Iterator[StartAdapter]:
    """Serves an adapter app for a simulator on a free loopback port."""
    servers: list[tuple[ServedApp, RunningAdapter]] = []

    def start(running: RunningSimulator, **kwargs: Any) -> RunningAdapter:
        broker = inprocess_broker(running, **kwargs)
        app = app_closing(broker, broker.hub)
        served = serve_in_thread(app, "adapter")
        adapter = RunningAdapter(served.base_url, broker)
        servers.append((served, adapter))
        return adapter

    yield start
    for served, adapter in servers:
        adapter.client.close()
        served.stop()


@pytest.fixture
def running(start_simulator: StartSimulator) -> RunningSimulator:  # noqa: F811
    return start_simulator()


@pytest.fixture
def adapter(running: RunningSimulator, start_adapter: StartAdapter) -> RunningAdapter:
    return start_adapter(running)


MakeBroker = Callable[[RunningSimulator], Awaitable[Broker]]


@pytest.fixture(params=["inprocess", "remote"])
async def make_broker(
    request: pytest.FixtureRequest, start_adapter: StartAdapter
) -> AsyncIterator[MakeBroker]:
    """Builds the broker under test (in-process or remote) for a simulator."""
    made: list[Broker] = []

    async def make(running: RunningSimulator) -> Broker:
        broker: Broker
        if request.param == "inprocess":
            broker = inprocess_broker(running)
        else:
            broker = RemoteBroker(start_adapter(running).base_url)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


@pytest.fixture
async def broker(make_broker: MakeBroker, running: RunningSimulator) -> Broker:
    return await make_broker(running)


def sim_requests(running: RunningSimulator) -> dict[str, int]:
    response = running.client.get("/_sim/state")
    assert response.status_code == 200, response.text
    requests: dict[str, int] = response.json()["requests"]
    return dict(requests)
