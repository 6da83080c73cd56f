"""The adapter's HTTP API (FastAPI): the Broker over REST, JSON errors, /health, /docs."""

from __future__ import annotations

import importlib
import logging
from datetime import date
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, SecretStr

from quantum.adapter.broker import (
    Broker,
    BrokerAuthError,
    BrokerError,
    BrokerInputError,
    BrokerRateLimited,
    Credentials,
)
from quantum.adapter.charts import MAX_COUNT, parse_period
from quantum.adapter.schema import (
    Balance,
    BrokerOrder,
    CancelRequest,
    Chart,
    Deposit,
    Environment,
    Listing,
    ModifyRequest,
    OrderAck,
    OrderBook,
    OrderRequest,
    Quote,
    TokenInfo,
)
from quantum.http_errors import (
    BODY_ERRORS,
    BodyLimit,
    error_body,
    error_responses,
    install_common_handlers,
)

log = logging.getLogger(__name__)

STOCK_CODE_PATTERN = r"^[0-9A-Z]{6}$"
ORDER_NO_PATTERN = r"^\d{1,10}$"

KIWOOM_CALL = error_responses(401, 404, 409, 422, 429, 500, 502, 503, 504)
"""What a route that calls Kiwoom may answer besides its result: an incomplete or
refused key 401, an unknown stock or order 404, an order Kiwoom refused 409, bad
input 422, and Kiwoom's own limits and failures."""
KIWOOM_CALL_WITH_BODY = KIWOOM_CALL | BODY_ERRORS

StockCode = Annotated[str, Path(pattern=STOCK_CODE_PATTERN, description="6 characters")]
OrderNo = Annotated[str, Path(pattern=ORDER_NO_PATTERN, description="Kiwoom order number")]


class TokenRequest(BaseModel):
    """Optional body of ``POST /api/fn_au10001``: the app key to issue a token for."""

    model_config = ConfigDict(extra="forbid")

    app_key: SecretStr | None = None
    app_secret: SecretStr | None = None
    environment: Environment = Environment.MOCK
    verify: bool = False
    """Issue with exactly this pair at Kiwoom, ignoring cached tokens (a credential check)."""


def _credentials(
    app_key: str | None, app_secret: str | None, environment: str | None
) -> Credentials | None:
    if app_key is None and app_secret is None:
        return None
    if not app_key or not app_secret:
        raise BrokerAuthError("X-Kiwoom-App-Key and X-Kiwoom-App-Secret go together")
    try:
        env = Environment((environment or Environment.MOCK.value).lower())
    except ValueError:
        raise BrokerInputError(
            f"X-Kiwoom-Environment must be mock, production or simulator: {environment!r}"
        ) from None
    return Credentials(SecretStr(app_key), SecretStr(app_secret), env)


async def header_credentials(
    x_kiwoom_app_key: Annotated[str | None, Header(include_in_schema=True)] = None,
    x_kiwoom_app_secret: Annotated[str | None, Header()] = None,
    x_kiwoom_environment: Annotated[str | None, Header()] = None,
) -> Credentials | None:
    """The caller's app key from the ``X-Kiwoom-*`` headers (None: the configured keys)."""
    return _credentials(x_kiwoom_app_key, x_kiwoom_app_secret, x_kiwoom_environment)


Creds = Annotated[Credentials | None, Depends(header_credentials)]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BrokerError)
    async def broker_error(request: Request, exc: BrokerError) -> JSONResponse:
        details: dict[str, Any] | None = (
            {"kiwoom_code": exc.kiwoom_code} if exc.kiwoom_code else None
        )
        headers: dict[str, str] = {}
        if isinstance(exc, BrokerRateLimited):
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            details = {**(details or {}), "retry_after": exc.retry_after}
        return JSONResponse(
            error_body(exc.code, exc.message, details), status_code=exc.status, headers=headers
        )

    install_common_handlers(app)


def _include_realtime(app: FastAPI, hub: Any) -> Any:
    """Mount ``WS /ws/realtime`` when ``realtime/`` is available and a hub is given;
    answers the realtime health function (None without one)."""
    if hub is None:
        return None
    try:
        module = importlib.import_module("quantum.adapter.realtime.router")
    except ImportError:
        return None
    router = getattr(module, "router", None)
    if router is not None:
        app.include_router(router)
    health = getattr(module, "health", None)
    if health is not None:
        return health
    hub_health = getattr(hub, "health", None)
    return (lambda _hub: hub_health()) if hub_health is not None else None


