"""The parts of the order programs (test_order_programs.py): the actions a program is
made of, the broker's books read straight from the simulator (the oracle), and the
Trader that runs a program through the REST API and lists where the platform and the
broker disagree."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx
from tests.integration.platform.conftest import (
    Harness,
    asgi_client,
    error_of,
    platform_settings,
)
from tests.integration.platform.databases import database
from tests.integration.platform.test_portfolio_api import assert_matches_broker, broker_view
from tests.integration.serving import serve_in_thread
from tests.integration.simulator.conftest import SESSION_START, RunningSimulator
from tests.waiting import eventually

from quantum.krx.rules import tick_up
from quantum.platform.app import create_platform_app
from quantum.platform.core import Platform
from quantum.platform.trading.order_types import ORDER_TYPES
from quantum.platform.trading.projection import project
from quantum.platform.trading.states import EventType, OrderState
from quantum.simulator.app import create_app
from quantum.simulator.config import SimulatorConfig
from quantum.simulator.engine.order_types import ORDER_TYPES as BROKER_TYPES
from quantum.simulator.engine.order_types import Pricing
from quantum.simulator.engine.orders import OrderKind, OrderStatus, Side

CODE = "005930"
THIN_BOOK = 0.01
"""The market maker's depth: a few shares a level (some 25 a side), so a marketable order
sweeps several prices and may rest a remainder, and a resting one fills in pieces."""
LAST_MOVE = time(15, 0)
"""The clock is moved no further: the continuous session ends at 15:20."""
KIWOOM_TIMEOUT_SECONDS = 1.0
"""The platform's wait for a Kiwoom answer (``KIWOOM_TIMEOUT_SECONDS``): what a lost
answer costs; ample for an answer that comes (the simulator is on loopback)."""
LOST_RESPONSE_SECONDS = KIWOOM_TIMEOUT_SECONDS + 0.5
"""How long the simulator holds back a lost answer: past the platform's timeout."""
LATER = timedelta(minutes=5)
"""How far :meth:`Trader.settle` moves the reconciler's clock: past its grace for an
unknown submit (30 s) and its wait before settling an order no longer open (3 s)."""
FILLS = (EventType.PARTIALLY_FILLED, EventType.FILLED)
NUMBERING = (EventType.ACCEPTED, EventType.MODIFIED)
NO_QUOTE = "RC4060"
"""The broker's refusal of a best, first or mid-price order with no quote to price it."""
NOT_AT_BROKER = "not_at_broker"
"""The reconciler's reason for an unknown submit the broker's lists do not show."""
SubmitFaultKind = Literal["lost", "http500", "business", "error_code"]
FAULTS: dict[SubmitFaultKind, dict[str, Any]] = {
    "lost": {"lose_response": True},
    "http500": {"http_status": 500},
    "business": {"business": "RC4058:모의투자 장종료"},
    "error_code": {"error_code": 1517},
}
"""What the simulator does to the next submit: executes it and never answers; answers
HTTP 500 without executing it; refuses it (a back-office error, an input error)."""
REFUSAL_CODES: dict[SubmitFaultKind, str] = {"business": "RC4058", "error_code": "1517"}


# -- programs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class At:
    """A price: one of the day's limits, or ``ticks`` from the best bid or ask or the
    last price."""

    anchor: Literal["lowerLimit", "upperLimit", "bid", "ask", "last"]
    ticks: int = 0


@dataclass(frozen=True)
class Buy:
    quantity: int
    at: At | None
    """The price sent; None: none."""
    order_type: str | None = None
    """None: LIMIT with a price, MARKET without."""
    stop: At | None = None
    """The ``stopPrice`` sent (STOP_LIMIT needs one, every other type refuses it)."""


@dataclass(frozen=True)
class Sell:
    tenths: int
    """Of the shares the trader may sell (rounded up); 11 and 12 are more than it has."""
    at: At | None
    order_type: str | None = None
    stop: At | None = None


@dataclass(frozen=True)
class Cancel:
    pick: int


@dataclass(frozen=True)
class Reprice:
    pick: int
    to: At


@dataclass(frozen=True)
class Reduce:
    pick: int
    keep: int
    """The new remaining quantity is ``1 + keep % (remaining - 1)`` (1 when 1 remains)."""


@dataclass(frozen=True)
class Advance:
    seconds: int


@dataclass(frozen=True)
class Reconcile:
    pass


@dataclass(frozen=True)
class SubmitFault:
    """The order's submit meets ``fault`` at the broker (kt10000 or kt10001, once)."""

    fault: SubmitFaultKind
    order: Buy | Sell


@dataclass(frozen=True)
class LostAnswer:
    """The broker takes the cancel or change (kt10003, kt10002) but its answer is lost."""

    amend: Cancel | Reduce | Reprice


@dataclass(frozen=True)
class Drop:
    """The broker drops the order stream, then the clock moves (fills happen meanwhile)."""

    seconds: int


