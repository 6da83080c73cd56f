"""Account TRs: ka00001, kt00001 (deposit), kt00018 (balance), ka10075 (open
orders), ka10076 (fills). All read the engine's account, so they always agree
with each other and with what the realtime ``00``/``04`` pushes said."""

from __future__ import annotations

from decimal import Decimal

from quantum.kiwoom.endpoints import ACCOUNT_CODE_PREFIX
from quantum.kiwoom.wire import (
    NO_ORDER,
    PRICE_WIDTH,
    format_time,
    padded,
    plain_rate,
    signed_price,
)
from quantum.simulator.config import Mode
from quantum.simulator.engine.order_types import lookup
from quantum.simulator.engine.orders import Order, Side
from quantum.simulator.protocol import (
    Body,
    Handler,
    TrContext,
    TrError,
    TrResult,
    choice_field,
    page_after,
    text_field,
)
from quantum.simulator.tr.common import requested_stock

PAGE_ROWS = 100
QUERY_DONE = "조회가 완료되었습니다."

ZERO_DEPOSIT_FIELDS = [
    "profa_ch",
    "bncr_profa_ch",
    "nxdy_bncr_sell_exct",
    "fc_stk_krw_repl_set_amt",
    "crd_grnta_ch",
    "crd_grnt_ch",
    "add_grnt_ch",
    "etc_profa",
    "uncl_stk_amt",
    "shrts_prica",
    "crd_set_grnta",
    "chck_ina_amt",
    "etc_chck_ina_amt",
    "crd_grnt_ruse",
    "knx_asset_evltv",
    "elwdpst_evlta",
    "crd_ls_rght_frcs_amt",
    "lvlh_join_amt",
    "lvlh_trns_alowa",
    "repl_amt",
    "remn_repl_evlta",
    "trst_remn_repl_evlta",
    "bncr_remn_repl_evlta",
    "profa_repl",
    "crd_grnta_repl",
    "crd_grnt_repl",
    "add_grnt_repl",
    "rght_repl_amt",
    "wrap_pymn_alow_amt",
    "bncr_buy_alowa",
    "ch_uncla",
    "ch_uncla_dlfe",
    "ch_uncla_tot",
    "crd_int_npay",
    "int_npay_amt_dlfe",
    "int_npay_amt_tot",
    "etc_loana",
    "etc_loana_dlfe",
    "etc_loan_tot",
    "nrpy_loan",
    "loan_sum",
    "ls_sum",
    "mdstrm_usfe",
    "min_ord_alow_yn",
    "loan_remn_evlt_amt",
    "dpst_grntl_remn",
    "sell_grntl_remn",
    "d1_slby_exct_amt",
    "d1_buy_exct_amt",
    "d1_out_rep_mor",
    "d1_sel_exct_amt",
    "d2_slby_exct_amt",
    "d2_buy_exct_amt",
    "d2_out_rep_mor",
    "d2_sel_exct_amt",
]
"""kt00001 amounts that are always zero here: no credit, loans, funds or substitutes."""

ORDERABLE_FIELDS = (
    *tuple(f"{rate}stk_ord_alow_amt" for rate in (20, 30, 40, 50, 60, 100)),
    "ord_alow_amt",
    "pymn_alow_amt",
    "d1_pymn_alow_amt",
    "d2_pymn_alow_amt",
)
"""Amounts equal to the cash not held by open buy orders. The simulator trades
cash only, so every margin-rate bucket shows the same buying power."""

SIDE_FILTER = {"0": None, "1": Side.SELL, "2": Side.BUY}
EXCHANGE_FILTERS = frozenset({"0", "1", "2"})


def account_number(ctx: TrContext, body: Body) -> TrResult:
    """ka00001 계좌번호조회: the account bound to the token."""
    return TrResult({"acctNo": ctx.account_no}, QUERY_DONE)


def deposit(ctx: TrContext, body: Body) -> TrResult:
    """kt00001 예수금상세현황요청. Settlement is immediate in the simulator, so the
    D+1/D+2 estimates equal today's deposit."""
    choice_field(body, "qry_tp", {"2", "3"})
    account = ctx.sim.engine.account(ctx.account_no)
    fields = {name: padded(0) for name in ZERO_DEPOSIT_FIELDS}
    fields.update({name: padded(account.available_cash) for name in ORDERABLE_FIELDS})
    for name in ("entr", "d1_entra", "d2_entra"):
        fields[name] = padded(account.cash)
    fields["crd_grnt_rt"] = "0.00"
    fields["min_ord_alow_yn"] = ""
    fields["stk_entr_prst"] = []  # type: ignore[assignment]
    return TrResult(fields, QUERY_DONE)


