"""Realtime REAL entries built from market and engine facts, through the
declarative FID maps in :mod:`quantum.kiwoom.realtime`."""

from __future__ import annotations

from decimal import Decimal

from quantum.kiwoom.realtime import (
    BALANCE_FIDS,
    BEST_QUOTE_FIDS,
    BOOK_FIDS,
    ORDER_FIDS,
    TRADE_FIDS,
    direction_code,
)
from quantum.kiwoom.wire import (
    NO_ORDER,
    format_time,
    signed_number,
    signed_price,
    signed_rate,
)
from quantum.simulator.engine.events import BalanceEvent, OrderEvent
from quantum.simulator.fundamentals import HUNDRED_MILLION
from quantum.simulator.market import Level, StockState, Trade

MILLION = 1_000_000


def _fids(mapping: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    return {mapping[name]: value for name, value in values.items()}


def _rate(part: int, whole: int) -> Decimal:
    return Decimal(part * 100) / Decimal(whole) if whole else Decimal(0)


def _quote(price: int, base: int) -> str:
    return signed_price(price, base) if price else "0"


def trade_values(
    state: StockState,
    trade: Trade,
    best_ask: int,
    best_bid: int,
    listed_shares: int,
    strength: Decimal,
    session_code: str,
) -> dict[str, str]:
    """0B 주식체결 for one print."""
    base = state.base_price
    signed_qty = trade.qty if trade.buyer_initiated else -trade.qty
    return _fids(
        TRADE_FIDS,
        {
            "time": format_time(trade.at),
            "price": signed_price(trade.price, base),
            "change": signed_number(trade.price - base),
            "change_rate": signed_rate(_rate(trade.price - base, base)),
            "best_ask": _quote(best_ask, base),
            "best_bid": _quote(best_bid, base),
            "trade_qty": signed_number(signed_qty),
            "cum_volume": str(state.volume),
            "cum_turnover": str(state.turnover // MILLION),
            "open": _quote(state.open or 0, base),
            "high": _quote(state.high or 0, base),
            "low": _quote(state.low or 0, base),
            "direction": direction_code(
                trade.price, base, state.upper_limit, state.lower_limit
            ).value,
            "turnover_rate": signed_rate(_rate(state.volume, listed_shares)),
            "strength": f"{strength:.2f}",
            "market_cap": str(trade.price * listed_shares // HUNDRED_MILLION),
            "session": session_code,
            "exchange": "1",
        },
    )


def best_quote_values(best_ask: int, best_bid: int, base: int) -> dict[str, str]:
    """0C 주식우선호가."""
    return _fids(
        BEST_QUOTE_FIDS, {"best_ask": _quote(best_ask, base), "best_bid": _quote(best_bid, base)}
    )


def book_values(
    state: StockState, bids: list[Level], asks: list[Level], time_text: str
) -> dict[str, str]:
    """0D 주식호가잔량: 10 levels a side, totals, net quantities and ratios."""
    base = state.base_price
    values = {"time": time_text, "cum_volume": str(state.volume), "market_operation": "2"}
    for index in range(10):
        n = index + 1
        ask = asks[index] if index < len(asks) else None
        bid = bids[index] if index < len(bids) else None
        values[f"ask_price_{n}"] = _quote(ask.price, base) if ask else "0"
        values[f"bid_price_{n}"] = _quote(bid.price, base) if bid else "0"
        values[f"ask_qty_{n}"] = str(ask.qty) if ask else "0"
        values[f"bid_qty_{n}"] = str(bid.qty) if bid else "0"
    total_ask = sum(level.qty for level in asks)
    total_bid = sum(level.qty for level in bids)
    both = total_ask + total_bid
    values.update(
        {
            "total_ask_qty": str(total_ask),
            "total_bid_qty": str(total_bid),
            "net_bid_qty": signed_number(total_bid - total_ask),
            "net_ask_qty": signed_number(total_ask - total_bid),
            "bid_ratio": f"{_rate(total_bid, both):.2f}",
            "ask_ratio": f"{_rate(total_ask, both):.2f}",
            "expected_price": "0",
            "expected_qty": "0",
        }
    )
    return _fids(BOOK_FIDS, values)


def order_values(event: OrderEvent) -> dict[str, str]:
    """00 주문체결 for the token's own account."""
    order = event.order
    fill = event.fill_qty > 0
    return _fids(
        ORDER_FIDS,
        {
            "account_no": order.account_no,
            "order_no": order.order_no,
            "manager_no": "",
            "stock_code": order.code,
            "business_type": "JJ",
            "status": event.kind.value,
            "stock_name": order.name,
            "order_qty": str(order.qty),
            "order_price": str(order.price),
            "unfilled_qty": str(order.remaining),
            "filled_amount": str(order.filled_amount),
            "orig_order_no": order.orig_order_no or NO_ORDER,
            "order_label": event.label.value,
            "trade_type": event.order_type_name,
            "side": order.side.kiwoom_code,
            "time": format_time(event.at),
            "fill_no": event.fill_no,
            "fill_price": str(event.fill_price) if fill else "",
            "fill_qty": str(order.filled_qty) if fill else "",  # 911: cumulative, as Kiwoom's
            "price": str(event.current_price),
            "best_ask": str(event.best_ask),
            "best_bid": str(event.best_bid),
            "unit_fill_price": str(event.fill_price) if fill else "",
            "unit_fill_qty": str(event.fill_qty) if fill else "",
            "commission": str(event.commission),
            "tax": str(event.tax),
            "reject_reason": event.reason,
            "screen_no": "",
            "terminal_no": "",
            "credit_type": "00",
            "loan_date": "",
            "after_hours_price": "",
            "exchange_code": "1",
            "exchange_name": "KRX",
            "sor": "N",
        },
    )


def balance_values(event: BalanceEvent) -> dict[str, str]:
    """04 잔고 for the token's own account."""
    base = event.base_price
    return _fids(
        BALANCE_FIDS,
        {
            "account_no": event.account_no,
            "stock_code": event.code,
            "credit_type": "00",
            "loan_date": "",
            "stock_name": event.name,
            "price": signed_price(event.current_price, base),
            "quantity": str(event.qty),
            "avg_price": str(event.avg_price),
            "purchase_amount": str(event.purchase_amount),
            "sellable_qty": str(event.sellable_qty),
            "today_net_buy_qty": str(event.today_net_buy_qty),
            "side": event.side.kiwoom_code,
            "today_sell_pnl": signed_number(event.realized_pnl),
            "best_ask": _quote(event.best_ask, base),
            "best_bid": _quote(event.best_bid, base),
            "base_price": str(base),
            "profit_rate": signed_rate(event.profit_rate),
            "credit_amount": "0",
            "credit_interest": "0",
            "expiry_date": "",
            "realized_pnl": signed_number(event.realized_pnl),
            "realized_rate": signed_rate(event.realized_rate),
            "credit_realized_pnl": "0",
            "credit_realized_rate": "0.00",
            "collateral_qty": "0",
        },
    )
