"""The guide's three account endpoints (``/api/v1/kiwoom-accounts/me``,
``/me/credentials``, ``/me/token``) on SQLite and PostgreSQL, against a real simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from tests.integration.platform.conftest import USER_PASSWORD, Harness, error_of

ME = "/api/v1/kiwoom-accounts/me"
CREDENTIALS = "/api/v1/kiwoom-accounts/me/credentials"
TOKEN = "/api/v1/kiwoom-accounts/me/token"
GUIDE_FIELDS = {
    "hasAccount",
    "kiwoomAccountId",
    "assignedAt",
    "isActive",
    "hasValidToken",
    "tokenExpiresAt",
}


async def user_with_account(harness: Harness, name: str) -> tuple[str, dict[str, str]]:
    """A user with a SIMULATOR account but no credentials yet: (account id, headers)."""
    user = await harness.create_user(name)
    admin = await harness.admin()
    account = await harness.client.post(
        "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
    )
    assert account.status_code == 201, account.text
    account_id = str(account.json()["kiwoomAccountId"])
    assigned = await harness.client.put(
        f"/api/v1/admin/kiwoom-accounts/{account_id}/assignment",
        json={"userId": user["userId"]},
        headers=admin,
    )
    assert assigned.status_code == 200, assigned.text
    return account_id, await harness.login(name, USER_PASSWORD)


def token_requests(harness: Harness) -> int:
    return harness.sim.sim.requests["au10001"]


async def test_no_account(harness: Harness) -> None:
    await harness.create_user("loner")
    headers = await harness.login("loner", USER_PASSWORD)
    me = await harness.client.get(ME, headers=headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert set(body) >= GUIDE_FIELDS
    assert body["hasAccount"] is False
    assert body["message"] == "No account assigned"
    assert body["kiwoomAccountId"] is None
    assert body["hasValidToken"] is False

    stored = await harness.client.put(
        CREDENTIALS, json={"clientId": "k", "clientSecret": "s"}, headers=headers
    )
    assert error_of(stored, 404, "no_account_assigned")["error"]["message"] == (
        "No account assigned"
    )
    token = await harness.client.get(TOKEN, headers=headers)
    assert error_of(token, 404, "no_account_assigned")["error"]["message"] == (
        "No account assigned"
    )
    assert token_requests(harness) == 0

    for method, path in (("GET", ME), ("PUT", CREDENTIALS), ("GET", TOKEN)):
        body = {"clientId": "k", "clientSecret": "s"} if method == "PUT" else None
        error_of(await harness.client.request(method, path, json=body), 401, "unauthorized")


async def test_account_before_credentials(harness: Harness) -> None:
    account_id, headers = await user_with_account(harness, "newbie")
    me = (await harness.client.get(ME, headers=headers)).json()
    assert set(me) >= GUIDE_FIELDS
    assert me["hasAccount"] is True
    assert me["kiwoomAccountId"] == account_id
    assert me["assignedAt"] is not None
    assert me["isActive"] is True
    assert me["hasValidToken"] is False
    assert me["tokenExpiresAt"] is None
    assert me["hasCredentials"] is False
    assert me["environment"] == "SIMULATOR"

    token = await harness.client.get(TOKEN, headers=headers)
    assert token.status_code == 200, token.text
    assert token.json()["hasToken"] is False
    assert token.json()["accessToken"] is None
    assert token_requests(harness) == 0


async def test_credentials_then_one_central_token(harness: Harness) -> None:
    account_id, headers = await user_with_account(harness, "trader")
    stored = await harness.client.put(
        CREDENTIALS, json={"clientId": "app-key-A", "clientSecret": "secret-A"}, headers=headers
    )
    assert stored.status_code == 200, stored.text
    after = stored.json()
    assert after["hasAccount"] is True and after["kiwoomAccountId"] == account_id
    assert after["hasCredentials"] is True
    # Checking the pair issued the account's token already.
    assert after["hasValidToken"] is True
    assert after["tokenExpiresAt"] is not None
    assert token_requests(harness) == 1

    first = await harness.client.get(TOKEN, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["hasToken"] is True
    assert body["tokenType"] == "Bearer"
    assert body["message"] == "Token retrieved successfully"
    assert isinstance(body["accessToken"], str) and body["accessToken"]
    second = (await harness.client.get(TOKEN, headers=headers)).json()
    assert second["accessToken"] == body["accessToken"]
    assert token_requests(harness) == 1

    # The token is the simulator's real one: it works on a TR.
    answer = harness.sim.call("ka00001", "acnt", {}, token=body["accessToken"])
    assert answer.status_code == 200, answer.text

    me = (await harness.client.get(ME, headers=headers)).json()
    assert me["hasValidToken"] is True
    # Kiwoom's expires_dt is on the simulator's clock, which stands in the past here;
    # users read the expiry in wall-clock time: ahead, by the token's lifetime.
    now = datetime.now(UTC)
    expiries = [datetime.fromisoformat(t) for t in (after["tokenExpiresAt"], me["tokenExpiresAt"])]
    expiries.append(datetime.fromisoformat(body["expiresAt"]))
    lifetime = timedelta(seconds=harness.sim.sim.config.token_lifetime_seconds)
    for expiry in expiries:
        assert now + lifetime - timedelta(seconds=30) < expiry <= now + lifetime


async def test_refused_pair_is_not_stored(harness: Harness) -> None:
    # The simulator knows this key with another secret: it answers au10001 with 8002.
    harness.sim.token("known-key", "the-real-secret")
    _account, headers = await user_with_account(harness, "mallory")
    refused = await harness.client.put(
        CREDENTIALS, json={"clientId": "known-key", "clientSecret": "a-guess"}, headers=headers
    )
    body = error_of(refused, 422, "invalid_kiwoom_credentials")
    assert body["error"]["message"] == "Kiwoom refused this app key and secret"
    assert body["error"]["details"] == {"kiwoomCode": "8002"}
    assert "a-guess" not in refused.text

    me = (await harness.client.get(ME, headers=headers)).json()
    assert me["hasAccount"] is True
    assert me["hasCredentials"] is False
    assert me["hasValidToken"] is False
    assert me["tokenExpiresAt"] is None
    assert (await harness.client.get(TOKEN, headers=headers)).json()["hasToken"] is False
    async with harness.platform.engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT COUNT(*) FROM kiwoom_accounts WHERE app_key_sealed IS NOT NULL")
            )
        ).scalar_one()
    assert stored == 0


async def test_another_accounts_key_needs_its_secret(harness: Harness) -> None:
    """The broker keeps one token per app key: user B must not get user A's token by
    storing A's key with a made-up secret."""
    _a_account, a_headers = await user_with_account(harness, "alice")
    stored = await harness.client.put(
        CREDENTIALS, json={"clientId": "shared-key", "clientSecret": "secret-1"}, headers=a_headers
    )
    assert stored.status_code == 200, stored.text
    a_token = (await harness.client.get(TOKEN, headers=a_headers)).json()["accessToken"]

    _b_account, b_headers = await user_with_account(harness, "bob")
    refused = await harness.client.put(
        CREDENTIALS, json={"clientId": "shared-key", "clientSecret": "secret-2"}, headers=b_headers
    )
    error_of(refused, 422, "invalid_kiwoom_credentials")
    assert a_token not in refused.text
    me = (await harness.client.get(ME, headers=b_headers)).json()
    assert me["hasCredentials"] is False
    assert me["hasValidToken"] is False
    assert (await harness.client.get(TOKEN, headers=b_headers)).json()["hasToken"] is False
    # Alice is unaffected.
    again = (await harness.client.get(TOKEN, headers=a_headers)).json()
    assert again["hasToken"] is True and again["accessToken"] == a_token


