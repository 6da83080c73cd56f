"""Prometheus metrics shared by the platform and the adapter (docs/metrics.md).

Every app gets its own :class:`~prometheus_client.CollectorRegistry` (never the
process-wide default), so several apps in one process (the tests, the platform
with the in-process adapter) do not collide. Every metric carries a ``service``
label (``platform`` or ``adapter``). Labels are bounded: api-ids, outcomes,
route templates, status codes, states; never user ids, order ids, app keys or
key fingerprints.

Here: the registry factory, the HTTP middleware (:class:`HttpMetricsMiddleware`),
the Kiwoom call observer (:class:`CallMetrics`) and the exposition helper.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quantum.kiwoom.records import CallRecord, Observer

log = logging.getLogger(__name__)

__all__ = [
    "CONTENT_TYPE",
    "CallMetrics",
    "HttpMetrics",
    "HttpMetricsMiddleware",
    "api_id_label",
    "chain_observers",
    "error_code_label",
    "exposition",
    "new_registry",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
KIWOOM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ERROR_CODE = re.compile(r"^[A-Z0-9]{1,8}$|^[A-Za-z]{1,40}Error$")
_API_ID = re.compile(r"^[A-Za-z0-9_]{1,16}$")
OTHER = "other"
UNMATCHED = "unmatched"
TOKEN_ISSUE_API_ID = "au10001"


def new_registry() -> CollectorRegistry:
    """A registry of one app (not the process-wide default)."""
    return CollectorRegistry(auto_describe=False)


def exposition(registry: CollectorRegistry) -> Response:
    """The text format of ``registry``. Call it on the event loop: the realtime
    collectors read the hub's state, which belongs to the loop."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)


def labelled(metric: Any) -> Callable[..., Any]:
    """``metric.labels`` remembered by label values: prometheus_client checks the values
    and takes a lock on every call (a dozen Python calls each, four per order), and
    our labels are bounded, so each child is looked up once."""
    return functools.cache(metric.labels)


def error_code_label(code: str | None) -> str:
    """Kiwoom's code (``1700``, ``RC4058``) or an exception class name; anything
    else becomes ``other`` so the label stays bounded."""
    if code is None:
        return "none"
    return code if _ERROR_CODE.match(code) else OTHER


def api_id_label(api_id: str) -> str:
    return api_id if _API_ID.match(api_id) else OTHER


def chain_observers(*observers: Observer) -> Observer:
    """One observer calling each of ``observers``; one that raises does not stop the others."""

    def observe(record: CallRecord) -> None:
        for observer in observers:
            try:
                observer(record)
            except Exception:
                log.exception("call observer failed")

    return observe


class CallMetrics:
    """The Kiwoom call observer: give :meth:`observe` to the Kiwoom clients."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.calls = Counter(
            "qtp_kiwoom_calls",
            "Kiwoom REST calls by api-id and outcome (ok, error, unknown).",
            ["service", "api_id", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "qtp_kiwoom_call_duration_seconds",
            "Whole Kiwoom call: token, rate-limit waits, every attempt and backoff.",
            ["service", "api_id"],
            buckets=KIWOOM_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "qtp_kiwoom_call_errors",
            "Kiwoom calls that did not succeed, by Kiwoom error code (or error class).",
            ["service", "api_id", "error_code"],
            registry=registry,
        )
        self.token_issuances = Counter(
            "qtp_token_issuances",
            "Access tokens issued by Kiwoom (successful au10001 calls).",
            ["service"],
            registry=registry,
        )
        self.token_issuances.labels(service=service)
        self._call_count = labelled(self.calls)
        self._call_duration = labelled(self.duration)

    def observe(self, record: CallRecord) -> None:
        api_id = api_id_label(record.api_id)
        outcome = record.outcome if record.outcome in ("ok", "error", "unknown") else OTHER
        self._call_count(self.service, api_id, outcome).inc()
        self._call_duration(self.service, api_id).observe(max(record.latency_ms, 0.0) / 1000)
        if record.outcome != "ok":
            self.errors.labels(self.service, api_id, error_code_label(record.error_code)).inc()
        elif record.api_id == TOKEN_ISSUE_API_ID:
            self.token_issuances.labels(self.service).inc()


class HttpMetrics:
    """Requests by route template and status, their duration, open WebSockets."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.requests = Counter(
            "qtp_http_requests",
            "HTTP requests by method, route template and status code.",
            ["service", "method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "qtp_http_request_duration_seconds",
            "HTTP request duration until the response is complete.",
            ["service", "method", "route"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.ws_clients = Gauge(
            "qtp_ws_clients",
            "WebSocket connections open now.",
            ["service"],
            registry=registry,
        )
        self.ws_open = self.ws_clients.labels(service=service)
        self._request_count = labelled(self.requests)
        self._request_duration = labelled(self.duration)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else OTHER
        self._request_count(self.service, method, route, str(status)).inc()
        self._request_duration(self.service, method, route).observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/orders/{order_id}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


HttpLookup = Callable[[Scope], HttpMetrics | None]


class HttpMetricsMiddleware:
    """Pure ASGI middleware: counts HTTP requests by route template and status, and
    open WebSocket connections. ``lookup(scope)`` gives the app's :class:`HttpMetrics`
    (``None``: not ready yet, nothing is recorded)."""

    def __init__(self, app: ASGIApp, lookup: HttpLookup) -> None:
        self.app = app
        self.lookup = lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        metrics = self.lookup(scope)
        if metrics is None:
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            metrics.ws_open.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                metrics.ws_open.dec()
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            try:
                metrics.request(
                    str(scope.get("method", "")),
                    route_template(scope),
                    status[0],
                    time.perf_counter() - started,
                )
            except Exception:
                log.exception("http metrics failed")


def app_state(scope: Scope, name: str) -> Any:
    """``scope["app"].state.<name>`` or ``None``."""
    app = scope.get("app")
    state = getattr(app, "state", None)
    return getattr(state, name, None) if state is not None else None
