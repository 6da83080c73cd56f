"""Typed answers of the TRs the client speaks, read through their field maps.

Every model is a frozen pydantic model with a ``FIELDS`` map (Kiwoom name → our
name → parser, see :mod:`quantum.kiwoom.fields`) and ``from_kiwoom(raw)``. The
maps are the only place that knows Kiwoom's field names; fields a map does not
name are kept verbatim in ``extra``.

Units: prices and amounts are in won, quantities in shares. Kiwoom's 억원 /
백만원 / 천주 fields are converted by their parsers (``market_cap`` is in won).
``HHMMSS`` times are read on the KST date given as ``on`` (today by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar, Final, Self

from pydantic import BaseModel, ConfigDict
from pydantic import Field as ModelField

from quantum.kiwoom import endpoints, wire
from quantum.kiwoom.fields import (
    ENVELOPE_KEYS,
    Field,
    FieldMap,
    amount,
    date_start,
    map_fields,
    optional_amount,
    optional_date,
    optional_hundred_millions,
    optional_millions,
    optional_price,
    optional_rate,
    optional_signed_int,
    optional_text,
    optional_thousands,
    optional_time_on,
    optional_yes_no,
    order_no,
    order_type_text,
    original_order_no,
    price,
    rate,
    side,
    signed_int,
    stock_code,
    text,
    time_on,
    timestamp,
)
from quantum.kiwoom.orders import OrderType, Side

F = Field


def today_kst() -> date:
    """Today's date in Korea, the day ``HHMMSS`` fields are read on by default."""
    return datetime.now(wire.KST).date()


class KiwoomModel(BaseModel):
    """Base of every answer model: ``from_kiwoom`` reads ``raw`` through ``FIELDS``."""

    model_config = ConfigDict(frozen=True)

    API_ID: ClassVar[str] = ""
    FIELDS: ClassVar[FieldMap] = ()
    IGNORED: ClassVar[frozenset[str]] = ENVELOPE_KEYS
    """Keys neither mapped nor kept as extras (the envelope, list keys read separately)."""

    extra: dict[str, Any] = ModelField(default_factory=dict)
    """Fields of the answer that the map does not name, verbatim."""

    @classmethod
    def field_map(cls, *, on: date, api_id: str | None) -> FieldMap:
        """The map to read an answer with; models with ``HHMMSS`` fields build it for ``on``."""
        return cls.FIELDS

    @classmethod
    def from_kiwoom(
        cls, raw: Mapping[str, Any], *, on: date | None = None, api_id: str | None = None
    ) -> Self:
        """Read one answer (or one list row). ``on``: the KST date of ``HHMMSS``
        fields (default today); ``api_id``: the TR it came from when a model serves several."""
        fields = cls.field_map(on=on or today_kst(), api_id=api_id)
        values, extra = map_fields(raw, fields, api_id=api_id or cls.API_ID, ignore=cls.IGNORED)
        return cls._build(raw, values, extra, on=on)

    @classmethod
    def _build(
        cls,
        raw: Mapping[str, Any],
        values: dict[str, Any],
        extra: dict[str, Any],
        *,
        on: date | None,
    ) -> Self:
        return cls(**values, extra=extra)


# -- OAuth, account number -------------------------------------------------------------------


class Token(KiwoomModel):
    """au10001: an access token. The value never appears in ``repr``/``str``."""

    API_ID = "au10001"
    FIELDS = (
        F("token", "value", text),
        F("token_type", "token_type", text),
        F("expires_dt", "expires_at", timestamp),
    )

    value: str = ModelField(repr=False)
    token_type: str
    expires_at: datetime


class AccountNumber(KiwoomModel):
    """ka00001: the account bound to the token."""

    API_ID = "ka00001"
    FIELDS = (F("acctNo", "account_no", text),)

    account_no: str


# -- quotes ------------------------------------------------------------------------------------


