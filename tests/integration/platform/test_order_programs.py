"""Generated trader programs with the simulator's books (Kiwoom's, in production) as the
oracle: Hypothesis draws runs of buys, sells, cancels, re-prices, reductions, clock moves
(a thin book: orders fill in pieces) and reconciliations for the REST API. After each step
the platform must come to agree with the broker: one broker order chain per order, fills
counted once, no broker order it does not know, views their events replay to, refusals
that reached no broker; at the end, the broker's portfolio."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st
from tests.integration.platform.conftest import Harness, error_of, platform_settings
from tests.integration.platform.databases import database
from tests.integration.platform.test_portfolio_api import assert_matches_broker, broker_view
from tests.integration.serving import serve_in_thread
from tests.integration.simulator.conftest import SESSION_START, RunningSimulator
from tests.waiting import eventually

from quantum.krx.rules import tick_up
from quantum.platform.app import create_platform_app
from quantum.platform.core import Platform
from quantum.platform.trading.projection import project
from quantum.platform.trading.states import EventType, OrderState
from quantum.simulator.app import create_app
from quantum.simulator.config import SimulatorConfig
from quantum.simulator.engine.orders import OrderKind, OrderStatus, Side

CODE = "005930"
THIN_BOOK = 0.01
"""The market maker's depth: a few shares a level (some 25 a side), so a marketable order
sweeps several prices and may rest a remainder, and a resting one fills in pieces."""
LAST_MOVE = time(15, 0)
"""The clock is moved no further: the continuous session ends at 15:20."""
FILLS = (EventType.PARTIALLY_FILLED, EventType.FILLED)
NUMBERING = (EventType.ACCEPTED, EventType.MODIFIED)


# -- programs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class At:
    """A price: one of the day's limits, or ``ticks`` from the best bid or ask."""

    anchor: Literal["lowerLimit", "upperLimit", "bid", "ask"]
    ticks: int = 0


@dataclass(frozen=True)
class Buy:
    quantity: int
    at: At | None
    """None: a MARKET order."""


@dataclass(frozen=True)
class Sell:
    tenths: int
    """Of the shares the trader may sell (rounded up); 11 and 12 are more than it has."""
    at: At | None


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


Action = Buy | Sell | Cancel | Reprice | Reduce | Advance | Reconcile

QUANTITIES = st.integers(1, 20)
PICKS = st.integers(0, 99)
"""An earlier order (none placed yet: nothing to do): an even pick chooses among those open
at the broker, if any, an odd one among all (``pick // 2`` modulo their number)."""
AT_LIMIT = st.sampled_from([At("lowerLimit"), At("upperLimit")])
NEAR_BID = st.integers(-3, 1).map(lambda n: At("bid", n))
NEAR_ASK = st.integers(-1, 3).map(lambda n: At("ask", n))
RESTING_BUY = st.one_of(st.just(At("lowerLimit")), st.integers(-3, 0).map(lambda n: At("bid", n)))
MARKETABLE_BUY = st.one_of(
    st.none(), st.just(At("upperLimit")), st.integers(0, 2).map(lambda n: At("ask", n))
)
ANY_SELL = st.one_of(st.none(), AT_LIMIT, st.integers(-2, 0).map(lambda n: At("bid", n)), NEAR_ASK)
WEIGHED_ACTIONS: list[tuple[int, st.SearchStrategy[Action]]] = [
    (2, st.builds(Buy, QUANTITIES, MARKETABLE_BUY)),
    (1, st.builds(Buy, QUANTITIES, RESTING_BUY)),
    (2, st.builds(Sell, st.integers(1, 12), ANY_SELL)),
    (1, st.builds(Cancel, PICKS)),
    (1, st.builds(Reprice, PICKS, st.one_of(AT_LIMIT, NEAR_BID, NEAR_ASK))),
    (1, st.builds(Reduce, PICKS, st.integers(0, 19))),
    (2, st.builds(Advance, st.integers(5, 90))),
    (1, st.just(Reconcile())),
]
"""Marketable buys, sells and clock moves come twice as often: sells need the holdings
those buys make, and the clock fills the remainders they leave."""
ACTIONS = st.one_of(*(action for weight, action in WEIGHED_ACTIONS for _ in range(weight)))

