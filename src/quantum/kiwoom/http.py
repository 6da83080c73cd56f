"""The HTTP under a TR call (and the platform's calls to a remote adapter): one
request and its answer, or a failure that says whether the request may have left
this machine (then an order's outcome is unknown).

aiohttp by default: per request it costs a fifth of httpx's CPU (0.08 vs 0.42 ms
measured against the simulator), and a platform sends every order through here.
An ``httpx.AsyncClient`` given by the caller (mock and ASGI transports, event hooks
in tests and tools) is used as it is."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Protocol
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass

import aiohttp
import certifi
import httpx

KEEPALIVE_SECONDS = 5.0
"""Idle connections are dropped after this (below any server's keep-alive, so a
request is never written into a connection the server is closing)."""
MAX_CONNECTIONS = 64


class HttpFailure(Exception):
    """No HTTP answer. ``sent``: the request may have reached the server."""

    def __init__(self, what: str, *, sent: bool) -> None:
        super().__init__(what)
        self.what = what
        self.sent = sent


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    """Case-insensitive."""
    content: bytes


Params = Mapping[str, str]


class HttpClient(Protocol):
    async def request(
        self,
        method: str,
        url: str,
        payload: bytes | None,
        headers: Mapping[str, str],
        params: Params | None = None,
    ) -> HttpAnswer:
        """Raises :class:`HttpFailure` when there is no answer."""
        ...

    async def aclose(self) -> None: ...

    @property
    def is_closed(self) -> bool: ...


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying context (certifi's roots, as httpx uses) for every key's
    connections: building one costs milliseconds."""
    return ssl.create_default_context(cafile=certifi.where())


_NOT_SENT_AIOHTTP = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.InvalidURL,
)
"""Failures before any byte of the request left: no connection (refused, DNS, TLS
handshake), no free connection in time, a malformed URL."""


def _what(exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return f"timed out ({type(exc).__name__})"
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class AiohttpClient:
    """One connection pool (per app key, as Kiwoom counts connections per key)."""

    def __init__(
        self, *, timeout: float, connect_timeout: float, user_agent: str | None = None
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=connect_timeout, sock_read=timeout
        )
        self._headers = {"User-Agent": user_agent} if user_agent else {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._proxies = getproxies_environment()
        self._proxy_by_origin: dict[tuple[str, str], str | None] = {}

    def proxy_for(self, url: str) -> str | None:
        """HTTP(S)_PROXY / NO_PROXY as httpx applied them, decided once per origin
        (aiohttp's ``trust_env`` reads the environment on every request: 0.35 ms)."""
        if not self._proxies:
            return None
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname or "")
        if origin not in self._proxy_by_origin:
            proxy = self._proxies.get(parts.scheme)
            if proxy and proxy_bypass(origin[1]):
                proxy = None
            self._proxy_by_origin[origin] = proxy
        return self._proxy_by_origin[origin]

    @property
    def is_closed(self) -> bool:
        return self._closed

    def _open(self) -> aiohttp.ClientSession:
        # created on first use: an aiohttp session belongs to the running loop
        if self._closed:
            raise HttpFailure("the HTTP client is closed", sent=False)
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS, ssl=tls_context()
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, headers=self._headers
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        payload: bytes | None,
        headers: Mapping[str, str],
        params: Params | None = None,
    ) -> HttpAnswer:
        try:
            session = self._open()
            async with session.request(
                method, url, data=payload, headers=headers, params=params, proxy=self.proxy_for(url)
            ) as response:
                content = await response.read()
                return HttpAnswer(response.status, response.headers, content)
        except _NOT_SENT_AIOHTTP as exc:
            raise HttpFailure(_what(exc), sent=False) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # timeouts after connecting, dropped connections, broken answers
            raise HttpFailure(_what(exc), sent=True) from None

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


_NOT_SENT_HTTPX = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


class HttpxClient:
    """A caller's ``httpx.AsyncClient`` (which the caller closes)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(
        self,
        method: str,
        url: str,
        payload: bytes | None,
        headers: Mapping[str, str],
        params: Params | None = None,
    ) -> HttpAnswer:
        try:
            response = await self.client.request(
                method, url, content=payload, headers=dict(headers), params=params
            )
        except httpx.HTTPError as exc:
            raise httpx_failure(exc) from None
        return HttpAnswer(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        """The caller's client stays open."""

    @property
    def is_closed(self) -> bool:
        return self.client.is_closed


def httpx_failure(exc: httpx.HTTPError) -> HttpFailure:
    return HttpFailure(_what(exc), sent=not isinstance(exc, _NOT_SENT_HTTPX))


def http_client_for(
    http: httpx.AsyncClient | HttpClient | None,
    *,
    timeout: float,
    connect_timeout: float,
    user_agent: str | None,
) -> tuple[HttpClient, bool]:
    """(the client, whether the caller must close it): the given one,
    else a new aiohttp pool."""
    if http is None:
        return AiohttpClient(
            timeout=timeout, connect_timeout=connect_timeout, user_agent=user_agent
        ), True
    if isinstance(http, httpx.AsyncClient):
        return HttpxClient(http), False
    return http, False
