"""Stored credentials are always checked by Kiwoom, never by a cached token."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.integration.platform.conftest import Harness


async def test_own_key_with_a_wrong_secret_is_refused_and_not_stored(harness: Harness) -> None:
    _user, headers = await harness.trader(app_key="own-key", secret="right-secret")
    before = (await harness.client.get("/api/v1/kiwoom-accounts/me", headers=headers)).json()
    answer = await harness.client.put(
        "/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": "own-key", "clientSecret": "wrong-secret"},
        headers=headers,
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_kiwoom_credentials"
    trading = await harness.platform.accounts.trading(_user["userId"])
    assert trading is not None
    assert trading.credentials.app_secret.get_secret_value() == "right-secret"
    after = (await harness.client.get("/api/v1/kiwoom-accounts/me", headers=headers)).json()
    # the expiry is shown in wall-clock time, and the simulator's clock stands still
    # here: the same token's shown expiry moves with the wall clock
    expiries = [datetime.fromisoformat(x.pop("tokenExpiresAt")) for x in (before, after)]
    assert abs(expiries[1] - expiries[0]) < timedelta(seconds=60)
    assert after["hasCredentials"] and after == before
