"""Quote TRs against PROTOCOL.md §6.2 (ka10001), §6.4 (ka10004), ka10099 and §7.

Every answer comes from a real simulator on loopback with a fixed clock
(2026-11-24 10:00 KST, a Tuesday inside the continuous session).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from tests.integration.simulator.conftest import RunningSimulator
from tests.integration.simulator.krx_oracle import (
    direction,
    error_code,
    expected_rate,
    limits,
    ok,
    on_grid,
    price,
    split,
    tick_of,
)

TODAY = "20261124"

KA10001_FIELDS = (
    "stk_cd", "stk_nm", "setl_mm", "fav", "cap", "flo_stk", "crd_rt", "oyr_hgst", "oyr_lwst",
    "mac", "mac_wght", "for_exh_rt", "repl_pric", "per", "eps", "roe", "pbr", "ev", "bps",
    "sale_amt", "bus_pro", "cup_nga",
    "250hgst", "250lwst", "250hgst_pric_dt", "250hgst_pric_pre_rt", "250lwst_pric_dt",
    "250lwst_pric_pre_rt",
    "open_pric", "high_pric", "low_pric", "cur_prc", "upl_pric", "lst_pric", "base_pric",
    "exp_cntr_pric", "exp_cntr_qty", "pre_sig", "pred_pre", "flu_rt", "trde_qty", "trde_pre",
    "fav_unit", "dstr_stk", "dstr_rt",
)  # fmt: skip
"""ka10001's fields as PROTOCOL.md §6.2 lists them (names starting with a digit are real)."""

KA10099_FIELDS = frozenset(
    {
        "code", "name", "listCount", "auditInfo", "regDay", "lastPrice", "state", "marketCode",
        "marketName", "upName", "upSizeName", "companyClassName", "orderWarning", "nxtEnable",
    }
)  # fmt: skip

RATE = re.compile(r"^(?:[+-](?!0\.00$))?\d+\.\d{2}$")
"""§7: a rate with a real sign and two decimals; zero is the unsigned ``"0.00"``."""
SIGNED_PRICE = re.compile(r"^[+-]?[1-9]\d*$")
DATE = re.compile(r"^\d{8}$")


def stock_info(sim: RunningSimulator, code: str, token: str) -> dict[str, Any]:
    return ok(sim.call("ka10001", "stkinfo", {"stk_cd": code}, token))


def order_book(sim: RunningSimulator, code: str, token: str) -> dict[str, Any]:
    return ok(sim.call("ka10004", "mrkcond", {"stk_cd": code}, token))


def stock_list(sim: RunningSimulator, market: str, token: str) -> list[dict[str, str]]:
    body = ok(sim.call("ka10099", "stkinfo", {"mrkt_tp": market}, token))
    rows: list[dict[str, str]] = body["list"]
    return rows


def book_key(side: str, level: int, kind: str) -> str:
    """§6.4's irregular names: level 1 is ``fpr``, the others ``{n}th_pre``."""
    if kind == "req_pre":
        return f"{side}_{level}th_pre_req_pre"
    if level == 1:
        return f"{side}_fpr_{kind}"
    return f"{side}_{level}th_pre_{kind}"


@pytest.fixture
def token(simulator: RunningSimulator) -> str:
    return simulator.token()


@pytest.fixture
def kospi_codes(simulator: RunningSimulator, token: str) -> list[str]:
    return [row["code"] for row in stock_list(simulator, "0", token)]


# --------------------------------------------------------------------------- ka10001


def test_ka10001_has_exactly_the_documented_fields_all_strings(
    simulator: RunningSimulator, token: str
) -> None:
    response = simulator.call("ka10001", "stkinfo", {"stk_cd": "005930"}, token)
    body = ok(response)
    assert response.headers["api-id"] == "ka10001"
    assert response.headers["cont-yn"] == "N"
    assert isinstance(body.pop("return_code"), int)
    assert isinstance(body.pop("return_msg"), str)
    assert set(KA10001_FIELDS) <= set(body), set(KA10001_FIELDS) - set(body)
    assert all(isinstance(value, str) for value in body.values()), body
    assert body["stk_cd"] == "005930"
    assert body["stk_nm"] == "삼성전자"


