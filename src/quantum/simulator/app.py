"""The simulator's ASGI application: one port for REST, WebSocket and control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from quantum.kiwoom.endpoints import REVOKE_PATH, TOKEN_PATH, WEBSOCKET_PATH
from quantum.simulator import control
from quantum.simulator.config import SimulatorConfig
from quantum.simulator.core import Simulator
from quantum.simulator.rest import dostk, issue_token, json_response, revoke_token
from quantum.simulator.ws import websocket_endpoint


async def not_found(request: Request, exc: Exception) -> Response:
    return json_response(
        {"return_code": 1, "return_msg": "잘못된 요청입니다[1504:해당 URI는 존재하지 않습니다]"},
        404,
    )


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    return json_response(
        {"return_code": 1, "return_msg": "잘못된 요청입니다[1504:POST 요청만 지원합니다]"},
        405,
    )


def create_app(config: SimulatorConfig | None = None, sim: Simulator | None = None) -> Starlette:
    simulator = sim if sim is not None else Simulator(config or SimulatorConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        simulator.start()
        try:
            yield
        finally:
            await simulator.stop()

    app = Starlette(
        routes=[
            Route(TOKEN_PATH, issue_token, methods=["POST"]),
            Route(REVOKE_PATH, revoke_token, methods=["POST"]),
            WebSocketRoute(WEBSOCKET_PATH, websocket_endpoint),
            Route("/api/dostk/{category}", dostk, methods=["POST"]),
            *control.routes,
        ],
        exception_handlers={404: not_found, 405: method_not_allowed},
        lifespan=lifespan,
    )
    app.state.sim = simulator
    return app
