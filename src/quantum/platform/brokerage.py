"""The platform's broker: where each account environment's Kiwoom host is, and the
token store and usage log wired into every Kiwoom client.

The platform sees only the :class:`~quantum.adapter.broker.Broker` interface; with
``KIWOOM_ADAPTER_URL`` it is the remote adapter, otherwise the adapter in process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from quantum.adapter.broker import Broker
from quantum.adapter.factory import inprocess_broker
from quantum.adapter.remote import RemoteBroker
from quantum.adapter.schema import Environment
from quantum.adapter.sessions import settings_with_keys
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.ratelimit import OutboundLimiter
from quantum.kiwoom.records import Observer
from quantum.kiwoom.settings import KiwoomSettings, ws_url_for
from quantum.kiwoom.tokens import TokenCache
from quantum.kiwoom.wire import KST


def kiwoom_defaults() -> KiwoomSettings:
    """Timeouts, retries and (for MOCK/PRODUCTION accounts) hosts from ``KIWOOM_*``;
    keys are per account, so none are read here."""
    return KiwoomSettings(app_key=None, app_secret=None)


def build_broker(
    *,
    adapter_url: str | None,
    simulator_url: str | None,
    token_cache: TokenCache,
    observer: Observer,
    base: KiwoomSettings | None = None,
    quote_ttl: float = 1.0,
    hub_options: dict[str, Any] | None = None,
    simulator_clock: Callable[[], datetime] | None = None,
    limiter_for: Callable[[KiwoomSettings], OutboundLimiter] | None = None,
) -> Broker:
    """``simulator_clock``: the simulated market's time, used by the clients of
    SIMULATOR accounts (token expiry, "today" of charts) instead of the wall clock.
    ``limiter_for``: each client's rate limiter (shared by instances through Redis);
    default: the client's own."""
    if adapter_url:
        return RemoteBroker(adapter_url, observer=observer, quote_ttl=quote_ttl)
    base = base or kiwoom_defaults()
    hosts = {}
    if simulator_url is not None:
        hosts[Environment.SIMULATOR] = (simulator_url, ws_url_for(simulator_url))

    def client_factory(settings: KiwoomSettings) -> KiwoomClient:
        shared: dict[str, Any] = {"token_cache": token_cache, "observer": observer}
        if limiter_for is not None:
            shared["limiter"] = limiter_for(settings)
        if simulator_clock is not None and settings.rest_url == simulator_url:
            clock = simulator_clock
            return KiwoomClient.from_settings(
                settings,
                clock=clock,
                today=lambda: clock().astimezone(KST).date(),
                **shared,
            )
        return KiwoomClient.from_settings(settings, **shared)

    return inprocess_broker(
        None,
        settings_for=settings_with_keys(base, hosts),
        client_factory=client_factory,
        quote_ttl=quote_ttl,
        hub_options=hub_options,
    )
