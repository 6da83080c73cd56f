"""Sign-in, the caller's own user, refresh-token rotation and reuse detection,
sign-out, and the per-username login rate limit (on SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
from tests.integration.platform.conftest import ADMIN_USERNAME, USER_PASSWORD, Harness, error_of

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


async def login(harness: Harness, username: str, password: str = USER_PASSWORD) -> httpx.Response:
    return await harness.client.post(LOGIN, json={"username": username, "password": password})


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def test_login_returns_the_token_pair(harness: Harness) -> None:
    user = await harness.create_user("alice")
    response = await login(harness, "alice")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 15 * 60
    assert body["accessToken"] and body["refreshToken"]
    assert body["accessToken"] != body["refreshToken"]

    me = await harness.client.get(ME, headers=bearer(body["accessToken"]))
    assert me.status_code == 200, me.text
    mine = me.json()
    assert set(mine) == {"userId", "username", "role", "isActive", "createdAt", "lastLoginAt"}
    assert mine["userId"] == user["userId"]
    assert mine["username"] == "alice"
    assert mine["role"] == "USER"
    assert mine["isActive"] is True
    assert mine["lastLoginAt"] is not None


async def test_wrong_password_and_unknown_user_look_the_same(harness: Harness) -> None:
    await harness.create_user("bob")
    wrong = error_of(await login(harness, "bob", "not-the-password"), 401, "invalid_credentials")
    unknown = error_of(await login(harness, "nobody-here"), 401, "invalid_credentials")
    assert wrong["error"]["message"] == unknown["error"]["message"]
    assert wrong["error"]["details"] is None and unknown["error"]["details"] is None


async def test_disabled_user_cannot_sign_in(harness: Harness) -> None:
    user = await harness.create_user("carol")
    patched = await harness.client.patch(
        f"/api/v1/admin/users/{user['userId']}",
        json={"isActive": False},
        headers=await harness.admin(),
    )
    assert patched.status_code == 200, patched.text
    error_of(await login(harness, "carol"), 401, "user_disabled")


async def test_bad_bodies(harness: Harness) -> None:
    response = await harness.client.post(
        LOGIN, content=b'{"username": "x", ', headers={"Content-Type": "application/json"}
    )
    error_of(response, 400, "malformed_json")
    body = error_of(
        await harness.client.post(LOGIN, json={"username": "someone"}), 422, "invalid_input"
    )
    assert any(d["loc"][-1] == "password" for d in body["error"]["details"])
    error_of(
        await harness.client.post(LOGIN, json={"username": "a", "password": "b", "extra": 1}),
        422,
        "invalid_input",
    )


async def test_me_needs_a_valid_token(harness: Harness) -> None:
    none = error_of(await harness.client.get(ME), 401, "unauthorized")
    assert none["error"]["message"].startswith("sign in first")
    assert (await harness.client.get(ME)).headers["WWW-Authenticate"] == "Bearer"
    error_of(await harness.client.get(ME, headers=bearer("not-a-jwt")), 401, "invalid_token")
    basic = await harness.client.get(ME, headers={"Authorization": "Basic dXNlcjpwdw=="})
    error_of(basic, 401, "unauthorized")
    admin = await harness.client.get(ME, headers=await harness.admin())
    assert admin.status_code == 200
    assert admin.json()["username"] == ADMIN_USERNAME
    assert admin.json()["role"] == "ADMIN"


async def test_refresh_rotates_and_reuse_revokes_the_family(harness: Harness) -> None:
    await harness.create_user("dave")
    first = (await login(harness, "dave")).json()

    rotated = await harness.client.post(REFRESH, json={"refreshToken": first["refreshToken"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert set(second) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert second["tokenType"] == "Bearer"
    assert second["refreshToken"] != first["refreshToken"]
    me = await harness.client.get(ME, headers=bearer(second["accessToken"]))
    assert me.status_code == 200 and me.json()["username"] == "dave"

    # The new refresh token works once more (rotation continues) ...
    third = await harness.client.post(REFRESH, json={"refreshToken": second["refreshToken"]})
    assert third.status_code == 200, third.text
    latest = third.json()["refreshToken"]

    # ... but presenting a spent one is theft: refused, and the whole family revoked.
    reused = await harness.client.post(REFRESH, json={"refreshToken": first["refreshToken"]})
    error_of(reused, 401, "refresh_token_reused")
    after = await harness.client.post(REFRESH, json={"refreshToken": latest})
    error_of(after, 401, "invalid_refresh_token")

    # Another sign-in of the same user is its own family and unaffected.
    other = (await login(harness, "dave")).json()
    ok = await harness.client.post(REFRESH, json={"refreshToken": other["refreshToken"]})
    assert ok.status_code == 200, ok.text

    response = await harness.client.post(REFRESH, json={"refreshToken": "made-up"})
    error_of(response, 401, "invalid_refresh_token")
    error_of(await harness.client.post(REFRESH, json={}), 422, "invalid_input")


async def test_logout_revokes_the_family(harness: Harness) -> None:
    await harness.create_user("erin")
    first = (await login(harness, "erin")).json()
    second = (
        await harness.client.post(REFRESH, json={"refreshToken": first["refreshToken"]})
    ).json()

    out = await harness.client.post(LOGOUT, json={"refreshToken": first["refreshToken"]})
    assert out.status_code == 204, out.text
    assert out.content == b""
    error_of(
        await harness.client.post(REFRESH, json={"refreshToken": second["refreshToken"]}),
        401,
        "invalid_refresh_token",
    )
    # Logging out with an unknown token is harmless.
    again = await harness.client.post(LOGOUT, json={"refreshToken": "unknown"})
    assert again.status_code == 204


async def test_login_rate_limit_per_username(harness: Harness) -> None:
    await harness.create_user("frank")
    for _ in range(5):
        error_of(await login(harness, "frank", "wrong-password"), 401, "invalid_credentials")
    # Even the right password is refused now.
    limited = await login(harness, "frank")
    body = error_of(limited, 429, "rate_limited")
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert body["error"]["details"] == {"retryAfter": retry_after}
    # The limit is per username (case-insensitively): others still sign in.
    error_of(await login(harness, "FRANK", "wrong-password"), 429, "rate_limited")
    await harness.create_user("grace")
    assert (await login(harness, "grace")).status_code == 200


async def test_successful_login_resets_the_username_budget(harness: Harness) -> None:
    await harness.create_user("heidi")
    for _ in range(4):
        error_of(await login(harness, "heidi", "wrong-password"), 401, "invalid_credentials")
    assert (await login(harness, "heidi")).status_code == 200
    for _ in range(4):
        error_of(await login(harness, "heidi", "wrong-password"), 401, "invalid_credentials")
    assert (await login(harness, "heidi")).status_code == 200
