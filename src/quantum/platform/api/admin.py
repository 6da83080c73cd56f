"""Admin: users, Kiwoom accounts and their assignment (audited), the usage log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query

from quantum.platform.api.accounts import token_expiry
from quantum.platform.api.deps import Admin, PlatformDep
from quantum.platform.api.responses import (
    ADMIN_ONLY,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    WITH_BODY,
)
from quantum.platform.api.routing import DeclaredQueryRoute
from quantum.platform.api.schemas import (
    AccountOut,
    AssignmentRequest,
    AuditOut,
    CreateAccountRequest,
    CreateUserRequest,
    Instant,
    Page,
    Text,
    UpdateAccountRequest,
    UpdateUserRequest,
    UsageLogEntry,
    UsageRow,
    UsageSummary,
    UserOut,
)
from quantum.platform.core import Platform
from quantum.platform.errors import Forbidden, Unprocessable
from quantum.platform.services.accounts import AccountState
from quantum.platform.services.usage_report import UsageFilter

router = APIRouter(
    route_class=DeclaredQueryRoute,
    prefix="/api/v1/admin",
    tags=["admin"],
    responses=SIGNED_IN | ADMIN_ONLY,
)

PageNo = Annotated[int, Query(ge=0, le=1_000_000, description="0-based page")]
PageSize = Annotated[int, Query(ge=1, le=500)]
MAX_USAGE_DAYS = 92
AccountId = Annotated[Text, Path(alias="kiwoomAccountId", max_length=64)]


def _account_out(platform: Platform, state: AccountState) -> AccountOut:
    return AccountOut.of(state, token_expires_at=token_expiry(state, platform))


# -- users -------------------------------------------------------------------------------


@router.post("/users", response_model=UserOut, status_code=201, responses=WITH_BODY | CONFLICT)
async def create_user(body: CreateUserRequest, admin: Admin, platform: PlatformDep) -> UserOut:
    user = await platform.users.create(
        body.username, body.password.get_secret_value(), body.role, user_id=body.user_id
    )
    return UserOut.of(user)


@router.get("/users", response_model=Page[UserOut])
async def list_users(
    admin: Admin, platform: PlatformDep, page: PageNo = 0, size: PageSize = 50
) -> Page[UserOut]:
    users, total = await platform.users.page(offset=page * size, limit=size)
    return Page(items=[UserOut.of(u) for u in users], page=page, size=size, total=total)


@router.patch("/users/{userId}", response_model=UserOut, responses=WITH_BODY | NOT_FOUND)
async def update_user(
    user_id: Annotated[Text, Path(alias="userId", max_length=64)],
    body: UpdateUserRequest,
    admin: Admin,
    platform: PlatformDep,
) -> UserOut:
    if user_id == admin.user_id and (body.is_active is False or body.role not in (None, "ADMIN")):
        raise Forbidden("admins cannot disable or demote themselves", code="self_demotion")
    if body.password is not None:
        await platform.users.set_password(user_id, body.password.get_secret_value())
    user = await platform.users.update(user_id, is_active=body.is_active, role=body.role)
    platform.invalidations.user_changed(user_id)
    return UserOut.of(user)


# -- Kiwoom accounts -----------------------------------------------------------------------


@router.post(
    "/kiwoom-accounts",
    response_model=AccountOut,
    status_code=201,
    responses=WITH_BODY | CONFLICT,
)
async def create_account(
    body: CreateAccountRequest, admin: Admin, platform: PlatformDep
) -> AccountOut:
    state = await platform.accounts.create(
        body.environment,
        account_id=body.kiwoom_account_id,
        display_name=body.display_name,
        actor=admin.user_id,
    )
    return _account_out(platform, state)


@router.get("/kiwoom-accounts", response_model=list[AccountOut])
async def list_accounts(admin: Admin, platform: PlatformDep) -> list[AccountOut]:
    return [_account_out(platform, state) for state in await platform.accounts.all()]


@router.get("/kiwoom-accounts/{kiwoomAccountId}", response_model=AccountOut, responses=NOT_FOUND)
async def get_account(account_id: AccountId, admin: Admin, platform: PlatformDep) -> AccountOut:
    return _account_out(platform, await platform.accounts.get(account_id))


@router.patch(
    "/kiwoom-accounts/{kiwoomAccountId}",
    response_model=AccountOut,
    responses=WITH_BODY | NOT_FOUND | CONFLICT,
)
async def update_account(
    account_id: AccountId, body: UpdateAccountRequest, admin: Admin, platform: PlatformDep
) -> AccountOut:
    return _account_out(platform, await platform.accounts.set_active(account_id, body.is_active))


@router.put(
    "/kiwoom-accounts/{kiwoomAccountId}/assignment",
    response_model=AccountOut,
    responses=WITH_BODY | NOT_FOUND | CONFLICT,
)
async def assign_account(
    account_id: AccountId, body: AssignmentRequest, admin: Admin, platform: PlatformDep
) -> AccountOut:
    state = await platform.accounts.assign(account_id, body.user_id, actor=admin.user_id)
    return _account_out(platform, state)


@router.delete(
    "/kiwoom-accounts/{kiwoomAccountId}/assignment",
    response_model=AccountOut,
    responses=NOT_FOUND | CONFLICT,
)
async def unassign_account(
    account_id: AccountId, admin: Admin, platform: PlatformDep
) -> AccountOut:
    return _account_out(platform, await platform.accounts.unassign(account_id, actor=admin.user_id))


@router.get(
    "/kiwoom-accounts/{kiwoomAccountId}/assignment-history",
    response_model=list[AuditOut],
    responses=NOT_FOUND,
)
async def assignment_history(
    account_id: AccountId, admin: Admin, platform: PlatformDep
) -> list[AuditOut]:
    await platform.accounts.get(account_id)
    return [AuditOut.of(entry) for entry in await platform.accounts.audit(account_id)]


# -- usage log ---------------------------------------------------------------------------


def _window(since: datetime | None, until: datetime | None, days: int) -> tuple[datetime, datetime]:
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=days)
    if start >= end:
        raise Unprocessable("from must be before to")
    return start, end


@router.get("/kiwoom/logs", response_model=Page[UsageLogEntry])
async def usage_log(
    admin: Admin,
    platform: PlatformDep,
    user_id: Annotated[Text | None, Query(alias="userId", max_length=64)] = None,
    api_id: Annotated[Text | None, Query(alias="apiId", max_length=16)] = None,
    success: bool | None = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    page: PageNo = 0,
    size: PageSize = 50,
) -> Page[UsageLogEntry]:
    """The guide's per-user call log, newest first."""
    start, end = _window(since, until, days=3650)
    where = UsageFilter(start, end, user_id, api_id, success)
    rows, total = await platform.reports.log(where, offset=page * size, limit=size)
    items = [UsageLogEntry.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, page=page, size=size, total=total)


@router.get("/kiwoom/usage", response_model=UsageSummary)
async def usage_summary(
    admin: Admin,
    platform: PlatformDep,
    user_id: Annotated[Text | None, Query(alias="userId", max_length=64)] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
) -> UsageSummary:
    """Per UTC day and api-id: calls, success rate, average and p95 latency, errors."""
    start, end = _window(since, until, days=7)
    if end - start > timedelta(days=MAX_USAGE_DAYS):
        raise Unprocessable(f"the window may span at most {MAX_USAGE_DAYS} days")
    groups = await platform.reports.summary(UsageFilter(start, end, user_id))
    rows = [
        UsageRow(
            date=g.day,
            api_id=g.api_id,
            calls=g.calls,
            success_count=g.successes,
            success_rate=round(g.success_rate, 4),
            avg_response_time_ms=round(g.average_ms, 2),
            p95_response_time_ms=round(g.p95_ms, 2),
            errors=g.calls - g.successes,
            error_codes=dict(g.error_codes),
        )
        for g in groups
    ]
    return UsageSummary(since=start, until=end, rows=rows)
