"""SessionRegistry: one KiwoomClient per app key, created lazily and shared."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from quantum.adapter.broker import BrokerAuthError, Credentials
from quantum.adapter.schema import Environment
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.settings import REST_URLS, WS_URLS, KiwoomEnvironment, KiwoomSettings

SettingsFor = Callable[[Credentials], KiwoomSettings]
ClientFactory = Callable[[KiwoomSettings], KiwoomClient]


Hosts = Mapping[Environment, tuple[str, str]]
"""(REST base URL, WebSocket URL) per environment."""


def settings_with_keys(base: KiwoomSettings, hosts: Hosts | None = None) -> SettingsFor:
    """``settings_for`` that reuses ``base`` (timeouts, retries) with another key pair.

    The host comes from ``hosts`` when it names the environment, else: ``base``'s own
    URLs for its environment (and for SIMULATOR: an adapter pointed at a simulator),
    Kiwoom's public hosts for the other one."""

    def build(credentials: Credentials) -> KiwoomSettings:
        values = base.model_dump(
            exclude={
                "app_key",
                "app_secret",
                "sandbox_app_key",
                "sandbox_app_secret",
                "production_app_key",
                "production_app_secret",
                "environment",
                "sandbox_mode",
                "rest_url",
                "ws_url",
            }
        )
        env = credentials.environment
        mock = env is Environment.MOCK
        if hosts is not None and env in hosts:
            rest_url, ws_url = hosts[env]
        elif env is Environment.SIMULATOR or base.is_mock == mock:
            rest_url, ws_url = base.rest_url, base.ws_url
        else:
            kiwoom_env = KiwoomEnvironment.MOCK if mock else KiwoomEnvironment.PRODUCTION
            rest_url, ws_url = REST_URLS[kiwoom_env], WS_URLS[kiwoom_env]
        return KiwoomSettings.for_url(
            rest_url,
            credentials.app_key.get_secret_value(),
            credentials.app_secret.get_secret_value(),
            ws_url=ws_url,
            mock=mock,
            **values,
        )

    return build


class SessionRegistry:
    """Hands out the :class:`KiwoomClient` of an app key (by fingerprint).

    ``credentials=None`` selects ``default_settings``' keys. ``settings_for`` turns
    caller-supplied credentials into settings (default: ``default_settings`` with
    the other keys); ``client_factory`` builds the client (tests pass a clock).
    """

    def __init__(
        self,
        default_settings: KiwoomSettings | None,
        settings_for: SettingsFor | None = None,
        *,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self._default = default_settings
        if settings_for is None and default_settings is not None:
            settings_for = settings_with_keys(default_settings)
        self._settings_for = settings_for
        self._factory: ClientFactory = client_factory or KiwoomClient.from_settings
        self._clients: dict[str, KiwoomClient] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def default_fingerprint(self) -> str | None:
        if self._default is None or self._default.app_key is None:
            return None
        return self._default.key_fingerprint

    def fingerprint(self, credentials: Credentials | None) -> str:
        if credentials is not None:
            return credentials.fingerprint
        fingerprint = self.default_fingerprint
        if fingerprint is None:
            raise BrokerAuthError("no Kiwoom app key configured and none given")
        return fingerprint

    def _settings(self, credentials: Credentials | None) -> KiwoomSettings:
        if credentials is None:
            if self._default is None or self._default.app_key is None:
                raise BrokerAuthError("no Kiwoom app key configured and none given")
            if self._default.app_secret is None:
                raise BrokerAuthError("no Kiwoom app secret configured")
            return self._default
        if self._settings_for is None:
            raise BrokerAuthError("this adapter does not accept caller-supplied app keys")
        return self._settings_for(credentials)

    async def client(self, credentials: Credentials | None = None) -> KiwoomClient:
        fingerprint = self.fingerprint(credentials)
        found = self._clients.get(fingerprint)
        if found is not None:
            return found
        async with self._lock:
            if self._closed:
                raise BrokerAuthError("the adapter is shutting down")
            found = self._clients.get(fingerprint)
            if found is None:
                found = self._factory(self._settings(credentials))
                self._clients[fingerprint] = found
            return found

    async def verify(self, credentials: Credentials) -> KiwoomClient:
        """A new client for ``credentials`` whose pair Kiwoom just accepted (a token was
        issued with it, ignoring any cache); it replaces the key's current client.
        A refused pair raises and changes nothing."""
        fingerprint = self.fingerprint(credentials)
        client = self._factory(self._settings(credentials))
        try:
            await client.transport.tokens.verify()
        except BaseException:
            await client.aclose()
            raise
        async with self._lock:
            if self._closed:
                await client.aclose()
                raise BrokerAuthError("the adapter is shutting down")
            previous = self._clients.get(fingerprint)
            self._clients[fingerprint] = client
        if previous is not None:
            await previous.aclose()
        return client

    def fingerprints(self) -> list[str]:
        return sorted(self._clients)

    def clients(self) -> dict[str, KiwoomClient]:
        return dict(self._clients)

    async def aclose(self) -> None:
        async with self._lock:
            self._closed = True
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            await client.aclose()
