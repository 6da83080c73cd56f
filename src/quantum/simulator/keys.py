"""App keys and the accounts bound to them.

Any key/secret pair is welcome and gets its own account, unless a key file
restricts the keys. The account number is derived from the key so that a
restarted simulator gives the same key the same account.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from quantum.simulator.config import KeyEntry, Mode


def key_fingerprint(app_key: str) -> str:
    """A short, non-reversible name for an app key, used wherever a key must be
    named (control counters, logs) without showing it."""
    return hashlib.sha256(app_key.encode("utf-8")).hexdigest()[:12]


class KeyRejected(Exception):
    """The pair cannot be used; ``code`` is the Kiwoom error code to answer."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class AppKey:
    app_key: str
    secret_hash: str
    account_no: str
    fingerprint: str


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyRegistry:
    """Known app keys; ``open_account(account_no, cash)`` is called once per new key."""

    def __init__(
        self,
        mode: Mode,
        starting_cash: int,
        open_account: Callable[[str, int], object],
        allowed: list[KeyEntry] | None = None,
    ) -> None:
        self._mode = mode
        self._starting_cash = starting_cash
        self._open_account = open_account
        self._allowed = {entry.appkey: entry for entry in allowed} if allowed else None
        self._keys: dict[str, AppKey] = {}
        self._accounts: set[str] = set()

    def authenticate(self, app_key: str, secret: str) -> AppKey:
        """The key's record, creating it (and its account) on first use."""
        entry = None
        if self._allowed is not None:
            entry = self._allowed.get(app_key)
            if entry is None:
                raise KeyRejected(8001)
            if entry.secretkey != secret:
                raise KeyRejected(8002)
            if entry.mode is not None and entry.mode is not self._mode:
                raise KeyRejected(8030)
        known = self._keys.get(app_key)
        if known is not None:
            if known.secret_hash != _secret_hash(secret):
                raise KeyRejected(8002)
            return known
        cash = entry.cash if entry is not None and entry.cash is not None else self._starting_cash
        record = AppKey(
            app_key, _secret_hash(secret), self._new_account_no(app_key), key_fingerprint(app_key)
        )
        self._open_account(record.account_no, cash)
        self._keys[app_key] = record
        return record

    def get(self, app_key: str) -> AppKey | None:
        return self._keys.get(app_key)

    def _new_account_no(self, app_key: str) -> str:
        """``50`` + 6 digits from the key + ``11`` (the shape of Kiwoom account numbers)."""
        digest = int(hashlib.sha256(app_key.encode("utf-8")).hexdigest(), 16)
        serial = digest % 1_000_000
        while True:
            account_no = f"50{serial:06d}11"
            if account_no not in self._accounts:
                self._accounts.add(account_no)
                return account_no
            serial = (serial + 1) % 1_000_000
