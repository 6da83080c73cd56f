"""Engine test fixtures: the real Market on a fixed clock, and a scripted market."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from engine_testkit import CASH, CHEAP, SAMSUNG, Env, EnvFactory, FakeMarket, at, build_env

from quantum.krx.sessions import KrxCalendar
from quantum.simulator.clock import ClockMode, SimClock
from quantum.simulator.listings import Listing, load_listings
from quantum.simulator.market import Market


@pytest.fixture(scope="session")
def calendar() -> KrxCalendar:
    return KrxCalendar()


@pytest.fixture(scope="session")
def listings() -> dict[str, Listing]:
    template = next(iter(load_listings().values()))
    return {
        SAMSUNG: dataclasses.replace(template, code=SAMSUNG, name="삼성전자", base_price=70_000),
        CHEAP: dataclasses.replace(template, code=CHEAP, name="싼주식", base_price=1_995),
    }


@pytest.fixture
def make_env(calendar: KrxCalendar, listings: dict[str, Listing]) -> EnvFactory:
    """A real Market on a fixed clock (Tuesday 10:00 by default) with accounts A and B."""

    def factory(
        start: datetime | None = None,
        liquidity_scale: float = 0.01,
        seed: int = 1,
        accounts: tuple[str, ...] = ("A", "B"),
        cash: int = CASH,
    ) -> Env:
        clock = SimClock(mode=ClockMode.FIXED, start=start or at(10))
        market = Market(listings, calendar, clock, seed, liquidity_scale=liquidity_scale)
        return build_env(market, clock, calendar, accounts, cash)

    return factory


@pytest.fixture
def fake_env(calendar: KrxCalendar, listings: dict[str, Listing]) -> EnvFactory:
    """A scripted market (empty book until the test quotes) on a fixed clock."""

    def factory(
        start: datetime | None = None,
        accounts: tuple[str, ...] = ("A", "B"),
        cash: int = CASH,
    ) -> Env:
        clock = SimClock(mode=ClockMode.FIXED, start=start or at(10))
        return build_env(FakeMarket(listings, clock), clock, calendar, accounts, cash)

    return factory
