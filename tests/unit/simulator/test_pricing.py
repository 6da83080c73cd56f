"""The seeded price process: stable seeds, grid and limits, quantities, determinism."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum.krx.rules import is_on_tick, price_limits, tick_size
from quantum.simulator.pricing import BOOK_LEVELS, PriceWalk, activity, round_tick, stable_seed

DAY = date(2026, 11, 24)


def test_stable_seed_is_stable_across_processes() -> None:
    here = stable_seed(7, "005930", DAY)
    code = (
        "from datetime import date; from quantum.simulator.pricing import stable_seed;"
        "print(stable_seed(7, '005930', date(2026, 11, 24)))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == here
    assert 0 <= here < 2**64


def test_stable_seed_distinguishes_parts() -> None:
    assert stable_seed(1, "a") != stable_seed(2, "a")
    assert stable_seed(1, "a") != stable_seed(1, "b")
    assert stable_seed("1", "a") != stable_seed(1, "a")  # repr keeps types apart
    assert stable_seed(1, "ab") != stable_seed(1, "a", "b")


def test_activity_is_bounded_and_deterministic() -> None:
    values = [activity(3, f"{n:06d}") for n in range(200)]
    assert all(0.25 <= value <= 4.0 for value in values)
    assert values == [activity(3, f"{n:06d}") for n in range(200)]
    assert len(set(values)) > 100


@pytest.mark.parametrize("value", [0.2, 1.0, 1999.4, 1999.6, 2001.0, 2003.0, 69_949.0, 70_051.0])
def test_round_tick_is_on_grid_and_nearest(value: float) -> None:
    price = round_tick(value)
    assert is_on_tick(price)
    assert abs(price - value) <= tick_size(price)


def walk_prices(seed: int, base: int, steps: int) -> list[int]:
    walk = PriceWalk(seed, "005930", DAY)
    limits = price_limits(base)
    price = walk.open_price(base, limits)
    prices = [price]
    for _ in range(steps):
        price = walk.step(price, limits, base)
        prices.append(price)
    return prices


def test_same_seed_same_path_and_different_seeds_differ() -> None:
    assert walk_prices(1, 70_000, 2_000) == walk_prices(1, 70_000, 2_000)
    assert walk_prices(1, 70_000, 2_000) != walk_prices(2, 70_000, 2_000)
    other_day = PriceWalk(1, "005930", date(2026, 11, 25))
    assert other_day.rng.random() != PriceWalk(1, "005930", DAY).rng.random()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    base=st.sampled_from([1, 3, 1_995, 2_000, 4_990, 19_990, 49_950, 70_000, 199_900, 1_234_000]),
)
def test_steps_stay_on_grid_and_within_limits(seed: int, base: int) -> None:
    limits = price_limits(base)
    prices = walk_prices(seed, base, 3_000)
    assert all(is_on_tick(price) and limits.contains(price) for price in prices)


def test_steps_are_small_mostly_flat() -> None:
    base = 70_000
    prices = walk_prices(5, base, 20_000)
    moves = [abs(b - a) // 100 for a, b in itertools.pairwise(prices[1:])]
    assert max(moves) <= 3
    flat = moves.count(0) / len(moves)
    assert 0.75 < flat < 0.95
    assert moves.count(1) > 5 * (moves.count(2) + moves.count(3))


def test_mean_reversion_keeps_a_day_near_its_base() -> None:
    base = 70_000
    limits = price_limits(base)
    for seed in range(20):
        prices = walk_prices(seed, base, 23_000)
        assert limits.lower < min(prices)
        assert max(prices) < limits.upper
        assert abs(prices[-1] - base) / base < 0.12


def test_step_pins_at_the_limit_and_clamps_outside_prices() -> None:
    base = 10_000
    limits = price_limits(base)
    walk = PriceWalk(1, "000001", DAY)
    assert all(limits.contains(walk.step(limits.upper, limits, 7_000)) for _ in range(500))
    assert all(limits.contains(walk.step(limits.lower, limits, 14_000)) for _ in range(500))
    assert limits.contains(walk.step(99_999, limits, base))


def test_trade_qty_more_shares_for_cheaper_stocks_and_heavy_tailed() -> None:
    walk = PriceWalk(1, "005930", DAY)
    cheap = sorted(walk.trade_qty(1_000) for _ in range(5_000))
    dear = sorted(walk.trade_qty(500_000) for _ in range(5_000))
    assert min(cheap) >= 1
    assert min(dear) >= 1
    assert cheap[2_500] > 50 * dear[2_500]
    assert cheap[-1] > 20 * cheap[2_500]  # heavy tail


def test_book_qty_is_thin_for_a_70000_stock() -> None:
    walk = PriceWalk(1, "005930", DAY)
    walk.reseed_book(0)
    side = sum(walk.book_qty(70_000, level) for level in range(1, BOOK_LEVELS + 1))
    assert 1_000 < side < 10_000
    big = PriceWalk(1, "005930", DAY, liquidity_scale=10.0)
    big.reseed_book(0)
    assert sum(big.book_qty(70_000, level) for level in range(1, 11)) > 5 * side
    with pytest.raises(ValueError, match="level"):
        walk.book_qty(70_000, 11)


def test_book_quote_depends_only_on_step() -> None:
    a, b = PriceWalk(1, "005930", DAY), PriceWalk(1, "005930", DAY)
    for _ in range(100):
        b.step(70_000, price_limits(70_000), 70_000)
    a.reseed_book(42)
    b.reseed_book(42)
    assert [a.book_qty(70_000, n) for n in range(1, 11)] == [
        b.book_qty(70_000, n) for n in range(1, 11)
    ]
    a.reseed_book(43)
    b.reseed_book(42)
    assert [a.book_qty(70_000, n) for n in range(1, 11)] != [
        b.book_qty(70_000, n) for n in range(1, 11)
    ]


def test_quote_is_ten_levels_each_side_on_the_grid() -> None:
    walk = PriceWalk(1, "005930", DAY)
    limits = price_limits(1_995)
    bids, asks = walk.quote(2_000, limits, step=3)
    assert [price for price, _ in bids] == list(range(2_000, 1_990, -1))  # tick 1 below 2,000
    assert [price for price, _ in asks] == list(range(2_005, 2_055, 5))  # tick 5 from 2,000
    assert all(qty > 0 for _, qty in bids + asks)
    assert walk.quote(2_000, limits, step=3) == (bids, asks)


def test_quote_is_clipped_at_the_price_limits() -> None:
    walk = PriceWalk(1, "005930", DAY)
    limits = price_limits(70_000)
    bids, asks = walk.quote(limits.upper, limits, step=0)
    assert asks == []
    assert len(bids) == BOOK_LEVELS
    bids, asks = walk.quote(limits.lower + 50, limits, step=0)  # 49,000: tick 50
    assert [price for price, _ in bids] == [limits.lower + 50, limits.lower]
    assert len(asks) == BOOK_LEVELS
    bids, _ = walk.quote(1, price_limits(1), step=0)
    assert [price for price, _ in bids] == [1]
