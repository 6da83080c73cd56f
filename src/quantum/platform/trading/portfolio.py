"""A user's portfolio: the broker's cash and holdings (valued live) plus what the
platform knows from its own order events — today's realized P&L and open orders.

Prices: holdings are valued at the price kt00018 itself reports (Kiwoom's live
valuation, one call for every holding) rather than one ``broker.quote`` per
holding, which would cost a TR each against the account's rate limit and could
disagree with the evaluation and profit kt00018 computed from its own price.

Realized P&L uses the average-cost method over the account's whole fill history
(:func:`realized_profit`, pure and unit-tested): a buy raises the average cost,
a sell realizes ``(fill price - average cost) * quantity`` and leaves the average
unchanged. Fees and taxes are ignored (the fill events carry none); the broker's
profit figures for holdings do include them (kt00018 deducts the purchase and
expected sell commission and the transaction tax).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from quantum.adapter.broker import Broker
from quantum.adapter.schema import Balance, Deposit, Holding
from quantum.kiwoom.wire import KST
from quantum.platform.services.accounts import Trading
from quantum.platform.services.usage import acting_for
from quantum.platform.trading.order_types import OrderSide
from quantum.platform.trading.projection import OrderEvent
from quantum.platform.trading.states import OrderState
from quantum.platform.trading.store import OrderQuery, OrderStore

RATE_PLACES = Decimal("0.0001")

OPEN_ORDER_STATES = tuple(state for state in OrderState if not state.is_final)
"""Orders that may still fill: working at the broker, being sent, being cancelled or
modified, or with an outcome reconciliation has not settled yet."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- pure computations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Fill:
    """One execution of one of the platform's orders."""

    stock_code: str
    side: OrderSide
    quantity: int
    price: int
    at: datetime


@dataclass(frozen=True)
class RealizedProfit:
    total: int
    """KRW, the exact sum rounded once (half away from zero)."""
    by_stock: Mapping[str, int] = field(default_factory=dict)
    """Per stock sold in the window, each rounded on its own."""
    unpriced_quantity: int = 0
    """Shares sold in the window with no cost known at all (no buys in the history
    and no broker average price): counted at their fill price, i.e. zero profit."""


def _round_krw(value: Fraction) -> int:
    """Half away from zero (``round`` on a Fraction would round half to even)."""
    magnitude = (abs(value) * 2 + 1) // 2
    return int(magnitude if value >= 0 else -magnitude)


def realized_profit(
    fills: Iterable[Fill],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    fallback_average: Mapping[str, int] | None = None,
) -> RealizedProfit:
    """Realized P&L of the sells with ``since <= at < until`` by the average-cost
    method over the whole (chronological) ``fills`` history.

    Per stock the position's quantity and average cost evolve fill by fill: a buy
    of ``n`` at ``p`` makes the average ``(q * avg + n * p) / (q + n)``; a sell of
    ``n`` at ``p`` realizes ``(p - avg) * n`` (the average is unchanged, and resets
    when the position reaches zero). Sells outside the window still move the
    position. A sell beyond the known position (shares bought before the platform's
    history, or elsewhere) is costed at ``fallback_average[stock]`` (the broker's
    average price) for the part the history does not cover; without one, at its
    own price (zero profit, counted in ``unpriced_quantity``). Fees and taxes are
    ignored: fills carry none. Averages are exact fractions; only results round.
    """
    fallback = fallback_average or {}
    position: dict[str, tuple[int, Fraction]] = {}
    realized: dict[str, Fraction] = {}
    unpriced = 0
    for fill in fills:
        if fill.quantity <= 0:
            continue
        held, average = position.get(fill.stock_code, (0, Fraction(0)))
        if fill.side is OrderSide.BUY:
            total_cost = average * held + Fraction(fill.price * fill.quantity)
            held += fill.quantity
            position[fill.stock_code] = (held, total_cost / held)
            continue
        covered = min(held, fill.quantity)
        beyond = fill.quantity - covered
        profit = (fill.price - average) * covered
        if beyond:
            broker_average = fallback.get(fill.stock_code)
            in_window = _within(fill.at, since, until)
            if broker_average is None or broker_average <= 0:
                if in_window:
                    unpriced += beyond
            else:
                profit += Fraction((fill.price - broker_average) * beyond)
        remaining = held - covered
        position[fill.stock_code] = (remaining, average if remaining else Fraction(0))
        if _within(fill.at, since, until):
            realized[fill.stock_code] = realized.get(fill.stock_code, Fraction(0)) + profit
    return RealizedProfit(
        total=_round_krw(sum(realized.values(), Fraction(0))),
        by_stock={code: _round_krw(value) for code, value in sorted(realized.items())},
        unpriced_quantity=unpriced,
    )


