"""Users: creation (with admin-chosen ids such as ``USER_001``), roles, disabling."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from quantum.platform.db.models import User
from quantum.platform.errors import Conflict, NotFound, Unprocessable
from quantum.platform.security.passwords import Passwords, check_password_policy

USER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{3,64}")


class Role(StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"


@dataclass(frozen=True)
class UserInfo:
    user_id: str
    username: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(
            user.user_id,
            user.username,
            Role(user.role),
            user.is_active,
            user.created_at,
            user.last_login_at,
        )


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise Unprocessable("username: 3-64 characters of letters, digits and _ . @ -")
    return username


def check_user_id(user_id: str) -> str:
    if not USER_ID.fullmatch(user_id):
        raise Unprocessable("userId: 1-64 characters of letters, digits and _ . -")
    return user_id


class UserService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], passwords: Passwords) -> None:
        self._sessions = sessions
        self.passwords = passwords

    async def create(
        self,
        username: str,
        password: str,
        role: Role = Role.USER,
        *,
        user_id: str | None = None,
    ) -> UserInfo:
        check_username(username)
        if user_id is not None:
            check_user_id(user_id)
        try:
            check_password_policy(password)
        except ValueError as exc:
            raise Unprocessable(f"password: {exc}") from None
        user = User(
            user_id=user_id or f"USR_{secrets.token_hex(6).upper()}",
            username=username,
            password_hash=self.passwords.hash(password),
            role=role.value,
            is_active=True,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(user)
        except IntegrityError:
            raise Conflict(
                "a user with this userId or username exists", code="user_exists"
            ) from None
        return UserInfo.of(user)

    async def get(self, user_id: str) -> UserInfo:
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", code="user_not_found")
        return UserInfo.of(user)

    async def find(self, user_id: str) -> UserInfo | None:
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        return UserInfo.of(user) if user is not None else None

    async def page(self, *, offset: int = 0, limit: int = 100) -> tuple[list[UserInfo], int]:
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(User))
            rows = await session.scalars(
                select(User).order_by(User.created_at, User.user_id).offset(offset).limit(limit)
            )
            return [UserInfo.of(user) for user in rows], int(total or 0)

    async def update(
        self, user_id: str, *, is_active: bool | None = None, role: Role | None = None
    ) -> UserInfo:
        async with self._sessions.begin() as session:
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            if is_active is not None:
                user.is_active = is_active
            if role is not None:
                user.role = role.value
        return UserInfo.of(user)

    async def set_password(self, user_id: str, password: str) -> None:
        try:
            check_password_policy(password)
        except ValueError as exc:
            raise Unprocessable(f"password: {exc}") from None
        async with self._sessions.begin() as session:
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            user.password_hash = self.passwords.hash(password)

    async def ensure_admin(self, username: str, password: str) -> bool:
        """Create the first admin (``QTP_ADMIN_*``) unless that username exists."""
        async with self._sessions() as session:
            exists = await session.scalar(select(User.user_id).where(User.username == username))
        if exists is not None:
            return False
        try:
            await self.create(username, password, Role.ADMIN)
        except Conflict:
            return False  # another instance created it first
        return True