class StockInfo(KiwoomModel):
    """ka10001 주식기본정보. Prices are positive; ``change`` keeps its sign."""

    API_ID = "ka10001"
    FIELDS = (
        F("stk_cd", "code", text),
        F("stk_nm", "name", text),
        F("cur_prc", "price", price),
        F("base_pric", "base_price", price),
        F("pred_pre", "change", signed_int),
        F("flu_rt", "change_rate", rate),
        F("trde_qty", "volume", signed_int),
        F("upl_pric", "upper_limit", price),
        F("lst_pric", "lower_limit", price),
        F("open_pric", "open", optional_price),
        F("high_pric", "high", optional_price),
        F("low_pric", "low", optional_price),
        F("pre_sig", "direction", optional_text),
        F("trde_pre", "volume_ratio", optional_rate),
        F("exp_cntr_pric", "expected_price", optional_price),
        F("exp_cntr_qty", "expected_qty", optional_signed_int),
        F("setl_mm", "settlement_month", optional_text),
        F("fav", "face_value", optional_signed_int),
        F("fav_unit", "face_value_unit", optional_text),
        F("cap", "capital", optional_hundred_millions),
        F("flo_stk", "listed_shares", optional_thousands),
        F("dstr_stk", "float_shares", optional_thousands),
        F("dstr_rt", "float_rate", optional_rate),
        F("crd_rt", "credit_rate", optional_rate),
        F("mac", "market_cap", optional_hundred_millions),
        F("mac_wght", "market_cap_weight", optional_rate),
        F("for_exh_rt", "foreign_exhaustion_rate", optional_rate),
        F("repl_pric", "substitute_price", optional_price),
        F("oyr_hgst", "year_high", optional_price),
        F("oyr_lwst", "year_low", optional_price),
        F("250hgst", "high_250d", optional_price),
        F("250lwst", "low_250d", optional_price),
        F("250hgst_pric_dt", "high_250d_date", optional_date),
        F("250lwst_pric_dt", "low_250d_date", optional_date),
        F("250hgst_pric_pre_rt", "high_250d_rate", optional_rate),
        F("250lwst_pric_pre_rt", "low_250d_rate", optional_rate),
        F("per", "per", optional_rate),
        F("eps", "eps", optional_signed_int),
        F("roe", "roe", optional_rate),
        F("pbr", "pbr", optional_rate),
        F("ev", "ev", optional_rate),
        F("bps", "bps", optional_signed_int),
        F("sale_amt", "sales", optional_hundred_millions),
        F("bus_pro", "operating_profit", optional_hundred_millions),
        F("cup_nga", "net_income", optional_hundred_millions),
    )

    code: str
    name: str
    price: int
    base_price: int
    change: int
    change_rate: Decimal
    volume: int
    upper_limit: int
    lower_limit: int
    open: int | None = None
    high: int | None = None
    low: int | None = None
    direction: str | None = None
    volume_ratio: Decimal | None = None
    expected_price: int | None = None
    expected_qty: int | None = None
    settlement_month: str | None = None
    face_value: int | None = None
    face_value_unit: str | None = None
    capital: int | None = None
    listed_shares: int | None = None
    float_shares: int | None = None
    float_rate: Decimal | None = None
    credit_rate: Decimal | None = None
    market_cap: int | None = None
    market_cap_weight: Decimal | None = None
    foreign_exhaustion_rate: Decimal | None = None
    substitute_price: int | None = None
    year_high: int | None = None
    year_low: int | None = None
    high_250d: int | None = None
    low_250d: int | None = None
    high_250d_date: date | None = None
    low_250d_date: date | None = None
    high_250d_rate: Decimal | None = None
    low_250d_rate: Decimal | None = None
    per: Decimal | None = None
    eps: int | None = None
    roe: Decimal | None = None
    pbr: Decimal | None = None
    ev: Decimal | None = None
    bps: int | None = None
    sales: int | None = None
    operating_profit: int | None = None
    net_income: int | None = None


class Level(BaseModel):
    """One price level of an order book."""

    model_config = ConfigDict(frozen=True)

    price: int
    qty: int
    change: int
    """Quantity change at this level since the previous answer."""


BOOK_DEPTH: Final = 10
_BOOK_SIDES: Final = (("sel", "ask"), ("buy", "bid"))


