"""Request dependencies: the running platform and the signed-in caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from quantum.platform.core import Platform
from quantum.platform.errors import Conflict, Forbidden, Unauthorized
from quantum.platform.services.accounts import Trading
from quantum.platform.services.auth import Principal

bearer = HTTPBearer(auto_error=False, description="The access token from /api/v1/auth/login")


async def get_platform(request: Request) -> Platform:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, per request
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


async def current_principal(
    platform: PlatformDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("sign in first: Authorization: Bearer <access token>")
    return await platform.auth.authenticate(credentials.credentials)


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: CurrentUser) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this needs the ADMIN role", code="admin_only")
    return principal


Admin = Annotated[Principal, Depends(require_admin)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def trading_account(principal: CurrentUser, platform: PlatformDep) -> Trading:
    """The caller's account and key pair for broker calls (404 without an account,
    409 before credentials are stored, 403 when the account is disabled)."""
    trading = await platform.accounts.trading(principal.user_id)
    if trading is None:
        raise Conflict(
            "store your Kiwoom app key and secret first (PUT /api/v1/kiwoom-accounts/me/credentials)",
            code="credentials_missing",
        )
    return trading


TradingAccount = Annotated[Trading, Depends(trading_account)]
