"""The submit's hot path (api/hot_submit.py) answers every request as the FastAPI
route does: the same platform behind two apps, one with the hot path and one
without, asked the same things; and a valid submit never reaches FastAPI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from tests.integration.platform.conftest import USER_PASSWORD, Harness, asgi_client
from tests.integration.platform.test_orders_api import order_body, quote

from quantum.http_errors import MAX_BODY_BYTES
from quantum.platform.api.hot_submit import HotSubmit
from quantum.platform.app import create_platform_app

URL = "/api/v1/orders"
VOLATILE = {"orderId", "brokerOrderNo", "clientOrderId", "createdAt", "updatedAt"}
"""What differs between two orders placed alike (their ids and times)."""


HEADERS = ("content-type", "www-authenticate", "retry-after")
"""The answer's headers that must match too."""


def comparable(answer: httpx.Response) -> tuple[int, Any, list[str | None]]:
    headers = [answer.headers.get(name) for name in HEADERS]
    try:
        body = answer.json()
    except json.JSONDecodeError:
        return answer.status_code, answer.text, headers
    if isinstance(body, dict) and "orderId" in body:
        body = {k: v for k, v in body.items() if k not in VOLATILE}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        details = body["error"].get("details")
        if isinstance(details, dict):  # a refused order names itself
            details.pop("orderId", None)
    return answer.status_code, body, headers


async def chunks(total: int) -> AsyncIterator[bytes]:
    """A body with no Content-Length, larger than the limit."""
    sent = 0
    while sent < total:
        yield b" " * 8192
        sent += 8192


async def test_every_answer_matches_the_fastapi_route(harness: Harness) -> None:
    _user, headers = await harness.trader()
    nobody = await harness.create_user()
    no_account = await harness.login(nobody["username"], USER_PASSWORD)
    q = await quote(harness, headers)
    resting = order_body(price=q["lowerLimit"])
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("resting buy", {"json": resting, "headers": headers}),
        ("marketable buy", {"json": order_body(price=q["upperLimit"]), "headers": headers}),
        ("charset", {"content": json.dumps(resting), "headers": {**headers, "Content-Type": "application/json; charset=utf-8"}}),
        ("off tick", {"json": order_body(price=q["lowerLimit"] + 1), "headers": headers}),
        ("no buying power", {"json": order_body(quantity=10_000_000, price=q["upperLimit"]), "headers": headers}),
        ("no holdings", {"json": order_body(orderSide="SELL", price=q["price"]), "headers": headers}),
        ("unknown type", {"json": order_body(orderType="FANCY", price=q["price"]), "headers": headers}),
        ("string quantity", {"json": order_body(quantity="10", price=q["price"]), "headers": headers}),
        ("unknown field", {"json": {**resting, "colour": "red"}, "headers": headers}),
        ("malformed JSON", {"content": b'{"stockCode": ', "headers": {**headers, **json_type}}),
        ("not UTF-8", {"content": b'{"stockCode": "\xff"}', "headers": {**headers, **json_type}}),
        ("a list", {"json": [resting], "headers": headers}),
        ("empty body", {"content": b"", "headers": {**headers, **json_type}}),
        ("text/plain", {"content": json.dumps(resting), "headers": {**headers, "Content-Type": "text/plain"}}),
        ("no content type", {"content": json.dumps(resting).encode(), "headers": headers}),
        ("no token", {"json": resting}),
        ("basic auth", {"json": resting, "headers": {"Authorization": "Basic dXNlcjpwYXNz"}}),
        ("bearer, no token", {"json": resting, "headers": {"Authorization": "Bearer "}}),
        ("bad token", {"json": resting, "headers": {"Authorization": "Bearer not-a-token"}}),
        ("no credentials", {"json": resting, "headers": no_account}),
        ("query string", {"json": resting, "headers": headers, "params": {"dryRun": "1"}}),
        ("empty key", {"json": resting, "headers": {**headers, "Idempotency-Key": ""}}),
        ("long key", {"json": resting, "headers": {**headers, "Idempotency-Key": "k" * 129}}),
        ("key mismatch", {"json": {**resting, "clientOrderId": "a"}, "headers": {**headers, "Idempotency-Key": "b"}}),
        ("declared too large", {"content": b" " * (MAX_BODY_BYTES + 1), "headers": {**headers, **json_type}}),
        ("streamed too large", {"content": chunks(MAX_BODY_BYTES + 8192), "headers": {**headers, **json_type}}),
    ]  # fmt: skip
    plain = asgi_client(create_platform_app(platform=harness.platform, hot_paths=False))
    try:
        for name, request in cases:
            if not isinstance(request.get("content"), bytes | str | None):
                request_plain = {**request, "content": chunks(MAX_BODY_BYTES + 8192)}
            else:
                request_plain = request
            hot = await harness.client.post(URL, **request)
            through_fastapi = await plain.post(URL, **request_plain)
            assert comparable(hot) == comparable(through_fastapi), name
        repeated = []
        for client, key in ((harness.client, "hot-key"), (plain, "plain-key")):
            keyed = {**headers, "Idempotency-Key": key}
            first = await client.post(URL, json=resting, headers=keyed)
            again = await client.post(URL, json=resting, headers=keyed)
            assert again.json()["orderId"] == first.json()["orderId"]
            repeated.append((comparable(first), comparable(again)))
        assert repeated[0] == repeated[1]
        assert (repeated[0][0][0], repeated[0][1][0]) == (201, 200)
    finally:
        await plain.aclose()


async def test_a_valid_submit_never_reaches_fastapi(harness: Harness) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    app = create_platform_app(platform=harness.platform)
    reached: list[str] = []

    async def fastapi_stand_in(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    hot = HotSubmit(fastapi_stand_in)

    async def entry(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette sets it, for the platform and the route
        await hot(scope, receive, send)

    async with asgi_client(entry) as client:
        placed = await client.post(URL, json=order_body(price=q["lowerLimit"]), headers=headers)
        assert placed.status_code == 201, placed.text
        assert placed.json()["state"] == "ACCEPTED"
        assert reached == []
        malformed = await client.post(URL, json={"stockCode": "005930"}, headers=headers)
        listed = await client.get(URL, headers=headers)
        assert (malformed.status_code, listed.status_code) == (418, 418)
        assert reached == [URL, URL]


@pytest.mark.parametrize("status", [201, 200])
async def test_the_route_template_is_the_metrics_label(harness: Harness, status: int) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    keyed = {**headers, "Idempotency-Key": "label"}
    for _ in range(2 if status == 200 else 1):
        answer = await harness.client.post(
            URL, json=order_body(price=q["lowerLimit"]), headers=keyed
        )
    assert answer.status_code == status
    text = (await harness.client.get("/metrics")).text
    assert f'method="POST",route="{URL}",service="platform",status="{status}"' in text


async def test_a_client_gone_before_its_body_gets_no_answer() -> None:
    called: list[Scope] = []
    sent: list[Any] = []

    async def fastapi_stand_in(scope: Scope, receive: Receive, send: Send) -> None:
        called.append(scope)

    async def disconnect() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": URL,
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer t"), (b"content-type", b"application/json")],
    }
    await HotSubmit(fastapi_stand_in)(scope, disconnect, send)
    assert (called, sent) == ([], [])