def _book_level_fields() -> FieldMap:
    """ka10004's irregular level names: level 1 is ``fpr`` (최우선), then ``2th``…``10th``."""
    fields: list[Field[Any]] = []
    for prefix, ours in _BOOK_SIDES:
        for n in range(1, BOOK_DEPTH + 1):
            head = f"{prefix}_fpr" if n == 1 else f"{prefix}_{n}th_pre"
            fields += [
                F(f"{head}_bid", f"{ours}_price_{n}", optional_price),
                F(f"{head}_req", f"{ours}_qty_{n}", optional_signed_int),
                F(f"{prefix}_{n}th_pre_req_pre", f"{ours}_change_{n}", optional_signed_int),
            ]
    return tuple(fields)


_BOOK_LEVEL_FIELDS: Final = _book_level_fields()
_BOOK_TOTAL_FIELDS: Final = (
    F("tot_sel_req", "total_ask_qty", signed_int),
    F("tot_buy_req", "total_bid_qty", signed_int),
    F("tot_sel_req_jub_pre", "total_ask_change", optional_signed_int),
    F("tot_buy_req_jub_pre", "total_bid_change", optional_signed_int),
    F("ovt_sel_req", "after_hours_ask_qty", optional_signed_int),
    F("ovt_buy_req", "after_hours_bid_qty", optional_signed_int),
    F("ovt_sel_req_pre", "after_hours_ask_change", optional_signed_int),
    F("ovt_buy_req_pre", "after_hours_bid_change", optional_signed_int),
)


@cache
def _book_fields(on: date) -> FieldMap:
    return (F("bid_req_base_tm", "time", time_on(on)), *_BOOK_LEVEL_FIELDS, *_BOOK_TOTAL_FIELDS)


class OrderBook(KiwoomModel):
    """ka10004 주식호가: up to 10 levels a side, best first; empty (``"0"``) levels are left out."""

    API_ID = "ka10004"
    FIELDS = _book_fields(date(2000, 1, 1))
    """The map (its ``time`` parser is rebuilt for the date an answer is read on)."""

    time: datetime
    asks: tuple[Level, ...]
    bids: tuple[Level, ...]
    total_ask_qty: int
    total_bid_qty: int
    total_ask_change: int | None = None
    total_bid_change: int | None = None
    after_hours_ask_qty: int | None = None
    after_hours_bid_qty: int | None = None
    after_hours_ask_change: int | None = None
    after_hours_bid_change: int | None = None

    @property
    def best_ask(self) -> int | None:
        return self.asks[0].price if self.asks else None

    @property
    def best_bid(self) -> int | None:
        return self.bids[0].price if self.bids else None

    @classmethod
    def field_map(cls, *, on: date, api_id: str | None) -> FieldMap:
        return _book_fields(on)

    @classmethod
    def _build(
        cls,
        raw: Mapping[str, Any],
        values: dict[str, Any],
        extra: dict[str, Any],
        *,
        on: date | None,
    ) -> Self:
        sides: dict[str, Any] = {}
        for _, ours in _BOOK_SIDES:
            levels = []
            for n in range(1, BOOK_DEPTH + 1):
                level_price = values.pop(f"{ours}_price_{n}")
                qty = values.pop(f"{ours}_qty_{n}")
                change = values.pop(f"{ours}_change_{n}")
                if level_price:
                    levels.append(Level(price=level_price, qty=qty or 0, change=change or 0))
            sides[f"{ours}s"] = tuple(levels)
        return cls(**values, **sides, extra=extra)


class StockListing(KiwoomModel):
    """One row of ka10099 종목정보 리스트."""

    API_ID = "ka10099"
    FIELDS = (
        F("code", "code", text),
        F("name", "name", text),
        F("listCount", "listed_shares", optional_signed_int),
        F("lastPrice", "last_price", optional_price),
        F("regDay", "listing_date", optional_date),
        F("marketCode", "market_code", optional_text),
        F("marketName", "market_name", optional_text),
        F("upName", "sector", optional_text),
        F("upSizeName", "size_class", optional_text),
        F("companyClassName", "company_class", optional_text),
        F("auditInfo", "audit_info", optional_text),
        F("state", "state", optional_text),
        F("orderWarning", "order_warning", optional_text),
        F("nxtEnable", "nxt_enabled", optional_yes_no),
    )

    code: str
    name: str
    listed_shares: int | None = None
    last_price: int | None = None
    listing_date: date | None = None
    market_code: str | None = None
    market_name: str | None = None
    sector: str | None = None
    size_class: str | None = None
    company_class: str | None = None
    audit_info: str | None = None
    state: str | None = None
    order_warning: str | None = None
    nxt_enabled: bool | None = None