# Programs that always run, for the paths a few generated ones may miss. On a fresh
# simulator: 3 of the 12 fill at two prices; 7 of the second 20 at market; 26 of 33 sold.
AMEND_A_PARTLY_FILLED_ORDER: list[Action] = [
    Buy(12, At("ask", 1)),
    Reprice(0, At("bid", -1)),
    Advance(60),
    Reduce(0, 2),
    Cancel(0),
]
SELL_WHAT_IS_HELD_AND_MORE: list[Action] = [
    Buy(6, At("upperLimit")),
    Sell(12, At("lowerLimit")),
    Sell(5, At("ask", 1)),
    Advance(90),
    Reconcile(),
    Cancel(1),
]
MARKET_REMAINDERS: list[Action] = [
    Buy(20, None),
    Buy(20, None),
    Reduce(0, 5),
    Reprice(0, At("bid", 0)),
    Advance(30),
    Sell(10, None),
]


# -- the broker's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class AtBroker:
    """One simulator order as it stands (copied: the simulator runs on its own thread)."""

    order_no: str
    kind: OrderKind
    original: str
    side: str
    code: str
    price: int
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
            o.price,
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
    if current.is_open:
        return OrderState.PARTIALLY_FILLED if filled else OrderState.ACCEPTED
    return OrderState.FILLED if current.status is OrderStatus.FILLED else OrderState.CANCELLED


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


# -- one trader ----------------------------------------------------------------------------


@dataclass
class Placed:
    order_id: str
    side: str
    order_type: str
    first_broker_no: str
    amendments: int = 0
    """Cancels and reductions the broker took (each leaves a cancel record there)."""