Action = (
    Buy | Sell | Cancel | Reprice | Reduce | Advance | Reconcile | SubmitFault | LostAnswer | Drop
)


def type_of(order: Buy | Sell) -> str:
    return order.order_type or ("MARKET" if order.at is None else "LIMIT")


def misshapen(order: Buy | Sell) -> str | None:
    """The code the platform refuses the order's shape with (price first), if any."""
    spec = ORDER_TYPES[type_of(order)]
    for name, given, needed in (
        ("price", order.at is not None, spec.needs_price),
        ("stopPrice", order.stop is not None, spec.needs_stop_price),
    ):
        if given != needed:
            return f"missing_{name}" if needed else f"unexpected_{name}"
    return None


# -- the broker's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class AtBroker:
    """One simulator order as it stands (copied: the simulator runs on its own thread)."""

    order_no: str
    kind: OrderKind
    original: str
    side: str
    code: str
    trde_tp: str
    price: int
    stop_price: int
    status: OrderStatus
    remaining: int
    filled: int
    amount: int
    is_open: bool


def broker_orders(harness: Harness, account_no: str) -> dict[str, AtBroker]:
    return {
        o.order_no: AtBroker(
            o.order_no,
            o.kind,
            o.orig_order_no,
            "BUY" if o.side is Side.BUY else "SELL",
            o.code,
            o.trde_tp,
            o.price,
            o.stop_price,
            o.status,
            o.remaining,
            o.filled_qty,
            o.filled_amount,
            o.is_open,
        )
        for o in harness.sim.sim.engine.orders(account_no)
    }


def chain_from(first: str, books: dict[str, AtBroker]) -> list[AtBroker]:
    """A broker order and the orders its re-prices became (each a new number)."""
    chain = [books[first]] if first in books else []
    while chain:
        following = next(
            (
                o
                for o in books.values()
                if o.kind is OrderKind.MODIFY and o.original == chain[-1].order_no
            ),
            None,
        )
        if following is None:
            break
        chain.append(following)
    return chain


def expected_state(current: AtBroker, filled: int) -> OrderState:
    """The platform's state for a broker order. One that is open (a stop-limit waiting
    for its trigger too) is working. One the broker ended unfilled in part (a cancel,
    an IOC/FOK remainder the exchange cancelled, an expiry) is CANCELLED: the platform
    takes only fills from the order stream, and its reconciler records CANCELLED for
    any order no longer open at the broker with something left (reconcile.py,
    ``_settle``); it never writes EXPIRED."""
    if current.is_open:
        return OrderState.PARTIALLY_FILLED if filled else OrderState.ACCEPTED
    return OrderState.FILLED if current.status is OrderStatus.FILLED else OrderState.CANCELLED


def rejected_order(answer: httpx.Response, code: str) -> str:
    """The order a submit the broker refused with ``code`` recorded (409 ``order_rejected``)."""
    error = error_of(answer, 409, "order_rejected")["error"]
    details = error["details"]
    assert (details["state"], details["reasonCode"]) == ("REJECTED", code), error
    order_id: str = details["orderId"]
    return order_id


async def agree(disagreements: Callable[[], Awaitable[list[str]]], when: str) -> None:
    """Wait until there are none; fail with the last ones found, saying when."""
    found: list[str] = []

    async def none_left() -> bool:
        nonlocal found
        found = await disagreements()
        return not found

    try:
        await eventually(none_left)
    except TimeoutError:
        raise AssertionError("\n".join([f"{when}:", *found])) from None


@dataclass
class ReconcilerClock:
    """The reconciler's clock: the wall clock, moved ``ahead`` for a pass that must find
    its grace and settle periods over (the platform's own poll would, later)."""

    ahead: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


# -- one trader ----------------------------------------------------------------------------


@dataclass
class Placed:
    order_id: str
    side: str
    order_type: str
    first_broker_no: str
    """Empty: the order never reached the broker."""
    amendments: int = 0
    """Cancels and reductions the broker took (each leaves a cancel record there)."""
    refused_code: str | None = None
    """Why the platform must show it REJECTED, when it never reached the broker."""
    unanswered: bool = False
    """Its submit reached the broker but the answer was lost."""


