"""The platform's ``GET /metrics``: HTTP, Kiwoom calls, the in-process broker's
realtime hub and rate limiters, orders by state and the stages of a submit
(docs/metrics.md).

:class:`PlatformMetrics` is built by :meth:`quantum.platform.core.Platform.start`
(its :attr:`~PlatformMetrics.calls` observer is chained with the usage log's);
the orders gauge is counted from ``order_view`` by the ``/metrics`` handler, before
the exposition is generated (the collectors themselves are synchronous).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response
from starlette.types import Scope

from quantum.adapter.metrics import RateLimitCollector, RealtimeCollector
from quantum.metrics import (
    OTHER,
    CallMetrics,
    HttpMetrics,
    HttpMetricsMiddleware,
    app_state,
    exposition,
    labelled,
    new_registry,
)
from quantum.platform.trading.stages import SubmitStage
from quantum.platform.trading.states import OrderState

if TYPE_CHECKING:
    from quantum.platform.core import Platform

log = logging.getLogger(__name__)

__all__ = ["OrdersCollector", "PlatformMetrics", "http_lookup", "router"]

SERVICE = "platform"
ORDER_COUNTS = text("SELECT state, count(*) FROM order_view GROUP BY state")
STAGE_BUCKETS = (
    *(ms / 1000 for ms in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5)),
    *(ms / 1000 for ms in (7.5, 10, 15, 25, 50, 100, 250, 500, 1000, 2500, 5000)),
)
"""Fine below 5 ms, where a stage of the platform's own lies."""


class OrdersCollector(Collector):
    """``qtp_orders{state}``: the counts of the last :meth:`refresh` (every state,
    0 when none; a state unknown to this version counts as ``other``)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] | None = None

    async def refresh(self, engine: AsyncEngine) -> None:
        try:
            async with engine.connect() as connection:
                rows = (await connection.execute(ORDER_COUNTS)).all()
        except Exception as exc:
            log.warning("counting orders failed: %s", type(exc).__name__)
            self.counts = None
            return
        known = {state.value for state in OrderState}
        counts = dict.fromkeys(sorted(known), 0)
        for state, number in rows:
            label = state if state in known else OTHER
            counts[label] = counts.get(label, 0) + int(number)
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "qtp_orders", "Orders in the order view by state.", labels=["state"]
        )
        for state, number in (self.counts or {}).items():
            family.add_metric([state], number)
        yield family


class PlatformMetrics:
    """One platform's registry. Give :attr:`calls` ``.observe`` to the Kiwoom clients
    and :meth:`watch` the broker (its hub and rate limiters when in process)."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service
        self.registry = new_registry()
        self.http = HttpMetrics(self.registry, service)
        self.calls = CallMetrics(self.registry, service)
        self.orders = OrdersCollector()
        self.submit_stages = Histogram(
            "qtp_order_submit_stage_seconds",
            "Each stage of an order's submit: checks, intent_write, broker_call, answer_write.",
            ["service", "stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self._stage = labelled(self.submit_stages)
        self._broker: Any = None
        self.registry.register(
            RealtimeCollector(service, lambda: getattr(self._broker, "hub", None))
        )
        self.registry.register(
            RateLimitCollector(service, lambda: getattr(self._broker, "registry", None))
        )
        self.registry.register(self.orders)

    def watch(self, broker: Any) -> None:
        self._broker = broker

    def observe_stage(self, stage: SubmitStage, seconds: float) -> None:
        """The orders' :class:`~quantum.platform.trading.stages.StageObserver`."""
        self._stage(self.service, stage.value).observe(seconds)

    async def exposition(self, engine: AsyncEngine) -> Response:
        await self.orders.refresh(engine)
        return exposition(self.registry)


def http_lookup(scope: Scope) -> HttpMetrics | None:
    """The serving platform's HTTP metrics (``None`` before the lifespan started it)."""
    platform = app_state(scope, "platform")
    metrics = getattr(platform, "metrics", None)
    return metrics.http if isinstance(metrics, PlatformMetrics) else None


def install_middleware(app: Any) -> None:
    app.add_middleware(HttpMetricsMiddleware, lookup=http_lookup)


router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text format; no authentication (keep :8080's /metrics internal)."""
    platform: Platform = request.app.state.platform
    return await platform.metrics.exposition(platform.engine)