@dataclass
class Trader:
    harness: Harness
    headers: dict[str, str]
    token: str
    account_no: str
    lower_limit: int
    upper_limit: int
    placed: list[Placed] = field(default_factory=list)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.harness.client

    def books(self) -> dict[str, AtBroker]:
        return broker_orders(self.harness, self.account_no)

    def current(self, order: Placed) -> AtBroker:
        return chain_from(order.first_broker_no, self.books())[-1]

    def chosen(self, pick: int) -> Placed:
        working = [order for order in self.placed if self.current(order).is_open]
        among = working if pick % 2 == 0 and working else self.placed
        return among[pick // 2 % len(among)]

    def sellable(self) -> int:
        return self.harness.sim.sim.engine.account(self.account_no).holding(CODE).sellable_qty

    async def price(self, at: At) -> int:
        if at.anchor == "lowerLimit":
            return self.lower_limit
        if at.anchor == "upperLimit":
            return self.upper_limit
        book = await self.client.get(f"/api/v1/stocks/{CODE}/orderbook", headers=self.headers)
        assert book.status_code == 200, book.text
        side = "bids" if at.anchor == "bid" else "asks"
        levels = book.json()[side]
        empty = self.lower_limit if side == "bids" else self.upper_limit
        best = levels[0]["price"] if levels else empty
        return min(max(tick_up(best, at.ticks), self.lower_limit), self.upper_limit)

    async def events_of(self, order: Placed) -> int:
        return len(await self.harness.platform.orders.store.events(order.order_id))

    # -- actions ---------------------------------------------------------------------------

    async def run(self, action: Action) -> None:
        match action:
            case Buy(quantity, at):
                await self.place("BUY", quantity, at)
            case Sell(tenths, at):
                await self.sell(tenths, at)
            case Cancel(pick) if self.placed:
                await self.cancel(self.chosen(pick))
            case Reprice(pick, to) if self.placed:
                await self.reprice(self.chosen(pick), to)
            case Reduce(pick, keep) if self.placed:
                await self.reduce(self.chosen(pick), keep)
            case Advance(seconds):
                await self.advance(seconds)
            case Reconcile():
                await self.harness.platform.supervisor.run_once()

    async def body(self, side: str, quantity: int, at: At | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "stockCode": CODE,
            "orderType": "MARKET" if at is None else "LIMIT",
            "orderSide": side,
            "quantity": quantity,
        }
        if at is not None:
            body["price"] = await self.price(at)
        return body

    async def place(self, side: str, quantity: int, at: At | None) -> None:
        body = await self.body(side, quantity, at)
        answer = await self.client.post("/api/v1/orders", json=body, headers=self.headers)
        assert answer.status_code == 201, (body, answer.text)
        order = answer.json()
        assert order["state"] == "ACCEPTED" and order["brokerOrderNo"], order
        self.placed.append(
            Placed(order["orderId"], side, body["orderType"], order["brokerOrderNo"])
        )

    async def sell(self, tenths: int, at: At | None) -> None:
        sellable = self.sellable()
        quantity = math.ceil(sellable * tenths / 10) or tenths
        if quantity <= sellable:
            await self.place("SELL", quantity, at)
            return
        body = await self.body("SELL", quantity, at)
        books_before = self.books()
        sells_sent = self.harness.sim.sim.requests["kt10001"]
        answer = await self.client.post("/api/v1/orders", json=body, headers=self.headers)
        error_of(answer, 409, "insufficient_holdings")
        assert self.books() == books_before
        assert self.harness.sim.sim.requests["kt10001"] == sells_sent

    async def cancel(self, order: Placed) -> None:
        current = self.current(order)
        url = f"/api/v1/orders/{order.order_id}"
        if not current.is_open:
            cancel = partial(self.client.delete, url, headers=self.headers)
            await self.refused(order, cancel, 409, "order_not_cancellable")
            return
        answer = await self.client.delete(url, headers=self.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "CANCELLED", answer.json()
        order.amendments += 1

    def modify(
        self, order: Placed, change: dict[str, int]
    ) -> Callable[[], Awaitable[httpx.Response]]:
        """The PATCH that asks for ``change``, to send (or see refused) later."""
        url = f"/api/v1/orders/{order.order_id}"
        return partial(self.client.patch, url, json=change, headers=self.headers)

    async def reprice(self, order: Placed, to: At) -> None:
        current = self.current(order)
        price = await self.price(to)
        change = self.modify(order, {"price": price})
        if not current.is_open:
            await self.refused(order, change, 409, "order_not_modifiable")
        elif order.order_type == "MARKET":
            await self.refused(order, change, 422, "invalid_modify")
        else:
            answer = await change()
            assert answer.status_code == 200, answer.text
            view = answer.json()
            assert view["price"] == price and view["brokerOrderNo"] != current.order_no, view
            assert view["state"] in ("ACCEPTED", "PARTIALLY_FILLED"), view

    async def reduce(self, order: Placed, keep: int) -> None:
        current = self.current(order)
        remaining = current.remaining
        quantity = 1 + keep % (remaining - 1) if remaining > 1 else 1
        change = self.modify(order, {"quantity": quantity})
        if not current.is_open:
            await self.refused(order, change, 409, "order_not_modifiable")
        elif remaining == 1:
            await self.refused(order, change, 422, "invalid_quantity")
        else:
            answer = await change()
            assert answer.status_code == 200, answer.text
            assert answer.json()["remainingQuantity"] == quantity, answer.json()
            order.amendments += 1

    async def refused(
        self,
        order: Placed,
        send: Callable[[], Awaitable[httpx.Response]],
        status: int,
        code: str,
    ) -> None:
        """Refused before the broker: nothing sent, nothing recorded."""
        books_before = self.books()
        events_before = await self.events_of(order)
        error_of(await send(), status, code)
        assert self.books() == books_before
        assert await self.events_of(order) == events_before

    async def advance(self, seconds: int) -> None:
        now = self.harness.sim.sim.clock.now()
        last = datetime.combine(now.date(), LAST_MOVE, tzinfo=now.tzinfo)
        seconds = min(seconds, int((last - now).total_seconds()))
        if seconds > 0:
            await asyncio.to_thread(self.harness.sim.advance, seconds)

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

        numbers = [
            str(e.data["broker_order_no"])
            for e in events
            if e.type in NUMBERING and e.data.get("broker_order_no")
        ]
        chain = chain_from(order.first_broker_no, books)
        if numbers != [row.order_no for row in chain]:
            tell(f"{order.order_id}: numbered {numbers}, the broker's chain {chain}")
        if not chain:
            return found
        for number in numbers:
            if claimed.setdefault(number, order.order_id) != order.order_id:
                tell(f"{order.order_id}: {number} is {claimed[number]}'s too")
        head, current = chain[0], chain[-1]
        if head.kind is not OrderKind.NEW or any(
            (row.side, row.code) != (order.side, CODE) for row in chain
        ):
            tell(f"{order.order_id}: a {order.side} of {CODE}, the broker's {chain}")
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
        if view.price != (current.price or None):
            tell(f"{order.order_id}: priced {view.price}, the broker {current.price}")
        if state is not OrderState.CANCELLED and view.quantity != filled + current.remaining:
            tell(
                f"{order.order_id}: quantity {view.quantity}, the broker {filled}+{current.remaining}"
            )

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


async def new_trader(harness: Harness) -> Trader:
    key, secret = "program-key", "program-secret"
    _user, headers = await harness.trader(app_key=key, secret=secret)
    token = await asyncio.to_thread(harness.sim.token, key, secret)
    account_no = await asyncio.to_thread(harness.sim.account_no, token)
    quote = await harness.client.get(f"/api/v1/stocks/{CODE}", headers=headers)
    assert quote.status_code == 200, quote.text
    limits = quote.json()
    return Trader(harness, headers, token, account_no, limits["lowerLimit"], limits["upperLimit"])


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
                    app = create_platform_app(platform=platform)
                    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://platform"
                    ) as client:
                        yield Harness(platform, client, sim)
                finally:
                    await platform.aclose()
        finally:
            await asyncio.to_thread(served.stop)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Each program gets a database of its own, of the kinds ``database_url`` has."""
    kind: str = request.param
    return kind


@pytest.fixture
def scratch(tmp_path: Path) -> Callable[[], Path]:
    """A new directory for each program (Hypothesis runs them all in one test)."""
    numbers = itertools.count()

    def new() -> Path:
        path = tmp_path / f"program{next(numbers)}"
        path.mkdir()
        return path

    return new


@settings(
    max_examples=16,
    deadline=None,
    derandomize=True,
    # not shrunk: a program is short enough to read as drawn, and each failing try
    # would wait out the whole agreement timeout
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(program=AMEND_A_PARTLY_FILLED_ORDER)
@example(program=SELL_WHAT_IS_HELD_AND_MORE)
@example(program=MARKET_REMAINDERS)
@given(program=st.lists(ACTIONS, min_size=3, max_size=12))
async def test_the_platform_keeps_the_brokers_books(
    database_kind: str, scratch: Callable[[], Path], program: list[Action]
) -> None:
    note(f"program: {program}")
    async with fresh_platform(database_kind, scratch()) as harness:
        trader = await new_trader(harness)
        for step, action in enumerate(program, 1):
            await trader.run(action)
            await agree(trader.disagreements, f"after step {step}, {action}")
        await harness.platform.supervisor.run_once()
        await agree(trader.disagreements, "after reconciling at the end")
        await trader.check_portfolio()
        for order in trader.placed:
            await trader.cancel(order)
        await agree(trader.disagreements, "after cancelling every order at the end")
        assert not any(o.is_open for o in trader.books().values())
