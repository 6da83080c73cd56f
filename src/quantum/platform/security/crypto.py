"""AES-256-GCM encryption of stored secrets (Kiwoom app keys/secrets) with rotatable key ids.

Every ciphertext records the id of the key that sealed it, so keys can be rotated by adding a
new primary and resealing rows lazily, while old keys stay available for decryption.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class EncryptionError(Exception):
    """Sealing or unsealing failed; the message never carries key material or plaintext."""


@dataclass(frozen=True)
class Sealed:
    """A ciphertext plus the id of the key that sealed it; ``blob`` is nonce || ciphertext+tag."""

    key_id: str
    blob: bytes

    def __repr__(self) -> str:
        return f"Sealed(key_id={self.key_id!r}, blob=<{len(self.blob)} bytes>)"


def _decode_key(key_id: str, text: str) -> bytes:
    """Accept urlsafe or standard base64, padded or not, since keys are pasted into env vars."""
    normalized = text.strip().replace("-", "+").replace("_", "/")
    normalized += "=" * (-len(normalized) % 4)
    try:
        raw = base64.b64decode(normalized, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"encryption key {key_id!r} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"encryption key {key_id!r} must decode to exactly {KEY_BYTES} bytes")
    return raw


def _default_key_id() -> str:
    return f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def _check_key_id(key_id: str) -> str:
    if not _KEY_ID_RE.fullmatch(key_id):
        raise ValueError("encryption key id must match [A-Za-z0-9_.-]{1,32}")
    return key_id


class Keyring:
    """Ordered AES-256 keys: the first is the primary (encrypts), all of them decrypt."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("keyring needs at least one key")
        self._keys: dict[str, bytes] = {}
        for key_id, raw in keys:
            _check_key_id(key_id)
            if key_id in self._keys:
                raise ValueError(f"duplicate encryption key id {key_id!r}")
            if len(raw) != KEY_BYTES:
                raise ValueError(f"encryption key {key_id!r} must be {KEY_BYTES} bytes")
            self._keys[key_id] = raw
        self._aead = {key_id: AESGCM(raw) for key_id, raw in self._keys.items()}
        self._primary = keys[0][0]

    def __repr__(self) -> str:
        return f"Keyring(primary={self._primary!r}, key_ids={self.key_ids!r})"

    @classmethod
    def from_spec(cls, spec: str) -> Keyring:
        """Parse ``QTP_ENCRYPTION_KEYS``: ``key_id:base64[,key_id:base64...]``, primary first."""
        keys: list[tuple[str, bytes]] = []
        for index, entry in enumerate(spec.split(","), start=1):
            entry = entry.strip()
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not sep:
                raise ValueError(f"encryption key entry #{index} must look like key_id:base64")
            if not _KEY_ID_RE.fullmatch(key_id):
                raise ValueError(
                    f"encryption key entry #{index} has an invalid key id "
                    "(must match [A-Za-z0-9_.-]{1,32})"
                )
            keys.append((key_id, _decode_key(key_id, encoded)))
        if not keys:
            raise ValueError("encryption key spec is empty")
        return cls(keys)

    @classmethod
    def generate(cls, key_id: str | None = None) -> Keyring:
        """A fresh single-key keyring, e.g. for first start in dev mode."""
        return cls([(_check_key_id(key_id or _default_key_id()), os.urandom(KEY_BYTES))])

    def to_spec(self) -> str:
        return ",".join(
            f"{key_id}:{base64.urlsafe_b64encode(raw).decode('ascii')}"
            for key_id, raw in self._keys.items()
        )

    def add_primary(self, key_id: str | None = None) -> Keyring:
        """Rotate: a new random key becomes primary, existing keys remain for decryption."""
        new_id = _check_key_id(key_id or _default_key_id())
        return Keyring([(new_id, os.urandom(KEY_BYTES)), *self._keys.items()])

    @property
    def primary_id(self) -> str:
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def encrypt(self, plaintext: str, *, context: str) -> Sealed:
        """Seal under the primary key; ``context`` (e.g. "credential:42:app_secret") is bound
        as associated data so the ciphertext cannot be replayed into another row or field."""
        nonce = os.urandom(NONCE_BYTES)
        aead = self._aead[self._primary]
        ciphertext = aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return Sealed(key_id=self._primary, blob=nonce + ciphertext)

    def decrypt(self, sealed: Sealed, *, context: str) -> str:
        aead = self._aead.get(sealed.key_id)
        if aead is None:
            raise EncryptionError(f"unknown encryption key id {sealed.key_id!r}")
        if len(sealed.blob) < NONCE_BYTES + 16:
            raise EncryptionError("ciphertext is truncated")
        nonce, ciphertext = sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:]
        try:
            plaintext = aead.decrypt(nonce, ciphertext, context.encode("utf-8"))
        except InvalidTag:
            raise EncryptionError(
                f"decryption failed with key {sealed.key_id!r} (tampered data or wrong context)"
            ) from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise EncryptionError("decrypted data is not valid UTF-8") from None

    def needs_rotation(self, sealed: Sealed) -> bool:
        return sealed.key_id != self._primary

    def reseal(self, sealed: Sealed, *, context: str) -> Sealed:
        """Re-encrypt under the current primary key (used by key rotation)."""
        return self.encrypt(self.decrypt(sealed, context=context), context=context)


def load_or_create_secret_file(path: Path, create: Callable[[], str]) -> str:
    """Read a dev-mode secret from ``path``, or create it (mode 0o600) on first start."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        value = create()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; use its file
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(value + "\n")
            os.chmod(path, 0o600)
            return value
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise ValueError(f"secret file {path} is empty")
    return value


def load_or_create_keyring(spec: str | None, path: Path) -> Keyring:
    """Configured spec wins; otherwise (dev mode) keep a generated keyring in the data dir."""
    if spec:
        return Keyring.from_spec(spec)
    return Keyring.from_spec(load_or_create_secret_file(path, lambda: Keyring.generate().to_spec()))
