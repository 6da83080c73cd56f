"""The usage log: every Kiwoom call the platform makes is written with who made it;
the admin's paged log and per-day summary read it back (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.integration.platform.conftest import USER_PASSWORD, Harness, error_of
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator

from quantum.platform.db.models import ApiUsage

LOGS = "/api/v1/admin/kiwoom/logs"
USAGE = "/api/v1/admin/kiwoom/usage"
LOG_FIELDS = {
    "id",
    "usageTimestamp",
    "userId",
    "kiwoomAccountId",
    "apiId",
    "endpoint",
    "responseTimeMs",
    "success",
    "errorCode",
    "httpStatus",
    "attempts",
}
ROW_FIELDS = {
    "date",
    "apiId",
    "calls",
    "successCount",
    "successRate",
    "avgResponseTimeMs",
    "p95ResponseTimeMs",
    "errors",
    "errorCodes",
}
DAY = datetime(2026, 3, 10, tzinfo=UTC)


@pytest.fixture
def start_simulator(start_simulator: StartSimulator) -> StartSimulator:
    """Tokens valid by the platform's real clock (see test_accounts_api)."""

    def start(**overrides: Any) -> RunningSimulator:
        overrides.setdefault("start", datetime.now(UTC).isoformat())
        return start_simulator(**overrides)

    return start


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def user_with_account(
    harness: Harness, name: str
) -> tuple[dict[str, Any], str, dict[str, str]]:
    user = await harness.create_user(name)
    admin = await harness.admin()
    account = await harness.client.post(
        "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
    )
    account_id = str(account.json()["kiwoomAccountId"])
    assigned = await harness.client.put(
        f"/api/v1/admin/kiwoom-accounts/{account_id}/assignment",
        json={"userId": user["userId"]},
        headers=admin,
    )
    assert assigned.status_code == 200, assigned.text
    return user, account_id, await harness.login(name, USER_PASSWORD)


def usage_row(
    moment: datetime,
    latency: float,
    *,
    user_id: str = "USER_X",
    api_id: str = "ka10001",
    success: bool = True,
    error_code: str | None = None,
) -> ApiUsage:
    return ApiUsage(
        usage_timestamp=moment,
        user_id=user_id,
        kiwoom_account_id="KIWOOM_ACC_X",
        key_fingerprint="0123456789ab",
        api_id=api_id,
        endpoint="/api/dostk/stkinfo",
        response_time_ms=latency,
        success=success,
        error_code=error_code,
        http_status=200,
        attempts=1,
    )


async def insert(harness: Harness, rows: list[ApiUsage]) -> None:
    async with harness.platform.sessions.begin() as session:
        session.add_all(rows)


async def seed_known_rows(harness: Harness) -> None:
    """20 ka10001 calls on DAY with latencies 1..20 ms (#7 and #13 failed), 3 ka10080
    calls the next day, and 2 calls by another user."""
    rows = [
        usage_row(
            DAY + timedelta(minutes=n),
            float(n),
            success=n not in (7, 13),
            error_code={7: "1700", 13: "RC4058"}.get(n),
        )
        for n in range(1, 21)
    ]
    rows += [
        usage_row(DAY + timedelta(days=1, hours=n), 100.0 * n, api_id="ka10080") for n in (1, 2, 3)
    ]
    rows += [usage_row(DAY + timedelta(hours=5), 5.0, user_id="USER_Y") for _ in range(2)]
    await insert(harness, rows)


async def test_real_calls_are_logged_per_user(harness: Harness) -> None:
    admin = await harness.admin()
    good_user, good_account, good = await user_with_account(harness, "good")
    stored = await harness.client.put(
        "/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": "good-key", "clientSecret": "good-secret"},
        headers=good,
    )
    assert stored.status_code == 200, stored.text
    for _ in range(2):  # answered from the central token: no further Kiwoom call
        assert (await harness.client.get("/api/v1/kiwoom-accounts/me/token", headers=good)).json()[
            "hasToken"
        ]
    harness.sim.token("taken-key", "real-secret")
    bad_user, bad_account, bad = await user_with_account(harness, "bad")
    refused = await harness.client.put(
        "/api/v1/kiwoom-accounts/me/credentials",
        json={"clientId": "taken-key", "clientSecret": "guess"},
        headers=bad,
    )
    assert refused.status_code == 422, refused.text
    await harness.platform.usage.flush()

    logs = await harness.client.get(LOGS, params={"userId": good_user["userId"]}, headers=admin)
    assert logs.status_code == 200, logs.text
    page = logs.json()
    assert set(page) == {"items", "page", "size", "total"}
    assert (page["page"], page["size"], page["total"]) == (0, 50, 1)
    (entry,) = page["items"]
    assert set(entry) == LOG_FIELDS
    assert entry["userId"] == good_user["userId"]
    assert entry["kiwoomAccountId"] == good_account
    assert entry["apiId"] == "au10001"
    assert entry["endpoint"] == "/oauth2/token"
    assert entry["success"] is True
    assert entry["errorCode"] is None
    assert entry["httpStatus"] == 200
    assert entry["responseTimeMs"] >= 0
    stamp = datetime.fromisoformat(entry["usageTimestamp"])
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)

    failed = (
        await harness.client.get(LOGS, params={"userId": bad_user["userId"]}, headers=admin)
    ).json()
    assert failed["total"] == 1
    (error,) = failed["items"]
    assert error["kiwoomAccountId"] == bad_account
    assert (error["apiId"], error["success"], error["errorCode"]) == ("au10001", False, "8002")

    summary = await harness.client.get(USAGE, headers=admin)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert set(body) == {"since", "until", "rows"}
    (row,) = body["rows"]
    assert set(row) == ROW_FIELDS
    assert row["date"] == stamp.date().isoformat()
    assert row["apiId"] == "au10001"
    assert (row["calls"], row["successCount"], row["errors"]) == (2, 1, 1)
    assert row["successRate"] == 0.5
    assert row["errorCodes"] == {"8002": 1}
    only_good = (
        await harness.client.get(USAGE, params={"userId": good_user["userId"]}, headers=admin)
    ).json()
    assert [(r["calls"], r["errors"], r["errorCodes"]) for r in only_good["rows"]] == [(1, 0, {})]