# -- charts ----------------------------------------------------------------------------------

_OHLCV: Final = (
    F("open_pric", "open", price),
    F("high_pric", "high", price),
    F("low_pric", "low", price),
    F("cur_prc", "close", price),
    F("trde_qty", "volume", signed_int),
)
_INTRADAY_CANDLE: Final = (F("cntr_tm", "time", timestamp), *_OHLCV)
_DAILY_CANDLE: Final = (
    F("dt", "time", date_start),
    *_OHLCV,
    F("trde_prica", "turnover", optional_millions),
)
_PERIOD_CANDLE: Final = (
    F("dt", "time", date_start),
    *_OHLCV,
    F("trde_prica", "turnover", optional_amount),
)

CANDLE_FIELDS: Final[Mapping[str, FieldMap]] = {
    "ka10079": _INTRADAY_CANDLE,
    "ka10080": _INTRADAY_CANDLE,
    "ka10081": _DAILY_CANDLE,
    "ka10082": _PERIOD_CANDLE,
    "ka10083": _PERIOD_CANDLE,
    "ka10094": _PERIOD_CANDLE,
}
"""Candle maps by chart TR: intraday rows are stamped ``cntr_tm``; D/W/M/Y rows by
``dt`` (the period's first day, read as midnight KST). Daily ``trde_prica`` is in
백만원, the others in 원; ``turnover`` is always in won."""


class Candle(KiwoomModel):
    """One chart row of ka10079/ka10080/ka10081/ka10082/ka10083/ka10094; prices positive."""

    API_ID = "ka10081"
    FIELDS = _DAILY_CANDLE

    time: datetime
    open: int
    high: int
    low: int
    close: int
    volume: int
    turnover: int | None = None
    """Traded value in won (daily/weekly/monthly/yearly rows only)."""

    @classmethod
    def field_map(cls, *, on: date, api_id: str | None) -> FieldMap:
        if api_id is None:
            return cls.FIELDS
        try:
            return CANDLE_FIELDS[api_id]
        except KeyError:
            raise ValueError(f"not a chart TR: {api_id!r}") from None


# -- orders ----------------------------------------------------------------------------------

_ACK_COMMON: Final = (
    F("dmst_stex_tp", "exchange", optional_text),
    F("return_msg", "message", optional_text),
)


class OrderAck(KiwoomModel):
    """kt10000/kt10001: the new order's number."""

    API_ID = "kt10000"
    FIELDS = (F("ord_no", "order_no", order_no), *_ACK_COMMON)

    order_no: str
    exchange: str | None = None
    message: str | None = None


def _amend_fields(qty_field: str) -> tuple[F[Any], ...]:
    return (
        F("ord_no", "order_no", order_no),
        F("base_orig_ord_no", "original_order_no", order_no),
        F(qty_field, "qty", amount),
        *_ACK_COMMON,
    )


class _AmendAck(KiwoomModel):
    """What modify and cancel answer: a new order number for ``qty`` shares of
    the original order."""

    order_no: str
    original_order_no: str
    qty: int
    exchange: str | None = None
    message: str | None = None


class ModifyAck(_AmendAck):
    """kt10002: the modify creates a new order for ``qty`` at the new price."""

    API_ID = "kt10002"
    FIELDS = _amend_fields("mdfy_qty")


class CancelAck(_AmendAck):
    """kt10003: ``qty`` shares of the original order were cancelled."""

    API_ID = "kt10003"
    FIELDS = _amend_fields("cncl_qty")


# -- account ---------------------------------------------------------------------------------


