"""Accounts and fees: truncation, reservations, average price, realized P&L."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantum.simulator.engine import Account, FeeSchedule

FEES = FeeSchedule()


@pytest.mark.parametrize(
    ("amount", "commission", "tax"),
    [
        (0, 0, 0),
        (60_000, 0, 120),  # 9 KRW commission truncates to 0
        (70_000, 10, 140),  # 10.5 → 10
        (701_200, 100, 1_402),  # 105.18 → 100
        (7_450_000, 1_110, 14_900),  # kt00018 sample: 1,117.5 → 1,110
        (1_234_567, 180, 2_469),  # tax 2,469.134 → 2,469
    ],
)
def test_commission_truncates_to_10_krw_and_tax_to_1(
    amount: int, commission: int, tax: int
) -> None:
    assert FEES.commission(amount) == commission
    assert FEES.tax(amount) == tax


def test_custom_rates() -> None:
    fees = FeeSchedule(Decimal("0.001"), Decimal("0"), 1)
    assert fees.commission(12_345) == 12
    assert fees.tax(12_345) == 0


@given(
    remaining=st.integers(1, 1_000),
    price=st.integers(1, 500_000),
    filled=st.integers(0, 10**9),
    fill_qty=st.integers(1, 1_000),
    better=st.integers(0, 1_000),
)
def test_buy_reservation_always_covers_a_fill_at_or_below_the_price(
    remaining: int, price: int, filled: int, fill_qty: int, better: int
) -> None:
    fill_qty = min(fill_qty, remaining)
    fill_price = max(1, price - better)
    before = FEES.buy_reservation(remaining, price, filled)
    amount = fill_qty * fill_price
    after = FEES.buy_reservation(remaining - fill_qty, price, filled + amount)
    cost = amount + FEES.commission(filled + amount) - FEES.commission(filled)
    assert cost <= before - after
    assert after >= 0


def test_reservations_and_release() -> None:
    account = Account("A", 1_000_000)
    account.reserve_cash(600_000)
    assert account.available_cash == 400_000
    with pytest.raises(ValueError, match="cannot reserve"):
        account.reserve_cash(400_001)
    account.release_cash(600_000)
    with pytest.raises(ValueError, match="cannot release"):
        account.release_cash(1)
    assert account.available_cash == 1_000_000


def test_buy_then_sell_average_price_and_realized_pnl() -> None:
    account = Account("A", 10_000_000)
    account.reserve_cash(2_000_000)
    account.settle_buy("005930", 10, 700_000, 100, release=700_100)
    account.settle_buy("005930", 10, 720_000, 100, release=720_100)
    position = account.holding("005930")
    assert (position.qty, position.purchase_amount, position.avg_price) == (20, 1_420_000, 71_000)
    assert account.reserved_cash == 2_000_000 - 1_420_200
    assert account.cash == 10_000_000 - 1_420_200
    account.reserve_shares("005930", 5)
    assert position.sellable_qty == 15
    pnl = account.settle_sell("005930", 5, 375_000, 50, 750)
    assert pnl == 375_000 - 50 - 750 - 355_000
    assert position.avg_price == 71_000  # unchanged by a sale
    assert (position.qty, position.reserved_qty, position.today_sell_qty) == (15, 0, 5)
    assert account.realized_pnl == position.realized_pnl == pnl
    assert (account.commission, account.tax) == (250, 750)
    assert account.cash == 10_000_000 - 1_420_200 + 375_000 - 800


def test_cannot_reserve_or_deliver_more_than_held() -> None:
    account = Account("A", 0)
    with pytest.raises(ValueError, match="sellable"):
        account.reserve_shares("005930", 1)
    assert "005930" not in account.holdings
    with pytest.raises(ValueError, match="deliver"):
        account.settle_sell("005930", 1, 100, 0, 0)


def test_new_day_resets_today_counters_and_drops_empty_positions() -> None:
    account = Account("A", 1_000_000)
    account.reserve_cash(70_010)
    account.settle_buy("005930", 1, 70_000, 10, release=70_010)
    account.reserve_shares("005930", 1)
    account.settle_sell("005930", 1, 71_000, 10, 142)
    assert "005930" in account.holdings  # sold out today: still listed for today's P&L
    account.new_day()
    assert account.holdings == {}
    assert (account.realized_pnl, account.commission, account.tax) == (0, 0, 0)


def test_snapshot_is_independent() -> None:
    account = Account("A", 1_000)
    copy = account.snapshot()
    account.reserve_cash(10)
    assert copy.reserved_cash == 0
    assert copy != account
