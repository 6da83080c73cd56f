"""The platform's ASGI app (:8080): routes, JSON errors, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from quantum.http_errors import BodyLimit
from quantum.platform.api import accounts, admin, auth, health, market, orders, portfolio
from quantum.platform.api.hot_submit import HotSubmit
from quantum.platform.core import Platform
from quantum.platform.errors import install_error_handlers
from quantum.platform.metrics import install_middleware as install_metrics_middleware
from quantum.platform.metrics import router as metrics_router
from quantum.platform.realtime.router import router as realtime_router
from quantum.platform.settings import PlatformSettings
from quantum.platform.web import mount_web


def create_platform_app(
    settings: PlatformSettings | None = None,
    *,
    platform: Platform | None = None,
    close_platform: bool = False,
    hot_paths: bool = True,
) -> FastAPI:
    """An app that starts (and stops) its own :class:`Platform` from ``settings``,
    or serves a ``platform`` started by the caller (which then also stops it, unless
    ``close_platform``: the server's shutdown does, after the last request and socket,
    which is the only moment uvicorn gives before it re-raises SIGTERM). Not
    ``hot_paths``: the submit through FastAPI too (tests compare the two)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if platform is not None:
            app.state.platform = platform
            try:
                yield
            finally:
                if close_platform:
                    await platform.aclose()
            return
        started = await Platform.start(settings or PlatformSettings())
        app.state.platform = started
        try:
            yield
        finally:
            await started.aclose()

    app = FastAPI(
        title="Quantum Trading Platform",
        version="0.1.0",
        description="Multi-user trading on Kiwoom: users, accounts, credentials, tokens, "
        'usage log. Errors are {"error": {"code", "message", "details"}}.',
        lifespan=lifespan,
    )
    if platform is not None:
        app.state.platform = platform  # also without a lifespan (ASGI test transports)
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    if hot_paths:
        app.add_middleware(HotSubmit)  # the submit, before FastAPI's routing (see there)
    install_metrics_middleware(app)  # outside: the 413s are counted too
    # matched in this order, route by route: the trading routes first (FastAPI's
    # matching of POST /api/v1/orders behind the others was a quarter of its cost)
    for router in (
        orders.router,
        market.router,
        portfolio.router,
        accounts.router,
        auth.router,
        admin.router,
        health.router,
        realtime_router,
        metrics_router,
    ):
        app.include_router(router)
    mount_web(app)  # last: API routes win over the dashboard's fallback
    return app