class Deposit(KiwoomModel):
    """kt00001 예수금상세현황 (the ~50 other amounts stay in ``extra``)."""

    API_ID = "kt00001"
    FIELDS = (
        F("entr", "deposit", amount),
        F("ord_alow_amt", "orderable", amount),
        F("pymn_alow_amt", "withdrawable", amount),
        F("d1_entra", "d1_deposit", optional_amount),
        F("d2_entra", "d2_deposit", optional_amount),
        F("d1_pymn_alow_amt", "d1_withdrawable", optional_amount),
        F("d2_pymn_alow_amt", "d2_withdrawable", optional_amount),
        F("profa_ch", "margin_cash", optional_amount),
        F("repl_amt", "substitute", optional_amount),
        F("20stk_ord_alow_amt", "orderable_margin_20", optional_amount),
        F("30stk_ord_alow_amt", "orderable_margin_30", optional_amount),
        F("40stk_ord_alow_amt", "orderable_margin_40", optional_amount),
        F("50stk_ord_alow_amt", "orderable_margin_50", optional_amount),
        F("60stk_ord_alow_amt", "orderable_margin_60", optional_amount),
        F("100stk_ord_alow_amt", "orderable_margin_100", optional_amount),
        F("crd_grnt_rt", "credit_guarantee_rate", optional_rate),
    )

    deposit: int
    orderable: int
    withdrawable: int
    d1_deposit: int | None = None
    d2_deposit: int | None = None
    d1_withdrawable: int | None = None
    d2_withdrawable: int | None = None
    margin_cash: int | None = None
    substitute: int | None = None
    orderable_margin_20: int | None = None
    orderable_margin_30: int | None = None
    orderable_margin_40: int | None = None
    orderable_margin_50: int | None = None
    orderable_margin_60: int | None = None
    orderable_margin_100: int | None = None
    credit_guarantee_rate: Decimal | None = None


class Holding(KiwoomModel):
    """One row of kt00018 ``acnt_evlt_remn_indv_tot``; ``code`` without the ``A`` prefix."""

    API_ID = "kt00018"
    FIELDS = (
        F("stk_cd", "code", stock_code),
        F("stk_nm", "name", text),
        F("rmnd_qty", "qty", amount),
        F("trde_able_qty", "sellable_qty", amount),
        F("pur_pric", "avg_price", amount),
        F("pur_amt", "purchase_amount", amount),
        F("cur_prc", "price", price),
        F("evlt_amt", "eval_amount", amount),
        F("evltv_prft", "pnl", amount),
        F("prft_rt", "profit_rate", rate),
        F("pred_close_pric", "previous_close", optional_price),
        F("pur_cmsn", "purchase_fee", optional_amount),
        F("sell_cmsn", "sell_fee", optional_amount),
        F("tax", "tax", optional_amount),
        F("sum_cmsn", "total_fees", optional_amount),
        F("poss_rt", "weight", optional_rate),
        F("pred_buyq", "previous_buy_qty", optional_amount),
        F("pred_sellq", "previous_sell_qty", optional_amount),
        F("tdy_buyq", "today_buy_qty", optional_amount),
        F("tdy_sellq", "today_sell_qty", optional_amount),
        F("crd_tp", "credit_type", optional_text),
    )

    code: str
    name: str
    qty: int
    sellable_qty: int
    avg_price: int
    purchase_amount: int
    price: int
    eval_amount: int
    pnl: int
    profit_rate: Decimal
    previous_close: int | None = None
    purchase_fee: int | None = None
    sell_fee: int | None = None
    tax: int | None = None
    total_fees: int | None = None
    weight: Decimal | None = None
    previous_buy_qty: int | None = None
    previous_sell_qty: int | None = None
    today_buy_qty: int | None = None
    today_sell_qty: int | None = None
    credit_type: str | None = None


HOLDINGS_KEY: Final = endpoints.TRS["kt00018"].list_key or "acnt_evlt_remn_indv_tot"


