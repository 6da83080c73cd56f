"""``/health`` and the guide's ``/actuator/health`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from tests.integration.platform.conftest import Harness

from quantum.platform.db.engine import create_engine


async def test_health_is_up(harness: Harness) -> None:
    for path in ("/health", "/actuator/health"):
        await check_up(harness, path)


async def check_up(harness: Harness, path: str) -> None:
    response = await harness.client.get(path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "UP"
    components = body["components"]
    assert {"db", "broker", "usageLog"} <= set(components)
    assert components["db"] == {"status": "UP"}
    assert components["broker"]["status"] == "UP"
    assert "default_key" not in components["broker"]
    assert components["usageLog"]["status"] == "UP"


async def test_health_reports_a_database_that_is_down(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await check_broken_connection(harness)

    async def unreachable() -> bool:
        return False

    monkeypatch.setattr(harness.platform, "database_ok", unreachable)
    response = await harness.client.get("/actuator/health")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "DOWN"
    assert body["components"]["db"] == {"status": "DOWN"}
    assert body["components"]["broker"]["status"] == "UP"


async def check_broken_connection(harness: Harness) -> None:
    assert await harness.platform.database_ok() is True
    url = harness.platform.engine.url
    if url.get_backend_name() == "sqlite":
        broken = url.set(database=str(harness.platform.settings.data_dir))  # a directory
    else:
        broken = url.set(port=1)
    engine = create_engine(broken.render_as_string(hide_password=False), pool_pre_ping=False)
    original = harness.platform.engine
    harness.platform.engine = engine
    try:
        response = await harness.client.get("/health")
    finally:
        harness.platform.engine = original
        await engine.dispose()
    assert response.status_code == 503, response.text
    assert response.json()["components"]["db"] == {"status": "DOWN"}
    assert (await harness.client.get("/health")).status_code == 200
