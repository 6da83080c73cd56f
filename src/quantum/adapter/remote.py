"""RemoteBroker: the Broker protocol over the adapter's HTTP API and WebSocket."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, Final, TypeVar

import httpx
import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from quantum.adapter import calls
from quantum.adapter.broker import (
    BrokerAuthError,
    BrokerError,
    BrokerInputError,
    BrokerNotFound,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    Credentials,
    OrderOutcomeUnknown,
    Subscription,
    quote_key,
)
from quantum.adapter.cache import TTLCache
from quantum.adapter.schema import (
    Balance,
    BrokerOrder,
    CancelRequest,
    Chart,
    Deposit,
    ErrorMessage,
    Listing,
    ModifyRequest,
    OrderAck,
    OrderBook,
    OrderRequest,
    OrderUpdateMessage,
    Period,
    Quote,
    RealtimeMessage,
    StatusMessage,
    StreamStatus,
    SubscribedMessage,
    TickMessage,
    TokenInfo,
    UnsubscribedMessage,
)
from quantum.kiwoom.http import HttpAnswer, HttpClient, HttpFailure, http_client_for
from quantum.kiwoom.records import Observer

M = TypeVar("M", bound=BaseModel)

ERRORS_BY_CODE: Final[dict[str, type[BrokerError]]] = {
    cls.code: cls
    for cls in (
        BrokerError,
        BrokerInputError,
        BrokerNotFound,
        BrokerAuthError,
        BrokerRateLimited,
        BrokerRejected,
        BrokerUnavailable,
        OrderOutcomeUnknown,
    )
}
"""Error JSON ``code`` → BrokerError subclass (the adapter's own codes)."""
INPUT_CODES: Final = frozenset({"invalid_input", "malformed_json", "bad_request"})

MESSAGE_TYPES: Final[dict[str, type[BaseModel]]] = {
    "TICK": TickMessage,
    "ORDER": OrderUpdateMessage,
    "STATUS": StatusMessage,
    "SUBSCRIBED": SubscribedMessage,
    "UNSUBSCRIBED": UnsubscribedMessage,
    "ERROR": ErrorMessage,
}


SUBSCRIBE_OPEN_TIMEOUT: Final = 30.0
"""Seconds ``RemoteBroker.subscribe`` waits for the adapter's WebSocket handshake
(the adapter may be logging in to Kiwoom's realtime socket first)."""


def credential_headers(credentials: Credentials | None) -> dict[str, str]:
    if credentials is None:
        return {}
    return {
        "X-Kiwoom-App-Key": credentials.app_key.get_secret_value(),
        "X-Kiwoom-App-Secret": credentials.app_secret.get_secret_value(),
        "X-Kiwoom-Environment": credentials.environment.value,
    }


def error_from_response(response: HttpAnswer) -> BrokerError:
    """The BrokerError an adapter error answer stands for."""
    try:
        body = orjson.loads(response.content)
        error = body["error"]
        code = str(error["code"])
        message = str(error.get("message") or code)
        details = error.get("details")
    except (ValueError, KeyError, TypeError):
        return BrokerUnavailable(f"adapter answered HTTP {response.status}")
    kiwoom_code = details.get("kiwoom_code") if isinstance(details, dict) else None
    if code in INPUT_CODES:
        return BrokerInputError(message, kiwoom_code=kiwoom_code)
    if code == BrokerRateLimited.code:
        retry_after = 1.0
        if isinstance(details, dict) and isinstance(details.get("retry_after"), int | float):
            retry_after = float(details["retry_after"])
        else:
            with contextlib.suppress(ValueError):
                retry_after = float(response.headers.get("Retry-After", "1"))
        return BrokerRateLimited(message, retry_after=retry_after, kiwoom_code=kiwoom_code)
    cls = ERRORS_BY_CODE.get(code)
    if cls is None:
        cls = BrokerNotFound if response.status == 404 else BrokerError
    return cls(message, kiwoom_code=kiwoom_code)


def parse_message(raw: str | bytes) -> RealtimeMessage:
    """One WebSocket frame of the adapter → its schema message (by ``type``)."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("realtime frame is not a JSON object")
    cls = MESSAGE_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown realtime message type: {data.get('type')!r}")
    message: RealtimeMessage = cls.model_validate(data)  # type: ignore[assignment]
    return message


class RemoteSubscription:
    """A :class:`Subscription` on the adapter's ``WS /ws/realtime``."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    async def _send(self, kind: str, stock_codes: list[str]) -> None:
        await self._connection.send(json.dumps({"type": kind, "stock_codes": stock_codes}))

    async def messages(self) -> AsyncIterator[RealtimeMessage]:
        try:
            async for frame in self._connection:
                try:
                    yield parse_message(frame)
                except (ValueError, ValidationError) as exc:
                    yield ErrorMessage(code="bad_frame", message=str(exc)[:200])
        except ConnectionClosed:
            pass
        yield StatusMessage(status=StreamStatus.CLOSED, detail="adapter connection closed")

    async def add(self, stock_codes: list[str]) -> None:
        await self._send("SUBSCRIBE", stock_codes)

    async def remove(self, stock_codes: list[str]) -> None:
        await self._send("UNSUBSCRIBE", stock_codes)

    async def close(self) -> None:
        await self._connection.close()


CLOSE_TIMEOUT = 1.0
"""Seconds to wait for the adapter's answer to a close: a platform stopping with many
users' sockets open must not spend its graceful-shutdown time on handshakes."""


class RemoteBroker:
    """Implements :class:`~quantum.adapter.broker.Broker` against ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient | HttpClient | None = None,
        timeout: float = 30.0,
        observer: Observer | None = None,
        quote_ttl: float = 1.0,
    ) -> None:
        """``quote_ttl``: a quote is kept that long and shared by every user of one
        environment (pre-trade checks fetch one per order; the adapter keeps them
        as long, so a round trip to it saves nothing newer)."""
        self.base_url = base_url.rstrip("/")
        self._observer = observer
        """Gets the Kiwoom calls the adapter reports for each request (``X-Kiwoom-Calls``)."""
        # every user's calls share one pool (aiohttp; a caller's httpx client in tests)
        self._http, self._owns_http = http_client_for(
            http, timeout=timeout, connect_timeout=timeout, user_agent=None
        )
        self._quotes: TTLCache[tuple[str, str], Quote] = TTLCache(quote_ttl)

    @property
    def ws_url(self) -> str:
        base = self.base_url
        if base.startswith("https://"):
            base = "wss://" + base.removeprefix("https://")
        elif base.startswith("http://"):
            base = "ws://" + base.removeprefix("http://")
        return base + "/ws/realtime"

    async def _request(
        self,
        method: str,
        path: str,
        credentials: Credentials | None,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        order: bool = False,
    ) -> Any:
        headers = credential_headers(credentials)
        payload = None
        if json_body is not None:
            payload = orjson.dumps(json_body)
            headers["Content-Type"] = "application/json"
        query = {name: str(value) for name, value in params.items()} if params else None
        try:
            response = await self._http.request(
                method, self.base_url + path, payload, headers, query
            )
        except HttpFailure as exc:
            if not exc.sent:
                raise BrokerUnavailable(f"adapter unreachable: {exc.what}") from None
            if order:
                raise OrderOutcomeUnknown(
                    f"order sent to the adapter but no answer ({exc.what})"
                ) from None
            raise BrokerUnavailable(f"adapter did not answer: {exc.what}") from None
        reported = response.headers.get(calls.HEADER)
        if reported and self._observer is not None:
            fingerprint = credentials.fingerprint if credentials is not None else "-"
            for record in calls.decode(reported, fingerprint):
                self._observer(record)
        if response.status >= 400:
            raise error_from_response(response)
        return orjson.loads(response.content)

    async def _model(self, model: type[M], *args: Any, **kwargs: Any) -> M:
        return model.model_validate(await self._request(*args, **kwargs))

    async def _list(self, model: type[M], *args: Any, **kwargs: Any) -> list[M]:
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        result: list[M] = adapter.validate_python(await self._request(*args, **kwargs))
        return result

    async def token(self, credentials: Credentials | None = None) -> TokenInfo:
        return await self._model(TokenInfo, "POST", "/api/fn_au10001", credentials)

    async def verify_credentials(self, credentials: Credentials) -> TokenInfo:
        body = {
            "app_key": credentials.app_key.get_secret_value(),
            "app_secret": credentials.app_secret.get_secret_value(),
            "environment": credentials.environment.value,
            "verify": True,
        }
        return await self._model(TokenInfo, "POST", "/api/fn_au10001", None, json_body=body)

    async def quote(self, stock_code: str, credentials: Credentials | None = None) -> Quote:
        return await self._quotes.get_or_load(
            quote_key(stock_code, credentials),
            lambda: self._model(Quote, "GET", f"/api/stocks/{stock_code}", credentials),
        )

    async def order_book(
        self, stock_code: str, credentials: Credentials | None = None
    ) -> OrderBook:
        path = f"/api/stocks/{stock_code}/orderbook"
        return await self._model(OrderBook, "GET", path, credentials)

    async def listings(self, market: str, credentials: Credentials | None = None) -> list[Listing]:
        params = {"market": market}
        return await self._list(Listing, "GET", "/api/stocks", credentials, params=params)

    async def chart(
        self,
        stock_code: str,
        period: Period,
        *,
        count: int = 200,
        until: date | None = None,
        credentials: Credentials | None = None,
    ) -> Chart:
        params: dict[str, Any] = {"count": count}
        if until is not None:
            params["until"] = until.isoformat()
        value = period.value if isinstance(period, Period) else str(period)
        path = f"/api/chart/{stock_code}/{value}"
        return await self._model(Chart, "GET", path, credentials, params=params)

    async def place_order(
        self, order: OrderRequest, credentials: Credentials | None = None
    ) -> OrderAck:
        body = order.model_dump(mode="json")
        return await self._model(
            OrderAck, "POST", "/api/orders", credentials, json_body=body, order=True
        )

    async def modify_order(
        self, order_no: str, change: ModifyRequest, credentials: Credentials | None = None
    ) -> OrderAck:
        body = change.model_dump(mode="json")
        path = f"/api/orders/{order_no}"
        return await self._model(OrderAck, "PATCH", path, credentials, json_body=body, order=True)

    async def cancel_order(
        self, order_no: str, cancel: CancelRequest, credentials: Credentials | None = None
    ) -> OrderAck:
        body = cancel.model_dump(mode="json")
        path = f"/api/orders/{order_no}"
        return await self._model(OrderAck, "DELETE", path, credentials, json_body=body, order=True)

    async def open_orders(self, credentials: Credentials | None = None) -> list[BrokerOrder]:
        return await self._list(BrokerOrder, "GET", "/api/orders/open", credentials)

    async def fills(self, credentials: Credentials | None = None) -> list[BrokerOrder]:
        return await self._list(BrokerOrder, "GET", "/api/orders/fills", credentials)

    async def deposit(self, credentials: Credentials | None = None) -> Deposit:
        return await self._model(Deposit, "GET", "/api/account/deposit", credentials)

    async def balance(self, credentials: Credentials | None = None) -> Balance:
        return await self._model(Balance, "GET", "/api/account/balance", credentials)

    async def subscribe(
        self,
        stock_codes: list[str],
        credentials: Credentials | None = None,
        *,
        orders: bool = False,
    ) -> Subscription:
        """``WS /ws/realtime`` (``?orders=1`` with ``orders``). The adapter completes
        the handshake only once the subscription (and the order-update registration)
        is in place, hence the generous ``open_timeout``."""
        url = self.ws_url + ("?orders=1" if orders else "")
        try:
            connection = await connect(
                url,
                additional_headers=credential_headers(credentials),
                open_timeout=SUBSCRIBE_OPEN_TIMEOUT,
                close_timeout=CLOSE_TIMEOUT,
            )
        except (TimeoutError, OSError) as exc:
            raise BrokerUnavailable(f"adapter realtime unreachable: {type(exc).__name__}") from None
        except Exception as exc:  # websockets' handshake errors (e.g. 404: no realtime)
            raise BrokerUnavailable(f"adapter realtime refused: {type(exc).__name__}") from None
        subscription = RemoteSubscription(connection)
        if stock_codes:
            await subscription.add(list(stock_codes))
        return subscription

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()
