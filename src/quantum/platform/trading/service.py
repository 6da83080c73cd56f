"""Orders for users: submit (idempotent), cancel, modify, read.

Every step is an event in ``order_events`` before or after the broker call it
stands for; an order whose submit may or may not have reached Kiwoom is marked
OUTCOME_UNKNOWN and left to reconciliation, never re-sent."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from quantum.adapter.broker import (
    Broker,
    BrokerError,
    OrderOutcomeUnknown,
)
from quantum.adapter.schema import CancelRequest, Environment, ModifyRequest, OrderRequest, Side
from quantum.krx.sessions import KrxCalendar
from quantum.platform.bus import Bus, order_topic
from quantum.platform.errors import ApiError, Conflict, NotFound, Unprocessable
from quantum.platform.services.accounts import Trading
from quantum.platform.services.usage import acting_for
from quantum.platform.trading.checks import (
    OrderIntent,
    check_buying_power,
    check_holdings,
    check_in_band,
    check_limits,
    check_session,
    check_shape,
    check_tick,
    order_type_named,
)
from quantum.platform.trading.ledger import AccountLedger
from quantum.platform.trading.limits import PriceLimits
from quantum.platform.trading.new_order import NewOrder
from quantum.platform.trading.order_types import OrderSide
from quantum.platform.trading.projection import OrderEvent, OrderView
from quantum.platform.trading.stages import StageClock, StageObserver, SubmitStage, unobserved
from quantum.platform.trading.states import EventType, InvalidTransition
from quantum.platform.trading.store import DuplicateKey, OrderQuery, OrderStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def update_message(view: OrderView) -> dict[str, Any]:
    """The ORDER_UPDATE a user's realtime connection receives."""
    return {
        "type": "ORDER_UPDATE",
        "orderId": view.order_id,
        "stockCode": view.stock_code,
        "orderSide": view.side,
        "orderType": view.order_type,
        "state": view.state.value,
        "quantity": view.quantity,
        "price": view.price,
        "filledQuantity": view.filled_quantity,
        "averageFillPrice": view.average_fill_price,
        "remainingQuantity": view.remaining_quantity,
        "reason": view.reason,
        "version": view.version,
        "updatedAt": view.updated_at.isoformat(),
    }


