"""Security of the platform API on both databases: no cross-user access (IDOR),
access and refresh tokens that must be refused, refresh-token reuse detection,
and secrets that must never reach a log record or an error response."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import delete
from tests.integration.platform.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, Harness, error_of

from quantum.platform.db.models import User
from quantum.platform.security.jwt_tokens import JwtCodec

TRADER_PASSWORD = "user-password-1"


def _secret(harness: Harness) -> str:
    return (harness.platform.settings.data_dir / "jwt.secret").read_text("utf-8").strip()


def _error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    code: str = body["error"]["code"]
    return code


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _claims(user_id: str, role: str = "USER", **overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": user_id,
        "role": role,
        "jti": "test-jti",
        "iat": now,
        "exp": now + 600,
        "iss": "quantum-platform",
        "typ": "access",
    }
    claims.update(overrides)
    return claims


async def _login_pair(harness: Harness, username: str, password: str) -> dict[str, Any]:
    response = await harness.client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- IDOR ----------------------------------------------------------------------------------


async def test_user_cannot_reach_another_users_data(harness: Harness) -> None:
    alice, alice_headers = await harness.trader(app_key="alice-app-key", secret="alice-secret")
    bob, bob_headers = await harness.trader(app_key="bob-app-key", secret="bob-secret")
    alice_id, bob_id = alice["userId"], bob["userId"]
    client = harness.client

    alice_account = (await client.get("/api/v1/kiwoom-accounts/me", headers=alice_headers)).json()
    bob_account = (await client.get("/api/v1/kiwoom-accounts/me", headers=bob_headers)).json()
    alice_acct, bob_acct = alice_account["kiwoomAccountId"], bob_account["kiwoomAccountId"]
    assert alice_acct and bob_acct and alice_acct != bob_acct
    bob_token = (await client.get("/api/v1/kiwoom-accounts/me/token", headers=bob_headers)).json()
    alice_token = (
        await client.get("/api/v1/kiwoom-accounts/me/token", headers=alice_headers)
    ).json()
    assert bob_token["accessToken"] != alice_token["accessToken"]
    bob_secrets = [
        bob_id,
        bob_acct,
        bob["username"],
        bob_token["accessToken"],
        "bob-app-key",
        "bob-secret",
    ]

    seen: list[httpx.Response] = []

    async def as_alice(method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await client.request(method, url, headers=alice_headers, **kwargs)
        seen.append(response)
        return response

    # Her own endpoints only ever show her account; ids riding along are refused.
    me = await as_alice("GET", "/api/v1/kiwoom-accounts/me")
    assert me.status_code == 200, me.text
    assert me.json()["kiwoomAccountId"] == alice_acct
    token = await as_alice("GET", "/api/v1/kiwoom-accounts/me/token")
    assert token.status_code == 200, token.text
    assert token.json()["accessToken"] == alice_token["accessToken"]
    user = await as_alice("GET", "/api/v1/users/me")
    assert user.status_code == 200, user.text
    assert user.json()["userId"] == alice_id
    for query in (f"?userId={bob_id}", f"?kiwoomAccountId={bob_acct}", f"?user_id={bob_id}"):
        for path in (
            "/api/v1/kiwoom-accounts/me",
            "/api/v1/kiwoom-accounts/me/token",
            "/api/v1/users/me",
        ):
            error_of(await as_alice("GET", path + query), 422, "unknown_query_parameter")

    # Smuggling Bob's ids into her credentials update is refused, and changes nothing of his.
    smuggled = await as_alice(
        "PUT",
        "/api/v1/kiwoom-accounts/me/credentials",
        json={
            "clientId": "alice-app-key",
            "clientSecret": "alice-secret",
            "userId": bob_id,
            "kiwoomAccountId": bob_acct,
        },
    )
    assert smuggled.status_code == 422, smuggled.text

    # Every admin route answers 403 to a non-admin, also when aimed at Bob.
    admin_routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/v1/admin/users", None),
        ("GET", f"/api/v1/admin/users?userId={bob_id}", None),
        ("POST", "/api/v1/admin/users", {"username": "mallory", "password": "pw-123456"}),
        ("PATCH", f"/api/v1/admin/users/{bob_id}", {"isActive": False}),
        ("PATCH", f"/api/v1/admin/users/{alice_id}", {"role": "ADMIN"}),
        ("GET", "/api/v1/admin/kiwoom-accounts", None),
        ("POST", "/api/v1/admin/kiwoom-accounts", {"environment": "SIMULATOR"}),
        ("GET", f"/api/v1/admin/kiwoom-accounts/{bob_acct}", None),
        ("PATCH", f"/api/v1/admin/kiwoom-accounts/{bob_acct}", {"isActive": False}),
        ("PUT", f"/api/v1/admin/kiwoom-accounts/{bob_acct}/assignment", {"userId": alice_id}),
        ("DELETE", f"/api/v1/admin/kiwoom-accounts/{bob_acct}/assignment", None),
        ("GET", f"/api/v1/admin/kiwoom-accounts/{bob_acct}/assignment-history", None),
        ("GET", f"/api/v1/admin/kiwoom/logs?userId={bob_id}", None),
        ("GET", "/api/v1/admin/kiwoom/logs", None),
        ("GET", f"/api/v1/admin/kiwoom/usage?userId={bob_id}", None),
        ("GET", "/api/v1/admin/kiwoom/usage", None),
    ]
    for method, url, body in admin_routes:
        response = await as_alice(method, url, json=body)
        assert response.status_code == 403, (method, url, response.text)
        assert _error_code(response) == "admin_only", (method, url, response.text)

    for response in seen:
        for secret in bob_secrets:
            assert secret not in response.text, (str(response.request.url), secret)

    # Nothing Alice tried changed Bob: his account, assignment and sign-in still work.
    bob_after = (await client.get("/api/v1/kiwoom-accounts/me", headers=bob_headers)).json()
    assert bob_after["kiwoomAccountId"] == bob_acct
    assert bob_after["isActive"] is True
    assert bob_after["hasCredentials"] is True
    admin = await harness.admin()
    bob_row = await client.get(f"/api/v1/admin/kiwoom-accounts/{bob_acct}", headers=admin)
    assert bob_row.json()["userId"] == bob_id
    users = (await client.get("/api/v1/admin/users", headers=admin)).json()["items"]
    assert {u["username"] for u in users} >= {alice["username"], bob["username"]}
    assert "mallory" not in {u["username"] for u in users}
    assert next(u for u in users if u["userId"] == alice_id)["role"] == "USER"
    bob_again = await client.get("/api/v1/kiwoom-accounts/me/token", headers=bob_headers)
    assert bob_again.json()["accessToken"] == bob_token["accessToken"]


async def test_another_users_app_key_without_its_secret_is_refused(harness: Harness) -> None:
    _bob, bob_headers = await harness.trader(app_key="bob-app-key", secret="bob-secret")
    bob_token = (
        await harness.client.get("/api/v1/kiwoom-accounts/me/token", headers=bob_headers)
    ).json()["accessToken"]
    admin = await harness.admin()
    mallory = await harness.create_user()
    account = await harness.client.post(
        "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
    )
    account_id = account.json()["kiwoomAccountId"]
    await harness.client.put(
        f"/api/v1/admin/kiwoom-accounts/{account_id}/assignment",
        json={"userId": mallory["userId"]},
        headers=admin,
    )
    headers = await harness.login(mallory["username"], TRADER_PASSWORD)
    stolen = await harness.client.put(
        "/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": "bob-app-key", "clientSecret": "a-guessed-secret"},
        headers=headers,
    )
    assert stolen.status_code == 422, stolen.text
    token = await harness.client.get("/api/v1/kiwoom-accounts/me/token", headers=headers)
    assert bob_token not in token.text


# -- access tokens -------------------------------------------------------------------------


async def _assert_rejected(harness: Harness, headers: dict[str, str], code: str) -> None:
    for url in ("/api/v1/users/me", "/api/v1/kiwoom-accounts/me"):
        response = await harness.client.get(url, headers=headers)
        assert response.status_code == 401, (url, response.text)
        assert _error_code(response) == code, (url, response.text)
        assert response.headers.get("www-authenticate") == "Bearer"


async def test_bad_access_tokens_are_rejected(harness: Harness) -> None:
    user = await harness.create_user()
    pair = await _login_pair(harness, user["username"], TRADER_PASSWORD)
    ok = await harness.client.get("/api/v1/users/me", headers=_bearer(pair["accessToken"]))
    assert ok.status_code == 200, ok.text  # the genuine token works: the rejections are real

    secret = _secret(harness)
    past = datetime.now(UTC) - timedelta(hours=2)
    expired, _ = JwtCodec(secret, clock=lambda: past).issue_access(user["userId"], "USER")
    forged, _ = JwtCodec("another-secret-" + "x" * 40).issue_access(user["userId"], "ADMIN")
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user['userId']))}."
    hs512 = jwt.encode(_claims(user["userId"]), secret, algorithm="HS512")
    wrong_type = jwt.encode(_claims(user["userId"], typ="refresh"), secret, algorithm="HS256")
    wrong_issuer = jwt.encode(_claims(user["userId"], iss="elsewhere"), secret, algorithm="HS256")

    for token in (
        expired,
        forged,
        unsigned,
        hs512,
        wrong_type,
        wrong_issuer,
        "garbage",
        "a.b.c",
        pair["refreshToken"],
    ):
        await _assert_rejected(harness, _bearer(token), "invalid_token")

    # No (or another) scheme: not signed in at all.
    for headers in (
        {"Authorization": pair["accessToken"]},
        {"Authorization": f"Basic {pair['accessToken']}"},
        {},
    ):
        await _assert_rejected(harness, headers, "unauthorized")

    # An access token is not a refresh token.
    for path in ("/api/v1/auth/refresh", "/api/v1/auth/logout"):
        response = await harness.client.post(path, json={"refreshToken": pair["accessToken"]})
        if path.endswith("logout"):
            assert response.status_code == 204  # unknown token: nothing to revoke
        else:
            assert response.status_code == 401, response.text
            assert _error_code(response) == "invalid_refresh_token"
    # ... and logging out with it revoked nothing: the refresh token still works.
    again = await harness.client.post(
        "/api/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]}
    )
    assert again.status_code == 200, again.text


async def test_token_of_disabled_or_deleted_user_is_rejected(harness: Harness) -> None:
    disabled = await harness.create_user()
    deleted = await harness.create_user()
    disabled_pair = await _login_pair(harness, disabled["username"], TRADER_PASSWORD)
    deleted_pair = await _login_pair(harness, deleted["username"], TRADER_PASSWORD)
    for pair in (disabled_pair, deleted_pair):
        ok = await harness.client.get("/api/v1/users/me", headers=_bearer(pair["accessToken"]))
        assert ok.status_code == 200, ok.text

    admin = await harness.admin()
    patched = await harness.client.patch(
        f"/api/v1/admin/users/{disabled['userId']}", json={"isActive": False}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    async with harness.platform.sessions.begin() as session:
        await session.execute(delete(User).where(User.user_id == deleted["userId"]))
    # deleted behind the platform's back: seen once the 1 s principal cache lapses
    harness.platform.auth.forget(deleted["userId"])

    for pair in (disabled_pair, deleted_pair):
        await _assert_rejected(harness, _bearer(pair["accessToken"]), "invalid_token")
        refreshed = await harness.client.post(
            "/api/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]}
        )
        assert refreshed.status_code == 401, refreshed.text


async def test_forged_admin_role_claim_gives_no_admin_rights(harness: Harness) -> None:
    """A validly signed token's role claim is not trusted: the user's row decides."""
    user = await harness.create_user()
    token, _ = JwtCodec(_secret(harness)).issue_access(user["userId"], "ADMIN")
    response = await harness.client.get("/api/v1/admin/users", headers=_bearer(token))
    assert response.status_code == 403, response.text


# -- refresh tokens ------------------------------------------------------------------------


async def test_refresh_token_reuse_revokes_the_family(harness: Harness) -> None:
    user = await harness.create_user()
    first = await _login_pair(harness, user["username"], TRADER_PASSWORD)
    other_login = await _login_pair(harness, user["username"], TRADER_PASSWORD)

    async def refresh(token: str) -> httpx.Response:
        return await harness.client.post("/api/v1/auth/refresh", json={"refreshToken": token})

    second = await refresh(first["refreshToken"])
    assert second.status_code == 200, second.text
    third = await refresh(second.json()["refreshToken"])
    assert third.status_code == 200, third.text
    newest = third.json()["refreshToken"]
    assert len({first["refreshToken"], second.json()["refreshToken"], newest}) == 3

    reused = await refresh(first["refreshToken"])
    assert reused.status_code == 401, reused.text
    assert _error_code(reused) == "refresh_token_reused"

    after = await refresh(newest)
    assert after.status_code == 401, after.text
    assert _error_code(after) in {"invalid_refresh_token", "refresh_token_reused"}
    assert (await refresh(second.json()["refreshToken"])).status_code == 401

    # Only that sign-in is revoked: another login of the same user keeps working.
    unaffected = await refresh(other_login["refreshToken"])
    assert unaffected.status_code == 200, unaffected.text


async def test_logout_revokes_the_refresh_token(harness: Harness) -> None:
    user = await harness.create_user()
    pair = await _login_pair(harness, user["username"], TRADER_PASSWORD)
    out = await harness.client.post(
        "/api/v1/auth/logout", json={"refreshToken": pair["refreshToken"]}
    )
    assert out.status_code == 204, out.text
    response = await harness.client.post(
        "/api/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]}
    )
    assert response.status_code == 401, response.text


# -- secrets stay out of logs and error bodies -----------------------------------------------


def _log_texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter()
    texts = []
    for record in records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append(formatter.formatException(record.exc_info))
        if record.exc_text:
            texts.append(record.exc_text)
        if record.stack_info:
            texts.append(record.stack_info)
    return texts


async def test_secrets_never_reach_the_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = harness.client
    user_password = "trader-pass-Zq81-secret"
    wrong_password = "wrong-pass-Xk42-secret"
    app_key = "APPKEY-LOGTEST-9f3b21c7"
    app_secret = "APPSECRET-LOGTEST-5d0e88a1"
    other_key = "APPKEY-OTHER-1c2d3e4f"
    wrong_secret = "APPSECRET-WRONG-77c1e0f2"
    extra_secret = "EXTRA-SECRET-VALUE-3a9d"
    secrets: list[str] = [
        ADMIN_PASSWORD,
        user_password,
        wrong_password,
        app_key,
        app_secret,
        other_key,
        wrong_secret,
        extra_secret,
    ]

    admin_pair = await _login_pair(harness, ADMIN_USERNAME, ADMIN_PASSWORD)
    secrets += [admin_pair["accessToken"], admin_pair["refreshToken"]]
    admin = _bearer(admin_pair["accessToken"])
    created = await client.post(
        "/api/v1/admin/users",
        json={"username": "log-trader", "password": user_password},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["userId"]
    account = await client.post(
        "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
    )
    assert account.status_code == 201, account.text
    account_id = account.json()["kiwoomAccountId"]
    assigned = await client.put(
        f"/api/v1/admin/kiwoom-accounts/{account_id}/assignment",
        json={"userId": user_id},
        headers=admin,
    )
    assert assigned.status_code == 200, assigned.text

    failed_login = await client.post(
        "/api/v1/auth/login", json={"username": "log-trader", "password": wrong_password}
    )
    assert failed_login.status_code == 401
    assert wrong_password not in failed_login.text
    pair = await _login_pair(harness, "log-trader", user_password)
    secrets += [pair["accessToken"], pair["refreshToken"]]
    headers = _bearer(pair["accessToken"])

    stored = await client.put(
        "/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": app_key, "clientSecret": app_secret},
        headers=headers,
    )
    assert stored.status_code == 200, stored.text
    assert app_key not in stored.text and app_secret not in stored.text
    token = await client.get("/api/v1/kiwoom-accounts/me/token", headers=headers)
    assert token.status_code == 200, token.text
    kiwoom_token = token.json()["accessToken"]
    assert kiwoom_token
    secrets.append(kiwoom_token)

    # A key Kiwoom knows with another secret: refused, nothing is stored.
    harness.sim.token(other_key, "the-right-secret")
    refused = await client.put(
        "/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": other_key, "clientSecret": wrong_secret},
        headers=headers,
    )
    assert refused.status_code == 422, refused.text
    assert _error_code(refused) == "invalid_kiwoom_credentials"
    assert wrong_secret not in refused.text and other_key not in refused.text

    # Unexpected input: extra fields, a bad token, a password as the username.
    extra = await client.put(
        "/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": "x", "clientSecret": extra_secret, "extra": 1},
        headers=headers,
    )
    assert extra.status_code == 422, extra.text
    assert extra_secret not in extra.text
    for detail in extra.json()["error"]["details"]:
        assert set(detail) <= {"loc", "msg", "type"}, detail
    too_long = await client.put(
        "/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": app_key, "clientSecret": app_secret + "z" * 300},
        headers=headers,
    )
    assert too_long.status_code == 422, too_long.text
    assert app_secret not in too_long.text and app_key not in too_long.text
    bad_login = await client.post(
        "/api/v1/auth/login", json={"username": user_password, "password": 12345}
    )
    assert bad_login.status_code == 422, bad_login.text
    assert user_password not in bad_login.text
    bad_user = await client.post(
        "/api/v1/admin/users",
        json={"username": "x", "password": user_password, "extra": True},
        headers=admin,
    )
    assert bad_user.status_code == 422, bad_user.text
    assert user_password not in bad_user.text
    forbidden = await client.get("/api/v1/admin/users", headers=headers)
    assert forbidden.status_code == 403
    bogus = await client.get("/api/v1/users/me", headers=_bearer(pair["refreshToken"]))
    assert bogus.status_code == 401
    assert pair["refreshToken"] not in bogus.text

    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    secrets += [refreshed.json()["accessToken"], refreshed.json()["refreshToken"]]
    reused = await client.post("/api/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]})
    assert reused.status_code == 401
    logout = await client.post(
        "/api/v1/auth/logout", json={"refreshToken": refreshed.json()["refreshToken"]}
    )
    assert logout.status_code == 204
    await harness.platform.usage.flush()

    records = list(caplog.records)
    assert records, "nothing was logged: the check below would be vacuous"
    for text in _log_texts(records):
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:6]}…) is in the log: {text[:300]}"
