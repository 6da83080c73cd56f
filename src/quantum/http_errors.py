"""The one JSON error shape of our HTTP APIs (adapter and platform):
``{"error": {"code", "message", "details"}}`` with the right status."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


WHEN: dict[int, str] = {
    400: "Malformed JSON body (`malformed_json`)",
    401: "Not authenticated: no valid token or key (signing in: a wrong password)",
    403: "Not allowed (a role, or a disabled account)",
    404: "No such resource",
    409: "Conflicts with the resource's current state",
    413: "Request body too large",
    422: "Invalid input: `details` says where (`invalid_input`, or a specific code)",
    429: "Rate limited: retry after `Retry-After` seconds",
    500: "Unexpected error (`internal_error`): only the exception's type is named",
    502: "Kiwoom answered with an error",
    503: "Kiwoom, or a service the platform needs, is unavailable",
    504: "Kiwoom did not answer in time",
}
"""What each error status means in our APIs (OpenAPI descriptions)."""


class ErrorInfo(BaseModel):
    code: str = Field(description="machine-readable, e.g. `invalid_input`, `unknown_stock`")
    message: str
    details: Any = Field(default=None, description="where and what, when there is more to say")


class ErrorBody(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorInfo


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error ``statuses``, all with the one error body."""
    return {status: {"model": ErrorBody, "description": WHEN[status]} for status in statuses}


BODY_ERRORS: Final = error_responses(400, 413)
"""What any route that takes a JSON body may answer besides its own errors: malformed
JSON (the handlers below) and a body too large (:class:`BodyLimit`)."""


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, without echoing the submitted value (it may be a secret)."""
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


def install_common_handlers(app: FastAPI) -> None:
    """Malformed JSON -> 400, invalid fields -> 422, routing errors, and a 500 that
    names only the exception type."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(
                400, "malformed_json", "the request body is not valid JSON", details
            )
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return error_response(422, "invalid_input", message, jsonable_encoder(details))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail) if exc.detail else code
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}"
        return error_response(exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        log.debug("traceback", exc_info=exc)
        return error_response(500, "internal_error", f"unexpected {type(exc).__name__}")


MAX_BODY_BYTES: Final = 64 * 1024
"""The largest request body our APIs read: theirs are a few hundred bytes, and a
body is read whole before it is validated."""


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body may be at most {limit} bytes")


def declares_over(content_length: bytes | None, limit: int) -> bool:
    """A ``Content-Length`` header that announces more than ``limit`` bytes."""
    return content_length is not None and content_length.isdigit() and int(content_length) > limit


class BodyLimit:
    """Request bodies of at most ``max_body_size`` bytes, else the JSON 413: at once
    when ``Content-Length`` says so (the server reads no more than it declares),
    else as the chunks come. Not FastAPI's ``max_body_size``: that answers a
    declared excess in plain text, in place of any JSON the app sent."""

    def __init__(self, app: ASGIApp, max_body_size: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_size
        for name, value in scope["headers"]:
            if name == b"content-length":
                if declares_over(value, limit):
                    await error_response(413, "payload_too_large", BodyTooLarge(limit).detail)(
                        scope, receive, send
                    )
                    return
                await self.app(scope, receive, send)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)  # to the handlers: the JSON 413
            return message

        await self.app(scope, counted, send)
