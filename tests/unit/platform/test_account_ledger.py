"""The ledger of what an account can still spend and sell: a snapshot serves orders
for a while, reservations count the orders sent since, a trading account's snapshot
is fetched again in the background (no order waits), and a dropped one stays
dropped even when a fetch sent before the drop comes back."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any, cast

import pytest
from pydantic import SecretStr

from quantum.adapter.broker import Broker, BrokerUnavailable, Credentials
from quantum.adapter.schema import Balance, Deposit, Environment, Holding
from quantum.platform.trading.ledger import AccountLedger

KEY = Credentials(SecretStr("key"), SecretStr("secret"), Environment.SIMULATOR)
ACCOUNT = "acc-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class AccountBroker:
    """Deposits of 1_000_000, then +1 per fetch; ``gate`` (when set) holds fetches."""

    def __init__(self) -> None:
        self.deposits = 0
        self.balances = 0
        self.gate: asyncio.Event | None = None
        self.failing = False

    async def deposit(self, credentials: Credentials | None = None) -> Deposit:
        self.deposits += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failing:
            raise BrokerUnavailable("Kiwoom is down")
        cash = 1_000_000 + self.deposits - 1
        return Deposit(cash=cash, orderable=cash, withdrawable=cash)

    async def balance(self, credentials: Credentials | None = None) -> Balance:
        self.balances += 1
        held = Holding(
            stock_code="005930",
            name="Samsung",
            quantity=10,
            sellable_quantity=10,
            average_price=70_000,
            purchase_amount=700_000,
            price=70_000,
            evaluation=700_000,
            profit=0,
            profit_rate=Decimal(0),
        )
        return Balance(
            total_purchase=700_000,
            total_evaluation=700_000,
            total_profit=0,
            estimated_assets=700_000,
            holdings=[held],
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def broker() -> AccountBroker:
    return AccountBroker()


@pytest.fixture
def ledger(broker: AccountBroker, clock: Clock) -> AccountLedger:
    return AccountLedger(cast(Broker, cast(Any, broker)), 3.0, 2.0, clock=clock)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def held_background_fetch(ledger: AccountLedger, broker: AccountBroker, clock: Clock) -> None:
    """A snapshot past its middle age, read once: a background fetch the broker holds."""
    await ledger.deposit(ACCOUNT, KEY)
    clock.now += 2.5
    broker.gate = asyncio.Event()
    await ledger.deposit(ACCOUNT, KEY)
    await settle()


async def test_a_snapshot_serves_orders_and_counts_what_they_reserve(
    ledger: AccountLedger, broker: AccountBroker, clock: Clock
) -> None:
    deposit, reserved = await ledger.deposit(ACCOUNT, KEY)
    assert (deposit.orderable, reserved) == (1_000_000, 0)
    ledger.reserve_cash(ACCOUNT, 300_000)
    clock.now += 1.9
    deposit, reserved = await ledger.deposit(ACCOUNT, KEY)
    assert (deposit.orderable, reserved) == (1_000_000, 300_000)
    assert broker.deposits == 1


async def test_an_expired_snapshot_is_fetched_before_the_order_goes_on(
    ledger: AccountLedger, broker: AccountBroker, clock: Clock
) -> None:
    await ledger.deposit(ACCOUNT, KEY)
    ledger.reserve_cash(ACCOUNT, 300_000)
    clock.now += 3.0
    deposit, reserved = await ledger.deposit(ACCOUNT, KEY)
    assert (deposit.orderable, reserved) == (1_000_001, 0)  # the broker counts them now
    assert broker.deposits == 2


async def test_a_trading_account_is_refreshed_in_the_background(
    ledger: AccountLedger, broker: AccountBroker, clock: Clock
) -> None:
    await ledger.deposit(ACCOUNT, KEY)
    clock.now += 2.5
    broker.gate = asyncio.Event()  # the broker is slow: the orders must not wait for it
    readings = [await ledger.deposit(ACCOUNT, KEY) for _ in range(3)]
    assert [d.orderable for d, _ in readings] == [1_000_000] * 3
    await settle()
    assert broker.deposits == 2  # one background fetch for all three
    broker.gate.set()
    await settle()
    deposit, _ = await ledger.deposit(ACCOUNT, KEY)
    assert deposit.orderable == 1_000_001
    clock.now += 1.9  # the refreshed snapshot's age counts from its fetch
    await ledger.deposit(ACCOUNT, KEY)
    await settle()
    assert broker.deposits == 2
    clock.now += 1.0
    await ledger.deposit(ACCOUNT, KEY)
    await settle()
    assert broker.deposits == 3
    await ledger.aclose()


async def test_a_fetch_sent_before_a_drop_is_not_kept(
    ledger: AccountLedger, broker: AccountBroker, clock: Clock
) -> None:
    await held_background_fetch(ledger, broker, clock)
    ledger.invalidate(ACCOUNT)  # a fill: cash changed
    broker.gate.set()
    await settle()
    await ledger.deposit(ACCOUNT, KEY)
    assert broker.deposits == 3  # the pre-fill answer was not used


async def test_a_failed_background_fetch_leaves_the_error_to_the_next_fetch(
    ledger: AccountLedger, broker: AccountBroker, clock: Clock
) -> None:
    await ledger.deposit(ACCOUNT, KEY)
    clock.now += 2.5
    broker.failing = True
    deposit, _ = await ledger.deposit(ACCOUNT, KEY)
    await settle()
    assert deposit.orderable == 1_000_000 and broker.deposits == 2
    clock.now += 1.0  # expired: the order asks the broker itself and sees why not
    with pytest.raises(BrokerUnavailable):
        await ledger.deposit(ACCOUNT, KEY)


async def test_closing_stops_a_background_fetch(
    ledger: AccountLedger, broker: AccountBroker, clock: Clock
) -> None:
    await held_background_fetch(ledger, broker, clock)
    await asyncio.wait_for(ledger.aclose(), 15)


async def test_shares_are_reserved_per_stock(ledger: AccountLedger, broker: AccountBroker) -> None:
    balance, held = await ledger.balance(ACCOUNT, KEY, "005930")
    assert (balance.holdings[0].sellable_quantity, held) == (10, 0)
    ledger.reserve_shares(ACCOUNT, "005930", 4)
    assert (await ledger.balance(ACCOUNT, KEY, "005930"))[1] == 4
    assert (await ledger.balance(ACCOUNT, KEY, "000660"))[1] == 0
    assert broker.balances == 1
