"""The guide's three account endpoints for the signed-in user."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from quantum.platform.api.deps import CurrentUser, PlatformDep
from quantum.platform.api.responses import CALLS_KIWOOM, SIGNED_IN, WITH_BODY
from quantum.platform.api.routing import DeclaredQueryRoute
from quantum.platform.api.schemas import CredentialsRequest, MyAccount, MyToken
from quantum.platform.core import Platform
from quantum.platform.services.accounts import NO_ACCOUNT, AccountState

router = APIRouter(
    route_class=DeclaredQueryRoute,
    prefix="/api/v1/kiwoom-accounts",
    tags=["kiwoom-accounts"],
    responses=SIGNED_IN,
)


def token_expiry(state: AccountState, platform: Platform) -> datetime | None:
    """When the account's token expires, in wall-clock time."""
    if state.token_expires_at is None:
        return None
    return platform.orders.on_wall_clock(
        state.environment.broker_environment, state.token_expires_at
    )


def _my_account(state: AccountState | None, platform: Platform) -> MyAccount:
    """Token validity by the account's market clock (the simulator's for SIMULATOR
    accounts: its tokens expire in simulated time); the expiry in wall-clock time."""
    if state is None:
        return MyAccount(has_account=False, message=NO_ACCOUNT)
    return MyAccount(
        has_account=True,
        kiwoom_account_id=state.kiwoom_account_id,
        assigned_at=state.assigned_at,
        is_active=state.is_active,
        has_valid_token=state.has_valid_token(
            platform.orders.market_now(state.environment.broker_environment)
        ),
        token_expires_at=token_expiry(state, platform),
        has_credentials=state.has_credentials,
        environment=state.environment,
    )


@router.get("/me", response_model=MyAccount, response_model_exclude_none=False)
async def my_account(principal: CurrentUser, platform: PlatformDep) -> MyAccount:
    return _my_account(await platform.accounts.of_user(principal.user_id), platform)


@router.put("/me/credentials", response_model=MyAccount, responses=WITH_BODY | CALLS_KIWOOM)
async def update_credentials(
    body: CredentialsRequest, principal: CurrentUser, platform: PlatformDep
) -> MyAccount:
    """Checked by issuing a token with the pair on the account's environment first;
    a pair Kiwoom refuses answers 422 and nothing is stored."""
    state = await platform.accounts.update_credentials(
        principal.user_id, body.client_id.get_secret_value(), body.client_secret.get_secret_value()
    )
    return _my_account(state, platform)


@router.get("/me/token", response_model=MyToken, responses=CALLS_KIWOOM)
async def my_token(principal: CurrentUser, platform: PlatformDep) -> MyToken:
    """The platform's token for the account's app key: issued centrally, once per key."""
    trading = await platform.accounts.trading(principal.user_id)
    if trading is None:
        return MyToken(has_token=False, message="No credentials stored for this account")
    token = await platform.accounts.token_of(principal.user_id, trading)
    return MyToken(
        has_token=True,
        access_token=token.token,
        token_type=token.token_type,
        expires_at=platform.orders.on_wall_clock(trading.credentials.environment, token.expires_at),
        message="Token retrieved successfully",
    )
