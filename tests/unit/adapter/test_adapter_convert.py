"""convert: Kiwoom errors → BrokerError, Kiwoom models → schema models."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from quantum.adapter import convert
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
from quantum.adapter.schema import Side
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
    register_secret,
)
from quantum.kiwoom.orders import OrderType
from quantum.kiwoom.orders import Side as KiwoomSide
from quantum.kiwoom.wire import KST


@pytest.mark.parametrize(
    ("error", "expected", "status"),
    [
        (InputError("ka10001", "1902", "종목정보가 없습니다"), BrokerNotFound, 404),
        (
            InputError("ka10001", "1511", "필수 입력 값에 값이 존재하지 않습니다"),
            BrokerInputError,
            422,
        ),
        (AuthError("ka10001", "8005", "Token이 유효하지 않습니다"), BrokerAuthError, 401),
        (BusinessError("kt10000", "RC4058", "모의투자 장종료"), BrokerRejected, 409),
        (MockUnsupportedError("kt10000", "RC9000", "모의투자 미지원"), BrokerRejected, 409),
        (MockUnsupportedError("ka10079", "8104", "지원하지 않는 API"), BrokerInputError, 422),
        (TransportError("ka10001", None, "request not sent", sent=False), BrokerUnavailable, 503),
        (UnavailableError("ka10001", None, "server error HTTP 503"), BrokerUnavailable, 503),
        (OutcomeUnknownError("kt10000", None, "no answer"), OrderOutcomeUnknown, 504),
        (KiwoomError("ka10001", None, "unexpected answer"), BrokerUnavailable, 503),
    ],
)
def test_broker_error_mapping(error: KiwoomError, expected: type[BrokerError], status: int) -> None:
    mapped = convert.broker_error(error)
    assert type(mapped) is expected
    assert mapped.status == status
    assert mapped.kiwoom_code == error.code
    assert error.message in mapped.message


def test_rate_limited_keeps_retry_after() -> None:
    mapped = convert.broker_error(
        RateLimitedError("ka10001", "1700", "허용된 요청 개수를 초과", retry_after=2.5)
    )
    assert isinstance(mapped, BrokerRateLimited)
    assert mapped.retry_after == 2.5 and mapped.status == 429
    default = convert.broker_error(RateLimitedError("ka10001", None, "too many"))
    assert isinstance(default, BrokerRateLimited) and default.retry_after == 1.0


def test_broker_error_messages_hold_no_secrets() -> None:
    secret = "SEsecretVALUEnever-shown-000"
    register_secret(secret)
    mapped = convert.broker_error(AuthError("au10001", "8002", f"bad secret {secret}"))
    assert secret not in mapped.message and "***" in mapped.message


def test_models_convert() -> None:
    info = models.StockInfo(
        code="005930",
        name="삼성전자",
        price=71000,
        base_price=70000,
        change=1000,
        change_rate=Decimal("1.43"),
        volume=123,
        upper_limit=91000,
        lower_limit=49000,
        open=70500,
    )
    now = datetime(2026, 11, 24, 10, tzinfo=KST)
    quote = convert.quote(info, now)
    assert (quote.stock_code, quote.price, quote.change, quote.open, quote.high) == (
        "005930",
        71000,
        1000,
        70500,
        None,
    )
    assert quote.time == now

    book = models.OrderBook(
        time=now,
        asks=(models.Level(price=71100, qty=5, change=0),),
        bids=(models.Level(price=71000, qty=7, change=1),),
        total_ask_qty=5,
        total_bid_qty=7,
    )
    converted = convert.order_book("005930", book)
    assert converted.asks[0].quantity == 5 and converted.bids[0].price == 71000

    row = models.Fill(
        order_no="0000012",
        code="005930",
        name="삼성전자",
        side=KiwoomSide.SELL,
        label="-매도",
        order_type=OrderType.MARKET,
        order_type_text="시장가",
        qty=10,
        price=0,
        remaining_qty=0,
        original_order_no=None,
        filled_qty=10,
        fill_price=71000,
        time=now,
    )
    order = convert.broker_order(row)
    assert (order.side, order.order_type, order.filled_quantity, order.filled_price) == (
        Side.SELL,
        "MARKET",
        10,
        71000,
    )
    unknown = convert.broker_order(row.model_copy(update={"order_type": None, "fill_price": None}))
    assert unknown.order_type == "시장가" and unknown.filled_price == 0

    holding = models.Holding(
        code="005930",
        name="삼성전자",
        qty=10,
        sellable_qty=10,
        avg_price=70000,
        purchase_amount=700000,
        price=71000,
        eval_amount=710000,
        pnl=10000,
        profit_rate=Decimal("1.43"),
    )
    balance = convert.balance(
        models.Balance(
            total_purchase=700000,
            total_evaluation=710000,
            total_pnl=10000,
            total_profit_rate=Decimal("1.43"),
            holdings=(holding,),
        )
    )
    assert balance.total_profit == 10000 and balance.estimated_assets == 0
    assert balance.holdings[0].evaluation == 710000

    deposit = convert.deposit(models.Deposit(deposit=100, orderable=90, withdrawable=80))
    assert (deposit.cash, deposit.orderable, deposit.withdrawable) == (100, 90, 80)

    candle = convert.candle(
        models.Candle(
            time=datetime(2026, 11, 24, tzinfo=KST), open=1, high=3, low=1, close=2, volume=9
        )
    )
    assert candle.close == 2 and candle.time.date() == date(2026, 11, 24)


def test_an_open_orders_fill_price_is_its_average() -> None:
    """ka10075's cntr_pric is the latest fill's price; BrokerOrder.filled_price is the
    average (as ka10076's), from the filled amount."""
    row = models.OpenOrder(
        order_no="0000013",
        code="005930",
        name="삼성전자",
        side=KiwoomSide.BUY,
        label="+매수",
        order_type=OrderType.LIMIT,
        order_type_text="보통",
        qty=12,
        price=72400,
        remaining_qty=9,
        original_order_no=None,
        filled_qty=3,
        fill_price=72400,
        filled_amount=72300 + 2 * 72400,
    )
    assert convert.broker_order(row).filled_price == 72366  # 217,100 / 3, truncated
    unfilled = row.model_copy(update={"filled_qty": 0, "fill_price": None, "filled_amount": 0})
    assert convert.broker_order(unfilled).filled_price == 0
