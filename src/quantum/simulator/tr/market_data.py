"""Quote TRs: ka10001 (basic info), ka10004 (order book), ka10099 (stock list)."""

from __future__ import annotations

from decimal import Decimal

from quantum.kiwoom.realtime import direction_code
from quantum.kiwoom.wire import format_date, format_time, signed_number, signed_price, signed_rate
from quantum.simulator.fundamentals import HUNDRED_MILLION, fundamentals_for
from quantum.simulator.listings import Market as ListedMarket
from quantum.simulator.protocol import Body, Handler, TrContext, TrResult, choice_field
from quantum.simulator.tr.common import requested_stock

STOCK_LIST_MARKETS: dict[str, ListedMarket | None] = {
    "0": ListedMarket.KOSPI,
    "10": ListedMarket.KOSDAQ,
    **{code: None for code in ("3", "8", "30", "50", "4", "5", "6", "9")},
}
"""ka10099 ``mrkt_tp``: KOSPI and KOSDAQ are listed; ELW, ETF, K-OTC, KONEX,
funds, warrants, REITs and high-yield exist on Kiwoom but not in the simulator."""

MARKET_DISPLAY: dict[ListedMarket, tuple[str, str]] = {
    ListedMarket.KOSPI: ("0", "거래소"),
    ListedMarket.KOSDAQ: ("10", "코스닥"),
}


def _rate(part: int, whole: int) -> Decimal:
    return Decimal(part * 100) / Decimal(whole) if whole else Decimal(0)