def _exchange_name(ctx: TrContext, body: Body) -> str:
    exchange = choice_field(body, "dmst_stex_tp", {"KRX", "NXT"})
    if exchange != "KRX" and ctx.sim.config.mode is Mode.MOCK:
        raise TrError.code(1517, param="dmst_stex_tp", reason="모의투자는 KRX만 가능합니다")
    return exchange


def balance(ctx: TrContext, body: Body) -> TrResult:
    """kt00018 계좌평가잔고내역요청: holdings valued at the current price, with the
    commission and tax a sale would cost."""
    choice_field(body, "qry_tp", {"1", "2"})
    _exchange_name(ctx, body)
    sim = ctx.sim
    account = sim.engine.account(ctx.account_no)
    fees = sim.engine.fees
    rows: list[dict[str, str]] = []
    totals = {"pur": 0, "evlt": 0, "pl": 0}
    for code in sorted(account.holdings):
        holding = account.holdings[code]
        if holding.qty <= 0:
            continue
        state = sim.market.state(code)
        evaluation = holding.qty * state.last
        sell_commission = fees.commission(evaluation)
        tax = fees.tax(evaluation)
        total_commission = holding.purchase_commission + sell_commission
        profit = evaluation - holding.purchase_amount - total_commission - tax
        totals["pur"] += holding.purchase_amount
        totals["evlt"] += evaluation
        totals["pl"] += profit
        rows.append(
            {
                "stk_cd": ACCOUNT_CODE_PREFIX + code,
                "stk_nm": sim.listings[code].name,
                "evltv_prft": padded(profit),
                "prft_rt": plain_rate(_percent(profit, holding.purchase_amount)),
                "pur_pric": padded(holding.avg_price),
                "pred_close_pric": padded(state.base_price, PRICE_WIDTH),
                "rmnd_qty": padded(holding.qty),
                "trde_able_qty": padded(holding.sellable_qty),
                "cur_prc": padded(state.last, PRICE_WIDTH),
                "pred_buyq": padded(0),
                "pred_sellq": padded(0),
                "tdy_buyq": padded(holding.today_buy_qty),
                "tdy_sellq": padded(holding.today_sell_qty),
                "pur_amt": padded(holding.purchase_amount),
                "pur_cmsn": padded(holding.purchase_commission),
                "evlt_amt": padded(evaluation),
                "sell_cmsn": padded(sell_commission),
                "tax": padded(tax),
                "sum_cmsn": padded(total_commission),
                "poss_rt": "",
                "crd_tp": "00",
                "crd_tp_nm": "",
                "crd_loan_dt": "",
            }
        )
    for row in rows:
        row["poss_rt"] = plain_rate(_percent(int(row["evlt_amt"]), totals["evlt"]))
    page, next_key = page_after(rows, lambda row: row["stk_cd"], ctx.next_key, PAGE_ROWS)
    fields: dict[str, object] = {
        "tot_pur_amt": padded(totals["pur"]),
        "tot_evlt_amt": padded(totals["evlt"]),
        "tot_evlt_pl": padded(totals["pl"]),
        "tot_prft_rt": plain_rate(_percent(totals["pl"], totals["pur"])),
        "prsm_dpst_aset_amt": padded(account.cash + totals["evlt"]),
        "tot_loan_amt": padded(0),
        "tot_crd_loan_amt": padded(0),
        "tot_crd_ls_amt": padded(0),
        "acnt_evlt_remn_indv_tot": page,
    }
    return TrResult(fields, QUERY_DONE, next_key=next_key)


def _percent(part: int, whole: int) -> Decimal:
    return Decimal(part * 100) / Decimal(whole) if whole else Decimal(0)


def _stock_filter(ctx: TrContext, body: Body, flag_field: str) -> str | None:
    """``1`` in the flag field means "one stock", named by ``stk_cd``."""
    if choice_field(body, flag_field, {"0", "1"}) == "0":
        return None
    if not text_field(body, "stk_cd"):
        raise TrError.code(1511, param="stk_cd")
    return requested_stock(ctx, body).code


def _type_name(order: Order) -> str:
    spec = lookup(order.trde_tp)
    return spec.name if spec is not None else order.trde_tp


