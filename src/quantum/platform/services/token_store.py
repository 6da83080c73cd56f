"""The central Kiwoom token store: the kiwoom client's token cache, sealed in the
database so that every instance and every restart reuses one token per app key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from quantum.kiwoom.tokens import Token
from quantum.platform.db.models import KiwoomToken
from quantum.platform.security.crypto import EncryptionError, Keyring, Sealed

log = logging.getLogger(__name__)


def _context(fingerprint: str) -> str:
    return f"kiwoom_token:{fingerprint}"


SharedLock = Callable[[str], AbstractAsyncContextManager[object]]
"""A lock by name held across instances (Redis), for issuing a key's token once."""


class DatabaseTokenCache:
    """Implements :class:`quantum.kiwoom.tokens.TokenCache`; memory in front of the
    table so a request costs no query while the token is fresh. With ``shared_lock``
    (several instances), issuing is single-flight across them too."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        *,
        shared_lock: SharedLock | None = None,
    ) -> None:
        self._sessions = sessions
        self._keyring = keyring
        self._shared_lock = shared_lock
        self._memory: dict[str, Token] = {}

    @asynccontextmanager
    async def issuing(self, fingerprint: str) -> AsyncIterator[None]:
        if self._shared_lock is None:
            yield
            return
        async with self._shared_lock(f"kiwoom-token:{fingerprint}"):
            # Another instance may have stored a newer token while we waited: the
            # check under the lock must read the table, not our memory.
            self._memory.pop(fingerprint, None)
            yield

    async def get(self, fingerprint: str) -> Token | None:
        token = self._memory.get(fingerprint)
        if token is not None:
            return token
        async with self._sessions() as session:
            row = await session.get(KiwoomToken, fingerprint)
        if row is None:
            return None
        try:
            value = self._keyring.decrypt(
                Sealed(row.key_id, row.token_sealed), context=_context(fingerprint)
            )
        except EncryptionError:
            log.warning("stored token for key %s cannot be decrypted; ignoring it", fingerprint)
            return None
        token = Token(
            value=SecretStr(value),
            expires_at=row.expires_at,
            issued_at=row.issued_at,
            token_type=row.token_type,
        )
        self._memory[fingerprint] = token
        return token

    async def set(self, fingerprint: str, token: Token) -> None:
        sealed = self._keyring.encrypt(token.secret(), context=_context(fingerprint))
        values = {
            "key_id": sealed.key_id,
            "token_sealed": sealed.blob,
            "token_type": token.token_type,
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
        }
        for _ in range(2):
            try:
                async with self._sessions.begin() as session:
                    row = await session.get(KiwoomToken, fingerprint, with_for_update=True)
                    if row is None:
                        session.add(KiwoomToken(key_fingerprint=fingerprint, **values))
                    else:
                        for name, value in values.items():
                            setattr(row, name, value)
                break
            except IntegrityError:
                continue  # another instance inserted it first: update instead
        self._memory[fingerprint] = token

    async def delete(self, fingerprint: str) -> None:
        self._memory.pop(fingerprint, None)
        async with self._sessions.begin() as session:
            await session.execute(
                delete(KiwoomToken).where(KiwoomToken.key_fingerprint == fingerprint)
            )

    async def reseal_all(self) -> int:
        """Re-encrypt every stored token under the keyring's primary key."""
        changed = 0
        async with self._sessions.begin() as session:
            for row in await session.scalars(select(KiwoomToken).with_for_update()):
                sealed = Sealed(row.key_id, row.token_sealed)
                if self._keyring.needs_rotation(sealed):
                    fresh = self._keyring.reseal(sealed, context=_context(row.key_fingerprint))
                    row.key_id, row.token_sealed = fresh.key_id, fresh.blob
                    changed += 1
        return changed
