"""The platform answers on both databases: sign-in, the guide's account endpoints."""

from __future__ import annotations

from tests.integration.platform.conftest import Harness


async def test_trader_gets_account_and_central_token(harness: Harness) -> None:
    _user, headers = await harness.trader()
    me = (await harness.client.get("/api/v1/kiwoom-accounts/me", headers=headers)).json()
    assert me["hasAccount"] is True
    assert me["hasCredentials"] is True
    token = (await harness.client.get("/api/v1/kiwoom-accounts/me/token", headers=headers)).json()
    assert token["hasToken"] is True
    assert token["message"] == "Token retrieved successfully"