def _within(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= since) and (until is None or moment < until)


def kst_day(moment: datetime) -> tuple[date, datetime, datetime]:
    """The KST calendar day of ``moment`` (aware) and its bounds ``[start, end)``."""
    day = moment.astimezone(KST).date()
    start = datetime.combine(day, time(0), tzinfo=KST)
    return day, start, start + timedelta(days=1)


def rate(part: int, whole: int) -> Decimal:
    """``part / whole`` as a decimal fraction (0.0123 is 1.23%), 4 places; 0 for 0."""
    if not whole:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


# -- the service ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    stock_code: str
    name: str
    quantity: int
    sellable_quantity: int
    average_price: int
    purchase_amount: int
    price: int
    evaluation: int
    profit: int
    profit_rate: Decimal

    @classmethod
    def of(cls, holding: Holding) -> Position:
        return cls(
            stock_code=holding.stock_code,
            name=holding.name,
            quantity=holding.quantity,
            sellable_quantity=holding.sellable_quantity,
            average_price=holding.average_price,
            purchase_amount=holding.purchase_amount,
            price=holding.price,
            evaluation=holding.evaluation,
            profit=holding.profit,
            profit_rate=rate(holding.profit, holding.purchase_amount),
        )


@dataclass(frozen=True)
class Portfolio:
    kiwoom_account_id: str
    cash: int
    buying_power: int
    withdrawable: int
    holdings: list[Position]
    total_purchase: int
    total_evaluation: int
    total_profit: int
    total_profit_rate: Decimal
    estimated_assets: int
    realized: RealizedProfit
    trading_day: date
    open_orders: int
    as_of: datetime


def fills_of(rows: Iterable[tuple[str, str, OrderEvent]]) -> list[Fill]:
    """:meth:`OrderStore.fills` rows as :class:`Fill` s."""
    return [
        Fill(
            stock_code=stock_code,
            side=OrderSide(side),
            quantity=int(event.data["fill_quantity"]),
            price=int(event.data["fill_price"]),
            at=event.occurred_at,
        )
        for stock_code, side, event in rows
    ]


class PortfolioService:
    """``clock`` says what "today" is for the realized P&L: it should be the clock
    the order events are stamped with (the store's, the wall clock by default),
    which for SIMULATOR accounts is not the simulator's own clock."""

    def __init__(
        self,
        broker: Broker,
        store: OrderStore,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.broker = broker
        self.store = store
        self._clock = clock

    async def portfolio(self, user_id: str, trading: Trading) -> Portfolio:
        now = self._clock()
        account_id = trading.kiwoom_account_id
        with acting_for(user_id, account_id):
            deposit, balance = await asyncio.gather(
                self.broker.deposit(trading.credentials),
                self.broker.balance(trading.credentials),
            )
        return await self._assemble(user_id, account_id, deposit, balance, now)

    async def _assemble(
        self, user_id: str, account_id: str, deposit: Deposit, balance: Balance, now: datetime
    ) -> Portfolio:
        day, start, end = kst_day(now)
        history = fills_of(await self.store.fills(account_id))
        realized = realized_profit(
            history,
            since=start,
            until=end,
            fallback_average={h.stock_code: h.average_price for h in balance.holdings},
        )
        _, open_orders = await self.store.find(
            OrderQuery(user_id=user_id, states=OPEN_ORDER_STATES), limit=1
        )
        return Portfolio(
            kiwoom_account_id=account_id,
            cash=deposit.cash,
            buying_power=deposit.orderable,
            withdrawable=deposit.withdrawable,
            holdings=[Position.of(h) for h in balance.holdings if h.quantity > 0],
            total_purchase=balance.total_purchase,
            total_evaluation=balance.total_evaluation,
            total_profit=balance.total_profit,
            total_profit_rate=rate(balance.total_profit, balance.total_purchase),
            estimated_assets=balance.estimated_assets,
            realized=realized,
            trading_day=day,
            open_orders=open_orders,
            as_of=now,
        )