def _routing(order: Order) -> dict[str, str]:
    """Exchange and stop fields every order row carries (one simulated KRX book)."""
    return {
        "stex_tp": "1",
        "stex_tp_txt": "KRX",
        "sor_yn": "N",
        "stop_pric": str(order.stop_price) if order.stop_price else "",
    }


def open_orders(ctx: TrContext, body: Body) -> TrResult:
    """ka10075 미체결요청 (``trde_tp`` here is 0 all / 1 sell / 2 buy)."""
    code = _stock_filter(ctx, body, "all_stk_tp")
    side = SIDE_FILTER[choice_field(body, "trde_tp", SIDE_FILTER)]
    choice_field(body, "stex_tp", EXCHANGE_FILTERS)
    sim = ctx.sim
    rows = []
    for order in sim.engine.open_orders(ctx.account_no, code):
        if side is not None and order.side is not side:
            continue
        state = sim.market.state(order.code)
        bids, asks = sim.engine.depth(order.code, 1)
        last_fill = order.last_fill
        rows.append(
            {
                "acnt_no": order.account_no,
                "ord_no": order.order_no,
                "mang_empno": "",
                "stk_cd": order.code,
                "tsk_tp": "",
                "ord_stt": "체결" if order.filled_qty else "접수",
                "stk_nm": order.name,
                "ord_qty": str(order.qty),
                "ord_pric": str(order.price),
                "oso_qty": str(order.remaining),
                "cntr_tot_amt": str(order.filled_amount),
                "orig_ord_no": order.orig_order_no or NO_ORDER,
                "io_tp_nm": order.label.value,
                "trde_tp": _type_name(order),
                "tm": format_time(order.created_at),
                "cntr_no": last_fill.fill_no if last_fill else "",
                "cntr_pric": str(last_fill.price) if last_fill else "0",
                "cntr_qty": str(order.filled_qty),
                "cur_prc": signed_price(state.last, state.base_price),
                "sel_bid": signed_price(asks[0].price, state.base_price) if asks else "0",
                "buy_bid": signed_price(bids[0].price, state.base_price) if bids else "0",
                "unit_cntr_pric": str(last_fill.price) if last_fill else "",
                "unit_cntr_qty": str(last_fill.qty) if last_fill else "",
                "tdy_trde_cmsn": str(order.commission),
                "tdy_trde_tax": str(order.tax),
                "ind_invsr": "",
                **_routing(order),
            }
        )
    page, next_key = page_after(rows, lambda row: row["ord_no"], ctx.next_key, PAGE_ROWS)
    return TrResult({"oso": page}, QUERY_DONE, next_key=next_key)


def fills(ctx: TrContext, body: Body) -> TrResult:
    """ka10076 체결요청: orders with fills, newest first; ``ord_no`` returns only
    orders older than that number."""
    code = _stock_filter(ctx, body, "qry_tp")
    side = SIDE_FILTER[choice_field(body, "sell_tp", SIDE_FILTER)]
    choice_field(body, "stex_tp", EXCHANGE_FILTERS)
    before = text_field(body, "ord_no")
    if before and not before.isdigit():
        raise TrError.code(1517, param="ord_no", reason="주문번호 형식이 아닙니다")
    rows = []
    for order in ctx.sim.engine.filled_orders(ctx.account_no, code):
        if side is not None and order.side is not side:
            continue
        if before and int(order.order_no) >= int(before):
            continue
        rows.append(
            {
                "ord_no": order.order_no,
                "stk_nm": order.name,
                "io_tp_nm": order.label.value,
                "ord_pric": str(order.price),
                "ord_qty": str(order.qty),
                "cntr_pric": str(order.avg_fill_price),
                "cntr_qty": str(order.filled_qty),
                "oso_qty": str(order.remaining),
                "tdy_trde_cmsn": str(order.commission),
                "tdy_trde_tax": str(order.tax),
                "ord_stt": "체결",
                "trde_tp": _type_name(order),
                "orig_ord_no": order.orig_order_no or NO_ORDER,
                "ord_tm": format_time(order.created_at),
                "stk_cd": order.code,
                **_routing(order),
            }
        )
    page, next_key = page_after(rows, lambda row: row["ord_no"], ctx.next_key, PAGE_ROWS)
    return TrResult({"cntr": page}, QUERY_DONE, next_key=next_key)


HANDLERS: dict[str, Handler] = {
    "ka00001": account_number,
    "kt00001": deposit,
    "kt00018": balance,
    "ka10075": open_orders,
    "ka10076": fills,
}
