"""Kiwoom accounts: created by admins, assigned to one user each (audited), with
the user's app key pair sealed at rest and checked against Kiwoom before storing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import cast

from async_lru import alru_cache
from pydantic import SecretStr
from sqlalchemy import Table, bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from quantum.adapter.broker import Broker, BrokerAuthError, Credentials
from quantum.adapter.schema import Environment, TokenInfo
from quantum.platform.db.models import (
    AccountAssignment,
    AssignmentAudit,
    KiwoomAccount,
    User,
)
from quantum.platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from quantum.platform.security.crypto import Keyring, Sealed
from quantum.platform.services.usage import acting_for

ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
NO_ACCOUNT = "No account assigned"

_ACCOUNTS = cast(Table, KiwoomAccount.__table__)
_ASSIGNMENTS = cast(Table, AccountAssignment.__table__)
_TRADING = (
    select(_ACCOUNTS)
    .join(_ASSIGNMENTS, _ASSIGNMENTS.c.kiwoom_account_id == _ACCOUNTS.c.kiwoom_account_id)
    .where(_ASSIGNMENTS.c.user_id == bindparam("user_id"))
)
"""On the tables, not the mapped classes: runs whenever a user's cached account
expires (every few seconds for an active trader)."""


class AccountEnvironment(StrEnum):
    SIMULATOR = "SIMULATOR"
    MOCK = "MOCK"
    PRODUCTION = "PRODUCTION"

    @property
    def broker_environment(self) -> Environment:
        return Environment(self.value.lower())


@dataclass(frozen=True)
class AccountState:
    """A row of ``kiwoom_account_view``."""

    kiwoom_account_id: str
    user_id: str | None
    environment: AccountEnvironment
    display_name: str | None
    is_active: bool
    assigned_at: datetime | None
    has_credentials: bool
    credentials_updated_at: datetime | None
    token_expires_at: datetime | None
    created_at: datetime

    def has_valid_token(self, now: datetime) -> bool:
        return self.token_expires_at is not None and self.token_expires_at > now


@dataclass(frozen=True)
class AuditEntry:
    kiwoom_account_id: str
    user_id: str
    action: str
    actor_user_id: str | None
    at: datetime


@dataclass(frozen=True)
class Trading:
    """What a broker call on behalf of a user needs."""

    kiwoom_account_id: str
    credentials: Credentials


def _aware(value: object) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _context(account_id: str, field: str) -> str:
    return f"kiwoom_account:{account_id}:{field}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


VIEW_COLUMNS = (
    "kiwoom_account_id, user_id, environment, display_name, is_active, assigned_at, "
    "has_credentials, credentials_updated_at, token_expires_at, created_at"
)


class AccountService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        broker: Broker,
        *,
        clock: Callable[[], datetime] = _utc_now,
        trading_ttl: float = 10.0,
    ) -> None:
        """``trading_ttl``: how long an account and its key pair are used without a
        query. Changes drop the cache at once here, and on other instances through
        ``on_change`` (:mod:`quantum.platform.cluster.invalidations`)."""
        self._sessions = sessions
        self.keyring = keyring
        self._broker = broker
        self._clock = clock
        self._trading_cache = (
            alru_cache(maxsize=100_000, ttl=trading_ttl)(self._load_trading)
            if trading_ttl > 0
            else None
        )
        """Single-flight too: a burst of one user's requests costs one query and decryption."""
        self.on_change: Callable[[], None] | None = None
        """Told when accounts changed here (announces it to the other instances)."""

    # -- reading ------------------------------------------------------------------------

    async def _view(self, where: str, params: dict[str, object]) -> list[AccountState]:
        query = text(
            f"SELECT {VIEW_COLUMNS} FROM kiwoom_account_view WHERE {where} "
            "ORDER BY kiwoom_account_id"
        )
        async with self._sessions() as session:
            rows = (await session.execute(query, params)).all()
        return [
            AccountState(
                kiwoom_account_id=row[0],
                user_id=row[1],
                environment=AccountEnvironment(row[2]),
                display_name=row[3],
                is_active=bool(row[4]),
                assigned_at=_aware(row[5]),
                has_credentials=bool(row[6]),
                credentials_updated_at=_aware(row[7]),
                token_expires_at=_aware(row[8]),
                created_at=_aware(row[9]) or self._clock(),
            )
            for row in rows
        ]

    async def all(self) -> list[AccountState]:
        return await self._view("1 = 1", {})

    async def get(self, account_id: str) -> AccountState:
        found = await self._view("kiwoom_account_id = :id", {"id": account_id})
        if not found:
            raise NotFound(f"no Kiwoom account {account_id}", code="account_not_found")
        return found[0]

    async def of_user(self, user_id: str) -> AccountState | None:
        found = await self._view("user_id = :user", {"user": user_id})
        return found[0] if found else None

    async def require_of_user(self, user_id: str) -> AccountState:
        state = await self.of_user(user_id)
        if state is None:
            raise NotFound(NO_ACCOUNT, code="no_account_assigned")
        return state

    async def audit(self, account_id: str) -> list[AuditEntry]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AssignmentAudit)
                .where(AssignmentAudit.kiwoom_account_id == account_id)
                .order_by(AssignmentAudit.id)
            )
            return [
                AuditEntry(r.kiwoom_account_id, r.user_id, r.action, r.actor_user_id, r.at)
                for r in rows
            ]

    # -- admin --------------------------------------------------------------------------

    async def create(
        self,
        environment: AccountEnvironment,
        *,
        account_id: str | None = None,
        display_name: str | None = None,
        actor: str | None = None,
    ) -> AccountState:
        if account_id is not None and not ACCOUNT_ID.fullmatch(account_id):
            raise Unprocessable("kiwoomAccountId: 1-64 characters of letters, digits and _ . -")
        chosen = account_id is not None
        for attempt in range(20):
            if not chosen:
                async with self._sessions() as session:
                    count = await session.scalar(select(func.count()).select_from(KiwoomAccount))
                account_id = f"KIWOOM_ACC_{int(count or 0) + 1 + attempt:03d}"
            assert account_id is not None
            try:
                await self._insert(account_id, environment, display_name, actor)
                self._forget_trading()
                return await self.get(account_id)
            except Conflict:
                if chosen:
                    raise
        raise Conflict("could not allocate an account id; give one", code="account_exists")

    async def _insert(
        self,
        account_id: str,
        environment: AccountEnvironment,
        display_name: str | None,
        actor: str | None,
    ) -> None:
        try:
            async with self._sessions.begin() as session:
                session.add(
                    KiwoomAccount(
                        kiwoom_account_id=account_id,
                        environment=environment.value,
                        display_name=display_name,
                        is_active=True,
                        created_at=self._clock(),
                        created_by=actor,
                    )
                )
        except IntegrityError:
            raise Conflict(f"Kiwoom account {account_id} exists", code="account_exists") from None

    async def set_active(self, account_id: str, active: bool) -> AccountState:
        async with self._sessions.begin() as session:
            account = await session.get(KiwoomAccount, account_id, with_for_update=True)
            if account is None:
                raise NotFound(f"no Kiwoom account {account_id}", code="account_not_found")
            account.is_active = active
        self._forget_trading()
        return await self.get(account_id)

    async def assign(self, account_id: str, user_id: str, *, actor: str | None) -> AccountState:
        now = self._clock()
        try:
            async with self._sessions.begin() as session:
                account = await session.get(KiwoomAccount, account_id, with_for_update=True)
                if account is None:
                    raise NotFound(f"no Kiwoom account {account_id}", code="account_not_found")
                if await session.get(User, user_id) is None:
                    raise NotFound(f"no user {user_id}", code="user_not_found")
                other = await session.scalar(
                    select(AccountAssignment).where(AccountAssignment.user_id == user_id)
                )
                if other is not None and other.kiwoom_account_id != account_id:
                    raise Conflict(
                        f"user {user_id} already has account {other.kiwoom_account_id}",
                        code="user_has_account",
                    )
                current = await session.get(AccountAssignment, account_id)
                if current is not None and current.user_id == user_id:
                    self._forget_trading()
                    return await self.get(account_id)
                if current is not None:
                    session.add(self._audit(account_id, current.user_id, "UNASSIGN", actor, now))
                    await session.delete(current)
                    await session.flush()
                session.add(
                    AccountAssignment(
                        kiwoom_account_id=account_id,
                        user_id=user_id,
                        assigned_at=now,
                        assigned_by=actor,
                    )
                )
                session.add(self._audit(account_id, user_id, "ASSIGN", actor, now))
        except IntegrityError:
            raise Conflict(
                "the assignment changed concurrently; retry", code="assignment_conflict"
            ) from None
        self._forget_trading()
        return await self.get(account_id)

    async def unassign(self, account_id: str, *, actor: str | None) -> AccountState:
        async with self._sessions.begin() as session:
            current = await session.get(AccountAssignment, account_id, with_for_update=True)
            if current is None:
                if await session.get(KiwoomAccount, account_id) is None:
                    raise NotFound(f"no Kiwoom account {account_id}", code="account_not_found")
                raise NotFound(f"account {account_id} is not assigned", code="not_assigned")
            session.add(self._audit(account_id, current.user_id, "UNASSIGN", actor, self._clock()))
            await session.delete(current)
        self._forget_trading()
        return await self.get(account_id)

    @staticmethod
    def _audit(
        account_id: str, user_id: str, action: str, actor: str | None, at: datetime
    ) -> AssignmentAudit:
        return AssignmentAudit(
            kiwoom_account_id=account_id,
            user_id=user_id,
            action=action,
            actor_user_id=actor,
            at=at,
        )

    # -- the user's own account --------------------------------------------------------

    async def update_credentials(self, user_id: str, app_key: str, app_secret: str) -> AccountState:
        """Issue a token with the pair first: a pair Kiwoom refuses is never stored."""
        state = await self.require_of_user(user_id)
        credentials = Credentials(
            SecretStr(app_key), SecretStr(app_secret), state.environment.broker_environment
        )
        try:
            with acting_for(user_id, state.kiwoom_account_id):
                await self._broker.verify_credentials(credentials)
        except BrokerAuthError as exc:
            raise Unprocessable(
                "Kiwoom refused this app key and secret",
                code="invalid_kiwoom_credentials",
                details={"kiwoomCode": exc.kiwoom_code} if exc.kiwoom_code else None,
            ) from None
        account_id = state.kiwoom_account_id
        key = self.keyring.encrypt(app_key, context=_context(account_id, "app_key"))
        secret = self.keyring.encrypt(app_secret, context=_context(account_id, "app_secret"))
        async with self._sessions.begin() as session:
            account = await session.get(KiwoomAccount, account_id, with_for_update=True)
            if account is None:
                raise NotFound(NO_ACCOUNT, code="no_account_assigned")
            account.key_id = key.key_id
            account.app_key_sealed = key.blob
            account.app_secret_sealed = secret.blob
            account.key_fingerprint = credentials.fingerprint
            account.credentials_updated_at = self._clock()
        self._forget_trading()
        return await self.get(account_id)

    async def trading(self, user_id: str) -> Trading | None:
        """The user's account and decrypted key pair; None without stored credentials.
        Kept for ``trading_ttl`` seconds; a change drops it at once, on every instance."""
        load = self._trading_cache or self._load_trading
        return await load(user_id)

    def _forget_trading(self) -> None:
        if self.on_change is not None:
            self.on_change()  # drops this instance's entries too
        else:
            self.drop_cached()

    def drop_cached(self) -> None:
        """Forget this instance's cached accounts (another instance changed one)."""
        if self._trading_cache is not None:
            self._trading_cache.cache_clear()

    async def _load_trading(self, user_id: str) -> Trading | None:
        async with self._sessions() as session:
            account = (await session.execute(_TRADING, {"user_id": user_id})).first()
        if account is None:
            raise NotFound(NO_ACCOUNT, code="no_account_assigned")
        if not account.is_active:
            raise Forbidden(
                f"Kiwoom account {account.kiwoom_account_id} is disabled", code="account_disabled"
            )
        if account.app_key_sealed is None or account.key_id is None:
            return None
        assert account.app_secret_sealed is not None
        account_id = account.kiwoom_account_id
        app_key = self.keyring.decrypt(
            Sealed(account.key_id, account.app_key_sealed), context=_context(account_id, "app_key")
        )
        app_secret = self.keyring.decrypt(
            Sealed(account.key_id, account.app_secret_sealed),
            context=_context(account_id, "app_secret"),
        )
        environment = AccountEnvironment(account.environment).broker_environment
        return Trading(
            account_id, Credentials(SecretStr(app_key), SecretStr(app_secret), environment)
        )

    async def token(self, user_id: str) -> TokenInfo | None:
        """The platform's token for the user's app key (issued once, then shared)."""
        trading = await self.trading(user_id)
        return None if trading is None else await self.token_of(user_id, trading)

    async def token_of(self, user_id: str, trading: Trading) -> TokenInfo:
        """:meth:`token`, for a caller that has the user's account already."""
        with acting_for(user_id, trading.kiwoom_account_id):
            return await self._broker.token(trading.credentials)

    async def rotate_keys(self) -> int:
        """Re-encrypt every stored key pair under the keyring's primary key."""
        changed = 0
        async with self._sessions.begin() as session:
            rows = await session.scalars(select(KiwoomAccount).with_for_update())
            for account in rows:
                if account.key_id is None or account.key_id == self.keyring.primary_id:
                    continue
                assert account.app_key_sealed is not None and account.app_secret_sealed is not None
                account_id = account.kiwoom_account_id
                key = self.keyring.reseal(
                    Sealed(account.key_id, account.app_key_sealed),
                    context=_context(account_id, "app_key"),
                )
                secret = self.keyring.reseal(
                    Sealed(account.key_id, account.app_secret_sealed),
                    context=_context(account_id, "app_secret"),
                )
                account.key_id = key.key_id
                account.app_key_sealed, account.app_secret_sealed = key.blob, secret.blob
                changed += 1
        return changed
