"""Chart TRs: ka10079 (ticks), ka10080 (minutes), ka10081/82/83/94 (D/W/M/Y).

Rows come newest first; ``base_dt`` is the newest date wanted and
continuation walks back in time (PROTOCOL.md §6.3).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from quantum.kiwoom.realtime import DirectionCode
from quantum.kiwoom.wire import (
    WireFormatError,
    format_date,
    format_timestamp,
    parse_date,
    signed_number,
    signed_price,
    signed_rate,
)
from quantum.simulator.history import Bar, aggregate
from quantum.simulator.listings import Listing
from quantum.simulator.market import Trade
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

DAY_PAGE_ROWS = 600
INTRADAY_PAGE_ROWS = 900
MINUTE_SCOPES = frozenset({"1", "3", "5", "10", "15", "30", "45", "60"})
TICK_SCOPES = frozenset({"1", "3", "5", "10", "30"})
ADJUSTED = frozenset({"0", "1"})
MILLION = 1_000_000

LEGACY_ROW_FIELDS = (
    "upd_stkpc_tp",
    "upd_rt",
    "bic_inds_tp",
    "sm_inds_tp",
    "stk_infr",
    "upd_stkpc_event",
)
"""Row fields of the 2025 documentation; emitted (empty) beside the new ones."""


def _direction(close: int, previous: int) -> str:
    if close > previous:
        return DirectionCode.UP.value
    if close < previous:
        return DirectionCode.DOWN.value
    return DirectionCode.FLAT.value


def _base_date(body: Body, name: str = "base_dt", required: bool = True) -> date | None:
    raw = text_field(body, name)
    if not raw and not required:
        return None
    try:
        return parse_date(raw)
    except WireFormatError as exc:
        raise TrError.code(1517, param=name, reason="YYYYMMDD 형식이어야 합니다") from exc


def _previous_closes(bars: Sequence[Bar]) -> dict[date, int]:
    """Each trading day's base price (the previous day's close)."""
    return {bars[i].start.date(): bars[i - 1].close for i in range(1, len(bars))}


def _period_rows(
    bars: Sequence[Bar], listing: Listing, money_unit: int, extended: bool
) -> list[dict[str, str]]:
    """D/W/M/Y rows, newest first. ``extended`` adds change and turnover-rate fields."""
    rows = []
    for index in range(len(bars) - 1, -1, -1):
        bar = bars[index]
        row = {
            "cur_prc": str(bar.close),
            "trde_qty": str(bar.volume),
            "trde_prica": str(bar.turnover // money_unit),
            "dt": format_date(bar.start.date()),
            "open_pric": str(bar.open),
            "high_pric": str(bar.high),
            "low_pric": str(bar.low),
        }
        if extended:
            previous = bars[index - 1].close if index else bar.open
            turnover_rate = Decimal(bar.volume * 100) / Decimal(listing.listed_shares)
            row.update(
                {
                    "pred_pre": signed_number(bar.close - previous),
                    "pred_pre_sig": _direction(bar.close, previous),
                    "trde_tern_rt": signed_rate(turnover_rate),
                    "pred_close_pric": str(previous),
                    **{name: "" for name in LEGACY_ROW_FIELDS},
                }
            )
        rows.append(row)
    return rows


def _period_chart(list_key: str, period: str | None, extended: bool = True) -> Handler:
    def handler(ctx: TrContext, body: Body) -> TrResult:
        listing = requested_stock(ctx, body)
        newest = _base_date(body)
        choice_field(body, "upd_stkpc_tp", ADJUSTED)
        # Cut the days first: a week or month holding base_dt ends at base_dt,
        # it never shows days after the newest date asked for.
        daily = [
            bar
            for bar in ctx.sim.market.daily_bars(listing.code)
            if newest is None or bar.start.date() <= newest
        ]
        bars = daily if period is None else aggregate(daily, period)  # type: ignore[arg-type]
        money_unit = MILLION if period is None else 1
        rows = _period_rows(bars, listing, money_unit, extended)
        page, next_key = page_after(rows, lambda row: row["dt"], ctx.next_key, DAY_PAGE_ROWS)
        return TrResult({"stk_cd": listing.code, list_key: page}, next_key=next_key)

    return handler


def _intraday_row(close_time: str, bar: Bar, base: int, cumulative: int | None) -> dict[str, str]:
    row = {
        "cur_prc": signed_price(bar.close, base),
        "trde_qty": str(bar.volume),
        "cntr_tm": close_time,
        "open_pric": signed_price(bar.open, base),
        "high_pric": signed_price(bar.high, base),
        "low_pric": signed_price(bar.low, base),
        "pred_pre": signed_number(bar.close - base),
        "pred_pre_sig": _direction(bar.close, base),
    }
    if cumulative is not None:
        row["acc_trde_qty"] = str(cumulative)
    return row


def minute_chart(ctx: TrContext, body: Body) -> TrResult:
    """ka10080 주식분봉차트조회요청."""
    listing = requested_stock(ctx, body)
    scope = int(choice_field(body, "tic_scope", MINUTE_SCOPES))
    choice_field(body, "upd_stkpc_tp", ADJUSTED)
    newest = _base_date(body, required=False)
    market = ctx.sim.market
    market.state(listing.code)
    bases = _previous_closes(market.daily_bars(listing.code))
    fallback = market.state(listing.code).base_price
    bars = [
        bar
        for bar in market.minute_bars(listing.code, scope)
        if newest is None or bar.start.date() <= newest
    ]
    rows: list[dict[str, str]] = []
    cumulative: dict[date, int] = {}
    for bar in bars:
        day = bar.start.date()
        cumulative[day] = cumulative.get(day, 0) + bar.volume
        base = bases.get(day, fallback)
        row = _intraday_row(format_timestamp(bar.start), bar, base, cumulative[day])
        row["pred_close_pric"] = str(base)
        row.update({name: "" for name in LEGACY_ROW_FIELDS})
        rows.append(row)
    rows.reverse()
    page, next_key = page_after(rows, _cntr_tm, ctx.next_key, INTRADAY_PAGE_ROWS)
    return TrResult({"stk_cd": listing.code, "stk_min_pole_chart_qry": page}, next_key=next_key)


def _cntr_tm(row: dict[str, str]) -> str:
    return row["cntr_tm"]


def tick_chart(ctx: TrContext, body: Body) -> TrResult:
    """ka10079 주식틱차트조회요청: bars of N trades each from the tape (newest days).

    Groups count from each day's first trade, so a group (and its next-key)
    stays the same while new trades arrive and old ones leave the tape."""
    listing = requested_stock(ctx, body)
    scope = int(choice_field(body, "tic_scope", TICK_SCOPES))
    choice_field(body, "upd_stkpc_tp", ADJUSTED)
    state = ctx.sim.market.state(listing.code)
    # The tape outlives a day: sign each bar against its own day's base price.
    bases = _previous_closes(ctx.sim.market.daily_bars(listing.code))
    tape = ctx.sim.tape
    groups: dict[str, list[Trade]] = {}
    for seq, trade in tape.prints(listing.code):
        day = trade.at.date()
        key = f"{format_date(day)}{(seq - tape.day_start(listing.code, day)) // scope:08d}"
        groups.setdefault(key, []).append(trade)
    rows: list[dict[str, str]] = []
    for key, group in groups.items():
        prices = [trade.price for trade in group]
        bar = Bar(
            group[0].at,
            prices[0],
            max(prices),
            min(prices),
            prices[-1],
            sum(trade.qty for trade in group),
            sum(trade.qty * trade.price for trade in group),
        )
        base = bases.get(group[-1].at.date(), state.base_price)
        row = _intraday_row(format_timestamp(group[-1].at), bar, base, None)
        row["_seq"] = key
        rows.append(row)
    last_count = len(groups[next(reversed(groups))]) if groups else 0
    rows.reverse()
    page, next_key = page_after(rows, _sequence, ctx.next_key, INTRADAY_PAGE_ROWS)
    for row in page:
        del row["_seq"]
    body_out = {"stk_cd": listing.code, "last_tic_cnt": str(last_count), "stk_tic_chart_qry": page}
    return TrResult(body_out, next_key=next_key)


def _sequence(row: dict[str, str]) -> str:
    return row["_seq"]


_KeyFn = Callable[[dict[str, str]], str]

HANDLERS: dict[str, Handler] = {
    "ka10079": tick_chart,
    "ka10080": minute_chart,
    "ka10081": _period_chart("stk_dt_pole_chart_qry", None),
    "ka10082": _period_chart("stk_stk_pole_chart_qry", "W"),
    "ka10083": _period_chart("stk_mth_pole_chart_qry", "M"),
    "ka10094": _period_chart("stk_yr_pole_chart_qry", "Y", extended=False),
}