async def test_log_filters_and_paging(harness: Harness) -> None:
    admin = await harness.admin()
    await seed_known_rows(harness)

    async def log(**params: Any) -> dict[str, Any]:
        response = await harness.client.get(LOGS, params=params, headers=admin)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page

    assert (await log())["total"] == 25
    assert (await log(userId="USER_X"))["total"] == 23
    assert (await log(userId="NOBODY"))["items"] == []
    by_api = await log(apiId="ka10080")
    assert by_api["total"] == 3
    assert {e["apiId"] for e in by_api["items"]} == {"ka10080"}
    failures = await log(success="false")
    assert failures["total"] == 2
    assert [e["errorCode"] for e in failures["items"]] == ["RC4058", "1700"]  # newest first
    assert (await log(success="true"))["total"] == 23

    day_one = await log(userId="USER_X", **{"from": iso(DAY), "to": iso(DAY + timedelta(days=1))})
    assert day_one["total"] == 20
    # from is inclusive, to exclusive; an offset other than Z is understood.
    window = await log(
        userId="USER_X",
        **{"from": "2026-03-10T09:05:00+09:00", "to": iso(DAY + timedelta(minutes=10))},
    )
    assert window["total"] == 5
    assert [e["responseTimeMs"] for e in window["items"]] == [9.0, 8.0, 7.0, 6.0, 5.0]

    seen: list[int] = []
    for number in range(3):
        page = await log(userId="USER_X", apiId="ka10001", page=number, size=8)
        assert (page["page"], page["size"], page["total"]) == (number, 8, 20)
        seen += [e["id"] for e in page["items"]]
    assert len(seen) == 20 and len(set(seen)) == 20
    latencies = [
        e["responseTimeMs"]
        for e in (await log(userId="USER_X", apiId="ka10001", size=500))["items"]
    ]
    assert latencies == [float(n) for n in range(20, 0, -1)]

    naive = await harness.client.get(LOGS, params={"from": "2026-03-10T00:00:00"}, headers=admin)
    assert "time zone" in error_of(naive, 422, "invalid_input")["error"]["message"]
    backwards = await harness.client.get(
        LOGS, params={"from": iso(DAY), "to": iso(DAY - timedelta(days=1))}, headers=admin
    )
    error_of(backwards, 422, "invalid_input")
    error_of(
        await harness.client.get(LOGS, params={"from": "yesterday"}, headers=admin),
        422,
        "invalid_input",
    )
    error_of(
        await harness.client.get(LOGS, params={"size": 501}, headers=admin), 422, "invalid_input"
    )


async def test_summary_by_day_and_api_id(harness: Harness) -> None:
    admin = await harness.admin()
    await seed_known_rows(harness)
    window = {"from": iso(DAY), "to": iso(DAY + timedelta(days=3))}
    response = await harness.client.get(USAGE, params={**window, "userId": "USER_X"}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert datetime.fromisoformat(body["since"]) == DAY
    assert datetime.fromisoformat(body["until"]) == DAY + timedelta(days=3)
    assert body["rows"] == [
        {
            "date": "2026-03-11",
            "apiId": "ka10080",
            "calls": 3,
            "successCount": 3,
            "successRate": 1.0,
            "avgResponseTimeMs": 200.0,
            "p95ResponseTimeMs": 300.0,
            "errors": 0,
            "errorCodes": {},
        },
        {
            "date": "2026-03-10",
            "apiId": "ka10001",
            "calls": 20,
            "successCount": 18,
            "successRate": 0.9,
            "avgResponseTimeMs": 10.5,
            "p95ResponseTimeMs": 19.0,
            "errors": 2,
            "errorCodes": {"1700": 1, "RC4058": 1},
        },
    ]
    everyone = (await harness.client.get(USAGE, params=window, headers=admin)).json()
    first_day = [r for r in everyone["rows"] if r["date"] == "2026-03-10"]
    assert [(r["apiId"], r["calls"], r["successCount"]) for r in first_day] == [("ka10001", 22, 20)]
    # The default window is the last 7 days: the seeded rows are older.
    assert (await harness.client.get(USAGE, headers=admin)).json()["rows"] == []

    too_long = {"from": iso(DAY), "to": iso(DAY + timedelta(days=93))}
    error_of(await harness.client.get(USAGE, params=too_long, headers=admin), 422, "invalid_input")
    naive = {"to": "2026-03-12T00:00:00"}
    error_of(await harness.client.get(USAGE, params=naive, headers=admin), 422, "invalid_input")
