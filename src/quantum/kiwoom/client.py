"""KiwoomClient: one typed method per TR, built on :class:`KiwoomTransport`.

Arguments are checked before anything is sent (bad input raises
:class:`InvalidArgumentError`, a ``ValueError``, and never reaches Kiwoom);
answers are read through the models' field maps. Lists that Kiwoom pages
(charts, holdings, open orders, fills, stock lists) are walked through
``cont-yn``/``next-key`` with :mod:`quantum.kiwoom.paging`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, Self

from quantum.kiwoom.endpoints import TRS, Exchange
from quantum.kiwoom.models import (
    AccountNumber,
    Balance,
    CancelAck,
    Candle,
    Deposit,
    Fill,
    Holding,
    ModifyAck,
    OpenOrder,
    OrderAck,
    OrderBook,
    StockInfo,
    StockListing,
    today_kst,
)
from quantum.kiwoom.orders import ALL_SIDES_FILTER, InvalidArgumentError, OrderType, Side
from quantum.kiwoom.paging import iterate_pages, iterate_rows
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.transport import KiwoomTransport

__all__ = ["InvalidArgumentError", "KiwoomClient", "Market"]

Market = Literal["KOSPI", "KOSDAQ"]

MARKET_CODES: Final[Mapping[str, str]] = MappingProxyType({"KOSPI": "0", "KOSDAQ": "10"})
"""ka10099 ``mrkt_tp`` for the markets the client lists."""
TICK_SCOPES: Final = frozenset({1, 3, 5, 10, 30})
MINUTE_SCOPES: Final = frozenset({1, 3, 5, 10, 15, 30, 45, 60})
BALANCE_EXCHANGES: Final = frozenset({Exchange.KRX, Exchange.NXT})
DEPOSIT_ESTIMATE: Final = "3"
"""kt00001 ``qry_tp``: 3 추정조회 (with D+1/D+2 estimates), 2 일반조회."""
BALANCE_SUMMED: Final = "1"
"""kt00018 ``qry_tp``: 1 합산 (one row per stock), 2 개별."""
ALL_EXCHANGES_FILTER: Final = "0"
"""ka10075/ka10076 ``stex_tp``: 0 통합, 1 KRX, 2 NXT."""

_CODE: Final = re.compile(r"[0-9A-Z]{6}")
_CODE_SUFFIXES: Final = ("_NX", "_AL")
_ORDER_NO: Final = re.compile(r"\d{1,10}")


# -- argument checks ---------------------------------------------------------------------------


def _stock_code(code: object, *, line_suffix: bool = True) -> str:
    """A 6-character code; queries may name a ``_NX``/``_AL`` line (``005930_NX``)."""
    if not isinstance(code, str):
        raise InvalidArgumentError(f"stock code must be a string, not {type(code).__name__}")
    base = code
    if line_suffix and code.endswith(_CODE_SUFFIXES):
        base = code[:-3]
    if not _CODE.fullmatch(base):
        shape = "6 characters (0-9, A-Z)" + (", optionally _NX/_AL" if line_suffix else "")
        raise InvalidArgumentError(f"stock code must be {shape}: {code!r}")
    return code


def _int(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise InvalidArgumentError(f"{name} must be >= {minimum}: {value}")
    return value


def _max_rows(value: int | None) -> int | None:
    return None if value is None else _int("max_rows", value, minimum=1)


def _exchange(value: object, allowed: frozenset[Exchange] | None = None) -> Exchange:
    if not isinstance(value, str) or value not in Exchange.__members__:
        raise InvalidArgumentError(f"unknown exchange: {value!r}")
    exchange = Exchange(value)
    if allowed is not None and exchange not in allowed:
        names = ", ".join(sorted(allowed))
        raise InvalidArgumentError(f"exchange must be one of {names}: {value!r}")
    return exchange


def _order_no(value: object) -> str:
    if not isinstance(value, str) or not _ORDER_NO.fullmatch(value):
        raise InvalidArgumentError(f"order number must be 1-10 digits: {value!r}")
    return value.zfill(7)


def _day(name: str, value: object) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise InvalidArgumentError(f"{name} must be a date, not {type(value).__name__}")
    return value.strftime("%Y%m%d")


def _side_filter(side: object) -> str:
    if side is None:
        return ALL_SIDES_FILTER
    if not isinstance(side, Side):
        raise InvalidArgumentError(f"side must be a Side or None: {side!r}")
    return side.filter_code


def _adjusted(value: object) -> str:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"adjusted must be a bool: {value!r}")
    return "1" if value else "0"


def _list_key(api_id: str) -> str:
    key = TRS[api_id].list_key
    assert key is not None, api_id
    return key


# -- client ------------------------------------------------------------------------------------


class KiwoomClient:
    """Typed Kiwoom REST calls. ``today`` gives the KST date that ``HHMMSS`` answer
    fields (order book time, order times) are read on; the system clock by default."""

    def __init__(
        self,
        transport: KiwoomTransport,
        *,
        today: Callable[[], date] | None = None,
        owns_transport: bool = False,
    ) -> None:
        self._transport = transport
        self._today = today or today_kst
        self._owns_transport = owns_transport

    @classmethod
    def from_settings(
        cls,
        settings: KiwoomSettings,
        *,
        today: Callable[[], date] | None = None,
        **transport_kwargs: Any,
    ) -> KiwoomClient:
        """A client with its own transport, closed with the client."""
        transport = KiwoomTransport(settings, **transport_kwargs)
        return cls(transport, today=today, owns_transport=True)

    @property
    def transport(self) -> KiwoomTransport:
        return self._transport

    async def aclose(self) -> None:
        """Close the transport if this client created it (``from_settings``)."""
        if self._owns_transport:
            await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(self, api_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = await self._transport.call(api_id, body)
        return response.body

    # -- account & quotes ---------------------------------------------------------------------

    async def account_number(self) -> AccountNumber:
        """ka00001: the account bound to the token."""
        return AccountNumber.from_kiwoom(await self._call("ka00001", {}))

    async def stock_info(self, code: str) -> StockInfo:
        """ka10001 주식기본정보."""
        body = {"stk_cd": _stock_code(code)}
        return StockInfo.from_kiwoom(await self._call("ka10001", body))

    async def order_book(self, code: str) -> OrderBook:
        """ka10004 주식호가: 10 levels a side, best first."""
        body = {"stk_cd": _stock_code(code)}
        return OrderBook.from_kiwoom(await self._call("ka10004", body), on=self._today())

    async def stock_list(self, market: Market) -> list[StockListing]:
        """ka10099 종목정보 리스트 of one market."""
        if market not in MARKET_CODES:
            raise InvalidArgumentError(f"market must be KOSPI or KOSDAQ: {market!r}")
        body = {"mrkt_tp": MARKET_CODES[market]}
        rows = iterate_rows(self._transport, "ka10099", body, _list_key("ka10099"))
        return [StockListing.from_kiwoom(row) async for row in rows]

    # -- charts -------------------------------------------------------------------------------

    async def _chart(
        self, api_id: str, body: Mapping[str, Any], max_rows: int | None
    ) -> list[Candle]:
        """Kiwoom pages back in time (newest first); the result is oldest first."""
        rows = iterate_rows(self._transport, api_id, body, _list_key(api_id), max_rows=max_rows)
        candles = [Candle.from_kiwoom(row, api_id=api_id) async for row in rows]
        candles.reverse()
        candles.sort(key=lambda candle: candle.time)  # stable: equal times keep their order
        return candles

    async def tick_chart(
        self, code: str, ticks: int, *, max_rows: int | None = None, adjusted: bool = True
    ) -> list[Candle]:
        """ka10079: candles of ``ticks`` trades each, oldest first, at most ``max_rows``
        (the newest ones)."""
        if ticks not in TICK_SCOPES:
            raise InvalidArgumentError(f"ticks must be one of {sorted(TICK_SCOPES)}: {ticks!r}")
        body = {
            "stk_cd": _stock_code(code),
            "tic_scope": str(ticks),
            "upd_stkpc_tp": _adjusted(adjusted),
        }
        return await self._chart("ka10079", body, _max_rows(max_rows))

    async def minute_chart(
        self,
        code: str,
        minutes: int,
        base_date: date | None = None,
        *,
        max_rows: int | None = None,
        adjusted: bool = True,
    ) -> list[Candle]:
        """ka10080: ``minutes``-minute candles up to ``base_date`` (default: latest),
        oldest first, at most ``max_rows`` (the newest ones)."""
        if minutes not in MINUTE_SCOPES:
            raise InvalidArgumentError(
                f"minutes must be one of {sorted(MINUTE_SCOPES)}: {minutes!r}"
            )
        body = {
            "stk_cd": _stock_code(code),
            "tic_scope": str(minutes),
            "upd_stkpc_tp": _adjusted(adjusted),
        }
        if base_date is not None:
            body["base_dt"] = _day("base_date", base_date)
        return await self._chart("ka10080", body, _max_rows(max_rows))

    async def _period_chart(
        self, api_id: str, code: str, base_date: date, adjusted: bool, max_rows: int | None
    ) -> list[Candle]:
        body = {
            "stk_cd": _stock_code(code),
            "base_dt": _day("base_date", base_date),
            "upd_stkpc_tp": _adjusted(adjusted),
        }
        return await self._chart(api_id, body, _max_rows(max_rows))

    async def daily_chart(
        self, code: str, base_date: date, adjusted: bool = True, *, max_rows: int | None = None
    ) -> list[Candle]:
        """ka10081: daily candles up to ``base_date``, oldest first (turnover in won)."""
        return await self._period_chart("ka10081", code, base_date, adjusted, max_rows)

    async def weekly_chart(
        self, code: str, base_date: date, adjusted: bool = True, *, max_rows: int | None = None
    ) -> list[Candle]:
        """ka10082: weekly candles (stamped with the week's first day), oldest first."""
        return await self._period_chart("ka10082", code, base_date, adjusted, max_rows)

    async def monthly_chart(
        self, code: str, base_date: date, adjusted: bool = True, *, max_rows: int | None = None
    ) -> list[Candle]:
        """ka10083: monthly candles, oldest first."""
        return await self._period_chart("ka10083", code, base_date, adjusted, max_rows)

    async def yearly_chart(
        self, code: str, base_date: date, adjusted: bool = True, *, max_rows: int | None = None
    ) -> list[Candle]:
        """ka10094: yearly candles, oldest first."""
        return await self._period_chart("ka10094", code, base_date, adjusted, max_rows)

    # -- orders -------------------------------------------------------------------------------

    async def buy(
        self,
        code: str,
        qty: int,
        order_type: OrderType = OrderType.LIMIT,
        price: int | None = None,
        stop_price: int | None = None,
        exchange: str = "KRX",
    ) -> OrderAck:
        """kt10000 매수주문."""
        return await self._place(Side.BUY, code, qty, order_type, price, stop_price, exchange)

    async def sell(
        self,
        code: str,
        qty: int,
        order_type: OrderType = OrderType.LIMIT,
        price: int | None = None,
        stop_price: int | None = None,
        exchange: str = "KRX",
    ) -> OrderAck:
        """kt10001 매도주문."""
        return await self._place(Side.SELL, code, qty, order_type, price, stop_price, exchange)

    async def _place(
        self,
        side: Side,
        code: str,
        qty: int,
        order_type: OrderType,
        price: int | None,
        stop_price: int | None,
        exchange: str,
    ) -> OrderAck:
        if not isinstance(order_type, OrderType):
            raise InvalidArgumentError(f"order_type must be an OrderType: {order_type!r}")
        body = {
            "dmst_stex_tp": _exchange(exchange).value,
            "stk_cd": _stock_code(code, line_suffix=False),
            "ord_qty": str(_int("qty", qty, minimum=1)),
            "ord_uv": _price_for(order_type, "price", price, order_type.needs_price),
            "trde_tp": order_type.code,
            "cond_uv": _price_for(
                order_type, "stop_price", stop_price, order_type.needs_stop_price
            ),
        }
        return OrderAck.from_kiwoom(await self._call(side.api_id, body), api_id=side.api_id)

    async def modify(
        self, order_no: str, code: str, qty: int, price: int, exchange: str = "KRX"
    ) -> ModifyAck:
        """kt10002 정정: ``qty`` shares (0 = the whole remainder) move to ``price``."""
        body = {
            "dmst_stex_tp": _exchange(exchange).value,
            "orig_ord_no": _order_no(order_no),
            "stk_cd": _stock_code(code, line_suffix=False),
            "mdfy_qty": str(_int("qty", qty, minimum=0)),
            "mdfy_uv": str(_int("price", price, minimum=1)),
            "mdfy_cond_uv": "",
        }
        return ModifyAck.from_kiwoom(await self._call("kt10002", body))

    async def cancel(
        self, order_no: str, code: str, qty: int = 0, exchange: str = "KRX"
    ) -> CancelAck:
        """kt10003 취소: ``qty`` shares, 0 (default) = the whole remainder."""
        body = {
            "dmst_stex_tp": _exchange(exchange).value,
            "orig_ord_no": _order_no(order_no),
            "stk_cd": _stock_code(code, line_suffix=False),
            "cncl_qty": str(_int("qty", qty, minimum=0)),
        }
        return CancelAck.from_kiwoom(await self._call("kt10003", body))

    # -- account ------------------------------------------------------------------------------

    async def deposit(self) -> Deposit:
        """kt00001 예수금상세현황 (estimated: with D+1/D+2)."""
        return Deposit.from_kiwoom(await self._call("kt00001", {"qry_tp": DEPOSIT_ESTIMATE}))

    async def balance(self, exchange: str = "KRX") -> Balance:
        """kt00018 계좌평가잔고내역: totals and every holding (all pages)."""
        body = {
            "qry_tp": BALANCE_SUMMED,
            "dmst_stex_tp": _exchange(exchange, BALANCE_EXCHANGES).value,
        }
        balance: Balance | None = None
        async for page in iterate_pages(self._transport, "kt00018", body):
            if balance is None:
                balance = Balance.from_kiwoom(page.body)
            else:
                rows = page.body.get(_list_key("kt00018")) or []
                balance = balance.with_more_holdings(tuple(Holding.from_kiwoom(r) for r in rows))
        assert balance is not None, "iterate_pages yields at least one page"
        return balance

    async def open_orders(
        self, code: str | None = None, side: Side | None = None
    ) -> list[OpenOrder]:
        """ka10075 미체결: open orders, optionally of one stock and/or side (all pages)."""
        body = {
            "all_stk_tp": "0" if code is None else "1",
            "trde_tp": _side_filter(side),
            "stk_cd": "" if code is None else _stock_code(code, line_suffix=False),
            "stex_tp": ALL_EXCHANGES_FILTER,
        }
        on = self._today()
        rows = iterate_rows(self._transport, "ka10075", body, _list_key("ka10075"))
        return [OpenOrder.from_kiwoom(row, on=on) async for row in rows]

    async def fills(self, code: str | None = None, side: Side | None = None) -> list[Fill]:
        """ka10076 체결: today's orders with fills, newest first (all pages)."""
        body = {
            "stk_cd": "" if code is None else _stock_code(code, line_suffix=False),
            "qry_tp": "0" if code is None else "1",
            "sell_tp": _side_filter(side),
            "ord_no": "",
            "stex_tp": ALL_EXCHANGES_FILTER,
        }
        on = self._today()
        rows = iterate_rows(self._transport, "ka10076", body, _list_key("ka10076"))
        return [Fill.from_kiwoom(row, on=on) async for row in rows]


def _price_for(order_type: OrderType, name: str, value: int | None, needed: bool) -> str:
    """The price field's text: required for types that need it, refused otherwise."""
    if value is None:
        if needed:
            raise InvalidArgumentError(f"{order_type.name} orders need {name}")
        return ""
    if not needed:
        raise InvalidArgumentError(f"{order_type.name} orders take no {name}: {value!r}")
    return str(_int(name, value, minimum=1))
