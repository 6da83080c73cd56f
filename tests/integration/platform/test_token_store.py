"""The central Kiwoom token store on both databases: one au10001 per app key across
restarts and concurrent callers, sealed at rest, and readable after key rotation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.integration.platform.conftest import platform_settings
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator
from typer.testing import CliRunner

from quantum.cli import app as cli_app
from quantum.kiwoom.settings import key_fingerprint
from quantum.platform.core import Platform
from quantum.platform.db.models import KiwoomAccount, KiwoomToken
from quantum.platform.security.crypto import Keyring
from quantum.platform.services.accounts import AccountEnvironment
from quantum.platform.services.users import Role

APP_KEY = "store-test-app-key"
APP_SECRET = "store-test-app-secret"


def _au10001(sim: RunningSimulator) -> int:
    return sim.sim.requests["au10001"]


async def _start(
    database_url: str, data_dir: Path, sim: RunningSimulator, **extra: Any
) -> Platform:
    settings = platform_settings(database_url, data_dir, simulator_url=sim.base_url, **extra)
    return await Platform.start(settings)


async def _trader(platform: Platform, *, store: bool = True) -> str:
    user = await platform.users.create("store-trader", "store-password-1", Role.USER)
    account = await platform.accounts.create(AccountEnvironment.SIMULATOR)
    await platform.accounts.assign(account.kiwoom_account_id, user.user_id, actor=None)
    if store:
        await platform.accounts.update_credentials(user.user_id, APP_KEY, APP_SECRET)
    return user.user_id


async def test_restart_reuses_the_stored_token(
    database_url: str, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    sim = start_simulator()
    data_dir = tmp_path / "data"
    platform = await _start(database_url, data_dir, sim)
    try:
        user_id = await _trader(platform)
        first = await platform.accounts.token(user_id)
    finally:
        await platform.aclose()
    assert first is not None
    assert _au10001(sim) == 1

    platform = await _start(database_url, data_dir, sim)
    try:
        again = await platform.accounts.token(user_id)
        assert again is not None
        assert again.token == first.token
        assert _au10001(sim) == 1
        fingerprint = sim.sim.keys.get(APP_KEY)
        assert fingerprint is not None
        assert sim.sim.tokens.requests[fingerprint.fingerprint] == 1

        # Sealed at rest: neither the token nor the key pair is readable in the rows.
        async with platform.sessions() as session:
            rows = list(await session.scalars(select(KiwoomToken)))
            account = await session.scalar(select(KiwoomAccount))
        assert len(rows) == 1
        row = rows[0]
        assert row.key_fingerprint == key_fingerprint(APP_KEY)
        sealed = bytes(row.token_sealed)
        assert first.token.encode() not in sealed
        assert first.token[:16].encode() not in sealed
        assert account is not None and account.app_key_sealed and account.app_secret_sealed
        for blob in (bytes(account.app_key_sealed), bytes(account.app_secret_sealed)):
            assert APP_KEY.encode() not in blob and APP_SECRET.encode() not in blob
    finally:
        await platform.aclose()


async def test_concurrent_callers_share_one_issue(
    database_url: str, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    sim = start_simulator()
    # The pair is accepted at the simulator (a key it has seen) before the platform
    # knows it; then the credentials are stored without going through the platform's
    # check, so the platform's first token request is the concurrent one.
    platform = await _start(database_url, tmp_path / "data", sim)
    try:
        user_id = await _trader(platform, store=False)
        keyring = platform.accounts.keyring
        state = await platform.accounts.require_of_user(user_id)
        account_id = state.kiwoom_account_id
        key = keyring.encrypt(APP_KEY, context=f"kiwoom_account:{account_id}:app_key")
        secret = keyring.encrypt(APP_SECRET, context=f"kiwoom_account:{account_id}:app_secret")
        async with platform.sessions.begin() as session:
            account = await session.get(KiwoomAccount, account_id)
            assert account is not None
            account.key_id = key.key_id
            account.app_key_sealed, account.app_secret_sealed = key.blob, secret.blob
            account.key_fingerprint = key_fingerprint(APP_KEY)
        assert _au10001(sim) == 0

        tokens = await asyncio.gather(*(platform.accounts.token(user_id) for _ in range(200)))
        assert {t.token for t in tokens if t is not None} == {tokens[0].token if tokens[0] else ""}
        assert all(t is not None for t in tokens)
        assert _au10001(sim) == 1
    finally:
        await platform.aclose()


async def test_key_rotation_keeps_credentials_and_token(
    database_url: str, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    sim = start_simulator()
    data_dir = tmp_path / "data"
    k1 = Keyring.generate("k1").to_spec()
    k2 = Keyring.generate("k2").to_spec()

    platform = await _start(database_url, data_dir, sim, encryption_keys=k1)
    try:
        user_id = await _trader(platform)
        token = await platform.accounts.token(user_id)
        assert token is not None
    finally:
        await platform.aclose()
    assert _au10001(sim) == 1

    platform = await _start(database_url, data_dir, sim, encryption_keys=f"{k2},{k1}")
    try:
        assert await platform.accounts.rotate_keys() == 1
        assert await platform.token_cache.reseal_all() == 1
        assert await platform.accounts.rotate_keys() == 0  # idempotent
        assert await platform.token_cache.reseal_all() == 0
        async with platform.sessions() as session:
            assert set(await session.scalars(select(KiwoomToken.key_id))) == {"k2"}
            assert set(await session.scalars(select(KiwoomAccount.key_id))) == {"k2"}
    finally:
        await platform.aclose()

    platform = await _start(database_url, data_dir, sim, encryption_keys=k2)
    try:
        trading = await platform.accounts.trading(user_id)
        assert trading is not None
        assert trading.credentials.app_key.get_secret_value() == APP_KEY
        assert trading.credentials.app_secret.get_secret_value() == APP_SECRET
        again = await platform.accounts.token(user_id)
        assert again is not None and again.token == token.token
        assert _au10001(sim) == 1
    finally:
        await platform.aclose()


async def test_rotate_keys_command(
    database_url: str,
    start_simulator: StartSimulator,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    sim = start_simulator()
    data_dir = tmp_path / "data"
    k1 = Keyring.generate("k1").to_spec()
    k2 = Keyring.generate("k2").to_spec()
    platform = await _start(database_url, data_dir, sim, encryption_keys=k1)
    try:
        user_id = await _trader(platform)
        assert await platform.accounts.token(user_id) is not None
    finally:
        await platform.aclose()

    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {"QTP_ENCRYPTION_KEYS": f"{k2},{k1}", "DATABASE_URL": database_url}

    def rotate() -> str:
        result = CliRunner().invoke(
            cli_app, ["admin", "rotate-keys", "--data-dir", str(data_dir)], env=env
        )
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    # The command runs its own event loop: keep it off this test's loop.
    assert "re-encrypted 1 account key pairs and 1 tokens" in await asyncio.to_thread(rotate)
    assert "re-encrypted 0 account key pairs and 0 tokens" in await asyncio.to_thread(rotate)

    platform = await _start(database_url, data_dir, sim, encryption_keys=k2)
    try:
        assert await platform.accounts.trading(user_id) is not None
        assert await platform.accounts.token(user_id) is not None
        assert _au10001(sim) == 1
    finally:
        await platform.aclose()
