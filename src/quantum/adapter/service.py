"""InProcessBroker: the Broker protocol on a SessionRegistry (+ the realtime hub)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Final, Protocol, TypeVar

from quantum.adapter import convert
from quantum.adapter.broker import (
    BrokerError,
    BrokerInputError,
    BrokerUnavailable,
    Credentials,
    Subscription,
    quote_key,
)
from quantum.adapter.cache import TTLCache
from quantum.adapter.charts import MAX_COUNT, ChartService
from quantum.adapter.schema import (
    Balance,
    BrokerOrder,
    CancelRequest,
    Chart,
    Deposit,
    Listing,
    ModifyRequest,
    OrderAck,
    OrderBook,
    OrderRequest,
    Period,
    Quote,
    Side,
    TokenInfo,
)
from quantum.adapter.sessions import SessionRegistry
from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.exceptions import KiwoomError
from quantum.kiwoom.orders import InvalidArgumentError, OrderType
from quantum.kiwoom.wire import KST

T = TypeVar("T")

STOCK_CODE: Final = re.compile(r"[0-9A-Z]{6}")
ORDER_NO: Final = re.compile(r"\d{1,10}")
MARKETS: Final = ("KOSPI", "KOSDAQ")


class RealtimeHubLike(Protocol):
    async def subscribe(
        self, stock_codes: list[str], credentials: Credentials | None, *, orders: bool = False
    ) -> Subscription: ...


def _now_kst() -> datetime:
    return datetime.now(KST)


# -- input checks (before anything reaches Kiwoom) -----------------------------------------------


def check_stock_code(value: object) -> str:
    if not isinstance(value, str) or not STOCK_CODE.fullmatch(value):
        raise BrokerInputError(f"stock code must be 6 characters (0-9, A-Z): {value!r}")
    return value


def check_order_no(value: object) -> str:
    if not isinstance(value, str) or not ORDER_NO.fullmatch(value):
        raise BrokerInputError(f"order number must be 1-10 digits: {value!r}")
    return value


def check_market(value: object) -> str:
    if not isinstance(value, str) or value.upper() not in MARKETS:
        raise BrokerInputError(f"market must be KOSPI or KOSDAQ: {value!r}")
    return value.upper()


def check_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise BrokerInputError(f"count must be an int in 1..{MAX_COUNT}: {value!r}")
    return value


def _positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BrokerInputError(f"{name} must be a positive int: {value!r}")


def check_order(order: OrderRequest) -> OrderType:
    check_stock_code(order.stock_code)
    try:
        order_type = OrderType.from_name(order.order_type)
    except InvalidArgumentError:
        names = ", ".join(t.name for t in OrderType)
        raise BrokerInputError(f"unknown order_type {order.order_type!r}; one of {names}") from None
    _positive("quantity", order.quantity)
    for name, value, needed in (
        ("price", order.price, order_type.needs_price),
        ("stop_price", order.stop_price, order_type.needs_stop_price),
    ):
        if value is None and needed:
            raise BrokerInputError(f"{order_type.name} orders need {name}")
        if value is not None and not needed:
            raise BrokerInputError(f"{order_type.name} orders take no {name}")
        if value is not None:
            _positive(name, value)
    return order_type


# -- the broker ----------------------------------------------------------------------------------


class InProcessBroker:
    """Implements :class:`~quantum.adapter.broker.Broker` in this process."""

    def __init__(
        self,
        registry: SessionRegistry,
        hub: RealtimeHubLike | None = None,
        quote_ttl: float = 1.0,
        *,
        chart_ttl: float = 1.0,
        clock: Callable[[], datetime] = _now_kst,
    ) -> None:
        self.registry = registry
        self.hub = hub
        self._clock = clock
        self._quotes: TTLCache[tuple[str, str], Quote] = TTLCache(quote_ttl)
        self.charts = ChartService(lambda: self._clock().astimezone(KST).date(), ttl=chart_ttl)

    async def _run(
        self, credentials: Credentials | None, call: Callable[[KiwoomClient], Awaitable[T]]
    ) -> T:
        client = await self.registry.client(credentials)
        try:
            return await call(client)
        except KiwoomError as exc:
            raise convert.broker_error(exc) from None
        except InvalidArgumentError as exc:
            raise BrokerInputError(str(exc)) from None

    # -- market data ------------------------------------------------------------------------

    async def token(self, credentials: Credentials | None = None) -> TokenInfo:
        async def call(client: KiwoomClient) -> TokenInfo:
            return convert.token(await client.transport.tokens.get())

        return await self._run(credentials, call)

    async def verify_credentials(self, credentials: Credentials) -> TokenInfo:
        try:
            client = await self.registry.verify(credentials)
            token = await client.transport.tokens.peek()
        except KiwoomError as exc:
            raise convert.broker_error(exc) from None
        if token is None:
            raise BrokerUnavailable("the verified token was not kept")
        return convert.token(token)

    async def quote(self, stock_code: str, credentials: Credentials | None = None) -> Quote:
        code = check_stock_code(stock_code)

        async def call(client: KiwoomClient) -> Quote:
            return convert.quote(await client.stock_info(code), self._clock())

        return await self._quotes.get_or_load(
            quote_key(code, credentials), lambda: self._run(credentials, call)
        )

    async def order_book(
        self, stock_code: str, credentials: Credentials | None = None
    ) -> OrderBook:
        code = check_stock_code(stock_code)

        async def call(client: KiwoomClient) -> OrderBook:
            return convert.order_book(code, await client.order_book(code))

        return await self._run(credentials, call)

    async def listings(self, market: str, credentials: Credentials | None = None) -> list[Listing]:
        name = check_market(market)

        async def call(client: KiwoomClient) -> list[Listing]:
            rows = await client.stock_list("KOSPI" if name == "KOSPI" else "KOSDAQ")
            return [convert.listing(row, name) for row in rows]

        return await self._run(credentials, call)

    async def chart(
        self,
        stock_code: str,
        period: Period,
        *,
        count: int = 200,
        until: date | None = None,
        credentials: Credentials | None = None,
    ) -> Chart:
        code = check_stock_code(stock_code)
        try:
            period = Period(period)
        except ValueError:
            raise BrokerInputError(f"unknown chart period: {period!r}") from None
        check_count(count)
        if until is not None and not isinstance(until, date):
            raise BrokerInputError(f"until must be a date: {until!r}")
        fingerprint = self.registry.fingerprint(credentials)

        async def call(client: KiwoomClient) -> Chart:
            return await self.charts.chart(
                fingerprint, client, code, period, count=count, until=until
            )

        return await self._run(credentials, call)

    # -- orders -----------------------------------------------------------------------------

    async def place_order(
        self, order: OrderRequest, credentials: Credentials | None = None
    ) -> OrderAck:
        order_type = check_order(order)

        async def call(client: KiwoomClient) -> OrderAck:
            place = client.buy if order.side is Side.BUY else client.sell
            ack = await place(
                order.stock_code,
                order.quantity,
                order_type,
                price=order.price,
                stop_price=order.stop_price,
            )
            return convert.order_ack(ack)

        return await self._run(credentials, call)

    async def modify_order(
        self, order_no: str, change: ModifyRequest, credentials: Credentials | None = None
    ) -> OrderAck:
        number = check_order_no(order_no)
        check_stock_code(change.stock_code)
        _positive("price", change.price)
        if change.quantity < 0:
            raise BrokerInputError("quantity must be >= 0")

        async def call(client: KiwoomClient) -> OrderAck:
            ack = await client.modify(number, change.stock_code, change.quantity, change.price)
            return convert.amend_ack(ack)

        return await self._run(credentials, call)

    async def cancel_order(
        self, order_no: str, cancel: CancelRequest, credentials: Credentials | None = None
    ) -> OrderAck:
        number = check_order_no(order_no)
        check_stock_code(cancel.stock_code)
        if cancel.quantity < 0:
            raise BrokerInputError("quantity must be >= 0")

        async def call(client: KiwoomClient) -> OrderAck:
            return convert.amend_ack(
                await client.cancel(number, cancel.stock_code, cancel.quantity)
            )

        return await self._run(credentials, call)

    async def open_orders(self, credentials: Credentials | None = None) -> list[BrokerOrder]:
        async def call(client: KiwoomClient) -> list[BrokerOrder]:
            return [convert.broker_order(row) for row in await client.open_orders()]

        return await self._run(credentials, call)

    async def fills(self, credentials: Credentials | None = None) -> list[BrokerOrder]:
        async def call(client: KiwoomClient) -> list[BrokerOrder]:
            return [convert.broker_order(row) for row in await client.fills()]

        return await self._run(credentials, call)

    # -- account ----------------------------------------------------------------------------

    async def deposit(self, credentials: Credentials | None = None) -> Deposit:
        async def call(client: KiwoomClient) -> Deposit:
            return convert.deposit(await client.deposit())

        return await self._run(credentials, call)

    async def balance(self, credentials: Credentials | None = None) -> Balance:
        async def call(client: KiwoomClient) -> Balance:
            return convert.balance(await client.balance())

        return await self._run(credentials, call)

    # -- realtime, health, lifecycle --------------------------------------------------------

    async def subscribe(
        self,
        stock_codes: list[str],
        credentials: Credentials | None = None,
        *,
        orders: bool = False,
    ) -> Subscription:
        codes = [check_stock_code(code) for code in stock_codes]
        if self.hub is None:
            raise BrokerUnavailable("realtime not configured")
        try:
            return await self.hub.subscribe(codes, credentials, orders=orders)
        except KiwoomError as exc:
            raise convert.broker_error(exc) from None

    async def health(self) -> dict[str, Any]:
        """Per app key fingerprint: the REST session's token state (no secrets)."""
        keys: dict[str, Any] = {}
        for fingerprint, client in self.registry.clients().items():
            token = await client.transport.tokens.peek()
            keys[fingerprint] = {
                "token_valid_until": token.expires_at.isoformat() if token else None,
            }
        return {"status": "ok", "default_key": self.registry.default_fingerprint, "keys": keys}

    async def close(self) -> None:
        """Close the realtime feeds first (they use the registry's tokens), then the clients."""
        closer = getattr(self.hub, "aclose", None)
        if closer is not None:
            await closer()
        await self.registry.aclose()


__all__ = ["BrokerError", "InProcessBroker", "RealtimeHubLike"]
