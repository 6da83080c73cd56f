"""Answer models read from PROTOCOL.md §2 and §6 examples."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from quantum.kiwoom.fields import FieldError
from quantum.kiwoom.models import (
    CANDLE_FIELDS,
    AccountNumber,
    Balance,
    CancelAck,
    Candle,
    Deposit,
    Fill,
    KiwoomModel,
    Level,
    ModifyAck,
    OpenOrder,
    OrderAck,
    OrderBook,
    StockInfo,
    StockListing,
    Token,
)
from quantum.kiwoom.orders import OrderType, Side
from quantum.kiwoom.wire import KST

DAY = date(2026, 11, 24)
OK = {"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}

STOCK_INFO = {
    "stk_cd": "005930",
    "stk_nm": "삼성전자",
    "setl_mm": "12",
    "fav": "100",
    "cap": "7780",
    "flo_stk": "5969783",
    "crd_rt": "+0.11",
    "oyr_hgst": "+88800",
    "oyr_lwst": "-49900",
    "mac": "4453458",
    "for_exh_rt": "+51.03",
    "repl_pric": "58100",
    "per": "14.20",
    "eps": "5249",
    "roe": "8.9",
    "pbr": "1.35",
    "bps": "55295",
    "250hgst": "+88800",
    "250lwst": "-49900",
    "open_pric": "+74300",
    "high_pric": "+75000",
    "low_pric": "-73800",
    "cur_prc": "+74600",
    "upl_pric": "+96200",
    "lst_pric": "-51800",
    "base_pric": "74000",
    "pre_sig": "2",
    "pred_pre": "+600",
    "flu_rt": "+0.81",
    "trde_qty": "10387420",
    **OK,
}

BOOK: dict[str, Any] = {
    "bid_req_base_tm": "101502",
    "sel_fpr_bid": "+74700",
    "sel_fpr_req": "41220",
    "sel_1th_pre_req_pre": "-350",
    "sel_2th_pre_bid": "+74800",
    "sel_2th_pre_req": "80311",
    "sel_2th_pre_req_pre": "0",
    "buy_fpr_bid": "+74600",
    "buy_fpr_req": "120334",
    "buy_1th_pre_req_pre": "+1200",
    "buy_2th_pre_bid": "+74500",
    "buy_2th_pre_req": "99870",
    "buy_2th_pre_req_pre": "0",
    "tot_sel_req": "910233",
    "tot_sel_req_jub_pre": "-350",
    "tot_buy_req": "1033021",
    "tot_buy_req_jub_pre": "+1200",
    "ovt_sel_req": "0",
    "ovt_sel_req_pre": "0",
    "ovt_buy_req": "0",
    "ovt_buy_req_pre": "0",
    **OK,
}

BALANCE: dict[str, Any] = {
    "tot_pur_amt": "000000007450000",
    "tot_evlt_amt": "000000007460000",
    "tot_evlt_pl": "-00000000013920",
    "tot_prft_rt": "-0.19",
    "prsm_dpst_aset_amt": "000000017710000",
    "tot_loan_amt": "000000000000000",
    "tot_crd_loan_amt": "000000000000000",
    "tot_crd_ls_amt": "000000000000000",
    "acnt_evlt_remn_indv_tot": [
        {
            "stk_cd": "A005930",
            "stk_nm": "삼성전자",
            "evltv_prft": "-00000000013920",
            "prft_rt": "-0.19",
            "pur_pric": "000000000074500",
            "pred_close_pric": "000000074000",
            "rmnd_qty": "000000000000100",
            "trde_able_qty": "000000000000100",
            "cur_prc": "000000074600",
            "pur_amt": "000000007450000",
            "evlt_amt": "000000007460000",
            "pur_cmsn": "000000000001110",
            "sell_cmsn": "000000000001110",
            "tax": "000000000014920",
            "sum_cmsn": "000000000002220",
            "poss_rt": "100.00",
            "pred_buyq": "000000000000000",
            "pred_sellq": "000000000000000",
            "tdy_buyq": "000000000000100",
            "tdy_sellq": "000000000000000",
            "crd_tp": "00",
            "crd_tp_nm": "",
            "crd_loan_dt": "",
        }
    ],
    "return_code": 0,
    "return_msg": "조회가 완료되었습니다",
}

OPEN_ORDER = {
    "acnt_no": "5012345611",
    "ord_no": "0048213",
    "mang_empno": "",
    "stk_cd": "005930",
    "tsk_tp": "",
    "ord_stt": "접수",
    "stk_nm": "삼성전자",
    "ord_qty": "10",
    "ord_pric": "74500",
    "oso_qty": "10",
    "cntr_tot_amt": "0",
    "orig_ord_no": "0000000",
    "io_tp_nm": "+매수",
    "trde_tp": "보통",
    "tm": "101503",
    "cntr_no": "",
    "cntr_pric": "0",
    "cntr_qty": "0",
    "cur_prc": "+74600",
    "sel_bid": "+74700",
    "buy_bid": "+74600",
    "unit_cntr_pric": "",
    "unit_cntr_qty": "",
    "tdy_trde_cmsn": "0",
    "tdy_trde_tax": "0",
    "ind_invsr": "",
    "stex_tp": "1",
    "stex_tp_txt": "KRX",
    "sor_yn": "N",
}

FILL = {
    "ord_no": "0048220",
    "stk_nm": "삼성전자",
    "io_tp_nm": "-매도",
    "ord_pric": "0",
    "ord_qty": "5",
    "cntr_pric": "74600",
    "cntr_qty": "5",
    "oso_qty": "0",
    "tdy_trde_cmsn": "55",
    "tdy_trde_tax": "745",
    "ord_stt": "체결",
    "trde_tp": "시장가",
    "orig_ord_no": "0000000",
    "ord_tm": "101900",
    "stk_cd": "005930",
    "stex_tp": "1",
    "stex_tp_txt": "KRX",
    "sor_yn": "N",
    "stop_pric": "",
}


def test_token_keeps_its_value_out_of_repr() -> None:
    raw = {
        "expires_dt": "20260315091502",
        "token_type": "Bearer",
        "token": "k3Jd9_QmPzSECRET",
        **OK,
    }
    token = Token.from_kiwoom(raw)
    assert token.value == "k3Jd9_QmPzSECRET"
    assert token.expires_at == datetime(2026, 3, 15, 9, 15, 2, tzinfo=KST)
    assert "SECRET" not in repr(token)
    assert "SECRET" not in str(token)


def test_account_number() -> None:
    answer = AccountNumber.from_kiwoom({"acctNo": "5012345611", **OK})
    assert answer.account_no == "5012345611"
    assert answer.extra == {}


def test_stock_info_from_the_protocol_example() -> None:
    info = StockInfo.from_kiwoom({**STOCK_INFO, "brand_new": "+1"})
    assert (info.code, info.name) == ("005930", "삼성전자")
    assert info.price == 74600
    assert (info.open, info.high, info.low) == (74300, 75000, 73800)
    assert (info.upper_limit, info.lower_limit, info.base_price) == (96200, 51800, 74000)
    assert info.change == 600
    assert info.change_rate == Decimal("0.81")
    assert info.volume == 10387420
    assert (info.year_high, info.year_low) == (88800, 49900)
    assert (info.high_250d, info.low_250d) == (88800, 49900)
    assert info.per == Decimal("14.20")
    assert info.eps == 5249
    assert info.roe == Decimal("8.9")
    assert info.pbr == Decimal("1.35")
    assert info.bps == 55295
    assert info.market_cap == 4453458 * 100_000_000
    assert info.capital == 7780 * 100_000_000
    assert info.listed_shares == 5969783 * 1000
    assert info.credit_rate == Decimal("0.11")
    assert info.foreign_exhaustion_rate == Decimal("51.03")
    assert info.substitute_price == 58100
    assert info.high_250d_date is None  # absent from the example: optional
    assert info.extra == {"brand_new": "+1"}


def test_stock_info_falling_price_keeps_sign_on_change_only() -> None:
    info = StockInfo.from_kiwoom(
        {**STOCK_INFO, "cur_prc": "-73800", "pred_pre": "-200", "flu_rt": "-0.27"}
    )
    assert info.price == 73800
    assert info.change == -200
    assert info.change_rate == Decimal("-0.27")


def test_stock_info_without_required_field_names_it() -> None:
    raw = dict(STOCK_INFO)
    del raw["cur_prc"]
    with pytest.raises(FieldError, match=r"ka10001.*cur_prc"):
        StockInfo.from_kiwoom(raw)


def test_models_are_frozen() -> None:
    info = StockInfo.from_kiwoom(STOCK_INFO)
    with pytest.raises(pydantic.ValidationError):
        info.price = 1


def test_order_book_levels_best_first_without_empty_levels() -> None:
    raw = dict(BOOK)
    for side in ("sel", "buy"):
        for n in range(3, 11):
            raw[f"{side}_{n}th_pre_bid"] = "0"
            raw[f"{side}_{n}th_pre_req"] = "0"
            raw[f"{side}_{n}th_pre_req_pre"] = "0"
    book = OrderBook.from_kiwoom(raw, on=DAY)
    assert book.time == datetime(2026, 11, 24, 10, 15, 2, tzinfo=KST)
    assert book.asks == (
        Level(price=74700, qty=41220, change=-350),
        Level(price=74800, qty=80311, change=0),
    )
    assert book.bids == (
        Level(price=74600, qty=120334, change=1200),
        Level(price=74500, qty=99870, change=0),
    )
    assert (book.best_ask, book.best_bid) == (74700, 74600)
    assert (book.total_ask_qty, book.total_bid_qty) == (910233, 1033021)
    assert (book.total_ask_change, book.total_bid_change) == (-350, 1200)
    assert book.after_hours_ask_qty == 0
    assert book.extra == {}


def test_order_book_tolerates_abridged_answers_and_keeps_extras() -> None:
    book = OrderBook.from_kiwoom({**BOOK, "new_total": "1"}, on=DAY)
    assert len(book.asks) == len(book.bids) == 2
    assert book.extra == {"new_total": "1"}
    empty = OrderBook.from_kiwoom(
        {"bid_req_base_tm": "101502", "tot_sel_req": "0", "tot_buy_req": "0"}, on=DAY
    )
    assert empty.asks == empty.bids == ()
    assert empty.best_ask is None


MINUTE_ROW = {
    "cur_prc": "+74600",
    "trde_qty": "15234",
    "cntr_tm": "20260313101500",
    "open_pric": "+74500",
    "high_pric": "+74700",
    "low_pric": "+74400",
    "acc_trde_qty": "3120455",
    "pred_pre": "+600",
    "pred_pre_sig": "2",
}
DAILY_ROW = {
    "cur_prc": "74000",
    "trde_qty": "12876511",
    "trde_prica": "951230",
    "dt": "20260312",
    "open_pric": "73500",
    "high_pric": "74400",
    "low_pric": "73100",
    "pred_pre": "+400",
    "pred_pre_sig": "2",
    "trde_tern_rt": "+0.22",
}


def test_minute_candle() -> None:
    candle = Candle.from_kiwoom(MINUTE_ROW, api_id="ka10080")
    assert candle.time == datetime(2026, 3, 13, 10, 15, tzinfo=KST)
    assert (candle.open, candle.high, candle.low, candle.close) == (74500, 74700, 74400, 74600)
    assert candle.volume == 15234
    assert candle.turnover is None
    assert candle.extra == {"acc_trde_qty": "3120455", "pred_pre": "+600", "pred_pre_sig": "2"}


def test_signed_minute_prices_become_positive() -> None:
    row = {**MINUTE_ROW, "cur_prc": "-78800", "low_pric": "-78700", "open_pric": "-78900"}
    candle = Candle.from_kiwoom(row, api_id="ka10079")
    assert (candle.open, candle.low, candle.close) == (78900, 78700, 78800)


def test_daily_candle_turnover_in_won() -> None:
    candle = Candle.from_kiwoom(DAILY_ROW, api_id="ka10081")
    assert candle.time == datetime(2026, 3, 12, tzinfo=KST)
    assert (candle.open, candle.high, candle.low, candle.close) == (73500, 74400, 73100, 74000)
    assert candle.volume == 12876511
    assert candle.turnover == 951230 * 1_000_000
    assert candle.extra["trde_tern_rt"] == "+0.22"


@pytest.mark.parametrize("api_id", ["ka10082", "ka10083", "ka10094"])
def test_period_candles_turnover_is_already_in_won(api_id: str) -> None:
    candle = Candle.from_kiwoom(DAILY_ROW, api_id=api_id)
    assert candle.turnover == 951230


def test_candle_refuses_unknown_tr_and_missing_time() -> None:
    with pytest.raises(ValueError, match="chart"):
        Candle.from_kiwoom(DAILY_ROW, api_id="ka10001")
    with pytest.raises(FieldError, match="cntr_tm"):
        Candle.from_kiwoom(DAILY_ROW, api_id="ka10080")
    assert set(CANDLE_FIELDS) == {"ka10079", "ka10080", "ka10081", "ka10082", "ka10083", "ka10094"}


def test_stock_listing() -> None:
    row = {
        "code": "005930",
        "name": "삼성전자",
        "listCount": "0000005969782550",
        "auditInfo": "정상",
        "regDay": "19750611",
        "lastPrice": "00074000",
        "state": "증거금20%|담보대출|신용가능",
        "marketCode": "0",
        "marketName": "거래소",
        "upName": "전기전자",
        "upSizeName": "대형주",
        "companyClassName": "",
        "orderWarning": "0",
        "nxtEnable": "Y",
    }
    listing = StockListing.from_kiwoom(row)
    assert listing.listed_shares == 5969782550
    assert listing.last_price == 74000
    assert listing.listing_date == date(1975, 6, 11)
    assert listing.nxt_enabled is True
    assert listing.company_class is None
    assert listing.market_name == "거래소"


def test_order_acks() -> None:
    ack = OrderAck.from_kiwoom(
        {
            "ord_no": "0048213",
            "dmst_stex_tp": "KRX",
            "return_code": 0,
            "return_msg": "KRX 매수주문이 완료되었습니다.",
        }
    )
    assert (ack.order_no, ack.exchange) == ("0048213", "KRX")
    assert ack.message == "KRX 매수주문이 완료되었습니다."
    modify = ModifyAck.from_kiwoom(
        {
            "ord_no": "0048219",
            "base_orig_ord_no": "0048213",
            "mdfy_qty": "000000000010",
            "dmst_stex_tp": "KRX",
            **OK,
        }
    )
    assert (modify.order_no, modify.original_order_no, modify.qty) == ("0048219", "0048213", 10)
    cancel = CancelAck.from_kiwoom(
        {"ord_no": "0048224", "base_orig_ord_no": "0048219", "cncl_qty": "000000000010", **OK}
    )
    assert (cancel.order_no, cancel.original_order_no, cancel.qty) == ("0048224", "0048219", 10)
    assert cancel.exchange is None


def test_deposit() -> None:
    raw = {
        "entr": "000000010250000",
        "profa_ch": "000000000000000",
        "ord_alow_amt": "000000009870500",
        "pymn_alow_amt": "000000009870500",
        "d1_entra": "000000010250000",
        "d2_entra": "000000009498600",
        "d2_slby_exct_amt": "-00000000751400",
        "crd_grnt_rt": "0.00",
        "stk_entr_prst": [],
        "return_code": 0,
        "return_msg": "조회가 완료되었습니다.",
    }
    deposit = Deposit.from_kiwoom(raw)
    assert deposit.deposit == 10_250_000
    assert deposit.orderable == deposit.withdrawable == 9_870_500
    assert (deposit.d1_deposit, deposit.d2_deposit) == (10_250_000, 9_498_600)
    assert deposit.d2_withdrawable is None
    assert deposit.credit_guarantee_rate == Decimal("0.00")
    assert deposit.extra == {"d2_slby_exct_amt": "-00000000751400", "stk_entr_prst": []}


def test_balance_totals_and_holdings() -> None:
    balance = Balance.from_kiwoom(BALANCE)
    assert balance.total_purchase == 7_450_000
    assert balance.total_evaluation == 7_460_000
    assert balance.total_pnl == -13920
    assert balance.total_profit_rate == Decimal("-0.19")
    assert balance.estimated_assets == 17_710_000
    assert balance.extra == {}
    (holding,) = balance.holdings
    assert holding.code == "005930"
    assert holding.name == "삼성전자"
    assert (holding.qty, holding.sellable_qty) == (100, 100)
    assert holding.avg_price == 74500
    assert holding.purchase_amount == 7_450_000
    assert holding.eval_amount == 7_460_000
    assert holding.price == 74600
    assert holding.previous_close == 74000
    assert holding.pnl == -13920
    assert holding.profit_rate == Decimal("-0.19")
    assert (holding.purchase_fee, holding.sell_fee, holding.tax) == (1110, 1110, 14920)
    assert holding.total_fees == 2220
    assert holding.weight == Decimal("100.00")
    assert holding.today_buy_qty == 100
    assert holding.extra == {"crd_tp_nm": "", "crd_loan_dt": ""}
    more = balance.with_more_holdings(balance.holdings)
    assert len(more.holdings) == 2 and len(balance.holdings) == 1


def test_open_order() -> None:
    order = OpenOrder.from_kiwoom(OPEN_ORDER, on=DAY)
    assert order.order_no == "0048213"
    assert order.account_no == "5012345611"
    assert (order.code, order.name) == ("005930", "삼성전자")
    assert order.side is Side.BUY and order.label == "+매수"
    assert order.order_type is OrderType.LIMIT and order.order_type_text == "보통"
    assert (order.qty, order.price, order.remaining_qty) == (10, 74500, 10)
    assert order.original_order_no is None
    assert order.time == datetime(2026, 11, 24, 10, 15, 3, tzinfo=KST)
    assert (order.current_price, order.best_ask, order.best_bid) == (74600, 74700, 74600)
    assert order.status == "접수"
    assert order.stop_price is None  # absent
    assert order.sor is False
    assert order.extra == {
        "mang_empno": "",
        "tsk_tp": "",
        "cntr_no": "",
        "unit_cntr_pric": "",
        "unit_cntr_qty": "",
        "ind_invsr": "",
        "stex_tp": "1",
    }


def test_fill() -> None:
    fill = Fill.from_kiwoom(FILL, on=DAY)
    assert fill.side is Side.SELL
    assert fill.order_type is OrderType.MARKET
    assert (fill.fill_price, fill.filled_qty, fill.remaining_qty) == (74600, 5, 0)
    assert (fill.fee, fill.tax) == (55, 745)
    assert fill.time == datetime(2026, 11, 24, 10, 19, tzinfo=KST)
    assert fill.extra == {"stex_tp": "1"}


def test_rows_with_unknown_order_type_text_keep_the_text() -> None:
    fill = Fill.from_kiwoom({**FILL, "trde_tp": "새로운유형", "io_tp_nm": "매도정정"}, on=DAY)
    assert fill.order_type is None
    assert fill.order_type_text == "새로운유형"
    assert fill.side is Side.SELL


MODELS: list[type[KiwoomModel]] = [
    Token,
    AccountNumber,
    StockInfo,
    OrderBook,
    StockListing,
    Candle,
    OrderAck,
    ModifyAck,
    CancelAck,
    Deposit,
    Balance,
    OpenOrder,
    Fill,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_map_entry_names_a_model_field(model: type[KiwoomModel]) -> None:
    """The maps are the single source: every field they produce exists on the model,
    and every model field (but structure) comes from the map."""
    structural = {"extra", "asks", "bids", "holdings"}
    maps = [model.field_map(on=DAY, api_id=None)]
    if model is Candle:
        maps = list(CANDLE_FIELDS.values())
    produced: set[str] = set()
    for fields in maps:
        for field in fields:
            produced.add(field.ours)
    if model is OrderBook:
        produced = {name for name in produced if "_price_" not in name and "_qty_" not in name}
        produced = {name for name in produced if "_change_" not in name}
    assert produced <= set(model.model_fields)
    assert set(model.model_fields) - structural <= produced
    assert model.API_ID
