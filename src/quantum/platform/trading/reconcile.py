"""Broker reports move orders along: snapshots of open orders and fills (polled,
and at start-up), and realtime order messages when the stream is up.

Kiwoom has no client order id, so an order whose submit had no answer is found
by what it was: same account, stock, side, quantity and price, placed after it
was recorded and not yet claimed by another order. If none shows up within the
grace period, it never reached Kiwoom and is marked rejected; it is never re-sent.
A cancel or change whose answer was lost is settled by what the broker shows: a
re-price's new order (it names the order it replaced), a reduced remainder, an
order no longer open; nothing of it within the grace period means the broker never
took it, and the order is working again. Fills are keyed by the broker order's
cumulative filled quantity, so a fill seen by polling and by the stream is written
once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from weakref import WeakValueDictionary

from quantum.adapter.schema import BrokerOrder, Side
from quantum.platform.services.accounts import Trading
from quantum.platform.services.usage import acting_for
from quantum.platform.trading.order_types import ENDS_AT_ONCE
from quantum.platform.trading.projection import OrderView
from quantum.platform.trading.service import OrderService
from quantum.platform.trading.states import EventType, OrderState
from quantum.platform.trading.store import OrderQuery

log = logging.getLogger(__name__)

UNSETTLED = (
    OrderState.PENDING_NEW,
    OrderState.OUTCOME_UNKNOWN,
    OrderState.ACCEPTED,
    OrderState.PARTIALLY_FILLED,
    OrderState.PENDING_CANCEL,
    OrderState.PENDING_MODIFY,
)


PENDING_REQUEST = (OrderState.PENDING_CANCEL, OrderState.PENDING_MODIFY)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _matches(view: OrderView, broker: BrokerOrder) -> bool:
    side = Side.BUY if view.side == "BUY" else Side.SELL
    return (
        broker.stock_code == view.stock_code
        and broker.side is side
        and broker.quantity == view.quantity
        and (view.price is None or broker.price == view.price)
        and broker.original_order_no in (None, "")
    )


class Reconciler:
    def __init__(
        self,
        orders: OrderService,
        *,
        unknown_grace: timedelta = timedelta(seconds=30),
        settle_after: timedelta = timedelta(seconds=3),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._orders = orders
        self._store = orders.store
        self._unknown_grace = unknown_grace
        self._settle_after = settle_after
        self._clock = clock
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._filling: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        """Per order while fills of it are applied or wait (see :meth:`apply_fill`)."""
        self._deferred: set[str] = set()
        """Accounts whose last sync saw an order gone from the broker's lists too soon
        after its last change to settle it (see :meth:`recheck_after`)."""

    def recheck_after(self, account_id: str) -> float | None:
        """Seconds after which the account's last sync should be repeated, or None:
        it left an order that is no longer open at the broker unsettled only because
        it changed a moment ago (an IOC or FOK order ended by the exchange before the
        order stream was up, say), which nothing else might report."""
        return self._settle_after.total_seconds() if account_id in self._deferred else None

    async def sync(self, user_id: str, trading: Trading) -> int:
        """Bring the user's unsettled orders in line with the broker; the number of
        events written. One sync per account at a time: two would claim and settle
        the same orders, and the one that lost the race would return early."""
        async with self._locks[trading.kiwoom_account_id]:
            return await self._sync(user_id, trading)

    async def _sync(self, user_id: str, trading: Trading) -> int:
        self._deferred.discard(trading.kiwoom_account_id)
        views, _ = await self._store.find(
            OrderQuery(user_id=user_id, states=UNSETTLED), limit=10_000
        )
        views = [v for v in views if v.kiwoom_account_id == trading.kiwoom_account_id]
        if not views:
            return 0
        broker = self._orders.broker
        with acting_for(user_id, trading.kiwoom_account_id):
            open_orders = await broker.open_orders(trading.credentials)
            fills = await broker.fills(trading.credentials)
        snapshot: dict[str, BrokerOrder] = {}
        for row in [*open_orders, *fills]:  # a tie goes to the fills list (ka10076)
            known = snapshot.get(row.order_no)
            if known is None or row.filled_quantity >= known.filled_quantity:
                snapshot[row.order_no] = row
        open_numbers = {row.order_no for row in open_orders}
        written = 0
        for view in sorted(views, key=lambda v: v.created_at):
            if view.broker_order_no is None:
                written += await self._find_unknown(view, snapshot)
            elif view.state in PENDING_REQUEST:
                written += await self._settle_request(view, snapshot, open_numbers)
            else:
                written += await self._settle(
                    view, snapshot.get(view.broker_order_no), view.broker_order_no in open_numbers
                )
        if written:
            self._orders.ledger.invalidate(trading.kiwoom_account_id)
        return written

    async def _find_unknown(self, view: OrderView, snapshot: dict[str, BrokerOrder]) -> int:
        age = self._clock() - view.created_at
        if view.state is OrderState.PENDING_NEW and age < self._unknown_grace:
            return 0  # its submit is probably still in flight
        for number, row in sorted(snapshot.items()):
            if not _matches(view, row):
                continue
            claimed = await self._store.by_broker_order_no(view.kiwoom_account_id, number)
            if claimed is not None:
                continue
            accepted = await self._orders.record(
                view.order_id,
                EventType.ACCEPTED,
                {"broker_order_no": number, "reason": "found at the broker by reconciliation"},
                dedupe_key=f"{view.kiwoom_account_id}:{number}:claimed",
            )
            if accepted is None:
                return 0
            log.info("order %s found at the broker as %s", view.order_id, number)
            return 1 + await self._settle(accepted, row, row.remaining_quantity > 0)
        if age >= self._unknown_grace:
            reason = "the broker has no such order: the submit never reached it"
            if view.order_type in ENDS_AT_ONCE:
                reason += ", or the order ended at once with nothing filled"
            await self._orders.record(
                view.order_id, EventType.REJECTED, {"reason": reason, "code": "not_at_broker"}
            )
            return 1
        return 0

    async def _settle(self, view: OrderView, row: BrokerOrder | None, is_open: bool) -> int:
        written = 0
        number = view.broker_order_no
        if row is not None and number is not None:
            written += await self.apply_fill(view, number, row.filled_quantity, row.filled_price)
            refreshed = await self._store.get(view.order_id)
            view = refreshed or view
        if is_open or view.state.is_final or view.state is OrderState.PENDING_MODIFY:
            return written
        if self._clock() - view.updated_at < self._settle_after:
            self._deferred.add(view.kiwoom_account_id)
            return written  # too fresh: the broker's lists may not show it yet
        return written + await self.closed(view)

    async def closed(self, view: OrderView, reason: str = "no longer open at the broker") -> int:
        """The order is no longer open at the broker: what remained was cancelled. One
        key per broker order, whoever saw it first (a snapshot, the stream): written once."""
        if view.remaining_quantity <= 0:
            return 0
        done = await self._orders.record(
            view.order_id,
            EventType.CANCELLED,
            {"reason": reason},
            dedupe_key=f"{view.kiwoom_account_id}:{view.broker_order_no}:closed",
        )
        return int(done is not None)

    async def _settle_request(
        self, view: OrderView, snapshot: dict[str, BrokerOrder], open_numbers: set[str]
    ) -> int:
        """A cancel or change still pending (its answer was lost, or it is in flight):
        the fills of the broker order first, then what the broker shows of the request."""
        number = view.broker_order_no
        assert number is not None
        row = snapshot.get(number)
        written = 0
        if row is not None:
            written += await self.apply_fill(view, number, row.filled_quantity, row.filled_price)
        view = await self._store.get(view.order_id) or view
        if view.state not in PENDING_REQUEST:
            return written  # filled, or answered meanwhile
        age = self._clock() - view.updated_at
        if age < self._settle_after:
            self._deferred.add(view.kiwoom_account_id)
            return written  # the request may be in flight: its answer settles it
        if number not in open_numbers:
            if view.state is OrderState.PENDING_MODIFY:
                successor = await self._successor(view, number, snapshot)
                if successor is not None:
                    return written + await self._modified(view, successor, open_numbers)
            return written + await self.closed(view)
        if view.state is OrderState.PENDING_MODIFY:
            requested = await self._request_of(view)
            wanted = requested.get("remaining_quantity")
            # reduced at the broker: less remains there than here
            if wanted is not None and row and row.remaining_quantity < view.remaining_quantity:
                done = await self._orders.record(
                    view.order_id,
                    EventType.MODIFIED,
                    {"remaining_quantity": row.remaining_quantity},
                    dedupe_key=f"{view.kiwoom_account_id}:{number}:reduced:{view.version}",
                )
                return written + (done is not None)
        if age < self._unknown_grace:
            return written
        # still open as it was: the request never reached the broker, or it refused it
        refused = (
            EventType.MODIFY_REJECTED
            if view.state is OrderState.PENDING_MODIFY
            else EventType.CANCEL_REJECTED
        )
        done = await self._orders.record(
            view.order_id,
            refused,
            {"reason": "the broker did not take the request", "code": "not_at_broker"},
        )
        return written + (done is not None)

    async def _successor(
        self, view: OrderView, number: str, snapshot: dict[str, BrokerOrder]
    ) -> BrokerOrder | None:
        """The order a re-price of ``number`` became, if no order has claimed it."""
        for successor_no, row in sorted(snapshot.items()):
            if row.original_order_no != number or successor_no == number:
                continue
            if await self._store.by_broker_order_no(view.kiwoom_account_id, successor_no) is None:
                return row
        return None

    async def _modified(
        self, view: OrderView, successor: BrokerOrder, open_numbers: set[str]
    ) -> int:
        number = successor.order_no
        modified = await self._orders.record(
            view.order_id,
            EventType.MODIFIED,
            {
                "price": successor.price,
                "broker_order_no": number,
                "reason": "found at the broker by reconciliation",
            },
            dedupe_key=f"{view.kiwoom_account_id}:{number}:claimed",
        )
        if modified is None:
            return 0
        log.info("order %s re-priced at the broker as %s", view.order_id, number)
        return 1 + await self._settle(modified, successor, number in open_numbers)

    async def _request_of(self, view: OrderView) -> dict[str, object]:
        """The data of the order's pending change request."""
        events = await self._store.events(view.order_id)
        requests = [e for e in events if e.type is EventType.MODIFY_REQUESTED]
        return dict(requests[-1].data) if requests else {}

    async def apply_fill(
        self, view: OrderView, broker_order_no: str, cumulative: int, average_price: int
    ) -> int:
        """Record what a snapshot says the broker filled on ``broker_order_no``
        (``cumulative`` at ``average_price``) beyond what we know; events written."""
        async with self._filling_of(view) as latest:
            increment = cumulative - latest.broker_filled_quantity
            if increment <= 0 or not average_price:
                return 0
            amount = cumulative * average_price - latest.broker_filled_amount
            price = max(round(amount / increment), 1)
            return await self._record_fill(latest, broker_order_no, cumulative, increment, price)

    async def apply_unit_fill(
        self, view: OrderView, broker_order_no: str, cumulative: int, quantity: int, price: int
    ) -> int | None:
        """Record one fill the stream reported (``quantity`` at ``price``, making
        ``cumulative``); events written, or None when the cumulative does not follow
        from what we know (a frame was missed: the caller takes a snapshot)."""
        async with self._filling_of(view) as latest:
            increment = cumulative - latest.broker_filled_quantity
            if increment <= 0:
                return 0  # already known
            if increment != quantity:
                return None
            return await self._record_fill(latest, broker_order_no, cumulative, increment, price)

    @contextlib.asynccontextmanager
    async def _filling_of(self, view: OrderView) -> AsyncIterator[OrderView]:
        """The order as stored, while no other fill of it is being applied. The stream
        and the snapshots may report the same fill at once, each keyed by the
        cumulative it saw: measured against an older view, a fill applied meanwhile
        would be counted again."""
        lock = self._filling.get(view.order_id)
        if lock is None:
            lock = self._filling[view.order_id] = asyncio.Lock()
        async with lock:
            yield await self._store.get(view.order_id) or view

    async def _record_fill(
        self, view: OrderView, broker_order_no: str, cumulative: int, increment: int, price: int
    ) -> int:
        complete = view.filled_quantity + increment >= view.quantity
        done = await self._orders.record(
            view.order_id,
            EventType.FILLED if complete else EventType.PARTIALLY_FILLED,
            {
                "fill_quantity": increment,
                "fill_price": price,
                "broker_order_no": broker_order_no,
                "cumulative": cumulative,
            },
            dedupe_key=f"{view.kiwoom_account_id}:{broker_order_no}:cum:{cumulative}",
        )
        return int(done is not None)
