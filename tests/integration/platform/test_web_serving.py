"""The dashboard is served at ``/`` with an SPA fallback; API paths stay the API's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from quantum.platform.app import create_platform_app
from quantum.platform.web import mount_web

INDEX = "<!doctype html><html><body><div id='root'></div>dashboard</body></html>"
ASSET = "console.log('x');"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "assets" / "x.js").write_text(ASSET)
    (folder / "favicon.svg").write_text("<svg/>")
    return folder


def client(app: FastAPI) -> httpx.AsyncClient:
    # ASGITransport does not run the lifespan: no platform is started.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_serves_the_built_dashboard(dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTP_WEB_DIST", str(dist))
    async with client(create_platform_app()) as http:
        for path in ("/", "/market", "/orders/ORD123", "/admin/usage?from=2026-01-01"):
            response = await http.get(path)
            assert response.status_code == 200, path
            assert response.text == INDEX, path
            assert response.headers["content-type"].startswith("text/html")

        asset = await http.get("/assets/x.js")
        assert asset.status_code == 200
        assert asset.text == ASSET
        assert "immutable" in asset.headers["cache-control"]
        assert (await http.get("/favicon.svg")).text == "<svg/>"
        assert (await http.get("/assets/missing.js")).status_code == 404

        for path in ("/api/v1/nope", "/api/v1/orders/nope/extra", "/ws/nope", "/actuator/nope"):
            response = await http.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("application/json"), path
        assert "error" in (await http.get("/api/v1/nope")).json()

        schema = (await http.get("/openapi.json")).json()
        assert not any(not p.startswith(("/api/", "/health", "/actuator")) for p in schema["paths"])
        assert (await http.post("/market")).status_code in (404, 405)
        escaped = await http.get("/..%2F..%2Fetc%2Fpasswd")
        assert escaped.text == INDEX


async def test_explicit_dist_argument(dist: Path) -> None:
    app = FastAPI()
    mount_web(app, dist)
    async with client(app) as http:
        assert (await http.get("/portfolio")).text == INDEX


async def test_without_a_build_explains_how_to_make_one(tmp_path: Path) -> None:
    app = FastAPI()
    mount_web(app, tmp_path / "missing")
    async with client(app) as http:
        response = await http.get("/")
        assert response.status_code == 200
        assert "make run" in response.text
        assert (await http.get("/api/v1/nope")).status_code == 404
