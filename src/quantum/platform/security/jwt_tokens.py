"""Short-lived HS256 access tokens and opaque refresh tokens (stored only as sha256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt

from quantum.platform.security.crypto import load_or_create_secret_file

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
MIN_SECRET_LENGTH = 32
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "iss"]
VERIFIED_TOKENS = 65_536
"""Verified access tokens remembered (their claims; a rejected token is not kept)."""


class InvalidToken(Exception):
    """The token was rejected; ``reason`` is a stable code, the message never holds the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid access token: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    token_id: str
    issued_at: datetime
    expires_at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _reason_for(exc: jwt.InvalidTokenError) -> str:
    # Order matters: subclasses before their bases.
    mapping: list[tuple[type[jwt.InvalidTokenError], str]] = [
        (jwt.ExpiredSignatureError, "expired"),
        (jwt.InvalidSignatureError, "invalid_signature"),
        (jwt.InvalidAlgorithmError, "invalid_algorithm"),
        (jwt.MissingRequiredClaimError, "missing_claim"),
        (jwt.InvalidIssuerError, "wrong_issuer"),
        (jwt.DecodeError, "malformed"),
    ]
    for exc_type, reason in mapping:
        if isinstance(exc, exc_type):
            return reason
    return "invalid_claims"


def _int_claim(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidToken("malformed")
    return value


class JwtCodec:
    """Issues and verifies access tokens; the clock is injectable so expiry is testable."""

    def __init__(
        self,
        secret: str,
        *,
        access_ttl: timedelta = timedelta(minutes=15),
        issuer: str = "quantum-platform",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"JWT secret must be at least {MIN_SECRET_LENGTH} characters")
        if access_ttl <= timedelta(0):
            raise ValueError("access_ttl must be positive")
        self._secret = secret
        self._access_ttl = access_ttl
        self._issuer = issuer
        self._clock = clock or _utcnow
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS)(self._verify)

    def __repr__(self) -> str:
        return f"JwtCodec(issuer={self._issuer!r}, access_ttl={self._access_ttl!r})"

    def issue_access(self, user_id: str, role: str) -> tuple[str, int]:
        """Return ``(token, expires_in_seconds)`` for an OAuth2-style token response."""
        issued = int(self._clock().timestamp())
        expires_in = int(self._access_ttl.total_seconds())
        payload = {
            "sub": user_id,
            "role": role,
            "jti": secrets.token_urlsafe(16),
            "iat": issued,
            "exp": issued + expires_in,
            "iss": self._issuer,
            "typ": ACCESS_TYPE,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), expires_in

    def decode_access(self, token: str) -> AccessClaims:
        """Verify signature (HS256 only: no ``alg=none``/key confusion), issuer, type,
        then expiry against the clock (on every call; the rest is remembered per token)."""
        claims = self._verified(token)
        if self._clock() >= claims.expires_at:
            raise InvalidToken("expired")
        return claims

    def _verify(self, token: str) -> AccessClaims:
        """What does not change with time. A token arrives with every request of its
        holder; PyJWT re-checks the HMAC key's shape (PEM, SSH, DER, JSON) on every
        decode, a few percent of a busy platform's CPU, so a verified token's claims
        are kept (by the exact token string: only a token verified once hits)."""
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=0,
                # Time checks are done against the injected clock, not the wall clock.
                options={
                    "require": _REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(_reason_for(exc)) from None
        issued_at = _int_claim(payload, "iat")
        expires_at = _int_claim(payload, "exp")
        if payload.get("typ") != ACCESS_TYPE:
            raise InvalidToken("wrong_type")
        role = payload.get("role")
        if not isinstance(role, str) or not role:
            raise InvalidToken("malformed")
        return AccessClaims(
            user_id=payload["sub"],
            role=role,
            token_id=payload["jti"],
            issued_at=datetime.fromtimestamp(issued_at, UTC),
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )


def refresh_token_hash(token: str) -> str:
    """Refresh tokens are high-entropy, so a plain sha256 is enough to store them safely."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_refresh_token() -> tuple[str, str]:
    """Return ``(token for the client, hash for the database)``."""
    token = secrets.token_urlsafe(32)
    return token, refresh_token_hash(token)


def load_or_create_jwt_secret(secret: str | None, path: Path, *, production: bool) -> str:
    """Configured secret wins; production refuses to invent one; dev keeps one in the data dir."""
    if secret:
        return secret
    if production:
        raise ValueError("QTP_JWT_SECRET must be set in production mode")
    return load_or_create_secret_file(path, lambda: secrets.token_urlsafe(48))
