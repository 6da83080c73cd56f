"""Password hashing with argon2id (argon2-cffi defaults) and the sign-up password policy."""

from __future__ import annotations

import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


class Passwords:
    """Hash/verify user passwords; costs are injectable so tests stay fast."""

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        options: dict[str, Any] = {}
        if time_cost is not None:
            options["time_cost"] = time_cost
        if memory_cost is not None:
            options["memory_cost"] = memory_cost
        self._hasher = PasswordHasher(**options)
        # Computed up front so the first unknown-user login is not slower than later ones.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def __repr__(self) -> str:
        params = self._hasher
        return f"Passwords(time_cost={params.time_cost}, memory_cost={params.memory_cost})"

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """False on mismatch or a corrupt hash: login must fail closed, not 500."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash used older parameters (or is unreadable) and should be replaced."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    def verify_dummy(self, password: str) -> None:
        """Spend one verification's time for an unknown username, so timing does not reveal
        which usernames exist."""
        self.verify(self._dummy_hash, password)


def check_password_policy(password: str) -> None:
    """Raise ``ValueError`` with a user-facing message if the password is unacceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"Password must be at most {MAX_PASSWORD_LENGTH} characters long.")
    if not password.strip():
        raise ValueError("Password must not consist only of whitespace.")
