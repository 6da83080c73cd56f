import base64
import os
import stat
from pathlib import Path

import pytest

from quantum.platform.security.crypto import (
    EncryptionError,
    Keyring,
    Sealed,
    load_or_create_keyring,
)

CTX = "credential:1:app_secret"


def _b64(raw: bytes, *, urlsafe: bool = True) -> str:
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()


def test_round_trip_and_random_nonce() -> None:
    ring = Keyring.generate("k1")
    a = ring.encrypt("secret-value", context=CTX)
    b = ring.encrypt("secret-value", context=CTX)
    assert a.key_id == "k1"
    assert a.blob != b.blob
    assert b"secret-value" not in a.blob
    assert len(a.blob) == 12 + len("secret-value") + 16
    assert ring.decrypt(a, context=CTX) == "secret-value"


def test_unicode_round_trip() -> None:
    ring = Keyring.generate()
    assert ring.decrypt(ring.encrypt("비밀번호", context=CTX), context=CTX) == "비밀번호"


def test_wrong_context_fails() -> None:
    ring = Keyring.generate()
    sealed = ring.encrypt("secret-value", context=CTX)
    with pytest.raises(EncryptionError) as info:
        ring.decrypt(sealed, context="credential:2:app_secret")
    assert "secret-value" not in str(info.value)


def test_tampered_blob_fails() -> None:
    ring = Keyring.generate()
    sealed = ring.encrypt("secret-value", context=CTX)
    flipped = bytearray(sealed.blob)
    flipped[-1] ^= 0x01
    with pytest.raises(EncryptionError):
        ring.decrypt(Sealed(sealed.key_id, bytes(flipped)), context=CTX)
    with pytest.raises(EncryptionError):
        ring.decrypt(Sealed(sealed.key_id, sealed.blob[:10]), context=CTX)


def test_unknown_key_id_fails() -> None:
    ring = Keyring.generate("k1")
    sealed = ring.encrypt("x", context=CTX)
    with pytest.raises(EncryptionError, match="k9"):
        ring.decrypt(Sealed("k9", sealed.blob), context=CTX)
    with pytest.raises(EncryptionError):
        Keyring.generate("k1").decrypt(sealed, context=CTX)  # same id, different key


def test_rotation_with_add_primary_and_reseal() -> None:
    old = Keyring.generate("old")
    sealed_old = old.encrypt("app-secret", context=CTX)
    new = old.add_primary("new")
    assert new.primary_id == "new"
    assert new.key_ids == ("new", "old")
    assert old.key_ids == ("old",)
    assert new.decrypt(sealed_old, context=CTX) == "app-secret"
    assert new.needs_rotation(sealed_old)
    assert not old.needs_rotation(sealed_old)

    resealed = new.reseal(sealed_old, context=CTX)
    assert resealed.key_id == "new"
    assert not new.needs_rotation(resealed)
    assert new.decrypt(resealed, context=CTX) == "app-secret"
    with pytest.raises(EncryptionError):
        old.decrypt(resealed, context=CTX)

    reloaded = Keyring.from_spec(new.to_spec())
    assert reloaded.key_ids == ("new", "old")
    assert reloaded.decrypt(resealed, context=CTX) == "app-secret"
    assert reloaded.decrypt(sealed_old, context=CTX) == "app-secret"


def test_generated_key_id_format() -> None:
    ring = Keyring.generate()
    assert ring.primary_id.startswith("k2")
    assert len(ring.primary_id) <= 32
    assert Keyring.generate().primary_id != ring.primary_id


def test_spec_accepts_standard_and_urlsafe_base64_without_padding() -> None:
    raw_a, raw_b = os.urandom(32), os.urandom(32)
    spec = f" a:{_b64(raw_a, urlsafe=False)} , b:{_b64(raw_b).rstrip('=')} "
    ring = Keyring.from_spec(spec)
    assert ring.primary_id == "a"
    assert ring.key_ids == ("a", "b")
    sealed = Keyring.from_spec(f"b:{_b64(raw_b)}").encrypt("v", context=CTX)
    assert ring.decrypt(sealed, context=CTX) == "v"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("nocolon", "key_id:base64"),
        ("bad id!:" + _b64(bytes(32)), "invalid key id"),
        ("k1:" + _b64(bytes(16)), "'k1'.*32 bytes"),
        ("k1:!!!not-base64!!!", "'k1'.*base64"),
        (f"k1:{_b64(bytes(32))},k1:{_b64(bytes(32))}", "duplicate.*'k1'"),
    ],
)
def test_spec_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        Keyring.from_spec(spec)
    assert _b64(bytes(32)) not in str(info.value)


def test_reprs_do_not_leak_keys() -> None:
    ring = Keyring.generate("k1")
    encoded_key = ring.to_spec().split(":", 1)[1]
    assert encoded_key not in repr(ring)
    assert "k1" in repr(ring)
    sealed = ring.encrypt("x", context=CTX)
    assert repr(sealed) == f"Sealed(key_id='k1', blob=<{len(sealed.blob)} bytes>)"


def test_load_or_create_keyring_creates_private_file_and_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "encryption.keys"
    first = load_or_create_keyring(None, path)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.encrypt("v", context=CTX)

    second = load_or_create_keyring(None, path)
    assert second.key_ids == first.key_ids
    assert second.decrypt(sealed, context=CTX) == "v"


def test_load_or_create_keyring_prefers_spec(tmp_path: Path) -> None:
    path = tmp_path / "encryption.keys"
    spec = f"cfg:{_b64(os.urandom(32))}"
    ring = load_or_create_keyring(spec, path)
    assert ring.primary_id == "cfg"
    assert not path.exists()
