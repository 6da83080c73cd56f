"""Cash, holdings, reservations and fees of simulated accounts, in integer KRW.

Settlement is immediate: a buy's shares are sellable and a sale's proceeds are
spendable at once (real KRX settles on T+2; the simulator keeps one cash
figure, so kt00001's D+1/D+2 estimates equal today's deposit). Open buy orders
reserve cash and open sell orders reserve shares, so what is left
(``available_cash``, ``Holding.sellable_qty``) is what a new order may use.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Broker commission on both sides, securities transaction tax on sells.

    Kiwoom truncates commission below 10 KRW and tax below 1 KRW. Fees are
    charged on an order's cumulative filled amount, so splitting an order into
    many small fills costs the same as one fill.
    """

    commission_rate: Decimal = Decimal("0.00015")
    sell_tax_rate: Decimal = Decimal("0.0020")
    commission_unit: int = 10

    def commission(self, amount: int) -> int:
        raw = _floor(Decimal(amount) * self.commission_rate)
        return raw - raw % self.commission_unit

    def tax(self, amount: int) -> int:
        return _floor(Decimal(amount) * self.sell_tax_rate)

    def buy_reservation(self, remaining: int, price: int, filled_amount: int) -> int:
        """Cash a buy with ``remaining`` shares at worst ``price`` must hold back.

        The commission part is what the order's total commission can still grow
        by, so every fill at or below ``price`` is covered by what it releases.
        """
        worst = remaining * price
        return worst + self.commission(filled_amount + worst) - self.commission(filled_amount)


@dataclass(slots=True)
class Holding:
    """One stock in an account (kt00018 row, realtime ``04``)."""

    code: str
    qty: int = 0
    reserved_qty: int = 0  # held back by open sell orders
    purchase_amount: int = 0  # cost of the shares held, without commission
    purchase_commission: int = 0
    today_buy_qty: int = 0
    today_sell_qty: int = 0
    realized_pnl: int = 0  # today, net of sell commission and tax
    today_sold_cost: int = 0  # purchase cost of the shares sold today

    @property
    def avg_price(self) -> int:
        """매입단가: purchase amount per share, truncated to KRW."""
        return self.purchase_amount // self.qty if self.qty else 0

    @property
    def sellable_qty(self) -> int:
        return self.qty - self.reserved_qty

    @property
    def today_net_buy_qty(self) -> int:
        return self.today_buy_qty - self.today_sell_qty

    @property
    def empty(self) -> bool:
        return self.qty == 0 and self.reserved_qty == 0


@dataclass(slots=True)
class Account:
    """One account's money and positions; the engine changes it only via these methods."""

    account_no: str
    cash: int  # 예수금, reservations included
    reserved_cash: int = 0  # held back by open buy orders
    holdings: dict[str, Holding] = field(default_factory=dict)
    realized_pnl: int = 0  # today, all stocks
    commission: int = 0  # today
    tax: int = 0  # today

    @property
    def available_cash(self) -> int:
        """주문가능금액."""
        return self.cash - self.reserved_cash

    def holding(self, code: str) -> Holding:
        """The position in ``code``; an empty one (not stored) if there is none."""
        return self.holdings.get(code) or Holding(code)

    def _position(self, code: str) -> Holding:
        return self.holdings.setdefault(code, Holding(code))

    def reserve_cash(self, amount: int) -> None:
        if not 0 <= amount <= self.available_cash:
            raise ValueError(f"cannot reserve {amount} of {self.available_cash} available")
        self.reserved_cash += amount

    def release_cash(self, amount: int) -> None:
        if not 0 <= amount <= self.reserved_cash:
            raise ValueError(f"cannot release {amount} of {self.reserved_cash} reserved")
        self.reserved_cash -= amount

    def reserve_shares(self, code: str, qty: int) -> None:
        sellable = self.holding(code).sellable_qty
        if not 0 <= qty <= sellable:
            raise ValueError(f"cannot reserve {qty} of {sellable} sellable {code}")
        self._position(code).reserved_qty += qty

    def release_shares(self, code: str, qty: int) -> None:
        reserved = self.holding(code).reserved_qty
        if not 0 <= qty <= reserved:
            raise ValueError(f"cannot release {qty} of {reserved} reserved {code}")
        self._position(code).reserved_qty -= qty
        self._forget_if_empty(code)

    def settle_buy(self, code: str, qty: int, amount: int, commission: int, release: int) -> None:
        """Pay for ``qty`` shares costing ``amount`` out of the order's reservation."""
        self.release_cash(release)
        self.cash -= amount + commission
        position = self._position(code)
        position.qty += qty
        position.purchase_amount += amount
        position.purchase_commission += commission
        position.today_buy_qty += qty
        self.commission += commission

    def settle_sell(self, code: str, qty: int, amount: int, commission: int, tax: int) -> int:
        """Deliver ``qty`` reserved shares for ``amount``; returns the realized P&L.

        The shares leave at the average purchase price, so the average of what
        remains is unchanged; the P&L is proceeds − fees − that cost.
        """
        reserved = self.holding(code).reserved_qty
        if not 0 < qty <= reserved:
            raise ValueError(f"cannot deliver {qty} of {reserved} reserved {code}")
        position = self._position(code)
        cost = position.purchase_amount * qty // position.qty
        buy_fee = position.purchase_commission * qty // position.qty
        pnl = amount - commission - tax - cost
        position.reserved_qty -= qty
        position.qty -= qty
        position.purchase_amount -= cost
        position.purchase_commission -= buy_fee
        position.today_sell_qty += qty
        position.realized_pnl += pnl
        position.today_sold_cost += cost
        self.cash += amount - commission - tax
        self.realized_pnl += pnl
        self.commission += commission
        self.tax += tax
        return pnl

    def new_day(self) -> None:
        """Reset the 'today' counters when a new trading day starts."""
        self.realized_pnl = self.commission = self.tax = 0
        for position in list(self.holdings.values()):
            position.today_buy_qty = position.today_sell_qty = 0
            position.realized_pnl = position.today_sold_cost = 0
            self._forget_if_empty(position.code)

    def _forget_if_empty(self, code: str) -> None:
        position = self.holdings.get(code)
        if (
            position is not None
            and position.empty
            and not position.today_sell_qty + position.today_buy_qty
        ):
            del self.holdings[code]

    def snapshot(self) -> Account:
        """A deep copy (tests compare before/after; the REST layer reads without locks)."""
        return copy.deepcopy(self)
