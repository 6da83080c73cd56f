"""``/health`` and the guide's ``/actuator/health``: database, broker and token state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from quantum.platform.api.deps import PlatformDep
from quantum.platform.api.responses import OPEN, Responses
from quantum.platform.api.routing import DeclaredQueryRoute

router = APIRouter(route_class=DeclaredQueryRoute, tags=["health"])

DOWN: Responses = OPEN | {503: {"description": "A component is DOWN (the same body, naming it)"}}


async def _health(platform: PlatformDep) -> JSONResponse:
    database = await platform.database_ok()
    broker: dict[str, Any]
    try:
        health = getattr(platform.broker, "health", None)
        broker = {**(await health() if health is not None else {}), "status": "UP"}
        broker.pop("default_key", None)
    except Exception as exc:
        broker = {"status": "DOWN", "error": type(exc).__name__}
    simulator = platform.simulator
    components = {
        "db": {"status": "UP" if database else "DOWN"},
        "broker": broker,
        "usageLog": {
            "status": "UP" if platform.usage.failed_batches == 0 else "DEGRADED",
            "written": platform.usage.written,
        },
    }
    if simulator is not None:
        alive = simulator.thread.is_alive()
        components["simulator"] = {"status": "UP" if alive else "DOWN", "url": simulator.url}
    up = database and broker["status"] == "UP"
    body = {"status": "UP" if up else "DOWN", "components": components}
    return JSONResponse(body, status_code=200 if up else 503)


@router.get("/health", responses=DOWN)
async def health(platform: PlatformDep) -> JSONResponse:
    return await _health(platform)


@router.get("/actuator/health", responses=DOWN)
async def actuator_health(platform: PlatformDep) -> JSONResponse:
    return await _health(platform)
