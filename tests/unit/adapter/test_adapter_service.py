"""Input checks, the session registry and the remote error mapping (no network)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from quantum.adapter.broker import (
    BrokerAuthError,
    BrokerInputError,
    BrokerNotFound,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    Credentials,
    OrderOutcomeUnknown,
)
from quantum.adapter.remote import error_from_response, parse_message
from quantum.adapter.schema import (
    Environment,
    OrderRequest,
    Side,
    StatusMessage,
    SubscribedMessage,
    TickMessage,
)
from quantum.adapter.service import InProcessBroker, check_order
from quantum.adapter.sessions import SessionRegistry
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.http import HttpAnswer
from quantum.kiwoom.orders import OrderType
from quantum.kiwoom.settings import KiwoomSettings


def settings(key: str = "PSunitAPPKEY00000000") -> KiwoomSettings:
    return KiwoomSettings.for_url("http://127.0.0.1:9", key, "SEunitSECRET000000000")


def order(**changes: object) -> OrderRequest:
    values: dict[str, object] = {
        "stock_code": "005930",
        "side": Side.BUY,
        "order_type": "LIMIT",
        "quantity": 1,
        "price": 70000,
    }
    values.update(changes)
    return OrderRequest.model_construct(**values)  # type: ignore[arg-type]


def test_check_order() -> None:
    assert check_order(order()) is OrderType.LIMIT
    assert check_order(order(order_type="market", price=None)) is OrderType.MARKET
    assert check_order(order(order_type="STOP_LIMIT", stop_price=69000)) is OrderType.STOP_LIMIT
    for bad in (
        order(order_type="NOPE"),
        order(price=None),
        order(order_type="MARKET"),
        order(order_type="STOP_LIMIT"),
        order(stock_code="5930"),
        order(quantity=0),
        order(price=-1),
    ):
        with pytest.raises(BrokerInputError):
            check_order(bad)


async def test_registry_one_client_per_key_and_aclose() -> None:
    built: list[KiwoomClient] = []

    def factory(s: KiwoomSettings) -> KiwoomClient:
        client = KiwoomClient.from_settings(s)
        built.append(client)
        return client

    registry = SessionRegistry(settings(), client_factory=factory)
    first = await registry.client()
    assert await registry.client() is first
    other = Credentials(
        SecretStr("PSotherKEY0000000"), SecretStr("SEother000000"), Environment.MOCK
    )
    second = await registry.client(other)
    assert second is not first and await registry.client(other) is second
    assert second.transport.settings.is_mock
    assert second.transport.settings.rest_url == "https://mockapi.kiwoom.com"
    assert registry.fingerprints() == sorted([settings().key_fingerprint, other.fingerprint])
    await registry.aclose()
    assert registry.fingerprints() == []


async def test_registry_without_keys() -> None:
    broker = InProcessBroker(SessionRegistry(None))
    with pytest.raises(BrokerAuthError):
        await broker.quote("005930")
    with pytest.raises(BrokerInputError):
        await broker.quote("bad")  # input is checked first
    with pytest.raises(BrokerUnavailable, match="realtime not configured"):
        await broker.subscribe(["005930"])
    await broker.close()


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "not_found", BrokerNotFound),
        (422, "invalid_input", BrokerInputError),
        (400, "malformed_json", BrokerInputError),
        (401, "broker_auth_failed", BrokerAuthError),
        (409, "rejected", BrokerRejected),
        (503, "broker_unavailable", BrokerUnavailable),
        (504, "order_outcome_unknown", OrderOutcomeUnknown),
    ],
)
def test_error_from_response(status: int, code: str, expected: type) -> None:
    response = httpx.Response(
        status, json={"error": {"code": code, "message": "m", "details": {"kiwoom_code": "1"}}}
    )
    error = error_from_response(response)
    assert type(error) is expected and error.message == "m" and error.kiwoom_code == "1"


def test_error_from_response_rate_limited_and_garbage() -> None:
    body = b'{"error": {"code": "rate_limited", "message": "slow", "details": null}}'
    limited = error_from_response(HttpAnswer(429, httpx.Headers({"Retry-After": "3"}), body))
    assert isinstance(limited, BrokerRateLimited) and limited.retry_after == 3.0
    garbage = error_from_response(HttpAnswer(502, httpx.Headers(), b"<html>"))
    assert isinstance(garbage, BrokerUnavailable)


def test_parse_message() -> None:
    assert isinstance(
        parse_message('{"type":"SUBSCRIBED","stock_codes":["005930"]}'), SubscribedMessage
    )
    assert isinstance(parse_message('{"type":"STATUS","status":"LIVE"}'), StatusMessage)
    tick = parse_message(
        '{"type":"TICK","stock_code":"005930","seq":1,"time":"2026-11-24T10:00:00+09:00",'
        '"price":1,"change":0,"change_rate":"0","quantity":1,"buyer_initiated":true,'
        '"cum_volume":1,"best_ask":2,"best_bid":1}'
    )
    assert isinstance(tick, TickMessage) and tick.seq == 1
    with pytest.raises(ValueError, match="unknown"):
        parse_message('{"type":"NOPE"}')