class OrderService:
    def __init__(
        self,
        store: OrderStore,
        broker: Broker,
        bus: Bus,
        *,
        ledger: AccountLedger | None = None,
        calendar: KrxCalendar | None = None,
        market_clocks: Mapping[Environment, Clock] | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self._bus = bus
        self.ledger = ledger or AccountLedger(broker)
        self.limits = PriceLimits(broker)
        self._calendar = calendar or KrxCalendar()
        self.market_clocks: dict[Environment, Clock] = dict(market_clocks or {})
        self.on_working: Callable[[str, Trading], None] | None = None
        """Told when an order is working at the broker (starts its account's reports)."""
        self.observe_stage: StageObserver = unobserved
        """Told how long each stage of a submit took (see :mod:`stages`)."""

    def market_now(self, environment: Environment) -> datetime:
        """The exchange's time for an account: the simulator's own clock for
        SIMULATOR accounts, the wall clock for Kiwoom's hosts."""
        return self.market_clocks.get(environment, _utc_now)()

    def on_wall_clock(self, environment: Environment, moment: datetime) -> datetime:
        """A time on an account's market clock as the wall clock's: the simulator's
        clock may stand elsewhere (the demo's market opens at the latest session) and
        its tokens expire in its time, but users read an expiry in their own."""
        market = self.market_clocks.get(environment)
        if market is None:
            return moment
        # whole seconds, as Kiwoom's expires_dt: reading two clocks adds jitter
        return (moment + (_utc_now() - market())).replace(microsecond=0)

    async def publish(self, view: OrderView) -> None:
        await self._bus.publish(order_topic(view.user_id), update_message(view))

    # -- reading ------------------------------------------------------------------------

    async def owned(self, user_id: str, order_id: str) -> OrderView:
        """The order if it is the user's; otherwise 404 (whoever else owns it)."""
        view = await self.store.get(order_id)
        if view is None or view.user_id != user_id:
            raise NotFound(f"no order {order_id}", code="order_not_found")
        return view

    async def history(self, user_id: str, order_id: str) -> tuple[OrderView, list[OrderEvent]]:
        view = await self.owned(user_id, order_id)
        return view, await self.store.events(order_id)

    async def find(
        self, query: OrderQuery, *, offset: int, limit: int
    ) -> tuple[list[OrderView], int]:
        return await self.store.find(query, offset=offset, limit=limit)

    # -- submit -------------------------------------------------------------------------

    async def submit(
        self, user_id: str, trading: Trading, order: NewOrder, idempotency_key: str | None
    ) -> tuple[OrderView, bool]:
        """(the order, whether this call created it). A repeated key returns the
        first order; the same key with another request is refused. The key is read
        only when the order is not created (its checks refuse it, or the key is
        taken), so a keyed submit costs no extra read, and a retry whose checks would
        now refuse it still answers with its first order."""
        clock = StageClock(self.observe_stage)
        order_type = order_type_named(order.order_type)
        intent = OrderIntent(
            order.stock_code,
            order.side,
            order_type,
            order.quantity,
            order.price,
            order.stop_price,
        )
        check_shape(intent)
        key = idempotency_key or order.client_order_id
        digest = order.digest() if key is not None else ""
        account_id = trading.kiwoom_account_id
        data = {
            "user_id": user_id,
            "kiwoom_account_id": account_id,
            "stock_code": order.stock_code,
            "side": order.side.value,
            "order_type": order_type.name,
            "quantity": order.quantity,
            "price": order.price,
            "stop_price": order.stop_price,
            "client_order_id": key,
        }
        async with self.ledger.lock(account_id):
            try:
                needed = await self._checked(user_id, trading, intent)
            except (ApiError, BrokerError):
                found = (
                    await self.store.by_idempotency_key(user_id, key) if key is not None else None
                )
                if found is None:
                    raise
                first, first_digest = found
                return self._same_request(first, first_digest == digest), False
            checked = clock.split()  # a repeated key is not a submit: timed only once created
            try:
                view = await self.store.create(
                    data, idempotency=(user_id, key, digest) if key is not None else None
                )
            except DuplicateKey as dup:
                taken = await self.store.get(dup.order_id)
                assert taken is not None
                return self._same_request(taken, dup.same_request), False
            if order.side is OrderSide.BUY:
                self.ledger.reserve_cash(account_id, needed)
            else:
                self.ledger.reserve_shares(account_id, order.stock_code, needed)
        clock.report(SubmitStage.CHECKS, checked)
        clock.lap(SubmitStage.INTENT)
        return await self._send(view, intent, trading, clock), True

    async def _checked(self, user_id: str, trading: Trading, intent: OrderIntent) -> int:
        """The session, the day's price limits, and the buying power or holdings the
        order needs; what it holds while it works: cash (BUY) or shares (SELL)."""
        now = self.market_now(trading.credentials.environment)
        check_session(now, self._calendar)
        account_id, credentials = trading.kiwoom_account_id, trading.credentials
        with acting_for(user_id, account_id):
            quote = await self.limits.of(intent.stock_code, credentials, now)
            check_limits(intent, quote)
            if intent.side is OrderSide.BUY:
                deposit, reserved = await self.ledger.deposit(account_id, credentials)
                return check_buying_power(intent, quote, deposit, reserved)
            balance, held = await self.ledger.balance(account_id, credentials, intent.stock_code)
            check_holdings(intent, balance, held)
            return intent.quantity

    @staticmethod
    def _same_request(view: OrderView, same: bool) -> OrderView:
        if not same:
            raise Unprocessable(
                "this idempotency key was used for a different order",
                code="idempotency_key_reused",
                details={"orderId": view.order_id},
            )
        return view

    async def _send(
        self, view: OrderView, intent: OrderIntent, trading: Trading, clock: StageClock
    ) -> OrderView:
        request = OrderRequest(
            stock_code=intent.stock_code,
            side=Side.BUY if intent.side is OrderSide.BUY else Side.SELL,
            order_type=intent.order_type.name,
            quantity=intent.quantity,
            price=intent.price,
            stop_price=intent.stop_price,
        )
        event: EventType
        data: dict[str, Any]
        try:
            with acting_for(view.user_id, trading.kiwoom_account_id):
                ack = await self.broker.place_order(request, trading.credentials)
        except OrderOutcomeUnknown as exc:
            log.warning("order %s: outcome unknown (%s)", view.order_id, exc.message)
            event, data = EventType.OUTCOME_UNKNOWN, {"reason": exc.message, "code": exc.code}
        except BrokerError as exc:
            # refused, rate limited or unreachable: Kiwoom did not take the order
            event, data = (
                EventType.REJECTED,
                {"reason": exc.message, "code": exc.kiwoom_code or exc.code},
            )
            self.ledger.invalidate(trading.kiwoom_account_id)
        else:
            event, data = EventType.ACCEPTED, {"broker_order_no": ack.order_no}
        clock.lap(SubmitStage.BROKER)
        if event is not EventType.REJECTED and self.on_working is not None:
            self.on_working(view.user_id, trading)
        # The answer need not wait for the disk: were it lost, the order would stay
        # pending and reconciliation would find it at the broker (or not) again.
        answered = await self.record(view.order_id, event, data, current=view, durable=False)
        clock.lap(SubmitStage.ANSWER)
        return answered or view

    async def record(
        self,
        order_id: str,
        event: EventType,
        data: dict[str, Any],
        *,
        dedupe_key: str | None = None,
        current: OrderView | None = None,
        durable: bool = True,
    ) -> OrderView | None:
        """Append an event (None: a duplicate or not allowed now) and tell the user.
        ``current``: the order's latest view, if the caller has it (saves a read);
        ``durable``: see :meth:`OrderStore.append`."""
        try:
            view = await self.store.append(
                order_id, event, data, dedupe_key=dedupe_key, current=current, durable=durable
            )
        except InvalidTransition as exc:
            log.info("order %s: %s ignored (%s)", order_id, event.value, exc)
            return None
        if view is not None:
            await self.publish(view)
        return view

    # -- cancel and modify ----------------------------------------------------------------

    async def cancel(self, user_id: str, trading: Trading, order_id: str) -> OrderView:
        view = await self.owned(user_id, order_id)
        if not view.state.is_open or view.broker_order_no is None:
            raise Conflict(
                f"order {order_id} is {view.state.value}: nothing to cancel",
                code="order_not_cancellable",
            )
        request = CancelRequest(stock_code=view.stock_code, quantity=0)
        number = view.broker_order_no

        async def send() -> dict[str, Any]:
            await self.broker.cancel_order(number, request, trading.credentials)
            return {}

        return await self._amend(
            view, trading, EventType.CANCEL_REQUESTED, {}, send, EventType.CANCELLED, "cancel"
        )

    async def modify(
        self,
        user_id: str,
        trading: Trading,
        order_id: str,
        *,
        price: int | None,
        quantity: int | None,
    ) -> OrderView:
        """Re-price the whole remainder (kt10002, a new broker order number) or reduce
        the remaining quantity (a partial kt10003 cancel); one of the two per call."""
        if (price is None) == (quantity is None):
            raise Unprocessable("give either price or quantity", code="invalid_modify")
        view = await self.owned(user_id, order_id)
        if not view.state.is_open or view.broker_order_no is None:
            raise Conflict(
                f"order {order_id} is {view.state.value}: it cannot be modified",
                code="order_not_modifiable",
            )
        remaining = view.remaining_quantity
        if price is not None:
            if view.price is None:
                raise Unprocessable(
                    f"{view.order_type} orders have no price to change", code="invalid_modify"
                )
            check_tick("price", price)
            now = self.market_now(trading.credentials.environment)
            with acting_for(user_id, trading.kiwoom_account_id):
                quote = await self.limits.of(view.stock_code, trading.credentials, now)
            check_in_band("price", price, quote)
        elif quantity is not None and not 1 <= quantity < remaining:
            raise Unprocessable(
                f"quantity must be 1..{remaining - 1} (the new remaining quantity)",
                code="invalid_quantity",
            )
        number = view.broker_order_no

        async def send() -> dict[str, Any]:
            if price is not None:
                change = ModifyRequest(stock_code=view.stock_code, quantity=0, price=price)
                ack = await self.broker.modify_order(number, change, trading.credentials)
                return {"price": price, "broker_order_no": ack.order_no}
            assert quantity is not None
            cancel = CancelRequest(stock_code=view.stock_code, quantity=remaining - quantity)
            await self.broker.cancel_order(number, cancel, trading.credentials)
            return {"remaining_quantity": quantity}

        return await self._amend(
            view,
            trading,
            EventType.MODIFY_REQUESTED,
            {"price": price, "remaining_quantity": quantity},
            send,
            EventType.MODIFIED,
            "modify",
        )

    async def _amend(
        self,
        view: OrderView,
        trading: Trading,
        requested: EventType,
        request_data: dict[str, Any],
        send: Callable[[], Awaitable[dict[str, Any]]],
        done: EventType,
        what: str,
    ) -> OrderView:
        """Record the request, ask the broker, record its answer. No answer: the order
        stays pending and reconciliation settles it; a refusal returns it to where it
        was and is a 409."""
        order_id = view.order_id
        pending = await self.store.append(
            order_id, requested, request_data, allowed=lambda v: v.state.is_open
        )
        if pending is None:
            raise Conflict(f"order {order_id} changed meanwhile; try again", code="order_busy")
        await self.publish(pending)
        try:
            with acting_for(view.user_id, trading.kiwoom_account_id):
                data = await send()
        except OrderOutcomeUnknown:
            return pending
        except BrokerError as exc:
            rejected = EventType.CANCEL_REJECTED if what == "cancel" else EventType.MODIFY_REJECTED
            reason = {"reason": exc.message, "code": exc.code}
            back = await self.record(order_id, rejected, reason, current=pending)
            raise Conflict(
                f"the broker refused the {what}: {exc.message}",
                code=f"{what}_rejected",
                details={"state": (back or pending).state.value},
            ) from None
        self.ledger.invalidate(trading.kiwoom_account_id)
        return await self.record(order_id, done, data, current=pending) or pending
