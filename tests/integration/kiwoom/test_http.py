"""The default HTTP client (aiohttp) against loopback servers that misbehave: what
counts as "not sent" (safe to repeat) and what as "may have arrived"."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from quantum.kiwoom.exceptions import OutcomeUnknownError, TransportError, from_http_error
from quantum.kiwoom.http import AiohttpClient, HttpFailure

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/dostk/ordr"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


def _client(read_timeout: float = 5.0) -> AiohttpClient:
    return AiohttpClient(timeout=read_timeout, connect_timeout=1.0, user_agent="test-agent")


async def test_an_answer_keeps_status_headers_and_body() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        body = b'{"return_code":0}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCont-Yn: Y\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    client = _client()
    try:
        async with serve(handler) as url:
            answer = await client.request("POST", url, b'{"a":1}', {"api-id": "kt10000"})
    finally:
        await client.aclose()
    assert answer.status == 200 and answer.content == b'{"return_code":0}'
    assert answer.headers.get("cont-yn") == "Y"  # case-insensitive
    request = seen[0].lower()
    assert b"api-id: kt10000" in request and b"user-agent: test-agent" in request
    assert request.endswith(b'{"a":1}')


async def test_a_refused_connection_was_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = _client()
    try:
        with pytest.raises(HttpFailure) as caught:
            await client.request("POST", f"http://127.0.0.1:{port}/x", b"{}", {})
    finally:
        await client.aclose()
    assert caught.value.sent is False
    error = from_http_error("kt10000", caught.value, order=True)
    assert type(error) is TransportError and error.sent is False


@pytest.mark.parametrize("misbehaviour", ["close", "silence"])
async def test_no_answer_after_the_request_may_have_arrived(misbehaviour: str) -> None:
    """A connection dropped or a read timeout after sending: an order's outcome is
    unknown (the caller must not send it again)."""
    received = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        received.set()
        if misbehaviour == "silence":
            await asyncio.sleep(2)
        writer.close()

    client = _client(read_timeout=0.3)
    try:
        async with serve(handler) as url:
            with pytest.raises(HttpFailure) as caught:
                await client.request("POST", url, b"{}", {})
    finally:
        await client.aclose()
    assert received.is_set()
    assert caught.value.sent is True
    if misbehaviour == "silence":
        assert "timed out" in caught.value.what
    assert isinstance(from_http_error("kt10000", caught.value, order=True), OutcomeUnknownError)
    query = from_http_error("ka10001", caught.value, order=False)
    assert type(query) is TransportError and query.sent is True


def test_proxies_come_from_the_environment_as_with_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "http_proxy", "https_proxy", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = _client()
    assert client.proxy_for("https://api.kiwoom.com/oauth2/token") == "http://proxy.internal:3128"
    assert client.proxy_for("https://api.kiwoom.com/api/dostk/ordr") == "http://proxy.internal:3128"
    assert client.proxy_for("https://127.0.0.1:8200/x") is None  # NO_PROXY
    assert client.proxy_for("http://api.kiwoom.com/x") is None  # no HTTP_PROXY


def test_no_proxy_variables_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert _client().proxy_for("https://api.kiwoom.com/x") is None
