"""The REST side of the simulator: OAuth and ``POST /api/dostk/{category}``.

Checks run in Kiwoom's order (PROTOCOL.md §10): route by path and api-id,
authorization, rate limit, body, required fields, mock support; then the TR.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from quantum.kiwoom.endpoints import CATEGORY_BY_SEGMENT, TRS, MockSupport
from quantum.kiwoom.errors import ErrorAnswer, business_answer, error_answer
from quantum.kiwoom.wire import format_timestamp
from quantum.simulator.config import Mode
from quantum.simulator.faults import FaultRule
from quantum.simulator.keys import KeyRejected
from quantum.simulator.protocol import Body, TrContext, TrError, TrResult
from quantum.simulator.tr import HANDLERS

if TYPE_CHECKING:
    from quantum.simulator.core import Simulator

log = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=UTF-8"
MOCK_UNSUPPORTED_TEXT = "모의투자에서는 해당업무가 제공되지 않습니다."
NOT_SIMULATED = ("RC9999", "시뮬레이터에서 제공하지 않는 업무입니다.")


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type=JSON_TYPE)


def error_response(answer: ErrorAnswer, api_id: str | None = None) -> Response:
    headers = {"api-id": api_id} if api_id else None
    return json_response(answer.body(), answer.http_status, headers)


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


async def _json_object(request: Request) -> Body:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TrError.code(1517, param="body", reason="JSON 형식이 아닙니다") from exc
    if not isinstance(body, dict):
        raise TrError.code(1517, param="body", reason="JSON 객체여야 합니다")
    return body


# --------------------------------------------------------------------------- OAuth


async def issue_token(request: Request) -> Response:
    """au10001: the same token while it is valid, a new one after expiry/revoke."""
    sim = _sim(request)
    sim.count_request("au10001")
    try:
        body = await _json_object(request)
        grant_type = body.get("grant_type")
        if not grant_type:
            raise TrError.code(8011)
        if grant_type != "client_credentials":
            raise TrError.code(8012)
        app_key, secret = body.get("appkey"), body.get("secretkey")
        if not app_key or not secret or not isinstance(app_key, str) or not isinstance(secret, str):
            raise TrError.code(8020)
        key = _authenticate(sim, app_key, secret)
        if limited := sim.limiter.check(app_key, "au10001"):
            return error_response(limited)
        token = sim.tokens.issue(key)
    except TrError as exc:
        return error_response(exc.answer)
    return json_response(
        {
            "expires_dt": format_timestamp(token.expires_at),
            "token_type": "Bearer",
            "token": token.token,
            "return_code": 0,
            "return_msg": "정상적으로 처리되었습니다",
        }
    )


async def revoke_token(request: Request) -> Response:
    """au10002."""
    sim = _sim(request)
    sim.count_request("au10002")
    try:
        body = await _json_object(request)
        app_key, secret = body.get("appkey"), body.get("secretkey")
        if not app_key or not secret or not isinstance(app_key, str) or not isinstance(secret, str):
            raise TrError.code(8020)
        token = body.get("token")
        if not token or not isinstance(token, str):
            raise TrError.code(8016)
        key = _authenticate(sim, app_key, secret)
        if not sim.tokens.revoke(key, token):
            raise TrError.code(8015)
    except TrError as exc:
        return error_response(exc.answer)
    return json_response({"return_code": 0, "return_msg": "정상적으로 처리되었습니다"})


def _authenticate(sim: Simulator, app_key: str, secret: str) -> Any:
    try:
        return sim.keys.authenticate(app_key, secret)
    except KeyRejected as exc:
        raise TrError.code(exc.code) from exc


# --------------------------------------------------------------------------- TRs


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise TrError.code(1513)
    parts = header.strip().split(None, 1)
    if not parts:
        raise TrError.code(1516)
    if parts[0].lower() != "bearer":
        raise TrError.code(1515 if len(parts) == 2 else 1514)
    if len(parts) == 1 or not parts[1].strip():
        raise TrError.code(1516)
    return parts[1].strip()


def _missing_required(body: Body, required: tuple[str, ...]) -> str | None:
    for name in required:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return name
    return None


async def dostk(request: Request) -> Response:
    sim = _sim(request)
    segment = request.path_params["category"]
    api_id = request.headers.get("api-id", "").strip()
    if api_id:
        sim.count_request(api_id)
    category = CATEGORY_BY_SEGMENT.get(segment)
    if category is None:
        return json_response(
            {
                "return_code": 1,
                "return_msg": "잘못된 요청입니다[1504:해당 URI는 존재하지 않습니다]",
            },
            404,
        )
    try:
        if not api_id:
            raise TrError.code(1501)
        spec = TRS.get(api_id)
        if spec is None:
            raise TrError.code(1505, api_id=api_id)
        if spec.category is not category:
            raise TrError.code(1504, api_id=api_id)
        token = sim.tokens.resolve(_bearer_token(request))
        if token is None:
            raise TrError.code(8005)
        if limited := sim.limiter.check(token.key.app_key, api_id):
            return error_response(limited, api_id)
        fault = sim.faults.take(api_id)
        if fault is not None and (early := await _apply_fault(fault, api_id)) is not None:
            return early
        body = await _json_object(request)
        if (missing := _missing_required(body, spec.required)) is not None:
            raise TrError.code(1511, param=missing)
        if sim.config.mode is Mode.MOCK and spec.mock is MockSupport.UNSUPPORTED_API:
            raise TrError.code(8104)
        if sim.config.mode is Mode.MOCK and spec.mock is MockSupport.UNSUPPORTED_BUSINESS:
            raise TrError.business("RC9000", MOCK_UNSUPPORTED_TEXT)
        handler = HANDLERS.get(api_id)
        if handler is None:
            raise TrError.business(*NOT_SIMULATED)
        continuing = request.headers.get("cont-yn", "N").strip().upper() == "Y"
        next_key = request.headers.get("next-key", "").strip() if continuing else None
        context = TrContext(sim, token, api_id, next_key or None)
        result = handler(context, body)
    except TrError as exc:
        return error_response(exc.answer, api_id or None)
    if fault is not None and fault.lose_response:
        return await _lose_response(sim, api_id)
    return _tr_response(api_id, result)


def _tr_response(api_id: str, result: TrResult) -> Response:
    body = dict(result.body)
    body["return_code"] = 0
    body["return_msg"] = result.message
    headers = {"api-id": api_id, "cont-yn": result.cont_yn, "next-key": result.next_key or ""}
    headers.update(result.headers)
    return json_response(body, headers=headers)


async def _apply_fault(rule: FaultRule, api_id: str) -> Response | None:
    """Latency always; an injected answer replaces the TR's own."""
    if rule.latency_ms:
        await asyncio.sleep(rule.latency_ms / 1000)
    if rule.error_code is not None:
        return error_response(error_answer(rule.error_code, **_placeholders(api_id)), api_id)
    if rule.business is not None:
        rc_code, _, text = rule.business.partition(":")
        return error_response(business_answer(rc_code, text), api_id)
    if rule.http_status is not None:
        return json_response(
            {"error": "injected fault", "status": rule.http_status}, rule.http_status
        )
    return None


def _placeholders(api_id: str) -> dict[str, str]:
    """Values for any template field an injected error code may have."""
    return {"api_id": api_id, "param": "-", "reason": "-", "limit": "1", "stk_cd": "-"}


async def _lose_response(sim: Simulator, api_id: str) -> Response:
    """The TR ran (an order is live) but its answer never arrives in time."""
    log.info("fault: response to %s withheld for %.1fs", api_id, sim.config.lost_response_seconds)
    await asyncio.sleep(sim.config.lost_response_seconds)
    return json_response({"error": "gateway timeout"}, 504)
