"""quantum.kiwoom answers and errors → the adapter's schema models and BrokerError."""

from __future__ import annotations

from datetime import datetime

from quantum.adapter import schema
from quantum.adapter.broker import (
    BrokerAuthError,
    BrokerError,
    BrokerInputError,
    BrokerNotFound,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    OrderOutcomeUnknown,
)
from quantum.kiwoom import models
from quantum.kiwoom.exceptions import (
    AuthError,
    BusinessError,
    InputError,
    KiwoomError,
    MockUnsupportedError,
    OutcomeUnknownError,
    RateLimitedError,
    TransportError,
    UnavailableError,
    redact,
)
from quantum.kiwoom.orders import Side
from quantum.kiwoom.tokens import Token

NOT_FOUND_CODES = frozenset({"1902"})
"""Kiwoom input codes that mean "no such stock"."""
MOCK_INPUT_CODES = frozenset({"8104"})
"""MockUnsupportedError codes that are about the request (a TR the mock host lacks)."""


def _side(side: Side) -> schema.Side:
    return schema.Side.BUY if side is Side.BUY else schema.Side.SELL


def token(value: Token) -> schema.TokenInfo:
    return schema.TokenInfo(
        token=value.secret(), token_type=value.token_type, expires_at=value.expires_at
    )


def quote(info: models.StockInfo, time: datetime) -> schema.Quote:
    return schema.Quote(
        stock_code=info.code,
        name=info.name,
        price=info.price,
        base_price=info.base_price,
        change=info.change,
        change_rate=info.change_rate,
        open=info.open,
        high=info.high,
        low=info.low,
        volume=info.volume,
        upper_limit=info.upper_limit,
        lower_limit=info.lower_limit,
        time=time,
    )


def order_book(stock_code: str, book: models.OrderBook) -> schema.OrderBook:
    return schema.OrderBook(
        stock_code=stock_code,
        time=book.time,
        asks=[schema.BookLevel(price=lv.price, quantity=lv.qty) for lv in book.asks],
        bids=[schema.BookLevel(price=lv.price, quantity=lv.qty) for lv in book.bids],
        total_ask_quantity=book.total_ask_qty,
        total_bid_quantity=book.total_bid_qty,
    )


def listing(row: models.StockListing, market: str) -> schema.Listing:
    return schema.Listing(
        stock_code=row.code,
        name=row.name,
        market=market,
        listed_shares=row.listed_shares or 0,
        last_price=row.last_price or 0,
    )


def candle(row: models.Candle) -> schema.Candle:
    return schema.Candle(
        time=row.time, open=row.open, high=row.high, low=row.low, close=row.close, volume=row.volume
    )


def order_ack(ack: models.OrderAck) -> schema.OrderAck:
    return schema.OrderAck(order_no=ack.order_no, message=ack.message or "")


def amend_ack(ack: models.ModifyAck | models.CancelAck) -> schema.OrderAck:
    return schema.OrderAck(
        order_no=ack.order_no,
        original_order_no=ack.original_order_no,
        quantity=ack.qty,
        message=ack.message or "",
    )


def broker_order(row: models.OpenOrder | models.Fill) -> schema.BrokerOrder:
    order_type = row.order_type.name if row.order_type is not None else row.order_type_text
    filled = row.filled_qty or 0
    average = row.fill_price or 0
    if isinstance(row, models.OpenOrder) and row.filled_amount and filled > 0:
        # ka10075's cntr_pric is the latest fill's price; its cntr_tot_amt gives the average
        average = row.filled_amount // filled
    return schema.BrokerOrder(
        order_no=row.order_no,
        original_order_no=row.original_order_no,
        stock_code=row.code,
        name=row.name,
        side=_side(row.side),
        order_type=order_type,
        quantity=row.qty,
        price=row.price,
        filled_quantity=filled,
        filled_price=average,
        remaining_quantity=row.remaining_qty,
        time=row.time,
    )


def deposit(value: models.Deposit) -> schema.Deposit:
    return schema.Deposit(
        cash=value.deposit, orderable=value.orderable, withdrawable=value.withdrawable
    )


def holding(row: models.Holding) -> schema.Holding:
    return schema.Holding(
        stock_code=row.code,
        name=row.name,
        quantity=row.qty,
        sellable_quantity=row.sellable_qty,
        average_price=row.avg_price,
        purchase_amount=row.purchase_amount,
        price=row.price,
        evaluation=row.eval_amount,
        profit=row.pnl,
        profit_rate=row.profit_rate,
    )


def balance(value: models.Balance) -> schema.Balance:
    return schema.Balance(
        total_purchase=value.total_purchase,
        total_evaluation=value.total_evaluation,
        total_profit=value.total_pnl,
        estimated_assets=value.estimated_assets or 0,
        holdings=[holding(row) for row in value.holdings],
    )


def _message(exc: KiwoomError) -> str:
    code = f"[{exc.code}] " if exc.code else ""
    api = f" ({exc.api_id})" if exc.api_id else ""
    return redact(f"{code}{exc.message}{api}")


def broker_error(exc: KiwoomError) -> BrokerError:
    """The BrokerError a Kiwoom failure is reported as (messages are redacted)."""
    message = _message(exc)
    code = exc.code
    if isinstance(exc, MockUnsupportedError):
        if code in MOCK_INPUT_CODES:
            return BrokerInputError(message, kiwoom_code=code)
        return BrokerRejected(message, kiwoom_code=code)
    if isinstance(exc, InputError):
        if code in NOT_FOUND_CODES:
            return BrokerNotFound(message, kiwoom_code=code)
        return BrokerInputError(message, kiwoom_code=code)
    if isinstance(exc, AuthError):
        return BrokerAuthError(message, kiwoom_code=code)
    if isinstance(exc, RateLimitedError):
        retry_after = exc.retry_after if exc.retry_after is not None else 1.0
        return BrokerRateLimited(message, retry_after=retry_after, kiwoom_code=code)
    if isinstance(exc, BusinessError):
        return BrokerRejected(message, kiwoom_code=code)
    if isinstance(exc, OutcomeUnknownError):
        return OrderOutcomeUnknown(message, kiwoom_code=code)
    if isinstance(exc, TransportError | UnavailableError):
        return BrokerUnavailable(message, kiwoom_code=code)
    return BrokerUnavailable(message, kiwoom_code=code)