def test_ka10001_prices_carry_direction_signs_and_changes_against_base_price(
    simulator: RunningSimulator, token: str, kospi_codes: list[str]
) -> None:
    seen_directions: set[str] = set()
    for code in kospi_codes[:25]:
        info = stock_info(simulator, code, token)
        assert info["base_pric"].isdigit(), "기준가 is unsigned"
        base = int(info["base_pric"])
        lower, upper = limits(base)
        assert info["upl_pric"] == f"+{upper}", (code, info["upl_pric"], base)
        assert info["lst_pric"] == f"-{lower}", (code, info["lst_pric"], base)
        for name in ("cur_prc", "open_pric", "high_pric", "low_pric"):
            assert SIGNED_PRICE.match(info[name]), (code, name, info[name])
            sign, value = split(info[name])
            assert sign == direction(value, base), (code, name, info[name], base)
            assert on_grid(value), (code, name, value)
            assert lower <= value <= upper, (code, name, value, lower, upper)
        cur = price(info["cur_prc"])
        assert price(info["low_pric"]) <= min(cur, price(info["open_pric"]))
        assert price(info["high_pric"]) >= max(cur, price(info["open_pric"]))
        seen_directions.add(split(info["cur_prc"])[0])
        check_change_fields(code, info)
    assert {"+", "-"} <= seen_directions, "25 stocks an hour into the day all moved one way"


def check_change_fields(code: str, info: dict[str, Any]) -> None:
    """pred_pre, flu_rt and pre_sig (§7) follow cur_prc and base_pric."""
    base, cur = int(info["base_pric"]), price(info["cur_prc"])
    lower, upper = limits(base)
    change = cur - base
    assert info["pred_pre"] == (f"+{change}" if change > 0 else str(change)), info
    assert RATE.match(info["flu_rt"]), info["flu_rt"]
    assert info["flu_rt"] == expected_rate(change, base), (code, info["flu_rt"], cur, base)
    if cur >= upper:
        expected_sig = "1"
    elif cur <= lower:
        expected_sig = "4"
    else:
        expected_sig = "2" if change > 0 else "5" if change < 0 else "3"
    assert info["pre_sig"] == expected_sig, (code, info["pre_sig"], cur, base)


def test_ka10001_rates_and_counts_are_well_formed(simulator: RunningSimulator, token: str) -> None:
    info = stock_info(simulator, "005930", token)
    for name in ("crd_rt", "for_exh_rt", "flu_rt", "trde_pre", "250hgst_pric_pre_rt"):
        assert RATE.match(info[name]), (name, info[name])
    assert RATE.match(info["250lwst_pric_pre_rt"])
    for name in ("fav", "cap", "flo_stk", "mac", "trde_qty", "dstr_stk", "repl_pric"):
        assert info[name].isdigit(), (name, info[name])
    assert int(info["trde_qty"]) > 0, "an hour into the session something traded"
    assert DATE.match(info["250hgst_pric_dt"])
    assert info["250hgst_pric_dt"] <= TODAY
    assert DATE.match(info["250lwst_pric_dt"])
    assert info["250lwst_pric_dt"] <= TODAY
    assert info["setl_mm"].isdigit()
    assert 1 <= int(info["setl_mm"]) <= 12


def test_ka10001_52_week_and_year_extremes_bracket_today(
    simulator: RunningSimulator, token: str
) -> None:
    info = stock_info(simulator, "005930", token)
    cur, high, low = (price(info[n]) for n in ("cur_prc", "high_pric", "low_pric"))
    high250, low250 = price(info["250hgst"]), price(info["250lwst"])
    assert low250 <= low <= cur <= high <= high250
    assert price(info["oyr_lwst"]) <= low
    assert price(info["oyr_hgst"]) >= high
    # 2026 so far is fewer than 250 trading days: the year lies inside the 52 weeks.
    assert low250 <= price(info["oyr_lwst"])
    assert price(info["oyr_hgst"]) <= high250
    # The distance to the 52-week high is never positive, to the low never negative.
    assert info["250hgst_pric_pre_rt"] == expected_rate(cur - high250, high250)
    assert info["250lwst_pric_pre_rt"] == expected_rate(cur - low250, low250)


