"""KRX tick grid and price limits: table edges, round trips and properties."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantum.krx.rules import (
    TICK_TABLE,
    PriceLimits,
    ceil_tick,
    floor_tick,
    is_on_tick,
    price_limits,
    tick_down,
    tick_size,
    tick_up,
    ticks_between,
)

prices = st.integers(min_value=1, max_value=3_000_000)
grid_prices = prices.map(floor_tick)
steps = st.integers(min_value=0, max_value=5_000)


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (1, 1),
        (1_999, 1),
        (2_000, 5),
        (4_995, 5),
        (5_000, 10),
        (19_990, 10),
        (20_000, 50),
        (49_950, 50),
        (50_000, 100),
        (199_900, 100),
        (200_000, 500),
        (499_500, 500),
        (500_000, 1_000),
        (3_000_000, 1_000),
    ],
)
def test_tick_size_at_band_edges(price: int, tick: int) -> None:
    assert tick_size(price) == tick


def test_every_band_starts_on_its_own_and_the_next_grid() -> None:
    for (upper, tick), (_, next_tick) in pairwise(TICK_TABLE):
        assert upper % tick == 0
        assert upper % next_tick == 0


@pytest.mark.parametrize(
    ("price", "on_tick"),
    [(0, False), (-5, False), (1, True), (1_999, True), (2_001, False), (2_005, True),
     (5_005, False), (20_050, True), (20_010, False), (500_500, False), (501_000, True)],
)  # fmt: skip
def test_is_on_tick(price: int, on_tick: bool) -> None:
    assert is_on_tick(price) is on_tick


@pytest.mark.parametrize(
    ("price", "floor", "ceil"),
    [(1_999, 1_999, 1_999), (2_003, 2_000, 2_005), (4_997, 4_995, 5_000),
     (19_995, 19_990, 20_000), (49_990, 49_950, 50_000), (499_900, 499_500, 500_000),
     (500_001, 500_000, 501_000)],
)  # fmt: skip
def test_floor_and_ceil(price: int, floor: int, ceil: int) -> None:
    assert floor_tick(price) == floor
    assert ceil_tick(price) == ceil


def test_floor_below_one_is_an_error_and_ceil_is_one() -> None:
    with pytest.raises(ValueError, match="no valid price"):
        floor_tick(0)
    assert ceil_tick(0) == 1
    assert ceil_tick(-100) == 1


@pytest.mark.parametrize(
    ("start", "n", "end"),
    [(1_999, 1, 2_000), (1_998, 3, 2_005), (4_995, 1, 5_000), (5_000, -1, 4_995),
     (2_000, -1, 1_999), (19_990, 2, 20_050), (499_500, 1, 500_000), (500_000, -1, 499_500),
     (2_003, 1, 2_005), (2_003, -1, 2_000), (10, 0, 10)],
)  # fmt: skip
def test_tick_moves_cross_band_boundaries(start: int, n: int, end: int) -> None:
    assert tick_up(start, n) == end


def test_tick_down_stops_at_one() -> None:
    assert tick_down(3, 10) == 1
    assert tick_down(1) == 1
    assert tick_down(0) == 1
    assert tick_down(60_000, 10**9) == 1


def test_large_jumps_are_exact() -> None:
    # 1,999 steps of 1 won, then 600 of 5, then 1,500 of 10 → 20,000.
    assert tick_up(1, 1_999 + 600 + 1_500) == 20_000
    assert ticks_between(1, 20_000) == 1_999 + 600 + 1_500


def test_ticks_between_is_signed() -> None:
    assert ticks_between(1_999, 5_010) == 602
    assert ticks_between(5_010, 1_999) == -602
    assert ticks_between(7_000, 7_000) == 0


@pytest.mark.parametrize(
    ("base", "lower", "upper"),
    [(74_000, 51_800, 96_200), (1_000, 700, 1_300), (1, 1, 1), (2_500, 1_750, 3_250),
     (15_000, 10_500, 19_500), (181_500, 127_100, 235_500), (1_234_000, 864_000, 1_604_000)],
)  # fmt: skip
def test_price_limits_examples(base: int, lower: int, upper: int) -> None:
    assert price_limits(base) == PriceLimits(lower=lower, upper=upper)


def test_price_limits_other_rate_and_bad_input() -> None:
    assert price_limits(10_000, Decimal("0.15")) == PriceLimits(8_500, 11_500)
    with pytest.raises(ValueError, match="positive"):
        price_limits(0)
    with pytest.raises(ValueError, match="rate"):
        price_limits(10_000, Decimal("1"))


def test_limits_contain_and_clamp() -> None:
    limits = PriceLimits(lower=700, upper=1_300)
    assert limits.contains(700)
    assert limits.contains(1_300)
    assert not limits.contains(699)
    assert not limits.contains(1_301)
    assert limits.clamp(5) == 700
    assert limits.clamp(9_999) == 1_300
    assert limits.clamp(1_000) == 1_000


@given(prices)
def test_floor_and_ceil_bracket_the_price_on_tick(price: int) -> None:
    low, high = floor_tick(price), ceil_tick(price)
    assert is_on_tick(low)
    assert is_on_tick(high)
    assert low <= price <= high
    assert (low == high) is is_on_tick(price)
    if low != high:
        assert tick_up(low) == high


@given(grid_prices, steps)
def test_tick_up_then_down_is_identity(price: int, n: int) -> None:
    up = tick_up(price, n)
    assert is_on_tick(up)
    assert tick_down(up, n) == price
    assert ticks_between(price, up) == n


@given(grid_prices, steps)
def test_tick_down_then_up_is_identity_unless_clamped(price: int, n: int) -> None:
    down = tick_down(price, n)
    assert is_on_tick(down)
    if down > 1:
        assert tick_up(down, n) == price
    else:
        assert ticks_between(1, price) <= n


@given(grid_prices)
def test_single_steps_match_the_next_valid_price(price: int) -> None:
    up = tick_up(price)
    assert up > price
    assert all(not is_on_tick(p) for p in range(price + 1, up))
    if price > 1:
        down = tick_down(price)
        assert all(not is_on_tick(p) for p in range(down + 1, price))


@given(prices)
def test_limits_are_on_tick_and_within_thirty_percent(base: int) -> None:
    limits = price_limits(base)
    assert is_on_tick(limits.lower)
    assert is_on_tick(limits.upper)
    assert limits.lower <= limits.upper
    assert limits.upper * 10 <= base * 13
    assert limits.lower * 10 >= base * 7 or limits.lower == 1
    # Tightest on-tick bounds: one more tick would break the ±30 % rule.
    assert tick_up(limits.upper) * 10 > base * 13
    assert limits.lower == 1 or tick_down(limits.lower) * 10 < base * 7
