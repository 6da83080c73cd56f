"""The remote broker when the adapter fails below HTTP: unreachable is "unavailable"
(nothing was sent), no answer to an order is "outcome unknown" (never re-sent)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from pydantic import SecretStr
from tests.integration.kiwoom.test_http import read_request, serve

from quantum.adapter.broker import BrokerUnavailable, Credentials, OrderOutcomeUnknown
from quantum.adapter.remote import RemoteBroker
from quantum.adapter.schema import Environment, OrderRequest, Side

CREDENTIALS = Credentials(SecretStr("key"), SecretStr("secret"), Environment.SIMULATOR)
ORDER = OrderRequest(stock_code="005930", side=Side.BUY, order_type="LIMIT", quantity=1, price=1)


async def test_an_unreachable_adapter_is_unavailable_for_orders_too() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broker = RemoteBroker(f"http://127.0.0.1:{port}", timeout=2)
    try:
        with pytest.raises(BrokerUnavailable, match="unreachable"):
            await broker.place_order(ORDER, CREDENTIALS)
        with pytest.raises(BrokerUnavailable, match="unreachable"):
            await broker.quote("005930", CREDENTIALS)
    finally:
        await broker.close()


async def test_an_order_the_adapter_never_answered_is_outcome_unknown() -> None:
    requests: list[bytes] = []

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await read_request(reader))
        writer.close()  # read the request, answer nothing

    async with serve(drop) as url:
        broker = RemoteBroker(url.rsplit("/api/", 1)[0], timeout=2)
        try:
            with pytest.raises(OrderOutcomeUnknown):
                await broker.place_order(ORDER, CREDENTIALS)
            assert len(requests) == 1  # sent once, not repeated
            with pytest.raises(BrokerUnavailable, match="did not answer"):
                await broker.quote("005930", CREDENTIALS)
        finally:
            await broker.close()
    assert b"x-kiwoom-app-key: key" in requests[0].lower()