def test_ka10001_extremes_agree_with_the_daily_chart(
    simulator: RunningSimulator, token: str
) -> None:
    info = stock_info(simulator, "005930", token)
    rows = ok(
        simulator.call(
            "ka10081",
            "chart",
            {"stk_cd": "005930", "base_dt": TODAY, "upd_stkpc_tp": "1"},
            token,
        )
    )["stk_dt_pole_chart_qry"]
    last_250 = rows[:250]
    top = max(last_250, key=lambda row: int(row["high_pric"]))
    bottom = min(last_250, key=lambda row: int(row["low_pric"]))
    assert price(info["250hgst"]) == int(top["high_pric"])
    assert price(info["250lwst"]) == int(bottom["low_pric"])
    assert info["250hgst_pric_dt"] in {
        r["dt"] for r in last_250 if r["high_pric"] == top["high_pric"]
    }
    this_year = [row for row in rows if row["dt"].startswith(TODAY[:4])]
    assert price(info["oyr_hgst"]) == max(int(row["high_pric"]) for row in this_year)
    assert price(info["oyr_lwst"]) == min(int(row["low_pric"]) for row in this_year)
    assert int(rows[1]["cur_prc"]) == int(info["base_pric"]), "기준가 = yesterday's close"


def test_ka10001_market_cap_and_shares_follow_the_listing(
    simulator: RunningSimulator, token: str
) -> None:
    listing = next(row for row in stock_list(simulator, "0", token) if row["code"] == "005930")
    info = stock_info(simulator, "005930", token)
    shares = int(listing["listCount"])
    cur = price(info["cur_prc"])
    assert int(info["mac"]) == cur * shares // 100_000_000, "시가총액 in 억원"
    assert int(info["cap"]) == shares * int(info["fav"]) // 100_000_000, "자본금 in 억원"
    assert int(info["flo_stk"]) == shares // 1000, "상장주식 in thousands (§6.2 example)"
    assert int(info["dstr_stk"]) <= int(info["flo_stk"])
    assert int(info["base_pric"]) == int(listing["lastPrice"]), "day 1 starts at the list price"


def test_ka10001_is_stable_under_a_fixed_clock_and_moves_when_it_advances(
    simulator: RunningSimulator, token: str
) -> None:
    first = stock_info(simulator, "005930", token)
    assert stock_info(simulator, "005930", token) == first
    simulator.advance(600)
    later = stock_info(simulator, "005930", token)
    assert int(later["trde_qty"]) > int(first["trde_qty"]), "ten more minutes of trading"
    assert later["base_pric"] == first["base_pric"]
    assert price(later["high_pric"]) >= price(first["high_pric"])
    assert price(later["low_pric"]) <= price(first["low_pric"])


def test_ka10001_unknown_stock_and_missing_code(simulator: RunningSimulator, token: str) -> None:
    assert error_code(simulator.call("ka10001", "stkinfo", {"stk_cd": "999999"}, token)) == (
        2,
        "1902",
    )
    assert error_code(simulator.call("ka10001", "stkinfo", {}, token)) == (2, "1511")


# --------------------------------------------------------------------------- ka10004