def create_adapter_app(broker: Broker, *, hub: Any = None) -> FastAPI:
    """The adapter API on ``broker`` (``hub``: the realtime hub for ``WS /ws/realtime``)."""
    app = FastAPI(
        title="Quantum Kiwoom adapter",
        version="0.1.0",
        description="Normalized Kiwoom REST + realtime access, one session per app key.",
    )
    app.state.broker = broker
    app.state.hub = hub
    app.state.realtime_hub = hub
    _install_error_handlers(app)
    app.add_middleware(BodyLimit)

    @app.post(
        "/api/fn_au10001", response_model=TokenInfo, tags=["auth"], responses=KIWOOM_CALL_WITH_BODY
    )
    async def issue_token(
        credentials: Creds, body: Annotated[TokenRequest | None, Body()] = None
    ) -> TokenInfo:
        if body is not None and (body.app_key is not None or body.app_secret is not None):
            credentials = _credentials(
                body.app_key.get_secret_value() if body.app_key else None,
                body.app_secret.get_secret_value() if body.app_secret else None,
                body.environment.value,
            )
        if body is not None and body.verify:
            if credentials is None:
                raise BrokerInputError("verify needs app_key and app_secret")
            return await broker.verify_credentials(credentials)
        return await broker.token(credentials)

    @app.get(
        "/api/stocks/{stock_code}", response_model=Quote, tags=["market"], responses=KIWOOM_CALL
    )
    async def quote(stock_code: StockCode, credentials: Creds) -> Quote:
        return await broker.quote(stock_code, credentials)

    @app.get(
        "/api/stocks/{stock_code}/orderbook",
        response_model=OrderBook,
        tags=["market"],
        responses=KIWOOM_CALL,
    )
    async def order_book(stock_code: StockCode, credentials: Creds) -> OrderBook:
        return await broker.order_book(stock_code, credentials)

    @app.get("/api/stocks", response_model=list[Listing], tags=["market"], responses=KIWOOM_CALL)
    async def listings(
        credentials: Creds,
        market: Annotated[str, Query(pattern="^(KOSPI|KOSDAQ)$")] = "KOSPI",
    ) -> list[Listing]:
        return await broker.listings(market, credentials)

    @app.get(
        "/api/chart/{stock_code}/{period}",
        response_model=Chart,
        tags=["market"],
        responses=KIWOOM_CALL,
    )
    async def chart(
        stock_code: StockCode,
        period: Annotated[str, Path(description="D, W, M, Y or minutes: 1, 5, 10, 30, 60")],
        credentials: Creds,
        count: Annotated[int, Query(ge=1, le=MAX_COUNT)] = 200,
        until: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
    ) -> Chart:
        return await broker.chart(
            stock_code, parse_period(period), count=count, until=until, credentials=credentials
        )

    @app.post(
        "/api/orders", response_model=OrderAck, tags=["orders"], responses=KIWOOM_CALL_WITH_BODY
    )
    async def place_order(order: OrderRequest, credentials: Creds) -> OrderAck:
        return await broker.place_order(order, credentials)

    @app.patch(
        "/api/orders/{order_no}",
        response_model=OrderAck,
        tags=["orders"],
        responses=KIWOOM_CALL_WITH_BODY,
    )
    async def modify_order(
        order_no: OrderNo, change: ModifyRequest, credentials: Creds
    ) -> OrderAck:
        return await broker.modify_order(order_no, change, credentials)

    @app.delete(
        "/api/orders/{order_no}",
        response_model=OrderAck,
        tags=["orders"],
        responses=KIWOOM_CALL_WITH_BODY,
    )
    async def cancel_order(
        order_no: OrderNo, cancel: CancelRequest, credentials: Creds
    ) -> OrderAck:
        return await broker.cancel_order(order_no, cancel, credentials)

    @app.get(
        "/api/orders/open", response_model=list[BrokerOrder], tags=["orders"], responses=KIWOOM_CALL
    )
    async def open_orders(credentials: Creds) -> list[BrokerOrder]:
        return await broker.open_orders(credentials)

    @app.get(
        "/api/orders/fills",
        response_model=list[BrokerOrder],
        tags=["orders"],
        responses=KIWOOM_CALL,
    )
    async def fills(credentials: Creds) -> list[BrokerOrder]:
        return await broker.fills(credentials)

    @app.get(
        "/api/account/deposit", response_model=Deposit, tags=["account"], responses=KIWOOM_CALL
    )
    async def deposit(credentials: Creds) -> Deposit:
        return await broker.deposit(credentials)

    @app.get(
        "/api/account/balance", response_model=Balance, tags=["account"], responses=KIWOOM_CALL
    )
    async def balance(credentials: Creds) -> Balance:
        return await broker.balance(credentials)

    realtime_health = _include_realtime(app, hub)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, Any]:
        report: dict[str, Any] = {"status": "ok"}
        broker_health = getattr(broker, "health", None)
        if broker_health is not None:
            report.update(await broker_health())
        report["realtime"] = realtime_health(hub) if realtime_health is not None else None
        return report

    return app
