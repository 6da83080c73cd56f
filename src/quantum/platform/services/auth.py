"""Sign-in: password check (rate limited), short-lived JWT access tokens, and
rotating refresh tokens whose reuse revokes the whole login (family)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from async_lru import alru_cache
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from quantum.platform.db.models import RefreshToken, User
from quantum.platform.errors import TooManyRequests, Unauthorized
from quantum.platform.security.jwt_tokens import (
    InvalidToken,
    JwtCodec,
    new_refresh_token,
    refresh_token_hash,
)
from quantum.platform.security.login_limits import LoginLimiter
from quantum.platform.security.passwords import Passwords
from quantum.platform.services.users import Role

log = logging.getLogger(__name__)

_USERS = cast(Table, User.__table__)
_PRINCIPAL = select(_USERS.c.user_id, _USERS.c.username, _USERS.c.role, _USERS.c.is_active).where(
    _USERS.c.user_id == bindparam("user_id")
)
"""On the table, not the mapped class: every request of a user whose cached
principal expired runs it, and the ORM's identity map costs more than the query."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class Principal:
    """The caller of a request, from a valid access token of an active user."""

    user_id: str
    username: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuthService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        passwords: Passwords,
        codec: JwtCodec,
        limiter: LoginLimiter,
        *,
        refresh_ttl: timedelta = timedelta(days=14),
        clock: Callable[[], datetime] = _utc_now,
        principal_ttl: float = 10.0,
    ) -> None:
        """``principal_ttl``: how long a user's role and status are trusted without a
        query. A change drops the entry at once, on every instance
        (:mod:`quantum.platform.cluster.invalidations`)."""
        # A burst of requests from one user after the entry expired costs one query.
        self._principals = (
            alru_cache(maxsize=100_000, ttl=principal_ttl)(self._load_principal)
            if principal_ttl > 0
            else None
        )
        self._sessions = sessions
        self._passwords = passwords
        self._codec = codec
        self._limiter = limiter
        self._refresh_ttl = refresh_ttl
        self._clock = clock

    async def login(self, username: str, password: str, client: str) -> TokenPair:
        wait = await self._limiter.check(username, client)
        if wait is not None:
            log.warning("login attempts over the limit from %s", client)
            raise TooManyRequests("too many sign-in attempts; try again later", retry_after=wait)
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            self._passwords.verify_dummy(password)
            raise Unauthorized("wrong username or password", code="invalid_credentials")
        if not self._passwords.verify(user.password_hash, password):
            raise Unauthorized("wrong username or password", code="invalid_credentials")
        if not user.is_active:
            raise Unauthorized("this user is disabled", code="user_disabled")
        await self._limiter.reset(username)
        rehash = self._passwords.needs_rehash(user.password_hash)
        async with self._sessions.begin() as session:
            values: dict[str, object] = {"last_login_at": self._clock()}
            if rehash:
                values["password_hash"] = self._passwords.hash(password)
            await session.execute(update(User).where(User.user_id == user.user_id).values(values))
            pair = self._issue(session, user, family_id=secrets.token_hex(16))
        log.info("user %s signed in", user.user_id)
        return pair

    def _issue(self, session: AsyncSession, user: User, *, family_id: str) -> TokenPair:
        access, expires_in = self._codec.issue_access(user.user_id, user.role)
        refresh, digest = new_refresh_token()
        session.add(
            RefreshToken(
                token_hash=digest,
                user_id=user.user_id,
                family_id=family_id,
                issued_at=self._clock(),
                expires_at=self._clock() + self._refresh_ttl,
            )
        )
        return TokenPair(access, refresh, expires_in)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a live refresh token; the old one is spent. Presenting a
        spent one again means it was stolen: the whole family is revoked."""
        now = self._clock()
        reused_family: str | None = None
        async with self._sessions.begin() as session:
            row = await session.get(
                RefreshToken, refresh_token_hash(refresh_token), with_for_update=True
            )
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise Unauthorized("refresh token is not valid", code="invalid_refresh_token")
            if row.used_at is not None:
                reused_family = row.family_id
            else:
                user = await session.get(User, row.user_id)
                if user is None or not user.is_active:
                    raise Unauthorized("this user is disabled", code="user_disabled")
                row.used_at = now
                return self._issue(session, user, family_id=row.family_id)
        await self._revoke_family(reused_family)
        log.warning("a spent refresh token was presented again; its sign-in was revoked")
        raise Unauthorized("refresh token was already used", code="refresh_token_reused")

    async def logout(self, refresh_token: str) -> None:
        async with self._sessions() as session:
            row = await session.get(RefreshToken, refresh_token_hash(refresh_token))
        if row is not None:
            await self._revoke_family(row.family_id)

    async def _revoke_family(self, family_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )

    async def authenticate(self, access_token: str) -> Principal:
        try:
            claims = self._codec.decode_access(access_token)
        except InvalidToken as exc:
            raise Unauthorized(
                f"access token rejected ({exc.reason})", code="invalid_token"
            ) from None
        load = self._principals or self._load_principal
        return await load(claims.user_id)

    async def _load_principal(self, user_id: str) -> Principal:
        async with self._sessions() as session:
            user = (await session.execute(_PRINCIPAL, {"user_id": user_id})).first()
        if user is None or not user.is_active:
            # The token itself is no longer good: same code as any rejected token.
            raise Unauthorized(
                "access token rejected (user disabled or gone)", code="invalid_token"
            )
        return Principal(user.user_id, user.username, Role(user.role))

    def forget(self, user_id: str) -> None:
        """Drop this instance's cached state of a user (use
        ``Platform.invalidations.user_changed`` to tell every instance)."""
        if self._principals is not None:
            self._principals.cache_invalidate(user_id)
