"""The platform's API errors: each carries its status and machine-readable code."""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from quantum.adapter.broker import BrokerError, BrokerRateLimited
from quantum.http_errors import error_response, install_common_handlers


class ApiError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = code or self.code
        self.details = details
        self.headers = headers


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unprocessable(ApiError):
    status = 422
    code = "invalid_input"


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        seconds = max(1, round(retry_after))
        kwargs.setdefault("headers", {"Retry-After": str(seconds)})
        kwargs.setdefault("details", {"retryAfter": seconds})
        super().__init__(message, **kwargs)


class ServiceUnavailable(ApiError):
    status = 503
    code = "unavailable"


def install_error_handlers(app: FastAPI) -> None:
    install_common_handlers(app)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.error_code, exc.message, exc.details, exc.headers)

    @app.exception_handler(BrokerError)
    async def broker_error(request: Request, exc: BrokerError) -> JSONResponse:
        details: dict[str, Any] = {"kiwoomCode": exc.kiwoom_code} if exc.kiwoom_code else {}
        headers: dict[str, str] = {}
        if isinstance(exc, BrokerRateLimited):
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            details["retryAfter"] = exc.retry_after
        return error_response(exc.status, exc.code, exc.message, details or None, headers)
