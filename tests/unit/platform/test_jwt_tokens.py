import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from quantum.platform.security.jwt_tokens import (
    InvalidToken,
    JwtCodec,
    load_or_create_jwt_secret,
    new_refresh_token,
    refresh_token_hash,
)

SECRET = "s" * 64
OTHER_SECRET = "o" * 64


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def codec(clock: FakeClock) -> JwtCodec:
    return JwtCodec(SECRET, clock=clock)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    iat = int(datetime(2030, 1, 1, 12, 0, tzinfo=UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": "u1",
        "role": "user",
        "jti": "j1",
        "iat": iat,
        "exp": iat + 600,
        "iss": "quantum-platform",
        "typ": "access",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _rejected(codec: JwtCodec, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as info:
        codec.decode_access(token)
    if token:
        assert token not in str(info.value)
        assert token not in repr(info.value)
    return info.value


def test_round_trip(codec: JwtCodec, clock: FakeClock) -> None:
    token, expires_in = codec.issue_access("user-1", "admin")
    assert expires_in == 900
    claims = codec.decode_access(token)
    assert claims.user_id == "user-1"
    assert claims.role == "admin"
    assert claims.token_id
    assert claims.issued_at == clock.now
    assert claims.expires_at == clock.now + timedelta(minutes=15)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert codec.issue_access("user-1", "admin")[0] != token  # fresh jti


def test_expired_with_fake_clock(codec: JwtCodec, clock: FakeClock) -> None:
    token, _ = codec.issue_access("u1", "user")
    clock.now += timedelta(minutes=14, seconds=59)
    codec.decode_access(token)
    clock.now += timedelta(seconds=1)
    assert _rejected(codec, token).reason == "expired"


def test_a_verified_token_is_remembered_but_expiry_is_checked_every_time(
    codec: JwtCodec, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, expires_in = codec.issue_access("user-1", "USER")
    decodes: list[str] = []
    real_decode = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        decodes.append(args[0])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    first = codec.decode_access(token)
    assert codec.decode_access(token) == first
    assert len(decodes) == 1
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(2):  # a rejected token is verified (and rejected) every time
        with pytest.raises(InvalidToken):
            codec.decode_access(forged)
    assert len(decodes) == 3
    clock.now += timedelta(seconds=expires_in)
    with pytest.raises(InvalidToken) as caught:
        codec.decode_access(token)
    assert caught.value.reason == "expired"


def test_forged_signature_rejected(codec: JwtCodec, clock: FakeClock) -> None:
    forged, _ = JwtCodec(OTHER_SECRET, clock=clock).issue_access("u1", "admin")
    assert _rejected(codec, forged).reason == "invalid_signature"


def test_alg_none_rejected(codec: JwtCodec) -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(role='admin'))}."
    assert _rejected(codec, token).reason == "invalid_algorithm"


def test_other_hmac_algorithm_rejected(codec: JwtCodec) -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS512")
    assert _rejected(codec, token).reason == "invalid_algorithm"


def test_wrong_typ_rejected(codec: JwtCodec) -> None:
    token = jwt.encode(_claims(typ="refresh"), SECRET, algorithm="HS256")
    assert _rejected(codec, token).reason == "wrong_type"
    token = jwt.encode(_claims(typ=None), SECRET, algorithm="HS256")
    assert _rejected(codec, token).reason == "wrong_type"


def test_wrong_issuer_rejected(codec: JwtCodec) -> None:
    token = jwt.encode(_claims(iss="someone-else"), SECRET, algorithm="HS256")
    assert _rejected(codec, token).reason == "wrong_issuer"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti", "iss"])
def test_missing_claim_rejected(codec: JwtCodec, claim: str) -> None:
    token = jwt.encode(_claims(**{claim: None}), SECRET, algorithm="HS256")
    assert _rejected(codec, token).reason == "missing_claim"


def test_missing_role_rejected(codec: JwtCodec) -> None:
    token = jwt.encode(_claims(role=None), SECRET, algorithm="HS256")
    assert _rejected(codec, token).reason == "malformed"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30"])
def test_malformed_rejected(codec: JwtCodec, token: str) -> None:
    assert _rejected(codec, token).reason == "malformed"


def test_short_secret_rejected() -> None:
    with pytest.raises(ValueError, match="32"):
        JwtCodec("x" * 31)


def test_refresh_tokens() -> None:
    token, digest = new_refresh_token()
    assert len(token) >= 43
    assert digest == refresh_token_hash(token)
    assert len(digest) == 64
    assert token not in digest
    other, other_digest = new_refresh_token()
    assert other != token
    assert other_digest != digest


def test_jwt_secret_configured_wins(tmp_path: Path) -> None:
    path = tmp_path / "jwt.secret"
    assert load_or_create_jwt_secret("c" * 40, path, production=True) == "c" * 40
    assert not path.exists()


def test_jwt_secret_required_in_production(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="QTP_JWT_SECRET must be set in production mode"):
        load_or_create_jwt_secret(None, tmp_path / "jwt.secret", production=True)
    assert not (tmp_path / "jwt.secret").exists()


def test_jwt_secret_generated_and_reused_in_dev(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jwt.secret"
    first = load_or_create_jwt_secret(None, path, production=False)
    assert len(first) >= 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_jwt_secret(None, path, production=False) == first
    JwtCodec(first)  # long enough to be accepted
