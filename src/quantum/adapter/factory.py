"""Assembling the in-process adapter: one session registry (REST clients per
app key) and one realtime hub whose feeds use those clients' tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from quantum.adapter.broker import Credentials
from quantum.adapter.realtime.hub import RealtimeHub
from quantum.adapter.realtime.upstream import FeedSource, client_source
from quantum.adapter.service import InProcessBroker
from quantum.adapter.sessions import SessionRegistry, SettingsFor
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.records import Observer
from quantum.kiwoom.settings import KiwoomSettings


def realtime_hub(registry: SessionRegistry, **options: Any) -> RealtimeHub:
    """A hub whose feed for a key logs in with that key's REST client's token.

    ``options`` go to :class:`RealtimeHub` (``max_queue``, ``grace_seconds``) except
    ``stream_options``, which go to every upstream :class:`KiwoomStream`.
    """
    stream_options: dict[str, Any] = options.pop("stream_options", {})

    async def source_for(credentials: Credentials | None) -> FeedSource:
        client = await registry.client(credentials)
        return client_source(
            client,
            fingerprint=registry.fingerprint(credentials),
            ws_url=client.transport.settings.ws_url,
            **stream_options,
        )

    return RealtimeHub(source_for, **options)


def inprocess_broker(
    settings: KiwoomSettings | None,
    *,
    client_factory: Callable[[KiwoomSettings], KiwoomClient] | None = None,
    settings_for: SettingsFor | None = None,
    observer: Observer | None = None,
    clock: Callable[[], datetime] | None = None,
    hub_options: dict[str, Any] | None = None,
    **broker_options: Any,
) -> InProcessBroker:
    """The platform's default broker: REST and realtime for every app key, in process."""
    if client_factory is None:

        def client_factory(settings: KiwoomSettings) -> KiwoomClient:
            return KiwoomClient.from_settings(settings, observer=observer)

    registry = SessionRegistry(settings, settings_for, client_factory=client_factory)
    hub = realtime_hub(registry, **(hub_options or {}))
    if clock is not None:
        broker_options["clock"] = clock
    return InProcessBroker(registry, hub=hub, **broker_options)