def test_ka10004_has_every_irregular_book_key(simulator: RunningSimulator, token: str) -> None:
    response = simulator.call("ka10004", "mrkcond", {"stk_cd": "005930"}, token)
    body = ok(response)
    assert response.headers["api-id"] == "ka10004"
    expected = {"bid_req_base_tm"}
    expected |= {"tot_sel_req", "tot_sel_req_jub_pre", "tot_buy_req", "tot_buy_req_jub_pre"}
    expected |= {"ovt_sel_req", "ovt_sel_req_pre", "ovt_buy_req", "ovt_buy_req_pre"}
    for side in ("sel", "buy"):
        for level in range(1, 11):
            expected |= {book_key(side, level, kind) for kind in ("bid", "req", "req_pre")}
    # Spot-check the irregular spellings themselves, not just the helper.
    expected |= {"sel_fpr_bid", "sel_fpr_req", "sel_1th_pre_req_pre", "sel_2th_pre_bid"}
    expected |= {"sel_3th_pre_req", "buy_fpr_bid", "buy_1th_pre_req_pre", "buy_10th_pre_bid"}
    assert expected <= set(body), expected - set(body)
    assert "sel_1th_pre_bid" not in body
    assert "buy_1th_pre_bid" not in body
    body.pop("return_code")
    assert all(isinstance(value, str) for value in body.values())
    assert body["bid_req_base_tm"] == "100000", "HHMMSS of the fixed clock"


def test_ka10004_book_is_ordered_on_the_grid_and_inside_the_limits(
    simulator: RunningSimulator, token: str, kospi_codes: list[str]
) -> None:
    for code in ["005930", *kospi_codes[:15]]:
        info = stock_info(simulator, code, token)
        book = order_book(simulator, code, token)
        base = int(info["base_pric"])
        lower, upper = limits(base)
        asks = [book[book_key("sel", n, "bid")] for n in range(1, 11)]
        bids = [book[book_key("buy", n, "bid")] for n in range(1, 11)]
        for quote in (*asks, *bids):
            if quote == "0":  # an empty level (only near a price limit)
                continue
            sign, value = split(quote)
            assert sign == direction(value, base), (code, quote, base)
            assert on_grid(value), (code, value)
            assert lower <= value <= upper, (code, value)
        ask_prices = [price(q) for q in asks if q != "0"]
        bid_prices = [price(q) for q in bids if q != "0"]
        assert (len(ask_prices), len(bid_prices)) == (10, 10), (code, asks, bids)
        assert ask_prices == sorted(set(ask_prices)), f"{code}: asks ascend from the best"
        assert bid_prices == sorted(set(bid_prices), reverse=True), f"{code}: bids descend"
        assert ask_prices[0] > bid_prices[0], f"{code}: crossed book"
        cur = price(info["cur_prc"])
        assert bid_prices[0] <= cur <= ask_prices[0], (code, bid_prices[0], cur, ask_prices[0])
        # Levels are adjacent ticks: no holes in a market maker's ladder.
        for better, worse in itertools.pairwise(ask_prices):
            assert worse - better == tick_of(better), (code, better, worse)
        for better, worse in itertools.pairwise(bid_prices):
            assert better - worse == tick_of(worse), (code, better, worse)


def test_ka10004_quantities_and_totals(simulator: RunningSimulator, token: str) -> None:
    book = order_book(simulator, "005930", token)
    for side, total in (("sel", "tot_sel_req"), ("buy", "tot_buy_req")):
        quantities = [book[book_key(side, n, "req")] for n in range(1, 11)]
        assert all(q.isdigit() and int(q) > 0 for q in quantities), quantities
        assert int(book[total]) == sum(int(q) for q in quantities)
    for name in ("ovt_sel_req", "ovt_sel_req_pre", "ovt_buy_req", "ovt_buy_req_pre"):
        assert book[name] == "0"


def test_ka10004_changes_are_zero_for_an_unchanged_book(
    simulator: RunningSimulator, token: str
) -> None:
    order_book(simulator, "005930", token)
    again = order_book(simulator, "005930", token)  # the clock is fixed: same quote
    for side in ("sel", "buy"):
        for level in range(1, 11):
            assert again[book_key(side, level, "req_pre")] == "0"
    assert again["tot_sel_req_jub_pre"] == "0"
    assert again["tot_buy_req_jub_pre"] == "0"


