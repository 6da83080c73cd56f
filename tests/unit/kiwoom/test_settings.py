"""KiwoomSettings: the guide's environment variables, URL overrides, secrets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import SecretStr

from quantum.kiwoom.settings import (
    MOCK_REST_URL,
    MOCK_WS_URL,
    PRODUCTION_REST_URL,
    PRODUCTION_WS_URL,
    KiwoomEnvironment,
    KiwoomSettings,
    key_fingerprint,
)
from quantum.simulator.keys import key_fingerprint as simulator_fingerprint

SANDBOX_KEY = "PSsandboxKEYvisible0001"
SANDBOX_SECRET = "SEsandboxSECRETvisible0001"
PRODUCTION_KEY = "PSproductionKEYvisible0002"
PRODUCTION_SECRET = "SEproductionSECRETvisible0002"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No KIWOOM_* variable and no .env from the developer's machine."""
    import os

    for name in list(os.environ):
        if name.startswith("KIWOOM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIWOOM_SANDBOX_APP_KEY", SANDBOX_KEY)
    monkeypatch.setenv("KIWOOM_SANDBOX_APP_SECRET", SANDBOX_SECRET)
    monkeypatch.setenv("KIWOOM_PRODUCTION_APP_KEY", PRODUCTION_KEY)
    monkeypatch.setenv("KIWOOM_PRODUCTION_APP_SECRET", PRODUCTION_SECRET)


def test_sandbox_mode_true_selects_the_mock_host_and_sandbox_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _keys(monkeypatch)
    monkeypatch.setenv("KIWOOM_SANDBOX_MODE", "true")
    settings = KiwoomSettings()
    assert settings.environment is KiwoomEnvironment.MOCK and settings.is_mock
    assert settings.rest_url == MOCK_REST_URL == "https://mockapi.kiwoom.com"
    assert settings.ws_url == MOCK_WS_URL == "wss://mockapi.kiwoom.com:10000/api/dostk/websocket"
    assert settings.require_credentials() == (SANDBOX_KEY, SANDBOX_SECRET)


def test_sandbox_mode_false_selects_production(monkeypatch: pytest.MonkeyPatch) -> None:
    _keys(monkeypatch)
    monkeypatch.setenv("KIWOOM_SANDBOX_MODE", "false")
    settings = KiwoomSettings()
    assert settings.environment is KiwoomEnvironment.PRODUCTION
    assert settings.rest_url == PRODUCTION_REST_URL == "https://api.kiwoom.com"
    assert settings.ws_url == PRODUCTION_WS_URL == "wss://api.kiwoom.com:10000/api/dostk/websocket"
    assert settings.require_credentials() == (PRODUCTION_KEY, PRODUCTION_SECRET)


def test_default_is_the_sandbox() -> None:
    settings = KiwoomSettings()
    assert settings.environment is KiwoomEnvironment.MOCK
    assert settings.app_key is None
    with pytest.raises(ValueError, match="KIWOOM_SANDBOX_APP_KEY"):
        settings.require_credentials()


def test_url_overrides_reach_any_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIWOOM_SANDBOX_MODE", "false")
    monkeypatch.setenv("KIWOOM_REST_URL", "http://127.0.0.1:8200/")
    settings = KiwoomSettings()
    assert settings.rest_url == "http://127.0.0.1:8200"
    assert settings.ws_url == "ws://127.0.0.1:8200/api/dostk/websocket"
    monkeypatch.setenv("KIWOOM_WS_URL", "ws://elsewhere:9000/ws")
    assert KiwoomSettings().ws_url == "ws://elsewhere:9000/ws"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "KIWOOM_SANDBOX_MODE=false\nKIWOOM_PRODUCTION_APP_KEY=fromdotenv\n"
        "KIWOOM_PRODUCTION_APP_SECRET=fromdotenvsecret\nKIWOOM_ADAPTER_URL=http://x\n",
        encoding="utf-8",
    )
    settings = KiwoomSettings()
    assert settings.environment is KiwoomEnvironment.PRODUCTION
    assert settings.require_credentials() == ("fromdotenv", "fromdotenvsecret")


def test_for_url_ignores_the_environment_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    _keys(monkeypatch)
    settings = KiwoomSettings.for_url(
        "http://127.0.0.1:9999", "my-key", "my-secret", timeout_seconds=2.5
    )
    assert settings.environment is KiwoomEnvironment.PRODUCTION
    assert settings.rest_url == "http://127.0.0.1:9999"
    assert settings.ws_url == "ws://127.0.0.1:9999/api/dostk/websocket"
    assert settings.require_credentials() == ("my-key", "my-secret")
    assert settings.timeout_seconds == 2.5
    mock = KiwoomSettings.for_url("https://sim.example", "k", "s", ws_url="wss://w/x", mock=True)
    assert mock.environment is KiwoomEnvironment.MOCK and mock.ws_url == "wss://w/x"


def test_defaults() -> None:
    settings = KiwoomSettings.for_url("http://h", "k", "s")
    assert settings.token_refresh_margin_seconds == 300
    assert settings.revoke_on_close is False
    assert settings.max_query_retries >= 1 and settings.max_order_retries >= 1
    assert settings.rate_limit_per_second is None and settings.rate_limit_enabled
    assert not settings.user_agent.startswith(("python-httpx", "aiohttp", "python-requests"))


def test_environment_variables_for_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIWOOM_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("KIWOOM_TOKEN_REFRESH_MARGIN_SECONDS", "60")
    monkeypatch.setenv("KIWOOM_REVOKE_ON_CLOSE", "true")
    monkeypatch.setenv("KIWOOM_RATE_LIMIT_PER_SECOND", "3")
    settings = KiwoomSettings()
    assert settings.timeout_seconds == 3
    assert settings.token_refresh_margin_seconds == 60
    assert settings.revoke_on_close is True
    assert settings.rate_limit_per_second == 3


def test_no_representation_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    _keys(monkeypatch)
    for sandbox in ("true", "false"):
        monkeypatch.setenv("KIWOOM_SANDBOX_MODE", sandbox)
        settings = KiwoomSettings()
        shown = " ".join(
            [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())]
        )
        for secret in (SANDBOX_KEY, SANDBOX_SECRET, PRODUCTION_KEY, PRODUCTION_SECRET):
            assert secret not in shown
        assert isinstance(settings.app_key, SecretStr)


def test_key_fingerprint_is_sha256_prefix_and_matches_the_simulator() -> None:
    expected = hashlib.sha256(b"my-key").hexdigest()[:12]
    assert key_fingerprint("my-key") == expected == simulator_fingerprint("my-key")
    assert KiwoomSettings.for_url("http://h", "my-key", "s").key_fingerprint == expected
