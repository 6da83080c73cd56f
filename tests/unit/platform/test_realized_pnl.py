"""The average-cost realized P&L (fees and taxes ignored: fills carry none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from quantum.platform.trading.order_types import OrderSide
from quantum.platform.trading.portfolio import Fill, kst_day, rate, realized_profit

T0 = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 09:30 KST


def buy(quantity: int, price: int, minutes: int = 0, code: str = "005930") -> Fill:
    return Fill(code, OrderSide.BUY, quantity, price, T0 + timedelta(minutes=minutes))


def sell(quantity: int, price: int, minutes: int = 0, code: str = "005930") -> Fill:
    return Fill(code, OrderSide.SELL, quantity, price, T0 + timedelta(minutes=minutes))


def test_no_fills_realize_nothing() -> None:
    result = realized_profit([])
    assert result.total == 0 and dict(result.by_stock) == {} and result.unpriced_quantity == 0


def test_buys_only_realize_nothing() -> None:
    assert realized_profit([buy(10, 100), buy(5, 200)]).total == 0


def test_buys_at_different_prices_average_the_cost() -> None:
    # average (10*100 + 10*200) / 20 = 150; selling 5 at 170 realizes 5 * 20
    result = realized_profit([buy(10, 100), buy(10, 200, 1), sell(5, 170, 2)])
    assert result.total == 100
    assert dict(result.by_stock) == {"005930": 100}


def test_partial_sells_keep_the_average() -> None:
    fills = [buy(10, 100), sell(4, 130, 1), buy(6, 200, 2), sell(5, 90, 3)]
    # after the first sell: 6 @ 100; the buy makes 12 @ 150; the last sell: 5 * (90 - 150)
    assert realized_profit(fills).total == 4 * 30 + 5 * (90 - 150)


def test_the_average_resets_when_the_position_closes() -> None:
    fills = [buy(10, 100), sell(10, 110, 1), buy(10, 300, 2), sell(10, 310, 3)]
    assert realized_profit(fills).total == 10 * 10 + 10 * 10


def test_fractional_average_rounds_only_the_result() -> None:
    # average 100.333...: 3 * (101 - 301/3) = 2 exactly, not 3 * (101 - 100) = 3
    fills = [buy(1, 100), buy(1, 100), buy(1, 101), sell(3, 101, 1)]
    assert realized_profit(fills).total == 2
    # half a won rounds away from zero
    half = [buy(1, 100), buy(1, 101), sell(1, 101, 1)]  # 101 - 100.5 = 0.5
    assert realized_profit(half).total == 1
    negative = [buy(1, 100), buy(1, 101), sell(1, 100, 1)]
    assert realized_profit(negative).total == -1


def test_only_sells_in_the_window_count_but_earlier_fills_shape_the_cost() -> None:
    fills = [buy(10, 100), sell(5, 120, 1), buy(5, 200, 60), sell(5, 160, 61)]
    since = T0 + timedelta(minutes=30)
    result = realized_profit(fills, since=since, until=since + timedelta(hours=5))
    # the window's sell: average (5*100 + 5*200)/10 = 150, 5 * (160 - 150)
    assert result.total == 50
    assert realized_profit(fills, until=since).total == 5 * 20


def test_sells_beyond_the_history_use_the_broker_average() -> None:
    # 4 bought on the platform at 100; 10 sold at 130: 6 came from elsewhere (broker avg 90)
    fills = [buy(4, 100), sell(10, 130, 1)]
    result = realized_profit(fills, fallback_average={"005930": 90})
    assert result.total == 4 * 30 + 6 * 40
    assert result.unpriced_quantity == 0


def test_a_stock_without_buy_history_uses_the_broker_average() -> None:
    result = realized_profit([sell(3, 5000, code="000660")], fallback_average={"000660": 4000})
    assert result.total == 3000
    assert dict(result.by_stock) == {"000660": 3000}


def test_no_cost_known_at_all_counts_zero_and_says_so() -> None:
    result = realized_profit([sell(3, 5000)])
    assert result.total == 0 and result.unpriced_quantity == 3


def test_stocks_are_kept_apart() -> None:
    fills = [
        buy(10, 100, 0, "005930"),
        buy(10, 1000, 1, "000660"),
        sell(10, 110, 2, "005930"),
        sell(5, 900, 3, "000660"),
    ]
    result = realized_profit(fills)
    assert dict(result.by_stock) == {"000660": -500, "005930": 100}
    assert result.total == -400


def test_kst_day_bounds() -> None:
    day, start, end = kst_day(datetime(2026, 11, 24, 15, 30, tzinfo=UTC))  # 00:30 KST on the 25th
    assert str(day) == "2026-11-25"
    assert start == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def test_rate_is_a_fraction_with_four_places() -> None:
    assert rate(123, 10_000) == Decimal("0.0123")
    assert rate(-1, 3) == Decimal("-0.3333")
    assert rate(2, 3) == Decimal("0.6667")
    assert rate(5, 0) == 0
