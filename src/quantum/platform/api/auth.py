"""Sign-in, token refresh, sign-out and the caller's own user."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from quantum.platform.api.deps import CurrentUser, PlatformDep, client_address
from quantum.platform.api.responses import OPEN, RATE_LIMITED, REFUSED, SIGNED_IN, WITH_BODY
from quantum.platform.api.routing import DeclaredQueryRoute
from quantum.platform.api.schemas import LoginRequest, RefreshRequest, TokenResponse, UserOut

router = APIRouter(route_class=DeclaredQueryRoute, prefix="/api/v1", tags=["auth"])


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    response_model_by_alias=True,
    responses=OPEN | WITH_BODY | REFUSED | RATE_LIMITED,
)
async def login(body: LoginRequest, request: Request, platform: PlatformDep) -> TokenResponse:
    pair = await platform.auth.login(
        body.username, body.password.get_secret_value(), client_address(request)
    )
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/auth/refresh", response_model=TokenResponse, responses=OPEN | WITH_BODY | REFUSED)
async def refresh(body: RefreshRequest, platform: PlatformDep) -> TokenResponse:
    pair = await platform.auth.refresh(body.refresh_token.get_secret_value())
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/auth/logout", status_code=204, responses=OPEN | WITH_BODY)
async def logout(body: RefreshRequest, platform: PlatformDep) -> Response:
    """Revokes the sign-in that this refresh token belongs to."""
    await platform.auth.logout(body.refresh_token.get_secret_value())
    return Response(status_code=204)


@router.get("/users/me", response_model=UserOut, tags=["users"], responses=SIGNED_IN)
async def me(principal: CurrentUser, platform: PlatformDep) -> UserOut:
    return UserOut.of(await platform.users.get(principal.user_id))
