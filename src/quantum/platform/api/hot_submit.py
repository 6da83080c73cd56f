"""``POST /api/v1/orders`` served in front of FastAPI's routing, dependencies and
the middlewares inside them: the submit is the platform's hot path, and on 2
shared cores each 0.1 ms of its CPU cost about 0.2-0.3 ms of latency under load
(``bench.submit_floor --burn-us``). In ``bench.orders`` it took 0.2-0.3 ms of CPU
off each order and about 1.3 ms off the overhead at p50 (docs/platform.md).

The FastAPI route stays the declaration (OpenAPI, the documented answers) and runs
the same :func:`place_order`; this path serves only what it can answer exactly as
the route would: a JSON body that validates as :class:`OrderIn`, a Bearer token,
no query string, a well-formed ``Idempotency-Key`` and a body within the limit.
Any other request goes to FastAPI untouched (its body replayed), which answers its
400, 401, 413 or 422. A refusal raised on the way (an :class:`ApiError`, a broker
error) is answered by the app's own exception handler for it; anything else
propagates to the server-error handler, as from the route. HTTP metrics wrap this
path (it sits inside :class:`HttpMetricsMiddleware`) and see the route's template."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quantum.http_errors import MAX_BODY_BYTES, declares_over
from quantum.platform.api import orders
from quantum.platform.api.deps import trading_of
from quantum.platform.api.orders import IDEMPOTENCY_KEY_MAX, OrderIn, place_order

SUBMIT_ROUTE: Final = next(
    route
    for route in orders.router.routes
    if isinstance(route, APIRoute)
    and getattr(route.endpoint, "__wrapped__", route.endpoint) is orders.submit_order
)
"""The FastAPI route this path stands in for."""
PATH: Final = SUBMIT_ROUTE.path
JSON_HEADERS: Final = ((b"content-type", b"application/json"),)


class HotSubmit:
    """Pure ASGI middleware; ``max_body_size`` as :class:`~quantum.http_errors.BodyLimit`'s."""

    def __init__(self, app: ASGIApp, max_body_size: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        headers = _first_values(scope["headers"])
        token = _bearer_token(headers.get(b"authorization"))
        key = headers.get(b"idempotency-key")
        if (
            token is None
            or not _is_json(headers.get(b"content-type"))
            or (key is not None and not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX)
            or declares_over(headers.get(b"content-length"), self.max_body_size)
        ):
            await self.app(scope, receive, send)
            return
        read = await _read_body(receive, self.max_body_size)
        if read is None:
            return  # the client went away
        body, complete = read
        order = _valid_order(body) if complete else None
        if order is None:
            await self.app(scope, _replaying(body, complete, receive), send)
            return
        scope["route"] = SUBMIT_ROUTE  # what the router would set: the metrics' label
        await self._submit(scope, receive, send, token, order, key)

    async def _submit(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        token: str,
        order: OrderIn,
        key: bytes | None,
    ) -> None:
        app: FastAPI = scope["app"]
        platform = app.state.platform
        try:
            principal = await platform.auth.authenticate(token)
            trading = await trading_of(platform, principal)
            status, content = await place_order(
                platform.orders,
                principal.user_id,
                trading,
                order,
                key.decode("latin-1") if key is not None else None,
            )
        except Exception as exc:
            handler = _handler_for(app, exc)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)
            return
        length = (b"content-length", b"%d" % len(content))
        await send(
            {"type": "http.response.start", "status": status, "headers": [*JSON_HEADERS, length]}
        )
        await send({"type": "http.response.body", "body": content})


def _first_values(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Header name -> its first value, as Starlette's ``Headers.get`` reads it."""
    first: dict[bytes, bytes] = {}
    for name, value in raw:
        first.setdefault(name, value)
    return first


def _bearer_token(value: bytes | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``, parsed as FastAPI's HTTPBearer
    does; None for anything else (FastAPI answers that)."""
    if not value:
        return None
    scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
    return token if scheme.lower() == "bearer" and token else None


def _is_json(value: bytes | None) -> bool:
    """``application/json`` (with parameters, if any); FastAPI decides the rest."""
    return value is not None and value.split(b";", 1)[0].strip().lower() == b"application/json"


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool] | None:
    """(the body, whether it is whole): stops after ``limit`` bytes, leaving the rest
    to FastAPI's answer; None when the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _valid_order(body: bytes) -> OrderIn | None:
    """The body as the route's parameter (parsed as Starlette's ``Request.json`` and
    validated as FastAPI does), or None: FastAPI answers the 400 or 422."""
    try:
        return OrderIn.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError too
        return None


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """``receive`` with what was read of the body given back first."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": not complete}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _handler_for(app: FastAPI, exc: Exception) -> Any:
    """The app's handler for ``exc`` as Starlette's ExceptionMiddleware finds it (by
    the exception's classes, most specific first); the catch-all ``Exception``
    handler is the server-error middleware's, which the exception reaches as it is."""
    handlers = app.exception_handlers
    for kind in type(exc).__mro__:
        if kind is Exception:
            return None
        if kind in handlers:
            return handlers[kind]
    return None
