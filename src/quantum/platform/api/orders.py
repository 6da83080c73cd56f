"""Orders: the guide's submit and cancel, plus modify, list and detail with history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import Field, StrictInt

from quantum.platform.api.deps import CurrentUser, PlatformDep, Trader
from quantum.platform.api.responses import (
    CALLS_KIWOOM,
    NOT_FOUND,
    SIGNED_IN,
    WITH_BODY,
    Responses,
)
from quantum.platform.api.routing import DeclaredQueryRoute
from quantum.platform.api.schemas import Camel, Input, Instant, Page
from quantum.platform.errors import ApiError, Conflict, ServiceUnavailable, Unprocessable
from quantum.platform.services.accounts import Trading
from quantum.platform.trading.new_order import NewOrder
from quantum.platform.trading.order_types import OrderSide
from quantum.platform.trading.projection import OrderEvent, OrderView
from quantum.platform.trading.service import OrderService
from quantum.platform.trading.states import OrderState
from quantum.platform.trading.store import OrderQuery

router = APIRouter(
    route_class=DeclaredQueryRoute, prefix="/api/v1/orders", tags=["orders"], responses=SIGNED_IN
)

STOCK_CODE = r"^[0-9A-Z]{6}$"
ORDER_LINKS: dict[str, Any] = {
    name: {
        "operationId": f"{operation}_api_v1_orders__orderId__{method}",
        "parameters": {"orderId": "$response.body#/orderId"},
    }
    for name, operation, method in (
        ("GetOrder", "get_order", "get"),
        ("CancelOrder", "cancel_order", "delete"),
        ("ModifyOrder", "modify_order", "patch"),
    )
}
"""What a placed order leads to (OpenAPI links, for clients and tools that follow
them); the operation ids are FastAPI's, of the routes below."""
OrderId = Annotated[str, Path(alias="orderId", pattern=r"^ORD[0-9a-f]{21}$")]
IDEMPOTENCY_KEY_MAX: Final = 128
"""The longest ``Idempotency-Key`` header taken (at least one character)."""


class OrderIn(Input):
    stock_code: str = Field(pattern=STOCK_CODE)
    order_type: str = Field(min_length=1, max_length=32, description="LIMIT, MARKET, ...")
    order_side: OrderSide
    quantity: StrictInt = Field(gt=0)
    price: StrictInt | None = Field(default=None, gt=0)
    stop_price: StrictInt | None = Field(default=None, gt=0)
    client_order_id: str | None = Field(default=None, min_length=1, max_length=64)


class OrderChange(Input):
    price: StrictInt | None = Field(default=None, gt=0)
    quantity: StrictInt | None = Field(default=None, gt=0, description="new remaining quantity")


class OrderOut(Camel):
    order_id: str
    client_order_id: str | None
    kiwoom_account_id: str
    stock_code: str
    order_side: str
    order_type: str
    quantity: int
    price: int | None
    stop_price: int | None
    state: OrderState
    filled_quantity: int
    average_fill_price: int | None
    remaining_quantity: int
    broker_order_no: str | None
    reason: str | None
    reason_code: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, view: OrderView) -> OrderOut:
        return cls(
            order_id=view.order_id,
            client_order_id=view.client_order_id,
            kiwoom_account_id=view.kiwoom_account_id,
            stock_code=view.stock_code,
            order_side=view.side,
            order_type=view.order_type,
            quantity=view.quantity,
            price=view.price,
            stop_price=view.stop_price,
            state=view.state,
            filled_quantity=view.filled_quantity,
            average_fill_price=view.average_fill_price,
            remaining_quantity=view.remaining_quantity,
            broker_order_no=view.broker_order_no,
            reason=view.reason,
            reason_code=view.reason_code,
            created_at=view.created_at,
            updated_at=view.updated_at,
            version=view.version,
        )


class EventOut(Camel):
    seq: int
    type: str
    occurred_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: OrderEvent) -> EventOut:
        hidden = {"user_id", "kiwoom_account_id"}
        data = {k: v for k, v in event.data.items() if k not in hidden}
        return cls(seq=event.seq, type=event.type.value, occurred_at=event.occurred_at, data=data)


class OrderDetail(OrderOut):
    events: list[EventOut]


def order_json(view: OrderView) -> bytes:
    """The order as JSON, serialised once (FastAPI would validate the model again
    before serialising it: the write routes are the hot path)."""
    return OrderOut.of(view).model_dump_json(by_alias=True).encode()


def _answer(view: OrderView, status_code: int = 200) -> Response:
    return Response(order_json(view), status_code=status_code, media_type="application/json")


REFUSED_AS: Final[Mapping[str, type[ApiError]]] = {"broker_unavailable": ServiceUnavailable}
"""A submit the broker did not take, by its ``reasonCode``: Kiwoom unreachable is a
503; a refusal (Kiwoom's own codes) or a submit that never reached Kiwoom, a 409."""


def _rejected(view: OrderView) -> ApiError:
    """A submit the broker refused answers as a refusal before the broker does, with
    an error; the order stays in the user's history, REJECTED with the reason."""
    error = REFUSED_AS.get(view.reason_code or "", Conflict)
    return error(
        f"the order was rejected: {view.reason}",
        code="order_rejected",
        details={"orderId": view.order_id, "state": view.state, "reasonCode": view.reason_code},
    )