def stock_info(ctx: TrContext, body: Body) -> TrResult:
    """ka10001 주식기본정보요청."""
    listing = requested_stock(ctx, body)
    sim = ctx.sim
    state = sim.market.state(listing.code)
    facts = fundamentals_for(sim.config.seed, listing)
    base, last = state.base_price, state.last
    extremes = sim.stats.extremes(listing.code, state.trading_date)
    high250, low250 = extremes.high, extremes.low
    shares_thousands = listing.listed_shares // 1000
    float_thousands = int(shares_thousands * facts.float_ratio / 100)

    def price(value: int | None) -> str:
        return signed_price(value, base) if value else ""

    fields = {
        "stk_cd": listing.code,
        "stk_nm": listing.name,
        "setl_mm": facts.fiscal_month,
        "fav": str(listing.face_value),
        "cap": str(listing.listed_shares * listing.face_value // HUNDRED_MILLION),
        "flo_stk": str(shares_thousands),
        "crd_rt": signed_rate(facts.credit_ratio),
        "oyr_hgst": price(extremes.year_high),
        "oyr_lwst": price(extremes.year_low),
        "mac": str(last * listing.listed_shares // HUNDRED_MILLION),
        "mac_wght": "",
        "for_exh_rt": signed_rate(facts.foreign_exhaustion),
        "repl_pric": str(base * 7 // 10 // 10 * 10),
        "per": str(facts.per),
        "eps": str(facts.eps),
        "roe": str(facts.roe),
        "pbr": str(facts.pbr),
        "ev": str(facts.ev),
        "bps": str(facts.bps),
        "sale_amt": str(facts.sales),
        "bus_pro": str(facts.operating_profit),
        "cup_nga": str(facts.net_income),
        "250hgst": price(high250.price),
        "250lwst": price(low250.price),
        "250hgst_pric_dt": format_date(high250.day),
        "250hgst_pric_pre_rt": signed_rate(_rate(last - high250.price, high250.price)),
        "250lwst_pric_dt": format_date(low250.day),
        "250lwst_pric_pre_rt": signed_rate(_rate(last - low250.price, low250.price)),
        "open_pric": price(state.open),
        "high_pric": price(state.high),
        "low_pric": price(state.low),
        "cur_prc": signed_price(last, base),
        "upl_pric": f"+{state.upper_limit}",
        "lst_pric": f"-{state.lower_limit}",
        "base_pric": str(base),
        "exp_cntr_pric": "0",
        "exp_cntr_qty": "0",
        "pre_sig": direction_code(last, base, state.upper_limit, state.lower_limit).value,
        "pred_pre": signed_number(last - base),
        "flu_rt": signed_rate(_rate(last - base, base)),
        "trde_qty": str(state.volume),
        "trde_pre": signed_rate(_rate(state.volume, extremes.previous_volume)),
        "fav_unit": "원",
        "dstr_stk": str(float_thousands),
        "dstr_rt": str(facts.float_ratio),
    }
    return TrResult(fields)


def _book_side(
    prefix: str, levels: list[tuple[int, int]], previous: dict[int, int], base: int
) -> dict[str, str]:
    """One side's 10 levels; ``*_req_pre`` is the change at the same price since
    the previous answer for this stock."""
    fields: dict[str, str] = {}
    for index in range(10):
        price, qty = levels[index] if index < len(levels) else (0, 0)
        change = qty - previous.get(price, 0) if price else 0
        n = index + 1
        price_key = f"{prefix}_fpr_bid" if n == 1 else f"{prefix}_{n}th_pre_bid"
        qty_key = f"{prefix}_fpr_req" if n == 1 else f"{prefix}_{n}th_pre_req"
        fields[price_key] = signed_price(price, base) if price else "0"
        fields[qty_key] = str(qty)
        fields[f"{prefix}_{n}th_pre_req_pre"] = signed_number(change)
    return fields


def order_book(ctx: TrContext, body: Body) -> TrResult:
    """ka10004 주식호가요청: the market maker's quotes merged with resting orders."""
    listing = requested_stock(ctx, body)
    sim = ctx.sim
    state = sim.market.state(listing.code)
    bids, asks = sim.engine.depth(listing.code)
    bid_levels = [(level.price, level.qty) for level in bids]
    ask_levels = [(level.price, level.qty) for level in asks]
    previous_bids, previous_asks = sim.book_snapshots.get(listing.code, ({}, {}))
    sim.book_snapshots[listing.code] = (dict(bid_levels), dict(ask_levels))
    total_ask = sum(q for _, q in ask_levels)
    total_bid = sum(q for _, q in bid_levels)
    fields = {"bid_req_base_tm": format_time(sim.clock.now())}
    fields.update(_book_side("sel", ask_levels, previous_asks, state.base_price))
    fields.update(_book_side("buy", bid_levels, previous_bids, state.base_price))
    fields.update(
        {
            "tot_sel_req": str(total_ask),
            "tot_sel_req_jub_pre": signed_number(total_ask - sum(previous_asks.values())),
            "tot_buy_req": str(total_bid),
            "tot_buy_req_jub_pre": signed_number(total_bid - sum(previous_bids.values())),
            "ovt_sel_req": "0",
            "ovt_sel_req_pre": "0",
            "ovt_buy_req": "0",
            "ovt_buy_req_pre": "0",
        }
    )
    return TrResult(fields)


def stock_list(ctx: TrContext, body: Body) -> TrResult:
    """ka10099 종목정보 리스트: one market's listings, all in one answer."""
    market = STOCK_LIST_MARKETS[choice_field(body, "mrkt_tp", STOCK_LIST_MARKETS)]
    rows = []
    for listing in ctx.sim.listings.values():
        if listing.market is not market:
            continue
        market_code, market_name = MARKET_DISPLAY[listing.market]
        rows.append(
            {
                "code": listing.code,
                "name": listing.name,
                "listCount": str(listing.listed_shares).zfill(16),
                "auditInfo": "정상",
                "regDay": format_date(listing.listing_date),
                "lastPrice": str(listing.base_price).zfill(8),
                "state": "증거금20%|담보대출|신용가능",
                "marketCode": market_code,
                "marketName": market_name,
                "upName": listing.sector,
                "upSizeName": listing.size_class,
                "companyClassName": "",
                "orderWarning": "0",
                "nxtEnable": "Y",
            }
        )
    return TrResult({"list": rows})


HANDLERS: dict[str, Handler] = {
    "ka10001": stock_info,
    "ka10004": order_book,
    "ka10099": stock_list,
}
