"""Admin routes: users, Kiwoom accounts, assignment and its audit trail (on SQLite
and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx
from tests.integration.platform.conftest import ADMIN_USERNAME, USER_PASSWORD, Harness, error_of

USERS = "/api/v1/admin/users"
ACCOUNTS = "/api/v1/admin/kiwoom-accounts"
USER_FIELDS = {"userId", "username", "role", "isActive", "createdAt", "lastLoginAt"}
ACCOUNT_FIELDS = {
    "kiwoomAccountId",
    "environment",
    "displayName",
    "isActive",
    "userId",
    "assignedAt",
    "hasCredentials",
    "credentialsUpdatedAt",
    "tokenExpiresAt",
    "createdAt",
}


async def admin_id(harness: Harness, admin: dict[str, str]) -> str:
    me = await harness.client.get("/api/v1/users/me", headers=admin)
    return str(me.json()["userId"])


async def new_account(harness: Harness, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("environment", "SIMULATOR")
    response = await harness.client.post(ACCOUNTS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def assign(
    harness: Harness, admin: dict[str, str], account_id: str, user_id: str
) -> httpx.Response:
    return await harness.client.put(
        f"{ACCOUNTS}/{account_id}/assignment", json={"userId": user_id}, headers=admin
    )


async def test_non_admin_gets_403_everywhere(harness: Harness) -> None:
    await harness.create_user("plain")
    user = await harness.login("plain", USER_PASSWORD)
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", USERS, {"username": "x-user", "password": USER_PASSWORD}),
        ("GET", USERS, None),
        ("PATCH", f"{USERS}/USER_001", {"isActive": False}),
        ("POST", ACCOUNTS, {"environment": "SIMULATOR"}),
        ("GET", ACCOUNTS, None),
        ("GET", f"{ACCOUNTS}/KIWOOM_ACC_001", None),
        ("PATCH", f"{ACCOUNTS}/KIWOOM_ACC_001", {"isActive": False}),
        ("PUT", f"{ACCOUNTS}/KIWOOM_ACC_001/assignment", {"userId": "USER_001"}),
        ("DELETE", f"{ACCOUNTS}/KIWOOM_ACC_001/assignment", None),
        ("GET", f"{ACCOUNTS}/KIWOOM_ACC_001/assignment-history", None),
        ("GET", "/api/v1/admin/kiwoom/logs", None),
        ("GET", "/api/v1/admin/kiwoom/usage", None),
    ]
    for method, path, body in routes:
        response = await harness.client.request(method, path, json=body, headers=user)
        error_of(response, 403, "admin_only")
        anonymous = await harness.client.request(method, path, json=body)
        error_of(anonymous, 401, "unauthorized")
    # Nothing was created by the refused calls.
    listed = await harness.client.get(USERS, headers=await harness.admin())
    assert "x-user" not in {u["username"] for u in listed.json()["items"]}


async def test_create_user_with_chosen_id(harness: Harness) -> None:
    admin = await harness.admin()
    response = await harness.client.post(
        USERS,
        json={"username": "trader.one", "password": USER_PASSWORD, "userId": "USER_001"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["userId"] == "USER_001"
    assert body["username"] == "trader.one"
    assert body["role"] == "USER"
    assert body["isActive"] is True
    assert body["lastLoginAt"] is None
    # The new user signs in with that password.
    me = await harness.client.get(
        "/api/v1/users/me", headers=await harness.login("trader.one", USER_PASSWORD)
    )
    assert me.json()["userId"] == "USER_001"

    auto = await harness.client.post(
        USERS,
        json={"username": "auto-id", "password": USER_PASSWORD, "role": "ADMIN"},
        headers=admin,
    )
    assert auto.status_code == 201, auto.text
    assert auto.json()["userId"].startswith("USR_")
    assert auto.json()["role"] == "ADMIN"


async def test_create_user_conflicts_and_validation(harness: Harness) -> None:
    admin = await harness.admin()
    await harness.create_user("first-user", userId="USER_001")
    same_id = {"username": "other-name", "password": USER_PASSWORD, "userId": "USER_001"}
    error_of(await harness.client.post(USERS, json=same_id, headers=admin), 409, "user_exists")
    same_name = {"username": "first-user", "password": USER_PASSWORD}
    error_of(await harness.client.post(USERS, json=same_name, headers=admin), 409, "user_exists")

    weak = await harness.client.post(
        USERS, json={"username": "weakling", "password": "short"}, headers=admin
    )
    assert error_of(weak, 422, "invalid_input")["error"]["message"].startswith("password")
    bad_name = await harness.client.post(
        USERS, json={"username": "bad name!", "password": USER_PASSWORD}, headers=admin
    )
    assert error_of(bad_name, 422, "invalid_input")["error"]["message"].startswith("username")
    bad_id = await harness.client.post(
        USERS,
        json={"username": "good-name", "password": USER_PASSWORD, "userId": "no spaces"},
        headers=admin,
    )
    assert error_of(bad_id, 422, "invalid_input")["error"]["message"].startswith("userId")
    bad_role = await harness.client.post(
        USERS,
        json={"username": "good-name", "password": USER_PASSWORD, "role": "ROOT"},
        headers=admin,
    )
    error_of(bad_role, 422, "invalid_input")
    listed = (await harness.client.get(USERS, headers=admin)).json()
    assert {u["username"] for u in listed["items"]} == {ADMIN_USERNAME, "first-user"}


async def test_list_users_is_paged(harness: Harness) -> None:
    admin = await harness.admin()
    for n in range(4):
        await harness.create_user(f"paged{n}")
    first = await harness.client.get(USERS, params={"page": 0, "size": 2}, headers=admin)
    assert first.status_code == 200, first.text
    page0 = first.json()
    assert set(page0) == {"items", "page", "size", "total"}
    assert (page0["page"], page0["size"], page0["total"]) == (0, 2, 5)
    assert len(page0["items"]) == 2
    assert set(page0["items"][0]) == USER_FIELDS
    page1 = (await harness.client.get(USERS, params={"page": 1, "size": 2}, headers=admin)).json()
    page2 = (await harness.client.get(USERS, params={"page": 2, "size": 2}, headers=admin)).json()
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1
    names = [u["username"] for p in (page0, page1, page2) for u in p["items"]]
    assert sorted(names) == sorted([ADMIN_USERNAME, *(f"paged{n}" for n in range(4))])
    assert names[0] == ADMIN_USERNAME  # oldest first
    beyond = (await harness.client.get(USERS, params={"page": 9, "size": 2}, headers=admin)).json()
    assert beyond["items"] == [] and beyond["total"] == 5
    bad = await harness.client.get(USERS, params={"size": 0}, headers=admin)
    error_of(bad, 422, "invalid_input")


async def test_patch_disables_and_changes_role(harness: Harness) -> None:
    admin = await harness.admin()
    user = await harness.create_user("victim")
    token = await harness.login("victim", USER_PASSWORD)
    assert (await harness.client.get("/api/v1/users/me", headers=token)).status_code == 200

    promoted = await harness.client.patch(
        f"{USERS}/{user['userId']}", json={"role": "ADMIN"}, headers=admin
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "ADMIN" and promoted.json()["isActive"] is True
    # The role is read per request: the same access token now reaches admin routes.
    assert (await harness.client.get(USERS, headers=token)).status_code == 200

    disabled = await harness.client.patch(
        f"{USERS}/{user['userId']}", json={"isActive": False, "role": "USER"}, headers=admin
    )
    assert disabled.status_code == 200, disabled.text
    assert set(disabled.json()) == USER_FIELDS
    assert disabled.json()["isActive"] is False and disabled.json()["role"] == "USER"
    refused = await harness.client.get("/api/v1/users/me", headers=token)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] in {"invalid_token", "user_disabled"}

    enabled = await harness.client.patch(
        f"{USERS}/{user['userId']}", json={"isActive": True}, headers=admin
    )
    assert enabled.json()["isActive"] is True
    assert (await harness.client.get("/api/v1/users/me", headers=token)).status_code == 200

    missing = await harness.client.patch(f"{USERS}/NOPE", json={"isActive": False}, headers=admin)
    error_of(missing, 404, "user_not_found")
    unknown_field = await harness.client.patch(
        f"{USERS}/{user['userId']}", json={"enabled": False}, headers=admin
    )
    error_of(unknown_field, 422, "invalid_input")


async def test_admin_cannot_disable_or_demote_themselves(harness: Harness) -> None:
    admin = await harness.admin()
    me = await admin_id(harness, admin)
    for body in ({"isActive": False}, {"role": "USER"}):
        response = await harness.client.patch(f"{USERS}/{me}", json=body, headers=admin)
        error_of(response, 403, "self_demotion")
    still = await harness.client.get("/api/v1/users/me", headers=admin)
    assert still.json()["role"] == "ADMIN" and still.json()["isActive"] is True


async def test_create_and_read_accounts(harness: Harness) -> None:
    admin = await harness.admin()
    created = await harness.client.post(
        ACCOUNTS,
        json={"kiwoomAccountId": "KIWOOM_ACC_001", "environment": "MOCK", "displayName": "Main"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == ACCOUNT_FIELDS
    assert body["kiwoomAccountId"] == "KIWOOM_ACC_001"
    assert body["environment"] == "MOCK"
    assert body["displayName"] == "Main"
    assert body["isActive"] is True
    assert body["userId"] is None and body["assignedAt"] is None
    assert body["hasCredentials"] is False and body["tokenExpiresAt"] is None

    for environment in ("SIMULATOR", "PRODUCTION"):
        await new_account(harness, admin, environment=environment)
    auto = (await harness.client.get(ACCOUNTS, headers=admin)).json()
    assert [a["kiwoomAccountId"] for a in auto] == [
        "KIWOOM_ACC_001",
        "KIWOOM_ACC_002",
        "KIWOOM_ACC_003",
    ]
    assert [a["environment"] for a in auto] == ["MOCK", "SIMULATOR", "PRODUCTION"]

    duplicate = await harness.client.post(
        ACCOUNTS, json={"kiwoomAccountId": "KIWOOM_ACC_002", "environment": "MOCK"}, headers=admin
    )
    error_of(duplicate, 409, "account_exists")
    bad_env = await harness.client.post(ACCOUNTS, json={"environment": "LIVE"}, headers=admin)
    error_of(bad_env, 422, "invalid_input")
    no_env = await harness.client.post(ACCOUNTS, json={}, headers=admin)
    error_of(no_env, 422, "invalid_input")
    bad_id = await harness.client.post(
        ACCOUNTS, json={"kiwoomAccountId": "has space", "environment": "MOCK"}, headers=admin
    )
    error_of(bad_id, 422, "invalid_input")

    got = await harness.client.get(f"{ACCOUNTS}/KIWOOM_ACC_001", headers=admin)
    assert got.status_code == 200 and got.json() == body
    error_of(await harness.client.get(f"{ACCOUNTS}/NOPE", headers=admin), 404, "account_not_found")

    off = await harness.client.patch(
        f"{ACCOUNTS}/KIWOOM_ACC_001", json={"isActive": False}, headers=admin
    )
    assert off.status_code == 200 and off.json()["isActive"] is False
    error_of(
        await harness.client.patch(f"{ACCOUNTS}/NOPE", json={"isActive": False}, headers=admin),
        404,
        "account_not_found",
    )


async def test_assignment_and_its_history(harness: Harness) -> None:
    admin = await harness.admin()
    actor = await admin_id(harness, admin)
    first = await harness.create_user("first", userId="USER_001")
    second = await harness.create_user("second", userId="USER_002")
    await new_account(harness, admin, kiwoomAccountId="KIWOOM_ACC_001")

    assigned = await assign(harness, admin, "KIWOOM_ACC_001", first["userId"])
    assert assigned.status_code == 200, assigned.text
    assert set(assigned.json()) == ACCOUNT_FIELDS
    assert assigned.json()["userId"] == "USER_001"
    assert assigned.json()["assignedAt"] is not None
    # Assigning the same user again changes nothing (and writes no audit row).
    again = await assign(harness, admin, "KIWOOM_ACC_001", first["userId"])
    assert again.status_code == 200 and again.json()["userId"] == "USER_001"

    history_url = f"{ACCOUNTS}/KIWOOM_ACC_001/assignment-history"
    history = (await harness.client.get(history_url, headers=admin)).json()
    assert len(history) == 1
    assert set(history[0]) == {"kiwoomAccountId", "userId", "action", "actorUserId", "at"}
    assert history[0]["action"] == "ASSIGN"
    assert history[0]["userId"] == "USER_001"
    assert history[0]["actorUserId"] == actor
    assert history[0]["kiwoomAccountId"] == "KIWOOM_ACC_001"

    moved = await assign(harness, admin, "KIWOOM_ACC_001", second["userId"])
    assert moved.status_code == 200 and moved.json()["userId"] == "USER_002"
    history = (await harness.client.get(history_url, headers=admin)).json()
    assert [(h["action"], h["userId"]) for h in history] == [
        ("ASSIGN", "USER_001"),
        ("UNASSIGN", "USER_001"),
        ("ASSIGN", "USER_002"),
    ]
    assert {h["actorUserId"] for h in history} == {actor}

    first_me = await harness.client.get(
        "/api/v1/kiwoom-accounts/me", headers=await harness.login("first", USER_PASSWORD)
    )
    assert first_me.json()["hasAccount"] is False
    second_me = await harness.client.get(
        "/api/v1/kiwoom-accounts/me", headers=await harness.login("second", USER_PASSWORD)
    )
    assert second_me.json()["hasAccount"] is True
    assert second_me.json()["kiwoomAccountId"] == "KIWOOM_ACC_001"


async def test_assignment_errors(harness: Harness) -> None:
    admin = await harness.admin()
    user = await harness.create_user("holder", userId="USER_001")
    await new_account(harness, admin, kiwoomAccountId="KIWOOM_ACC_001")
    await new_account(harness, admin, kiwoomAccountId="KIWOOM_ACC_002")
    assert (await assign(harness, admin, "KIWOOM_ACC_001", user["userId"])).status_code == 200

    taken = await assign(harness, admin, "KIWOOM_ACC_002", user["userId"])
    body = error_of(taken, 409, "user_has_account")
    assert "KIWOOM_ACC_001" in body["error"]["message"]
    error_of(await assign(harness, admin, "KIWOOM_ACC_002", "NOPE"), 404, "user_not_found")
    error_of(await assign(harness, admin, "NOPE", user["userId"]), 404, "account_not_found")
    error_of(
        await harness.client.put(f"{ACCOUNTS}/KIWOOM_ACC_002/assignment", json={}, headers=admin),
        422,
        "invalid_input",
    )
    error_of(
        await harness.client.get(f"{ACCOUNTS}/NOPE/assignment-history", headers=admin),
        404,
        "account_not_found",
    )
    # The refused assignment left no trace.
    untouched = (await harness.client.get(f"{ACCOUNTS}/KIWOOM_ACC_002", headers=admin)).json()
    assert untouched["userId"] is None
    history = await harness.client.get(
        f"{ACCOUNTS}/KIWOOM_ACC_002/assignment-history", headers=admin
    )
    assert history.json() == []


async def test_unassign(harness: Harness) -> None:
    admin = await harness.admin()
    actor = await admin_id(harness, admin)
    user = await harness.create_user("leaver", userId="USER_001")
    await new_account(harness, admin, kiwoomAccountId="KIWOOM_ACC_001")
    assert (await assign(harness, admin, "KIWOOM_ACC_001", user["userId"])).status_code == 200
    token = await harness.login("leaver", USER_PASSWORD)
    before = await harness.client.get("/api/v1/kiwoom-accounts/me", headers=token)
    assert before.json()["hasAccount"] is True

    removed = await harness.client.delete(f"{ACCOUNTS}/KIWOOM_ACC_001/assignment", headers=admin)
    assert removed.status_code == 200, removed.text
    assert removed.json()["userId"] is None and removed.json()["assignedAt"] is None
    after = await harness.client.get("/api/v1/kiwoom-accounts/me", headers=token)
    assert after.status_code == 200
    assert after.json()["hasAccount"] is False
    assert after.json()["message"] == "No account assigned"

    history = (
        await harness.client.get(f"{ACCOUNTS}/KIWOOM_ACC_001/assignment-history", headers=admin)
    ).json()
    assert [(h["action"], h["userId"], h["actorUserId"]) for h in history] == [
        ("ASSIGN", "USER_001", actor),
        ("UNASSIGN", "USER_001", actor),
    ]

    twice = await harness.client.delete(f"{ACCOUNTS}/KIWOOM_ACC_001/assignment", headers=admin)
    error_of(twice, 404, "not_assigned")
    unknown = await harness.client.delete(f"{ACCOUNTS}/NOPE/assignment", headers=admin)
    error_of(unknown, 404, "account_not_found")
    # Free again: the user can be given another account.
    await new_account(harness, admin, kiwoomAccountId="KIWOOM_ACC_002")
    assert (await assign(harness, admin, "KIWOOM_ACC_002", user["userId"])).status_code == 200
