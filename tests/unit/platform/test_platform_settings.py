"""The platform reads its documented variables (docs/platform.md), and no other
program's: a bare MODE or DATA_DIR in the environment changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantum.platform.settings import PlatformSettings, RunMode


def settings() -> PlatformSettings:
    return PlatformSettings(_env_file=None)  # type: ignore[call-arg]


def test_documented_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTP_MODE", "production")
    monkeypatch.setenv("QTP_DATA_DIR", "/srv/quantum")
    monkeypatch.setenv("DATABASE_URL", "postgresql://quantum@db/quantum")
    read = settings()
    assert read.mode is RunMode.PRODUCTION
    assert read.data_dir == Path("/srv/quantum")
    assert read.database_url == "postgresql://quantum@db/quantum"


def test_variables_named_like_fields_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QTP_MODE", "QTP_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODE", "staging")  # would not even validate
    monkeypatch.setenv("DATA_DIR", "/somebody/elses")
    read = settings()
    assert read.mode is RunMode.DEVELOPMENT
    assert read.data_dir == Path("data")


def test_fields_can_still_be_given_by_name() -> None:
    given = PlatformSettings(_env_file=None, data_dir=Path("/tmp/q"))  # type: ignore[call-arg]
    assert given.data_dir == Path("/tmp/q")