class Balance(KiwoomModel):
    """kt00018 계좌평가잔고내역: account totals and the holdings."""

    API_ID = "kt00018"
    FIELDS = (
        F("tot_pur_amt", "total_purchase", amount),
        F("tot_evlt_amt", "total_evaluation", amount),
        F("tot_evlt_pl", "total_pnl", amount),
        F("tot_prft_rt", "total_profit_rate", rate),
        F("prsm_dpst_aset_amt", "estimated_assets", optional_amount),
        F("tot_loan_amt", "total_loan", optional_amount),
        F("tot_crd_loan_amt", "total_credit_loan", optional_amount),
        F("tot_crd_ls_amt", "total_credit_short", optional_amount),
    )
    IGNORED = ENVELOPE_KEYS | {HOLDINGS_KEY}

    total_purchase: int
    total_evaluation: int
    total_pnl: int
    total_profit_rate: Decimal
    estimated_assets: int | None = None
    total_loan: int | None = None
    total_credit_loan: int | None = None
    total_credit_short: int | None = None
    holdings: tuple[Holding, ...] = ()

    @classmethod
    def _build(
        cls,
        raw: Mapping[str, Any],
        values: dict[str, Any],
        extra: dict[str, Any],
        *,
        on: date | None,
    ) -> Self:
        rows = raw.get(HOLDINGS_KEY) or []
        holdings = tuple(Holding.from_kiwoom(row, on=on) for row in rows)
        return cls(**values, holdings=holdings, extra=extra)

    def with_more_holdings(self, rows: tuple[Holding, ...]) -> Balance:
        """This balance with the holdings of a continuation page appended."""
        return self.model_copy(update={"holdings": self.holdings + rows})


_ORDER_ROW_COMMON: Final = (
    F("ord_no", "order_no", order_no),
    F("stk_cd", "code", stock_code),
    F("stk_nm", "name", text),
    F("io_tp_nm", "side", side),
    F("io_tp_nm", "label", text),
    F("trde_tp", "order_type", order_type_text),
    F("trde_tp", "order_type_text", text),
    F("ord_stt", "status", optional_text),
    F("ord_qty", "qty", signed_int),
    F("ord_pric", "price", price),
    F("oso_qty", "remaining_qty", signed_int),
    F("cntr_qty", "filled_qty", optional_signed_int),
    F("cntr_pric", "fill_price", optional_price),
    F("orig_ord_no", "original_order_no", original_order_no),
    F("tdy_trde_cmsn", "fee", optional_signed_int),
    F("tdy_trde_tax", "tax", optional_signed_int),
    F("stop_pric", "stop_price", optional_price),
    F("stex_tp_txt", "exchange", optional_text),
    F("sor_yn", "sor", optional_yes_no),
)


@cache
def _open_order_fields(on: date) -> FieldMap:
    return (
        *_ORDER_ROW_COMMON,
        F("tm", "time", optional_time_on(on)),
        F("acnt_no", "account_no", optional_text),
        F("cntr_tot_amt", "filled_amount", optional_signed_int),
        F("cur_prc", "current_price", optional_price),
        F("sel_bid", "best_ask", optional_price),
        F("buy_bid", "best_bid", optional_price),
    )


@cache
def _fill_fields(on: date) -> FieldMap:
    return (*_ORDER_ROW_COMMON, F("ord_tm", "time", optional_time_on(on)))


class _OrderRow(KiwoomModel):
    order_no: str
    code: str
    name: str
    side: Side
    label: str
    """Kiwoom's order label: ``+매수``, ``-매도``, ``매수정정``…"""
    order_type: OrderType | None
    """None when Kiwoom shows a 매매구분 text this table does not know (see ``order_type_text``)."""
    order_type_text: str
    qty: int
    price: int
    """The order price (0 for market-type orders)."""
    remaining_qty: int
    original_order_no: str | None
    status: str | None = None
    filled_qty: int | None = None
    fill_price: int | None = None
    fee: int | None = None
    tax: int | None = None
    stop_price: int | None = None
    exchange: str | None = None
    sor: bool | None = None
    time: datetime | None = None


class OpenOrder(_OrderRow):
    """One row of ka10075 미체결 (``fill_price`` is the latest fill's price)."""

    API_ID = "ka10075"
    FIELDS = _open_order_fields(date(2000, 1, 1))

    account_no: str | None = None
    filled_amount: int | None = None
    current_price: int | None = None
    best_ask: int | None = None
    best_bid: int | None = None

    @classmethod
    def field_map(cls, *, on: date, api_id: str | None) -> FieldMap:
        return _open_order_fields(on)


class Fill(_OrderRow):
    """One row of ka10076 체결: an order with fills (``fill_price`` is their average)."""

    API_ID = "ka10076"
    FIELDS = _fill_fields(date(2000, 1, 1))

    @classmethod
    def field_map(cls, *, on: date, api_id: str | None) -> FieldMap:
        return _fill_fields(on)