@dataclass
class Trader:
    harness: Harness
    headers: dict[str, str]
    token: str
    account_no: str
    account_id: str
    lower_limit: int
    upper_limit: int
    clock: ReconcilerClock
    placed: list[Placed] = field(default_factory=list)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.harness.client

    def books(self) -> dict[str, AtBroker]:
        return broker_orders(self.harness, self.account_no)

    def current(self, order: Placed) -> AtBroker | None:
        chain = chain_from(order.first_broker_no, self.books())
        return chain[-1] if chain else None

    def is_open(self, order: Placed) -> bool:
        current = self.current(order)
        return current is not None and current.is_open

    def chosen(self, pick: int) -> Placed:
        working = [order for order in self.placed if self.is_open(order)]
        among = working if pick % 2 == 0 and working else self.placed
        return among[pick // 2 % len(among)]

    def sellable(self) -> int:
        return self.harness.sim.sim.engine.account(self.account_no).holding(CODE).sellable_qty

    def sent(self) -> int:
        """Submits that reached the broker."""
        requests = self.harness.sim.sim.requests
        return requests["kt10000"] + requests["kt10001"]

    def missing_quote(self, order_type: str, side: str) -> bool:
        """Whether the broker lacks the quote a best, first or mid-price order is priced
        at: the counter side's best (the market maker's: no other account trades) or
        the own side's (anyone's)."""
        pricing = BROKER_TYPES[ORDER_TYPES[order_type].code].pricing
        engine = self.harness.sim.sim.engine
        maker = engine.market.liquidity(CODE)
        bids, asks = engine.depth(CODE)
        counter = maker.asks if side == "BUY" else maker.bids
        own = bids if side == "BUY" else asks
        needs_counter = pricing in (Pricing.BEST, Pricing.MID)
        needs_own = pricing in (Pricing.FIRST, Pricing.MID)
        return (needs_counter and not counter) or (needs_own and not own)

    async def price(self, at: At) -> int:
        if at.anchor == "lowerLimit":
            return self.lower_limit
        if at.anchor == "upperLimit":
            return self.upper_limit
        if at.anchor == "last":
            quote = await self.client.get(f"/api/v1/stocks/{CODE}", headers=self.headers)
            assert quote.status_code == 200, quote.text
            best = quote.json()["price"]
        else:
            book = await self.client.get(f"/api/v1/stocks/{CODE}/orderbook", headers=self.headers)
            assert book.status_code == 200, book.text
            side = "bids" if at.anchor == "bid" else "asks"
            levels = book.json()[side]
            empty = self.lower_limit if side == "bids" else self.upper_limit
            best = levels[0]["price"] if levels else empty
        return min(max(tick_up(best, at.ticks), self.lower_limit), self.upper_limit)

    async def events_of(self, order: Placed) -> int:
        return len(await self.harness.platform.orders.store.events(order.order_id))

    async def order_count(self) -> int:
        listed = await self.client.get("/api/v1/orders", params={"size": 1}, headers=self.headers)
        assert listed.status_code == 200, listed.text
        total: int = listed.json()["total"]
        return total

    async def settle(self) -> None:
        """Reconcile as the platform's poll would once the grace and settle periods are
        over, without waiting them out: the reconciler's clock is moved past both for
        this one pass (no submit is in flight meanwhile)."""
        self.clock.ahead = LATER
        try:
            await self.harness.platform.supervisor.run_once()
        finally:
            self.clock.ahead = timedelta(0)

    # -- actions ---------------------------------------------------------------------------

    async def run(self, action: Action) -> list[str]:
        """Do ``action``; what it came to (for the statistics)."""
        match action:
            case Buy() | Sell():
                return await self.order(action)
            case Cancel(pick) if self.placed:
                return [f"Cancel: {await self.cancel(self.chosen(pick))}"]
            case Reprice(pick, to) if self.placed:
                return [f"Reprice: {await self.reprice(self.chosen(pick), to)}"]
            case Reduce(pick, keep) if self.placed:
                return [f"Reduce: {await self.reduce(self.chosen(pick), keep)}"]
            case Advance(seconds):
                await self.advance(seconds)
            case Reconcile():
                await self.harness.platform.supervisor.run_once()
            case SubmitFault(fault, order):
                return await self.faulty_submit(fault, order)
            case LostAnswer(amend) if self.placed:
                return await self.unanswered(amend)
            case Drop(seconds):
                return await self.drop(seconds)
        return []

    async def quantity_of(self, order: Buy | Sell) -> int:
        if isinstance(order, Buy):
            return order.quantity
        return math.ceil(self.sellable() * order.tenths / 10) or order.tenths

    async def body(self, order: Buy | Sell, quantity: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "stockCode": CODE,
            "orderType": type_of(order),
            "orderSide": "BUY" if isinstance(order, Buy) else "SELL",
            "quantity": quantity,
        }
        if order.at is not None:
            body["price"] = await self.price(order.at)
        if order.stop is not None:
            body["stopPrice"] = await self.price(order.stop)
        return body

    def refused_before_broker(self, order: Buy | Sell, quantity: int) -> bool:
        """The platform's checks stop it (shape, holdings) or the broker must refuse it
        (no quote): either way no submit of it takes effect at the broker."""
        side = "BUY" if isinstance(order, Buy) else "SELL"
        return (
            misshapen(order) is not None
            or (side == "SELL" and quantity > self.sellable())
            or self.missing_quote(type_of(order), side)
        )

    async def order(self, order: Buy | Sell, quantity: int | None = None) -> list[str]:
        """Place it (``quantity`` shares: None, as :meth:`quantity_of` says), or see it
        refused where it must be."""
        quantity = await self.quantity_of(order) if quantity is None else quantity
        body = await self.body(order, quantity)
        kind = f"{body['orderSide']} {body['orderType']}"
        if (code := misshapen(order)) is not None:
            await self.refused_submit(body, 422, code)
            return [f"{kind}: refused, {code}"]
        if body["orderSide"] == "SELL" and quantity > self.sellable():
            await self.refused_submit(body, 409, "insufficient_holdings")
            return [f"{kind}: refused, insufficient_holdings"]
        if self.missing_quote(body["orderType"], body["orderSide"]):
            await self.refused_by_broker(body, NO_QUOTE)
            return [f"{kind}: refused by the broker, no quote"]
        answer = await self.client.post("/api/v1/orders", json=body, headers=self.headers)
        assert answer.status_code == 201, (body, answer.text)
        view = answer.json()
        assert view["state"] == "ACCEPTED" and view["brokerOrderNo"], view
        placed = Placed(
            view["orderId"], body["orderSide"], body["orderType"], view["brokerOrderNo"]
        )
        self.placed.append(placed)
        current = self.current(placed)
        assert current is not None, (view, self.books())
        if current.status is OrderStatus.PENDING_TRIGGER:
            return [f"{kind}: waiting for its trigger"]
        if not current.is_open and current.status is not OrderStatus.FILLED:
            # ended by the exchange (an IOC/FOK remainder): the order stream tells, and
            # the check after the step waits for the platform to have heard it
            return [f"{kind}: ended by the exchange"]
        if current.is_open:
            return [f"{kind}: {'partly filled, working' if current.filled else 'working'}"]
        return [f"{kind}: filled"]

    async def refused_submit(self, body: dict[str, Any], status: int, code: str) -> None:
        """Refused before the broker: nothing sent, nothing recorded."""
        books_before, sent_before = self.books(), self.sent()
        orders_before = await self.order_count()
        answer = await self.client.post("/api/v1/orders", json=body, headers=self.headers)
        error_of(answer, status, code)
        assert self.books() == books_before
        assert self.sent() == sent_before
        assert await self.order_count() == orders_before

    async def refused_by_broker(self, body: dict[str, Any], code: str) -> None:
        """Sent once and refused by the broker: the answer is a 409 naming the order,
        which is REJECTED; nothing is at the broker."""
        books_before, sent_before = self.books(), self.sent()
        answer = await self.client.post("/api/v1/orders", json=body, headers=self.headers)
        order_id = rejected_order(answer, code)
        assert self.books() == books_before
        assert self.sent() == sent_before + 1
        self.placed.append(
            Placed(order_id, body["orderSide"], body["orderType"], "", refused_code=code)
        )

    async def faulty_submit(self, fault: SubmitFaultKind, order: Buy | Sell) -> list[str]:
        """The submit meets the fault; the platform must not re-send it and, once it has
        reconciled, show what the broker has."""
        quantity = await self.quantity_of(order)
        if self.refused_before_broker(order, quantity):
            # no submit of it takes effect: there is nothing for the fault to meet
            return [f"SubmitFault not met: {what}" for what in await self.order(order)]
        body = await self.body(order, quantity)
        api = "kt10000" if body["orderSide"] == "BUY" else "kt10001"
        control = self.harness.sim.client
        books_before, sent_before = self.books(), self.sent()
        rule = {"api_id": api, "times": 1, **FAULTS[fault]}
        await asyncio.to_thread(control.post, "/_sim/faults", json=rule)
        try:
            answer = await self.client.post("/api/v1/orders", json=body, headers=self.headers)
            assert not self.harness.sim.sim.faults.rules, "the submit did not meet the fault"
        finally:
            await asyncio.to_thread(control.delete, "/_sim/faults")
        assert self.sent() == sent_before + 1, "the submit was sent again"
        books = self.books()
        new = [row for number, row in books.items() if number not in books_before]
        view = answer.json()
        kind = f"{fault} {body['orderSide']} {body['orderType']}"
        if fault in REFUSAL_CODES:
            code = REFUSAL_CODES[fault]
            order_id = rejected_order(answer, code)
            assert not new, new
            self.placed.append(
                Placed(order_id, body["orderSide"], body["orderType"], "", refused_code=code)
            )
            return [f"SubmitFault {kind}"]
        assert answer.status_code == 202, (body, answer.text)
        assert (view["state"], view["brokerOrderNo"]) == ("OUTCOME_UNKNOWN", None), view
        if fault == "lost":
            assert len(new) == 1 and new[0].kind is OrderKind.NEW, new
            placed = Placed(
                view["orderId"],
                body["orderSide"],
                body["orderType"],
                new[0].order_no,
                unanswered=True,
            )
        else:
            assert not new, new  # an HTTP 500: the broker did not execute it
            placed = Placed(
                view["orderId"],
                body["orderSide"],
                body["orderType"],
                "",
                refused_code=NOT_AT_BROKER,
            )
            await self.harness.platform.supervisor.run_once()
            stored = await self.harness.platform.orders.store.get(placed.order_id)
            assert stored is not None and stored.state is OrderState.OUTCOME_UNKNOWN, (
                "rejected within the grace period",
                stored,
            )
        self.placed.append(placed)
        await self.settle()
        return [f"SubmitFault {kind}"]

    async def cancel(self, order: Placed) -> str:
        """Cancel it, or see the cancel refused where it must be; what happened."""
        url = f"/api/v1/orders/{order.order_id}"
        if not self.is_open(order):
            cancel = partial(self.client.delete, url, headers=self.headers)
            return await self.refused(order, cancel, 409, "order_not_cancellable")
        answer = await self.client.delete(url, headers=self.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "CANCELLED", answer.json()
        order.amendments += 1
        return "taken"

    def modify(
        self, order: Placed, change: dict[str, int]
    ) -> Callable[[], Awaitable[httpx.Response]]:
        """The PATCH that asks for ``change``, to send (or see refused) later."""
        url = f"/api/v1/orders/{order.order_id}"
        return partial(self.client.patch, url, json=change, headers=self.headers)

    def reduced_to(self, current: AtBroker, keep: int) -> int:
        remaining = current.remaining
        return 1 + keep % (remaining - 1) if remaining > 1 else 1

    async def reprice(self, order: Placed, to: At) -> str:
        current = self.current(order)
        price = await self.price(to)
        change = self.modify(order, {"price": price})
        if current is None or not current.is_open:
            return await self.refused(order, change, 409, "order_not_modifiable")
        if not ORDER_TYPES[order.order_type].needs_price:
            return await self.refused(order, change, 422, "invalid_modify")
        answer = await change()
        assert answer.status_code == 200, answer.text
        view = answer.json()
        assert view["price"] == price and view["brokerOrderNo"] != current.order_no, view
        assert view["state"] in ("ACCEPTED", "PARTIALLY_FILLED"), view
        return f"taken, {order.order_type}{' partly filled' if view['filledQuantity'] else ''}"

    async def reduce(self, order: Placed, keep: int) -> str:
        current = self.current(order)
        if current is None or not current.is_open:
            change = self.modify(order, {"quantity": 1})
            return await self.refused(order, change, 409, "order_not_modifiable")
        quantity = self.reduced_to(current, keep)
        change = self.modify(order, {"quantity": quantity})
        if current.remaining == 1:
            return await self.refused(order, change, 422, "invalid_quantity")
        answer = await change()
        assert answer.status_code == 200, answer.text
        assert answer.json()["remainingQuantity"] == quantity, answer.json()
        order.amendments += 1
        return f"taken, {order.order_type}"

    async def unanswered(self, amend: Cancel | Reduce | Reprice) -> list[str]:
        """The broker takes the request, its answer is lost: the platform answers with the
        order pending (``OrderService._amend``) and must agree with the broker once it
        has reconciled."""
        order = self.chosen(amend.pick)
        current = self.current(order)
        if (
            current is None
            or not current.is_open
            or (isinstance(amend, Reprice) and not ORDER_TYPES[order.order_type].needs_price)
            or (isinstance(amend, Reduce) and current.remaining == 1)
        ):
            # refused before the broker: there is no answer to lose
            return [f"LostAnswer not met: {what}" for what in await self.run(amend)]
        send: Callable[[], Awaitable[httpx.Response]]
        match amend:
            case Cancel():
                api, pending = "kt10003", "PENDING_CANCEL"
                url = f"/api/v1/orders/{order.order_id}"
                send = partial(self.client.delete, url, headers=self.headers)
            case Reduce(_, keep):
                api, pending = "kt10003", "PENDING_MODIFY"
                send = self.modify(order, {"quantity": self.reduced_to(current, keep)})
            case Reprice(_, to):
                api, pending = "kt10002", "PENDING_MODIFY"
                send = self.modify(order, {"price": await self.price(to)})
        control = self.harness.sim.client
        rule = {"api_id": api, "times": 1, "lose_response": True}
        await asyncio.to_thread(control.post, "/_sim/faults", json=rule)
        try:
            answer = await send()
            assert not self.harness.sim.sim.faults.rules, "the request did not meet the fault"
        finally:
            await asyncio.to_thread(control.delete, "/_sim/faults")
        assert answer.status_code == 202, answer.text
        assert answer.json()["state"] == pending, answer.json()
        if not isinstance(amend, Reprice):
            order.amendments += 1
        await self.settle()
        return [f"LostAnswer {type(amend).__name__}"]

    async def refused(
        self,
        order: Placed,
        send: Callable[[], Awaitable[httpx.Response]],
        status: int,
        code: str,
    ) -> str:
        """Refused before the broker: nothing sent, nothing recorded."""
        books_before = self.books()
        events_before = await self.events_of(order)
        error_of(await send(), status, code)
        assert self.books() == books_before
        assert await self.events_of(order) == events_before
        return f"refused, {code}"

    async def advance(self, seconds: int) -> None:
        now = self.harness.sim.sim.clock.now()
        last = datetime.combine(now.date(), LAST_MOVE, tzinfo=now.tzinfo)
        seconds = min(seconds, int((last - now).total_seconds()))
        if seconds > 0:
            await asyncio.to_thread(self.harness.sim.advance, seconds)

    async def drop(self, seconds: int) -> list[str]:
        """Drop the order stream, move the clock, and wait until the stream is back
        (logged in again, ``00`` registered again): the platform resyncs on its own."""
        sim = self.harness.sim
        registrations = sim.sim.ws_messages["REG"]
        dropped = await asyncio.to_thread(sim.client.post, "/_sim/ws/drop", json={})
        assert dropped.status_code == 200, dropped.text
        filled_before = sum(row.filled for row in self.books().values())
        await self.advance(seconds)
        if not dropped.json()["dropped"]:
            return ["Drop: no stream yet"]
        reports = self.harness.platform.supervisor.reports
        assert reports is not None
        await eventually(lambda: sim.sim.ws_messages["REG"] > registrations)
        await eventually(lambda: reports.is_live(self.account_id))
        filled = sum(row.filled for row in self.books().values()) > filled_before
        return [f"Drop: stream dropped, {'fills' if filled else 'no fills'} meanwhile"]

    # -- what must hold --------------------------------------------------------------------

    async def disagreements(self) -> list[str]:
        books = self.books()
        listed = await self.client.get("/api/v1/orders", params={"size": 200}, headers=self.headers)
        assert listed.status_code == 200, listed.text
        shown = {item["orderId"]: item for item in listed.json()["items"]}
        found: list[str] = []
        if set(shown) != {order.order_id for order in self.placed}:
            found.append(f"listed {sorted(shown)}, placed {[o.order_id for o in self.placed]}")
        claimed: dict[str, str] = {}
        for order in self.placed:
            found += await self.order_disagreements(
                order, shown.get(order.order_id), books, claimed
            )
        for number, row in books.items():
            mine = row.original if row.kind is OrderKind.CANCEL else number
            if mine not in claimed:
                found.append(f"broker order {row} is no order's at the platform")
        return found

    async def order_disagreements(
        self,
        order: Placed,
        shown: dict[str, Any] | None,
        books: dict[str, AtBroker],
        claimed: dict[str, str],
    ) -> list[str]:
        store = self.harness.platform.orders.store
        view = await store.get(order.order_id)
        events = await store.events(order.order_id)
        if view is None or shown is None:
            return [f"{order.order_id}: stored {view}, listed {shown}"]
        found: list[str] = []
        tell = found.append
        if [e.seq for e in events] != list(range(1, len(events) + 1)):
            tell(f"{order.order_id}: event seqs {[e.seq for e in events]}")
        if (replayed := project(events)) != view:
            tell(f"{order.order_id}: stored {view}, replayed {replayed}")
        as_listed = {
            "state": view.state.value,
            "quantity": view.quantity,
            "price": view.price,
            "filledQuantity": view.filled_quantity,
            "remainingQuantity": view.remaining_quantity,
            "averageFillPrice": view.average_fill_price,
            "brokerOrderNo": view.broker_order_no,
            "version": view.version,
        }
        if {key: shown[key] for key in as_listed} != as_listed:
            tell(f"{order.order_id}: listed {shown}, stored {as_listed}")

        numbers = [
            str(e.data["broker_order_no"])
            for e in events
            if e.type in NUMBERING and e.data.get("broker_order_no")
        ]
        chain = chain_from(order.first_broker_no, books)
        unseen = (
            order.unanswered
            and not numbers
            and len(chain) == 1
            and not chain[0].is_open
            and chain[0].filled == 0
        )
        if unseen:
            # Its answer lost, the order was ended unfilled at once (an IOC/FOK that did
            # not trade): neither the broker's open orders nor its fills show it, so the
            # reconciler cannot tell it from a submit that never arrived, and must say so.
            if "ended at once" not in (view.reason or ""):
                tell(f"{order.order_id}: ended unfilled at once, the platform's {view.reason}")
            claimed.setdefault(chain[0].order_no, order.order_id)
            order = Placed(
                order.order_id, order.side, order.order_type, "", refused_code=NOT_AT_BROKER
            )
            chain = []
        if numbers != [row.order_no for row in chain]:
            tell(f"{order.order_id}: numbered {numbers}, the broker's chain {chain}")
        if not chain:
            rejected = (OrderState.REJECTED, order.refused_code, 0, 0, None)
            shows = (
                view.state,
                view.reason_code,
                view.filled_quantity,
                view.remaining_quantity,
                view.broker_order_no,
            )
            if shows != rejected:
                tell(f"{order.order_id}: not at the broker, the platform's {shows}")
            return found
        for number in numbers:
            if claimed.setdefault(number, order.order_id) != order.order_id:
                tell(f"{order.order_id}: {number} is {claimed[number]}'s too")
        head, current = chain[0], chain[-1]
        code = ORDER_TYPES[order.order_type].code
        if head.kind is not OrderKind.NEW or any(
            (row.side, row.code, row.trde_tp) != (order.side, CODE, code) for row in chain
        ):
            tell(f"{order.order_id}: a {order.side} {order.order_type} of {CODE}: {chain}")
        if any(row.is_open for row in chain[:-1]):
            tell(f"{order.order_id}: re-priced, its former orders open at the broker: {chain}")
        cancels = sum(o.kind is OrderKind.CANCEL and o.original in numbers for o in books.values())
        if cancels != order.amendments:
            tell(f"{order.order_id}: {order.amendments} cancels taken, the broker has {cancels}")

        filled = sum(row.filled for row in chain)
        amount = sum(row.amount for row in chain)
        counted = sum(int(e.data["fill_quantity"]) for e in events if e.type in FILLS)
        state = expected_state(current, filled)
        if (view.state, view.filled_quantity, counted, view.remaining_quantity) != (
            state,
            filled,
            filled,
            current.remaining,
        ):
            tell(
                f"{order.order_id}: {view.state} filled {view.filled_quantity} (events:"
                f" {counted}) remaining {view.remaining_quantity}; the broker's {state}"
                f" filled {filled} remaining {current.remaining}: {chain}"
            )
        # the broker's average (ka10076) is truncated to KRW: a fill recorded from it may be
        # off by a won or so a share; a fill at a wrong price is off by a tick (100 here)
        if abs(view.filled_amount - amount) >= 2 * max(filled, 1):
            tell(f"{order.order_id}: filled for {view.filled_amount} KRW, the broker {amount}")
        if (view.price, view.stop_price) != (current.price or None, current.stop_price or None):
            tell(
                f"{order.order_id}: priced {view.price} (stop {view.stop_price}),"
                f" the broker {current.price} (stop {current.stop_price})"
            )
        if state is not OrderState.CANCELLED and view.quantity != filled + current.remaining:
            tell(
                f"{order.order_id}: quantity {view.quantity}, the broker {filled}+{current.remaining}"
            )
        return found

    async def check_portfolio(self) -> None:
        answer = await self.client.get("/api/v1/portfolio", headers=self.headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        deposit, balance = await asyncio.to_thread(broker_view, self.harness, self.token)
        assert_matches_broker(body, deposit, balance)
        open_at_broker = [o for o in self.books().values() if o.is_open]
        assert body["openOrders"] == len(open_at_broker), (body, open_at_broker)
        net = 0
        for order in self.placed:
            events = await self.harness.platform.orders.store.events(order.order_id)
            bought = sum(int(e.data["fill_quantity"]) for e in events if e.type in FILLS)
            net += bought if order.side == "BUY" else -bought
        held = sum(h["quantity"] for h in body["holdings"] if h["stockCode"] == CODE)
        assert net == held, (net, body["holdings"])


async def new_trader(harness: Harness, key: str = "program-key") -> Trader:
    """A trader with an account of its own (the simulator opens one per app key); the
    reconciler's clock becomes the one it can move (shared by the traders of a platform:
    the reconciler has one)."""
    secret = "program-secret"
    _user, headers = await harness.trader(app_key=key, secret=secret)
    token = await asyncio.to_thread(harness.sim.token, key, secret)
    account_no = await asyncio.to_thread(harness.sim.account_no, token)
    quote = await harness.client.get(f"/api/v1/stocks/{CODE}", headers=headers)
    assert quote.status_code == 200, quote.text
    limits = quote.json()
    mine = await harness.client.get("/api/v1/kiwoom-accounts/me", headers=headers)
    assert mine.status_code == 200, mine.text
    reconciler = harness.platform.supervisor.reconciler
    clock = reconciler._clock
    if not isinstance(clock, ReconcilerClock):
        clock = reconciler._clock = ReconcilerClock()
    return Trader(
        harness,
        headers,
        token,
        account_no,
        mine.json()["kiwoomAccountId"],
        limits["lowerLimit"],
        limits["upperLimit"],
        clock,
    )


@asynccontextmanager
async def fresh_platform(kind: str, scratch: Path) -> AsyncIterator[Harness]:
    """A new database, simulator and platform: every program starts from the same
    market, so a failing one replays as it failed."""
    with database(kind, scratch) as url:
        config = SimulatorConfig.model_validate(
            {
                "clock": "fixed",
                "start": SESSION_START,
                "rate_limit": {"per_second": 1000},
                "liquidity_scale": THIN_BOOK,
                "lost_response_seconds": LOST_RESPONSE_SECONDS,
            }
        )
        simulator = create_app(config)
        served = serve_in_thread(simulator, "simulator")
        try:
            with httpx.Client(base_url=served.base_url, timeout=10.0) as control:
                sim = RunningSimulator(simulator.state.sim, served.base_url, control)
                settings = platform_settings(url, scratch / "data", simulator_url=sim.base_url)
                platform = await Platform.start(settings, simulator_clock=sim.sim.clock.now)
                try:
                    async with asgi_client(create_platform_app(platform=platform)) as client:
                        yield Harness(platform, client, sim)
                finally:
                    await platform.aclose()
        finally:
            await asyncio.to_thread(served.stop)


# -- two traders on one book ---------------------------------------------------------------


PairAction = Buy | Sell | Cancel
"""What a trader may do in a :class:`Together` step: place an order or cancel one."""


@dataclass(frozen=True)
class Together:
    """Trader 0 does ``first`` while trader 1 does ``second``, both sent at once.

    Allowed only where the oracle stays exact whichever reaches the broker first
    (:func:`concurrent`): two orders (the broker decides who trades with whom, and the
    books say what it decided), two cancels, or a cancel and an order that cannot
    trade against the cancelled one. A sell must be one its trader's holdings cover
    (they can only grow meanwhile: the other's order may fill a resting buy), so that
    its refusal never depends on the race. A step that is none of these runs as two,
    in turn, the platform agreeing with the broker in between."""

    first: PairAction
    second: PairAction


Step = tuple[int, Action] | Together
"""A trader's index and its action, or a :class:`Together` of both traders."""


@dataclass(frozen=True)
class CrossTrade:
    """One execution of two user orders (of different accounts: no self-trades)."""

    taker: str
    maker: str
    price: int
    quantity: int


def watch_cross_trades(harness: Harness) -> list[CrossTrade]:
    """Record every execution between two user orders at the simulator, as it happens
    (the engine's ``_trade`` is its one place of execution; a fill alone does not name
    its counterparty)."""
    engine = harness.sim.sim.engine
    seen: list[CrossTrade] = []
    trade = engine._trade

    def recorded(taker: Any, planned: Any) -> None:
        trade(taker, planned)
        if planned.order_no is not None:
            seen.append(CrossTrade(taker.order_no, planned.order_no, planned.price, planned.qty))

    engine._trade = recorded  # type: ignore[method-assign]
    return seen


async def concurrent(traders: list[Trader], step: Together) -> str | None:
    """Why ``step`` cannot run concurrently with an exact oracle (None: it can)."""
    pair = (step.first, step.second)
    for trader, action, other in zip(traders, pair, reversed(pair), strict=True):
        if (
            isinstance(action, Sell)
            and not 0 < await trader.quantity_of(action) <= trader.sellable()
        ):
            return "a sell its holdings may not cover"
        if isinstance(action, Cancel):
            if not trader.placed or not trader.is_open(trader.chosen(action.pick)):
                return "a cancel of an order no longer open"
            side = "BUY" if isinstance(other, Buy) else "SELL"
            if not isinstance(other, Cancel) and trader.chosen(action.pick).side != side:
                return "an order that may trade against the cancelled one"
    return None


async def run_step(traders: list[Trader], step: Step) -> list[str]:
    """Do ``step``; what it came to (for the statistics)."""
    if not isinstance(step, Together):
        index, action = step
        return await traders[index].run(action)
    why_not = await concurrent(traders, step)
    if why_not is not None:
        # as two steps: the first's fills of the other's orders are heard before the
        # second's checks rely on the platform knowing them (a cancel, a sell)
        done = await traders[0].run(step.first)
        for index, trader in enumerate(traders):
            await agree(trader.disagreements, f"trader {index} after {step.first} in turn")
        done += await traders[1].run(step.second)
        return [f"Together in turn: {why_not}", *done]
    # what each does is settled before either is sent: the other's order may fill this
    # one's resting orders meanwhile, and change which is picked or what it may sell
    sends: list[Awaitable[list[str]]] = []
    for trader, action in zip(traders, (step.first, step.second), strict=True):
        if isinstance(action, Cancel):
            order = trader.chosen(action.pick)
            sends.append(labelled("Cancel: ", trader.cancel(order)))
        else:
            sends.append(trader.order(action, await trader.quantity_of(action)))
    both = await asyncio.gather(*sends)
    return ["Together at once", *both[0], *both[1]]


async def labelled(prefix: str, outcome: Awaitable[str]) -> list[str]:
    return [prefix + await outcome]


def cross_trade_disagreements(traders: list[Trader], trades: list[CrossTrade]) -> list[str]:
    """Each execution between the traders is a fill of an order of each, at the broker:
    the per-order checks then see it counted once in each account at the platform."""
    found: list[str] = []
    for trade in trades:
        owners = [
            trader.account_no
            for trader in traders
            for number in (trade.taker, trade.maker)
            if number in trader.books()
        ]
        if sorted(owners) != sorted(t.account_no for t in traders):
            found.append(f"{trade}: its orders are {owners}'s")
    return found
