"""``/_sim/``: the test control surface (loopback only). Faults, the clock,
WebSocket drops and silences, and counters tests can read. App keys are named
by fingerprint (:func:`quantum.simulator.keys.key_fingerprint`), never shown."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from quantum.simulator.clock import ClockMode
from quantum.simulator.faults import FaultRule
from quantum.simulator.ws import DROPPED_CLOSE

if TYPE_CHECKING:
    from quantum.simulator.core import Simulator


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def _error(status: int, message: str, details: Any = None) -> Response:
    return _json({"error": {"code": "bad_request", "message": message, "details": details}}, status)


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


class ClockChange(BaseModel):
    advance_seconds: float | None = Field(default=None, ge=0)
    set_to: datetime | None = None


class SessionTarget(BaseModel):
    fingerprint: str | None = None
    """Only sessions of this key; all sessions when absent."""


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    return model.model_validate_json(raw or b"{}")


def guarded(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        if not _is_loopback(request):
            return _error(403, "the control endpoint answers loopback clients only")
        try:
            response: Response = await handler(request)
        except ValidationError as exc:
            return _error(422, "invalid control request", exc.errors(include_url=False))
        except ValueError as exc:
            return _error(400, str(exc))
        return response

    return endpoint


async def state(request: Request) -> Response:
    sim = _sim(request)
    sessions = [
        {"fingerprint": s.fingerprint, "registrations": len(s.signature), "silent": s.silent}
        for s in sim.sessions()
    ]
    return _json(
        {
            "mode": sim.config.mode.value,
            "clock": {
                "mode": sim.clock.mode.value,
                "now": sim.clock.now().isoformat(),
                "speed": sim.clock.speed,
            },
            "tokens_issued": dict(sim.tokens.issued),
            "token_requests": dict(sim.tokens.requests),
            "requests": dict(sim.requests),
            "rate_limited": dict(sim.limiter.rejections),
            "ws_messages": dict(sim.ws_messages),
            "ws_items": dict(sim.ws_items),
            "faults": [rule.model_dump() for rule in sim.faults.rules],
            "sessions": sessions,
        }
    )


async def add_fault(request: Request) -> Response:
    rule = await _body(request, FaultRule)
    _sim(request).faults.add(rule)
    return _json({"faults": [r.model_dump() for r in _sim(request).faults.rules]})


async def clear_faults(request: Request) -> Response:
    _sim(request).faults.clear()
    return _json({"faults": []})


async def change_clock(request: Request) -> Response:
    sim = _sim(request)
    change: ClockChange = await _body(request, ClockChange)
    if change.advance_seconds is not None:
        sim.clock.advance(change.advance_seconds)
    if change.set_to is not None:
        sim.clock.set(change.set_to)
    if sim.clock.mode is ClockMode.FIXED:
        sim.tick()
    return _json({"now": sim.clock.now().isoformat()})


def _targets(sim: Simulator, target: SessionTarget) -> list[Any]:
    return [s for s in sim.sessions() if target.fingerprint in (None, s.fingerprint)]


async def drop_sockets(request: Request) -> Response:
    """Cut sessions without a farewell (the client sees an abnormal close)."""
    sim = _sim(request)
    sessions = _targets(sim, await _body(request, SessionTarget))
    for session in sessions:
        session.close_soon(DROPPED_CLOSE)
    return _json({"dropped": len(sessions)})


async def silence_sockets(request: Request) -> Response:
    """Keep sessions open but send them nothing more (no data, no PING)."""
    sim = _sim(request)
    sessions = _targets(sim, await _body(request, SessionTarget))
    for session in sessions:
        session.silent = True
    return _json({"silenced": len(sessions)})


routes = [
    Route("/_sim/state", guarded(state), methods=["GET"]),
    Route("/_sim/faults", guarded(add_fault), methods=["POST"]),
    Route("/_sim/faults", guarded(clear_faults), methods=["DELETE"]),
    Route("/_sim/clock", guarded(change_clock), methods=["POST"]),
    Route("/_sim/ws/drop", guarded(drop_sockets), methods=["POST"]),
    Route("/_sim/ws/silence", guarded(silence_sockets), methods=["POST"]),
]
