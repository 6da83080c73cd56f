"""The adapter's ``GET /metrics`` and the collectors of the in-process broker's state
(realtime hub, rate limiters), read at scrape time: nothing on the hot paths.

The platform, which runs the same in-process broker, registers the same collectors
(:mod:`quantum.platform.metrics`). See docs/metrics.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response

from quantum.adapter.realtime.fanout import SLOW_CONSUMER_CLOSE_CODE
from quantum.metrics import (
    CallMetrics,
    HttpMetrics,
    HttpMetricsMiddleware,
    api_id_label,
    exposition,
    new_registry,
)

log = logging.getLogger(__name__)

__all__ = ["AdapterMetrics", "RateLimitCollector", "RealtimeCollector", "install_metrics"]

LIVE = "LIVE"
GLOBAL_BUDGET = "*"


class RealtimeCollector(Collector):
    """Upstream sockets, subscriptions and fan-out queues of a
    :class:`~quantum.adapter.realtime.hub.RealtimeHub` (``hub()``; ``None``: none)."""

    def __init__(self, service: str, hub: Callable[[], Any]) -> None:
        self.service = service
        self._hub = hub
        self._seen: dict[int, Any] = {}
        self._retired_dropped = 0
        self._retired_disconnects = 0

    def _tally(self, subscribers: Iterable[Any]) -> tuple[int, int, int]:
        """(dropped, slow-consumer disconnects, max queue depth); the counts of
        subscribers gone since the last scrape are kept, so the totals only grow."""
        current = {id(s): s for s in subscribers}
        for key, old in self._seen.items():
            if current.get(key) is not old:
                self._retired_dropped += int(getattr(old, "conflated", 0))
                if getattr(old, "close_code", None) == SLOW_CONSUMER_CLOSE_CODE:
                    self._retired_disconnects += 1
        self._seen = current
        dropped = self._retired_dropped + sum(int(s.conflated) for s in current.values())
        disconnects = self._retired_disconnects + sum(
            1 for s in current.values() if s.close_code == SLOW_CONSUMER_CLOSE_CODE
        )
        depth = max((int(s.pending) for s in current.values()), default=0)
        return dropped, disconnects, depth

    def collect(self) -> Iterator[Metric]:
        health: list[dict[str, Any]] = []
        subscribers: list[Any] = []
        hub = self._hub()
        if hub is not None:
            try:
                health = list(hub.health())
                subscriptions = list(getattr(hub, "_subscriptions", ()))
                subscribers = [s.subscriber for s in subscriptions]
            except Exception:
                log.exception("reading the realtime hub failed")
                health, subscribers = [], []
        dropped, disconnects, depth = self._tally(subscribers)
        labels = ["service"]
        value = [self.service]

        def gauge(name: str, doc: str, number: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=labels)
            family.add_metric(value, number)
            return family

        def counter(name: str, doc: str, number: float) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=labels)
            family.add_metric(value, number)
            return family

        yield gauge(
            "qtp_upstream_connected",
            "Upstream Kiwoom WebSockets (one per app key) that are LIVE.",
            sum(1 for h in health if h.get("stream_state") == LIVE),
        )
        yield gauge("qtp_upstream_feeds", "Upstream feeds (app keys) the hub has.", len(health))
        ages = [
            h["last_frame_age_seconds"]
            for h in health
            if h.get("last_frame_age_seconds") is not None
        ]
        age = GaugeMetricFamily(
            "qtp_upstream_last_frame_age_seconds",
            "Seconds since the last upstream frame, the oldest over app keys "
            "(absent before any frame).",
            labels=labels,
        )
        if ages:
            age.add_metric(value, max(float(a) for a in ages))
        yield age
        yield gauge(
            "qtp_ws_subscriptions",
            "Consumers subscribed to the hub's feeds (WebSocket clients, platform sessions).",
            sum(int(h.get("subscribers", 0)) for h in health),
        )
        yield gauge(
            "qtp_upstream_subscribed_codes",
            "Stock codes registered upstream, summed over app keys.",
            sum(len(h.get("subscribed_codes", ())) for h in health),
        )
        yield counter(
            "qtp_upstream_ticks_forwarded",
            "Ticks the hub forwarded to consumers.",
            sum(int(h.get("ticks_forwarded", 0)) for h in health),
        )
        yield counter(
            "qtp_upstream_orders_forwarded",
            "Order updates (Kiwoom 00) the hub forwarded to consumers.",
            sum(int(h.get("orders_forwarded", 0)) for h in health),
        )
        yield gauge(
            "qtp_fanout_queue_depth",
            "Messages waiting in the fullest consumer queue.",
            depth,
        )
        yield counter(
            "qtp_fanout_dropped",
            "Ticks dropped by conflation (replaced by a newer tick for a slow consumer).",
            dropped,
        )
        yield counter(
            "qtp_fanout_slow_consumer_disconnects",
            "Consumers disconnected for being too slow (close code 1008).",
            disconnects,
        )


class RateLimitCollector(Collector):
    """Waits of the outbound rate limiters of a
    :class:`~quantum.adapter.sessions.SessionRegistry`'s clients (``sessions()``).

    Read from the limiters' own counters at scrape time: a client that is replaced
    (credential check) or closed takes its counts with it, which Prometheus sees as
    a counter reset."""

    def __init__(self, service: str, sessions: Callable[[], Any]) -> None:
        self.service = service
        self._sessions = sessions

    def collect(self) -> Iterator[Metric]:
        waits: dict[str, int] = {}
        seconds: dict[str, float] = {}
        sessions = self._sessions()
        if sessions is not None:
            try:
                for client in sessions.clients().values():
                    usage = client.transport.limiter.utilisation
                    for (_fingerprint, api_id), row in usage.items():
                        if api_id == GLOBAL_BUDGET:
                            continue  # its waits are already in the api-id's window
                        label = api_id_label(api_id)
                        waits[label] = waits.get(label, 0) + row.delayed
                        seconds[label] = seconds.get(label, 0.0) + row.total_wait_seconds
            except Exception:
                log.exception("reading the rate limiters failed")
        count = CounterMetricFamily(
            "qtp_rate_limit_waits",
            "Kiwoom sends that had to wait for a rate-limit slot.",
            labels=["service", "api_id"],
        )
        total = CounterMetricFamily(
            "qtp_rate_limit_wait_seconds",
            "Seconds spent waiting for rate-limit slots.",
            labels=["service", "api_id"],
        )
        for api_id in sorted(waits):
            count.add_metric([self.service, api_id], waits[api_id])
            total.add_metric([self.service, api_id], seconds[api_id])
        yield count
        yield total


class AdapterMetrics:
    """One app's registry: HTTP, Kiwoom calls (give :attr:`calls` ``.observe`` to the
    clients), and the realtime hub and rate limiters of :meth:`watch`'s broker."""

    def __init__(self, service: str = "adapter") -> None:
        self.service = service
        self.registry: CollectorRegistry = new_registry()
        self.http = HttpMetrics(self.registry, service)
        self.calls = CallMetrics(self.registry, service)
        self._broker: Any = None
        self._hub: Any = None
        self.registry.register(RealtimeCollector(service, lambda: self._hub))
        self.registry.register(
            RateLimitCollector(service, lambda: getattr(self._broker, "registry", None))
        )

    def watch(self, broker: Any, hub: Any = None) -> None:
        """Read ``broker``'s sessions and ``hub`` (default: ``broker.hub``) at scrape time."""
        self._broker = broker
        self._hub = hub if hub is not None else getattr(broker, "hub", None)

    def exposition(self) -> Response:
        return exposition(self.registry)


def install_metrics(app: FastAPI, metrics: AdapterMetrics) -> None:
    """The HTTP middleware and ``GET /metrics`` (text format, no authentication)."""
    app.state.metrics = metrics
    app.add_middleware(HttpMetricsMiddleware, lookup=lambda scope: metrics.http)

    async def prometheus_metrics(request: Request) -> Response:
        return metrics.exposition()

    app.add_api_route("/metrics", prometheus_metrics, methods=["GET"], include_in_schema=False)