SUBMIT_ANSWERS: Responses = {
    201: {"links": ORDER_LINKS},
    200: {
        "model": OrderOut,
        "description": "The first order of this idempotency key",
        "links": ORDER_LINKS,
    },
    202: {
        "model": OrderOut,
        "description": "Sent; Kiwoom's answer was lost (OUTCOME_UNKNOWN)",
        "links": ORDER_LINKS,
    },
}


@router.post(
    "",
    response_model=OrderOut,
    status_code=201,
    responses=SUBMIT_ANSWERS | WITH_BODY | CALLS_KIWOOM,
)
async def submit_order(
    body: OrderIn,
    trader: Trader,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX)
    ] = None,
) -> Response:
    """Checked first (type, tick, limits, session, buying power, holdings): a failed
    check is a 4xx and nothing is recorded or sent. Refused by Kiwoom: a 409
    ``order_rejected`` (503 when Kiwoom is unreachable) naming the order, recorded
    REJECTED. With ``Idempotency-Key`` (or ``clientOrderId``) a repeated submit answers
    as the first did: 200 with the first order, or its refusal."""
    status, content = await place_order(
        trader.platform.orders, trader.user_id, trader.trading, body, idempotency_key
    )
    return Response(content, status_code=status, media_type="application/json")


async def place_order(
    orders: OrderService,
    user_id: str,
    trading: Trading,
    body: OrderIn,
    idempotency_key: str | None,
) -> tuple[int, bytes]:
    """The submit as this route answers it, (status, JSON); an :class:`ApiError` for
    a refusal. Also what :mod:`hot_submit` runs for the requests it serves."""
    order = NewOrder(
        stock_code=body.stock_code,
        side=body.order_side,
        order_type=body.order_type,
        quantity=body.quantity,
        price=body.price,
        stop_price=body.stop_price,
        client_order_id=body.client_order_id,
    )
    if idempotency_key and body.client_order_id and idempotency_key != body.client_order_id:
        raise Unprocessable(
            "Idempotency-Key and clientOrderId differ", code="idempotency_key_mismatch"
        )
    view, created = await orders.submit(user_id, trading, order, idempotency_key)
    if view.state is OrderState.REJECTED:
        raise _rejected(view)
    if not created:
        return 200, order_json(view)
    return (202 if view.state is OrderState.OUTCOME_UNKNOWN else 201), order_json(view)


@router.get("", response_model=Page[OrderOut])
async def list_orders(
    principal: CurrentUser,
    platform: PlatformDep,
    state: Annotated[list[OrderState] | None, Query()] = None,
    stock_code: Annotated[str | None, Query(alias="stockCode", pattern=STOCK_CODE)] = None,
    side: Annotated[OrderSide | None, Query(alias="orderSide")] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[OrderOut]:
    """The caller's orders, newest first."""
    query = OrderQuery(
        user_id=principal.user_id,
        states=tuple(state or ()),
        stock_code=stock_code,
        side=side.value if side else None,
        since=since,
        until=until,
    )
    views, total = await platform.orders.find(query, offset=page * size, limit=size)
    return Page(items=[OrderOut.of(v) for v in views], page=page, size=size, total=total)


@router.get("/{orderId}", response_model=OrderDetail, responses=NOT_FOUND)
async def get_order(
    order_id: OrderId, principal: CurrentUser, platform: PlatformDep
) -> OrderDetail:
    view, events = await platform.orders.history(principal.user_id, order_id)
    return OrderDetail(
        **OrderOut.of(view).model_dump(), events=[EventOut.of(event) for event in events]
    )


AMEND_ANSWERS: Responses = {
    202: {
        "model": OrderOut,
        "description": "Sent; Kiwoom's answer was lost (PENDING_CANCEL or PENDING_MODIFY "
        "until reconciliation finds what the broker did)",
    }
}


def _amended(view: OrderView) -> Response:
    """200 with the order; 202 while the request's outcome is unknown."""
    return _answer(
        view, 202 if view.state in (OrderState.PENDING_CANCEL, OrderState.PENDING_MODIFY) else 200
    )


@router.delete("/{orderId}", response_model=OrderOut, responses=AMEND_ANSWERS | CALLS_KIWOOM)
async def cancel_order(order_id: OrderId, trader: Trader) -> Response:
    """The guide's cancel: the whole remainder."""
    orders = trader.platform.orders
    return _amended(await orders.cancel(trader.user_id, trader.trading, order_id))


@router.patch(
    "/{orderId}", response_model=OrderOut, responses=AMEND_ANSWERS | WITH_BODY | CALLS_KIWOOM
)
async def modify_order(order_id: OrderId, body: OrderChange, trader: Trader) -> Response:
    """``{"price"}`` re-prices the remainder; ``{"quantity"}`` lowers what remains."""
    view = await trader.platform.orders.modify(
        trader.user_id,
        trader.trading,
        order_id,
        price=body.price,
        quantity=body.quantity,
    )
    return _amended(view)