async def test_key_pair_is_encrypted_at_rest(harness: Harness) -> None:
    account_id, headers = await user_with_account(harness, "secretive")
    app_key, app_secret = "PLAINTEXT-APP-KEY-4f1d", "PLAINTEXT-SECRET-9c2e"
    stored = await harness.client.put(
        CREDENTIALS, json={"clientId": app_key, "clientSecret": app_secret}, headers=headers
    )
    assert stored.status_code == 200, stored.text
    kiwoom_token = (await harness.client.get(TOKEN, headers=headers)).json()["accessToken"]

    dumped: list[bytes] = []
    async with harness.platform.engine.connect() as connection:
        for table in ("kiwoom_accounts", "kiwoom_tokens"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            assert rows, table
            for row in rows:
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        dumped.append(bytes(value))
                    elif value is not None:
                        dumped.append(str(value).encode())
        sealed = (
            await connection.execute(
                text(
                    "SELECT app_key_sealed, app_secret_sealed FROM kiwoom_accounts "
                    "WHERE kiwoom_account_id = :id"
                ),
                {"id": account_id},
            )
        ).one()
    assert sealed[0] is not None and sealed[1] is not None
    blob = b"\n".join(dumped)
    for plaintext in (app_key, app_secret, kiwoom_token):
        assert plaintext.encode() not in blob
        assert plaintext.encode("utf-16-le") not in blob
    # The sealed values still decrypt to the pair (what trading uses).
    trading = await harness.platform.accounts.trading(
        (await harness.client.get("/api/v1/users/me", headers=headers)).json()["userId"]
    )
    assert trading is not None
    assert trading.credentials.app_key.get_secret_value() == app_key
    assert trading.credentials.app_secret.get_secret_value() == app_secret


async def test_invalid_bodies_are_422(harness: Harness) -> None:
    _account, headers = await user_with_account(harness, "sloppy")
    for body in (
        {"clientId": "k", "clientSecret": "s", "extra": "x"},
        {"clientId": "k"},
        {"clientId": "", "clientSecret": "s"},
        {"appKey": "k", "appSecret": "s"},
    ):
        response = await harness.client.put(CREDENTIALS, json=body, headers=headers)
        error_of(response, 422, "invalid_input")
    malformed = await harness.client.put(
        CREDENTIALS, content=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    error_of(malformed, 400, "malformed_json")
    assert token_requests(harness) == 0
    assert (await harness.client.get(ME, headers=headers)).json()["hasCredentials"] is False


async def test_a_refused_guess_does_not_lock_out_the_right_secret(harness: Harness) -> None:
    harness.sim.token("owners-key", "owners-secret")  # Kiwoom knows this pair
    _b_account, b_headers = await user_with_account(harness, "guesser")
    guess = await harness.client.put(
        CREDENTIALS, json={"clientId": "owners-key", "clientSecret": "guess"}, headers=b_headers
    )
    error_of(guess, 422, "invalid_kiwoom_credentials")
    _a_account, a_headers = await user_with_account(harness, "owner")
    right = await harness.client.put(
        CREDENTIALS,
        json={"clientId": "owners-key", "clientSecret": "owners-secret"},
        headers=a_headers,
    )
    assert right.status_code == 200, right.text
    assert right.json()["hasCredentials"] is True
    assert (await harness.client.get(TOKEN, headers=a_headers)).json()["hasToken"] is True
