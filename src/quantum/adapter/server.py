"""``quantum adapter``: the adapter API served by uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis
import uvicorn
from fastapi import FastAPI

from quantum import eventloop
from quantum.adapter import calls
from quantum.adapter.api import create_adapter_app
from quantum.adapter.factory import inprocess_broker
from quantum.adapter.metrics import AdapterMetrics, install_metrics
from quantum.adapter.service import InProcessBroker
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.shared_ratelimit import RedisOutboundLimiter, keys_prefix
from quantum.metrics import chain_observers
from quantum.serving import SERVICE_OPTIONS, WS_OPTIONS

UVICORN_WS_OPTIONS: dict[str, Any] = {**WS_OPTIONS, "ws_per_message_deflate": False}
"""WebSocket options of the adapter's uvicorn, chosen by ``bench.fanout`` (see
docs/adapter-contracts.md, "Fan-out performance"): compressing every realtime
frame cost about a third of the adapter's CPU for a few hundred bytes of JSON.
``websockets-sansio`` without deflate is also what lets ``WS /ws/realtime`` write
its frames straight to the transport (:mod:`quantum.adapter.realtime.router`);
other backends work through ASGI ``send`` at several times the CPU per frame."""


def build_app(
    settings: KiwoomSettings, *, redis_url: str | None = None, redis_prefix: str = "qtp:"
) -> FastAPI:
    """The adapter app on the configured keys, with ``WS /ws/realtime``; the broker
    (and its realtime hub) is closed on shutdown. ``redis_url``: each app key's rate
    budget is shared with the other adapters and platform instances on that Redis."""
    metrics = AdapterMetrics()
    observer = chain_observers(calls.observe, metrics.calls.observe)
    shared = redis.Redis.from_url(redis_url) if redis_url else None

    def client_factory(key_settings: KiwoomSettings) -> KiwoomClient:
        limiter = None
        if shared is not None:
            limiter = RedisOutboundLimiter.from_settings(
                key_settings, redis=shared, prefix=keys_prefix(redis_prefix)
            )
        return KiwoomClient.from_settings(key_settings, observer=observer, limiter=limiter)

    broker = inprocess_broker(settings, client_factory=client_factory, observer=observer)
    return app_closing(broker, broker.hub, metrics=metrics, redis_client=shared)


def app_closing(
    broker: InProcessBroker,
    hub: Any = None,
    *,
    metrics: AdapterMetrics | None = None,
    redis_client: redis.Redis | None = None,
) -> FastAPI:
    """:func:`create_adapter_app` whose shutdown closes ``broker``, with ``GET /metrics``
    (``metrics``: whose ``calls.observe`` the broker's clients report to; default: a
    new one, counting no Kiwoom calls)."""
    app = create_adapter_app(broker, hub=hub)
    app.add_middleware(calls.KiwoomCallsHeader)
    metrics = metrics or AdapterMetrics()
    metrics.watch(broker, hub)
    install_metrics(app, metrics)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with inner(app_):
            try:
                yield
            finally:
                await broker.close()
                if redis_client is not None:
                    await redis_client.aclose()

    app.router.lifespan_context = lifespan
    return app


def serve(
    host: str,
    port: int,
    settings: KiwoomSettings,
    *,
    redis_url: str | None = None,
    redis_prefix: str = "qtp:",
) -> None:
    """Run the adapter until interrupted."""
    app = build_app(settings, redis_url=redis_url, redis_prefix=redis_prefix)
    eventloop.settle_heap()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        **{**SERVICE_OPTIONS, **UVICORN_WS_OPTIONS},
    )
    eventloop.run(uvicorn.Server(config).serve())