def test_ka10004_total_changes_follow_the_previous_answer(
    simulator: RunningSimulator, token: str
) -> None:
    before = order_book(simulator, "005930", token)
    simulator.advance(30)
    after = order_book(simulator, "005930", token)
    for total, change in (
        ("tot_sel_req", "tot_sel_req_jub_pre"),
        ("tot_buy_req", "tot_buy_req_jub_pre"),
    ):
        delta = int(after[total]) - int(before[total])
        assert after[change] == (f"+{delta}" if delta > 0 else str(delta)), (total, delta)
    assert after["bid_req_base_tm"] == "100030"


def test_ka10004_unknown_stock(simulator: RunningSimulator, token: str) -> None:
    assert error_code(simulator.call("ka10004", "mrkcond", {"stk_cd": "999999"}, token)) == (
        2,
        "1902",
    )


# --------------------------------------------------------------------------- ka10099


@pytest.mark.parametrize(
    ("market", "minimum", "market_name"), [("0", 100, "거래소"), ("10", 50, "코스닥")]
)
def test_ka10099_lists_a_market(
    simulator: RunningSimulator, token: str, market: str, minimum: int, market_name: str
) -> None:
    response = simulator.call("ka10099", "stkinfo", {"mrkt_tp": market}, token)
    body = ok(response)
    assert response.headers["cont-yn"] == "N"
    rows = body["list"]
    assert len(rows) >= minimum
    codes = [row["code"] for row in rows]
    assert len(set(codes)) == len(codes)
    for row in rows:
        assert set(row) == KA10099_FIELDS, set(row) ^ KA10099_FIELDS
        assert all(isinstance(value, str) for value in row.values()), row
        assert re.fullmatch(r"[0-9A-Z]{6}", row["code"]), row
        assert row["name"]
        assert re.fullmatch(r"\d{16}", row["listCount"]), row["listCount"]
        assert int(row["listCount"]) > 0
        assert re.fullmatch(r"\d{8}", row["lastPrice"]), row["lastPrice"]
        assert on_grid(int(row["lastPrice"])), row
        assert DATE.match(row["regDay"]), row
        assert row["regDay"] <= TODAY, row
        assert row["marketCode"] == market
        assert row["marketName"] == market_name
        assert row["nxtEnable"] in {"Y", "N"}
        assert row["orderWarning"].isdigit()


def test_ka10099_markets_are_disjoint_and_codes_are_quotable(
    simulator: RunningSimulator, token: str
) -> None:
    kospi = {row["code"]: row for row in stock_list(simulator, "0", token)}
    kosdaq = {row["code"]: row for row in stock_list(simulator, "10", token)}
    assert "005930" in kospi
    assert not set(kospi) & set(kosdaq)
    for rows in (kospi, kosdaq):
        code, row = next(iter(rows.items()))
        info = stock_info(simulator, code, token)
        assert info["stk_nm"] == row["name"]
        assert info["base_pric"] == str(int(row["lastPrice"]))


def test_ka10099_markets_the_simulator_does_not_list_are_empty(
    simulator: RunningSimulator, token: str
) -> None:
    assert stock_list(simulator, "8", token) == []  # ETF exists on Kiwoom, not here


def test_ka10099_bad_market_type_is_1517(simulator: RunningSimulator, token: str) -> None:
    for market in ("1", "KOSPI", "100", "-1", " "):
        response = simulator.call("ka10099", "stkinfo", {"mrkt_tp": market}, token)
        if not market.strip():
            assert error_code(response) == (2, "1511")
            continue
        assert error_code(response) == (2, "1517"), market
        assert response.json()["return_msg"].startswith("입력 값 오류입니다[1517:")
        assert "mrkt_tp" in response.json()["return_msg"]


def test_ka10099_missing_market_type_is_1511(simulator: RunningSimulator, token: str) -> None:
    response = simulator.call("ka10099", "stkinfo", {}, token)
    assert error_code(response) == (2, "1511")
    assert "필수입력 파라미터=mrkt_tp" in response.json()["return_msg"]
