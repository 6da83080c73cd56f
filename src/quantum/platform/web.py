"""Serves the web dashboard (``web/dist``, built by ``make web``) at ``/``.

``/assets/*`` are the hashed bundles (cached for a year); any other GET that is not
an API, WebSocket, docs or health path answers ``index.html`` so the single-page
app's own routes (``/market``, ``/orders``, ...) survive a reload. Without a built
dist folder ``/`` answers a short note on how to build it.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

RESERVED = ("/api/", "/ws/", "/docs", "/redoc", "/openapi.json", "/health", "/actuator")
"""Paths the fallback never answers: they stay the API's (JSON 404 when unknown)."""

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quantum Trading Platform</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Quantum Trading Platform</h1>
<p>The web dashboard has not been built. Run <code>make run</code> (it builds it),
or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> and restart the platform.
<code>QTP_WEB_DIST</code> may point at another built folder.</p>
<p>The API is up: <a href="/docs">/docs</a>, <a href="/health">/health</a>.</p>
</body></html>
"""


def default_dist() -> Path:
    """``QTP_WEB_DIST``, or ``<repo>/web/dist`` next to this source tree."""
    configured = os.environ.get("QTP_WEB_DIST", "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(__file__).resolve().parents[3] / "web" / "dist"


def _reserved(path: str) -> bool:
    return any(path == prefix.rstrip("/") or path.startswith(prefix) for prefix in RESERVED)


class _Fallback(Route):
    """``GET /{path}`` that never claims reserved paths nor other methods, so those
    keep the app's own 404 / 405 answers."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        if _reserved(scope["path"]):
            return Match.NONE, {}
        return super().matches(scope)


def mount_web(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the built dashboard from ``dist`` (default :func:`default_dist`).
    Call after every API router is included so API routes win."""
    folder = (dist if dist is not None else default_dist()).resolve()
    index = folder / "index.html"

    if not index.is_file():

        async def not_built(request: Request) -> Response:
            return HTMLResponse(NOT_BUILT)

        app.router.routes.append(
            _Fallback("/", not_built, methods=["GET"], include_in_schema=False)
        )
        return

    app.mount("/assets", _Assets(directory=folder / "assets", check_dir=False), name="web-assets")

    async def spa(request: Request) -> Response:
        wanted = request.path_params.get("path", "")
        if wanted:
            candidate = (folder / wanted).resolve()
            if candidate.is_file() and candidate.is_relative_to(folder):
                return FileResponse(candidate)  # favicon.svg, robots.txt, ...
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.routes.append(
        _Fallback("/{path:path}", spa, methods=["GET"], include_in_schema=False)
    )


class _Assets(StaticFiles):
    """Hashed file names: safe to cache for good."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
