"""Request and response bodies of the platform API (the guide's camelCase)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    field_validator,
)
from pydantic.alias_generators import to_camel

from quantum.platform.services.accounts import AccountEnvironment, AccountState, AuditEntry
from quantum.platform.services.users import Role, UserInfo

T = TypeVar("T")


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _storable(value: str) -> str:
    """PostgreSQL's text holds no NUL character (SQLite's does): refused here, on
    both databases alike, instead of failing in the database (a 500)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_storable)]
"""A string parameter that reaches the database."""


class Input(Camel):
    """A request body: unknown fields refused, and no string field (secrets too)
    with a NUL character."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable_strings(cls, value: Any) -> Any:
        if isinstance(value, str):
            _storable(value)
        elif isinstance(value, SecretStr):
            _storable(value.get_secret_value())
        return value


def _rfc3339(value: Any) -> Any:
    """A date-time with its offset, as the schema's ``format: date-time`` says:
    pydantic alone would read ``0.5`` as Unix seconds and ``2026-11-25`` as a
    naive midnight, which compares with no stored time."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            try:
                return moment.astimezone(UTC)
            except OverflowError:
                raise ValueError("out of range") from None
        raise ValueError(
            "give a date-time with a time zone offset, e.g. 2026-11-25T00:00:00Z "
            "(in a URL, + as %2B)"
        )
    return value


Instant = Annotated[datetime, BeforeValidator(_rfc3339)]
"""A query's point in time (RFC 3339: date, time and offset)."""


# -- auth --------------------------------------------------------------------------------


class LoginRequest(Input):
    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=256)


class RefreshRequest(Input):
    refresh_token: SecretStr = Field(min_length=1, max_length=512)


class TokenResponse(Camel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int


class UserOut(Camel):
    user_id: str
    username: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: UserInfo) -> UserOut:
        return cls(
            user_id=user.user_id,
            username=user.username,
            role=user.role,
            is_active=user.is_active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class Page(Camel, Generic[T]):
    items: list[T]
    page: int
    size: int
    total: int


# -- admin -------------------------------------------------------------------------------


class CreateUserRequest(Input):
    username: str = Field(min_length=3, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=256)
    role: Role = Role.USER
    user_id: str | None = Field(default=None, min_length=1, max_length=64)


class UpdateUserRequest(Input):
    is_active: StrictBool | None = None
    role: Role | None = None
    password: SecretStr | None = Field(default=None, min_length=1, max_length=256)


class CreateAccountRequest(Input):
    kiwoom_account_id: str | None = Field(default=None, min_length=1, max_length=64)
    environment: AccountEnvironment
    display_name: str | None = Field(default=None, max_length=128)


class UpdateAccountRequest(Input):
    is_active: StrictBool


class AssignmentRequest(Input):
    user_id: str = Field(min_length=1, max_length=64)


class AccountOut(Camel):
    kiwoom_account_id: str
    environment: AccountEnvironment
    display_name: str | None
    is_active: bool
    user_id: str | None
    assigned_at: datetime | None
    has_credentials: bool
    credentials_updated_at: datetime | None
    token_expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, state: AccountState, *, token_expires_at: datetime | None) -> AccountOut:
        """``token_expires_at``: the state's, in wall-clock time."""
        return cls(
            kiwoom_account_id=state.kiwoom_account_id,
            environment=state.environment,
            display_name=state.display_name,
            is_active=state.is_active,
            user_id=state.user_id,
            assigned_at=state.assigned_at,
            has_credentials=state.has_credentials,
            credentials_updated_at=state.credentials_updated_at,
            token_expires_at=token_expires_at,
            created_at=state.created_at,
        )


class AuditOut(Camel):
    kiwoom_account_id: str
    user_id: str
    action: str
    actor_user_id: str | None
    at: datetime

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(
            kiwoom_account_id=entry.kiwoom_account_id,
            user_id=entry.user_id,
            action=entry.action,
            actor_user_id=entry.actor_user_id,
            at=entry.at,
        )


class UsageLogEntry(Camel):
    id: int
    usage_timestamp: datetime
    user_id: str | None
    kiwoom_account_id: str | None
    api_id: str
    endpoint: str
    response_time_ms: float
    success: bool
    error_code: str | None
    http_status: int | None
    attempts: int


class UsageRow(Camel):
    date: date
    api_id: str
    calls: int
    success_count: int
    success_rate: float
    avg_response_time_ms: float
    p95_response_time_ms: float
    errors: int
    error_codes: dict[str, int]


class UsageSummary(Camel):
    since: datetime
    until: datetime
    rows: list[UsageRow]


# -- the guide's account endpoints ---------------------------------------------------------


class MyAccount(Camel):
    """``GET /api/v1/kiwoom-accounts/me`` (the guide's fields, plus what the
    dashboard needs to tell "credentials missing" apart)."""

    has_account: bool
    kiwoom_account_id: str | None = None
    assigned_at: datetime | None = None
    is_active: bool = False
    has_valid_token: bool = False
    token_expires_at: datetime | None = None
    has_credentials: bool = False
    environment: AccountEnvironment | None = None
    message: str | None = None


class CredentialsRequest(Input):
    client_id: SecretStr = Field(min_length=1, max_length=256)
    client_secret: SecretStr = Field(min_length=1, max_length=256)


class MyToken(Camel):
    has_token: bool
    access_token: str | None = None
    token_type: str | None = None
    expires_at: datetime | None = None
    message: str
