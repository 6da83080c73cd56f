"""Chart TRs against PROTOCOL.md §3 (continuation), §6.3 (charts) and §7 (formats).

ka10079 ticks, ka10080 minutes, ka10081/82/83/94 daily/weekly/monthly/yearly,
served by a real simulator on loopback with a fixed clock (2026-11-24 10:00 KST).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator
from tests.integration.simulator.krx_oracle import (
    direction,
    error_code,
    expected_rate,
    limits,
    ok,
    on_grid,
    price,
    split,
)

TODAY = "20261124"
CODE = "005930"

LIST_KEYS = {
    "ka10079": "stk_tic_chart_qry",
    "ka10080": "stk_min_pole_chart_qry",
    "ka10081": "stk_dt_pole_chart_qry",
    "ka10082": "stk_stk_pole_chart_qry",  # (sic) — the weekly list really is "stk_stk"
    "ka10083": "stk_mth_pole_chart_qry",
    "ka10094": "stk_yr_pole_chart_qry",
}
PERIOD_TRS = ("ka10081", "ka10082", "ka10083", "ka10094")

PERIOD_ROW_FIELDS = frozenset(
    {
        "cur_prc", "trde_qty", "trde_prica", "dt", "open_pric", "high_pric", "low_pric",
        "pred_pre", "pred_pre_sig", "trde_tern_rt",
    }
)  # fmt: skip
YEAR_ROW_FIELDS = frozenset(
    {"cur_prc", "trde_qty", "trde_prica", "dt", "open_pric", "high_pric", "low_pric"}
)
INTRADAY_ROW_FIELDS = frozenset(
    {
        "cur_prc",
        "trde_qty",
        "cntr_tm",
        "open_pric",
        "high_pric",
        "low_pric",
        "pred_pre",
        "pred_pre_sig",
    }
)
PRICE_FIELDS = ("open_pric", "high_pric", "low_pric", "cur_prc")

DAY_PAGE = 600
RATE = re.compile(r"^(?:[+-](?!0\.00$))?\d+\.\d{2}$")
SIGNED_NUMBER = re.compile(r"^(?:0|[+-][1-9]\d*)$")
TIMESTAMP = re.compile(r"^\d{14}$")

Row = dict[str, str]


# --------------------------------------------------------------------------- helpers


def signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def sig(value: int, reference: int) -> str:
    return "2" if value > reference else "5" if value < reference else "3"


def period_body(base_dt: str = TODAY, code: str = CODE) -> dict[str, str]:
    return {"stk_cd": code, "base_dt": base_dt, "upd_stkpc_tp": "1"}


def intraday_body(scope: str, code: str = CODE, **extra: str) -> dict[str, str]:
    return {"stk_cd": code, "tic_scope": scope, "upd_stkpc_tp": "1", **extra}


def continuing(next_key: str) -> dict[str, str]:
    return {"cont-yn": "Y", "next-key": next_key}


def walk(
    sim: RunningSimulator, api_id: str, body: dict[str, str], token: str
) -> tuple[list[list[Row]], list[httpx.Headers]]:
    """Every page of a chart, following ``cont-yn``/``next-key`` response headers only."""
    pages: list[list[Row]] = []
    headers: list[httpx.Headers] = []
    extra: dict[str, str] = {}
    for _ in range(50):
        response = sim.call(api_id, "chart", body, token, headers=extra)
        answer = ok(response)
        assert not {"cont_yn", "next_key", "cont-yn", "next-key"} & set(answer), "headers only"
        pages.append(answer[LIST_KEYS[api_id]])
        headers.append(response.headers)
        if response.headers["cont-yn"] != "Y":
            return pages, headers
        extra = continuing(response.headers["next-key"])
    raise AssertionError("more than 50 pages")


def all_rows(sim: RunningSimulator, api_id: str, body: dict[str, str], token: str) -> list[Row]:
    pages, _ = walk(sim, api_id, body, token)
    return [row for page in pages for row in page]


def stock_info(sim: RunningSimulator, token: str, code: str = CODE) -> dict[str, Any]:
    return ok(sim.call("ka10001", "stkinfo", {"stk_cd": code}, token))


def listed_shares(sim: RunningSimulator, token: str, code: str = CODE) -> int:
    rows = ok(sim.call("ka10099", "stkinfo", {"mrkt_tp": "0"}, token))["list"]
    return int(next(row for row in rows if row["code"] == code)["listCount"])


def day(text: str) -> date:
    return datetime.strptime(text, "%Y%m%d").date()


def grouped(rows: list[Row], key: Callable[[date], object]) -> list[list[Row]]:
    """Oldest-first daily rows in consecutive runs of equal ``key(dt)``."""
    groups: list[list[Row]] = []
    last: object = None
    for row in rows:
        k = key(day(row["dt"]))
        if groups and k == last:
            groups[-1].append(row)
        else:
            groups.append([row])
        last = k
    return groups


def check_ohlc(row: Row) -> tuple[int, int, int, int]:
    o, h, low, c = (price(row[name]) for name in PRICE_FIELDS)
    assert all(on_grid(p) for p in (o, h, low, c)), row
    assert low <= min(o, c), row
    assert max(o, c) <= h, row
    return o, h, low, c


@pytest.fixture
def token(simulator: RunningSimulator) -> str:
    return simulator.token()


@pytest.fixture
def daily(simulator: RunningSimulator, token: str) -> list[Row]:
    """The whole daily history of 005930 up to today, newest first."""
    return all_rows(simulator, "ka10081", period_body(), token)


# --------------------------------------------------------------------------- shapes


def request_body(api_id: str, code: str = CODE) -> dict[str, str]:
    """A valid body for ``api_id``: intraday TRs take tic_scope, the others base_dt."""
    return intraday_body("1", code) if api_id in ("ka10079", "ka10080") else period_body(code=code)


def test_each_chart_answers_with_its_list_key(simulator: RunningSimulator, token: str) -> None:
    for api_id, list_key in LIST_KEYS.items():
        response = simulator.call(api_id, "chart", request_body(api_id), token)
        answer = ok(response)
        assert response.headers["api-id"] == api_id
        assert response.headers["cont-yn"] in {"Y", "N"}
        assert "next-key" in response.headers
        assert answer["stk_cd"] == CODE
        rows = answer[list_key]
        assert isinstance(rows, list), api_id
        assert rows, api_id
        others = set(LIST_KEYS.values()) - {list_key}
        assert not others & set(answer), "exactly one list key per TR"
        assert all(isinstance(v, str) for row in rows for v in row.values()), api_id
        if api_id == "ka10079":
            assert answer["last_tic_cnt"].isdigit()
        else:
            assert "last_tic_cnt" not in answer


def test_row_fields(simulator: RunningSimulator, token: str) -> None:
    expected = {
        "ka10081": PERIOD_ROW_FIELDS,
        "ka10082": PERIOD_ROW_FIELDS,
        "ka10083": PERIOD_ROW_FIELDS,
        "ka10079": INTRADAY_ROW_FIELDS,
        "ka10080": INTRADAY_ROW_FIELDS | {"acc_trde_qty"},
    }
    for api_id, fields in expected.items():
        response = simulator.call(api_id, "chart", request_body(api_id), token)
        for row in ok(response)[LIST_KEYS[api_id]]:
            assert fields <= set(row), (api_id, fields - set(row))


def test_yearly_rows_have_only_the_seven_fields(simulator: RunningSimulator, token: str) -> None:
    rows = ok(simulator.call("ka10094", "chart", period_body(), token))["stk_yr_pole_chart_qry"]
    assert [row["dt"][:4] for row in rows] == [str(y) for y in range(2026, 2020, -1)]
    for row in rows:
        assert set(row) == YEAR_ROW_FIELDS, set(row) ^ YEAR_ROW_FIELDS
        check_ohlc(row)
        assert all(row[name].isdigit() for name in PRICE_FIELDS), "no signs on yearly prices"


# --------------------------------------------------------------------------- daily rows


def test_daily_rows_are_unsigned_newest_first_and_consistent(
    simulator: RunningSimulator, token: str, daily: list[Row]
) -> None:
    shares = listed_shares(simulator, token)
    dates = [row["dt"] for row in daily]
    assert dates == sorted(dates, reverse=True)
    assert len(set(dates)) == len(dates)
    assert dates[0] == TODAY
    assert all(d <= TODAY for d in dates)
    for newer, older in itertools.pairwise(daily):
        for name in PRICE_FIELDS:
            assert newer[name].isdigit(), f"daily prices carry no sign: {name}={newer[name]}"
        _, high, low, close = check_ohlc(newer)
        previous = int(older["cur_prc"])
        lower, upper = limits(previous)
        assert lower <= low <= high <= upper, (newer["dt"], low, high, previous)
        assert newer["pred_pre"] == signed(close - previous), newer
        assert newer["pred_pre_sig"] == sig(close, previous), newer
        assert newer["pred_close_pric"] == str(previous)
        volume = int(newer["trde_qty"])
        assert volume > 0
        # 거래대금 in 백만원: volume × a price of the day, rounded down to millions.
        turnover = int(newer["trde_prica"])
        assert turnover * 1_000_000 <= volume * high, newer
        assert (turnover + 1) * 1_000_000 > volume * low, newer
        assert RATE.match(newer["trde_tern_rt"]), newer["trde_tern_rt"]
        assert newer["trde_tern_rt"] == expected_rate(volume, shares), newer
        assert datetime.strptime(newer["dt"], "%Y%m%d").weekday() < 5


def test_newest_daily_bar_is_todays_ka10001(simulator: RunningSimulator, token: str) -> None:
    info = stock_info(simulator, token)
    rows = ok(simulator.call("ka10081", "chart", period_body(), token))["stk_dt_pole_chart_qry"]
    today, yesterday = rows[0], rows[1]
    assert today["dt"] == TODAY
    assert int(today["cur_prc"]) == price(info["cur_prc"])
    assert int(today["open_pric"]) == price(info["open_pric"])
    assert int(today["high_pric"]) == price(info["high_pric"])
    assert int(today["low_pric"]) == price(info["low_pric"])
    assert today["trde_qty"] == info["trde_qty"]
    assert int(yesterday["cur_prc"]) == int(info["base_pric"])
    assert today["pred_pre"] == info["pred_pre"]


# --------------------------------------------------------------------------- continuation


def test_daily_history_pages_join_into_five_years(simulator: RunningSimulator, token: str) -> None:
    pages, headers = walk(simulator, "ka10081", period_body(), token)
    sizes = [len(page) for page in pages]
    assert len(pages) == 3
    assert sizes[:-1] == [DAY_PAGE, DAY_PAGE]
    assert 0 < sizes[-1] <= DAY_PAGE
    assert [h["cont-yn"] for h in headers] == ["Y", "Y", "N"]
    assert all(h["api-id"] == "ka10081" for h in headers)
    for h in headers[:-1]:
        assert h["next-key"]
        assert len(h["next-key"]) <= 50
    assert headers[-1]["next-key"] == ""
    assert len({h["next-key"] for h in headers[:-1]}) == len(headers) - 1

    rows = [row for page in pages for row in page]
    dates = [row["dt"] for row in rows]
    assert len(set(dates)) == len(dates), "a row repeated across pages"
    assert dates == sorted(dates, reverse=True), "pages continue back in time, in order"
    # No gaps: every row's previous close is the next row's close, across page seams too.
    for newer, older in itertools.pairwise(rows):
        assert newer["pred_close_pric"] == older["cur_prc"], (newer["dt"], older["dt"])
    # ... and every KRX trading day between the ends is there.
    first, last = day(dates[-1]), day(dates[0])
    assert simulator.sim.calendar.trading_days(first, last) == sorted(day(d) for d in dates)
    assert 1200 <= len(rows) <= 1300, len(rows)  # ~5 years × 250 days, plus today
    assert date(2021, 9, 1) <= first <= date(2021, 12, 31)
    for holiday in ("20251225", "20250101", "20251006", "20240101"):
        assert holiday not in dates


def test_next_key_is_ignored_without_cont_yn_y(simulator: RunningSimulator, token: str) -> None:
    first = simulator.call("ka10081", "chart", period_body(), token)
    key = first.headers["next-key"]
    assert first.headers["cont-yn"] == "Y"
    assert key
    rows = ok(first)["stk_dt_pole_chart_qry"]
    for extra in ({"next-key": key}, {"cont-yn": "N", "next-key": key}):
        again = simulator.call("ka10081", "chart", period_body(), token, headers=extra)
        assert ok(again)["stk_dt_pole_chart_qry"] == rows, extra
        assert again.headers["next-key"] == key
    second = simulator.call("ka10081", "chart", period_body(), token, headers=continuing(key))
    assert ok(second)["stk_dt_pole_chart_qry"][0]["dt"] < rows[-1]["dt"]


def test_a_bad_next_key_is_1517(simulator: RunningSimulator, token: str) -> None:
    for bad_key in ("garbage", "A0059302023090100010000", "99999999", "2026112"):
        response = simulator.call(
            "ka10081", "chart", period_body(), token, headers=continuing(bad_key)
        )
        assert error_code(response) == (2, "1517"), bad_key
        assert response.json()["return_msg"].startswith("입력 값 오류입니다[1517:")


def test_a_page_is_the_same_whatever_the_path_to_it(
    simulator: RunningSimulator, token: str, daily: list[Row]
) -> None:
    """base_dt in the past answers exactly the rows of the full walk from that day."""
    for base_dt in ("20240315", "20240316", "20230101"):  # a Friday, a Saturday, a holiday
        rows = all_rows(simulator, "ka10081", period_body(base_dt), token)
        expected = [row for row in daily if row["dt"] <= base_dt]
        assert rows == expected, base_dt
    first = ok(simulator.call("ka10081", "chart", period_body("20240316"), token))
    assert first["stk_dt_pole_chart_qry"][0]["dt"] == "20240315"


def test_base_dt_before_the_history_is_an_empty_list(
    simulator: RunningSimulator, token: str
) -> None:
    response = simulator.call("ka10081", "chart", period_body("20100104"), token)
    assert ok(response)["stk_dt_pole_chart_qry"] == []
    assert response.headers["cont-yn"] == "N"


# --------------------------------------------------------------------------- input errors


def test_bad_base_dt_is_1517(simulator: RunningSimulator, token: str) -> None:
    for api_id in PERIOD_TRS:
        for base_dt in ("2026-11-24", "20261324", "abc", "2026112", "202611245", "20260230"):
            response = simulator.call(api_id, "chart", period_body(base_dt), token)
            assert error_code(response) == (2, "1517"), (api_id, base_dt)
            assert "base_dt" in response.json()["return_msg"]
    response = simulator.call("ka10080", "chart", intraday_body("1", base_dt="2026/11/24"), token)
    assert error_code(response) == (2, "1517")


def test_missing_base_dt_is_1511(simulator: RunningSimulator, token: str) -> None:
    for api_id in PERIOD_TRS:
        for body in ({"stk_cd": CODE, "upd_stkpc_tp": "1"}, period_body(""), period_body("  ")):
            response = simulator.call(api_id, "chart", body, token)
            assert error_code(response) == (2, "1511"), (api_id, body)
            assert response.json()["return_msg"].endswith("필수입력 파라미터=base_dt]")


def test_bad_or_missing_upd_stkpc_tp(simulator: RunningSimulator, token: str) -> None:
    for api_id in LIST_KEYS:
        for flag in ("2", "Y", "01"):
            body = {**request_body(api_id), "upd_stkpc_tp": flag}
            response = simulator.call(api_id, "chart", body, token)
            assert error_code(response) == (2, "1517"), (api_id, flag)
            assert "upd_stkpc_tp" in response.json()["return_msg"]
        body = request_body(api_id)
        del body["upd_stkpc_tp"]
        assert error_code(simulator.call(api_id, "chart", body, token)) == (2, "1511"), api_id
    raw = ok(simulator.call("ka10081", "chart", {**period_body(), "upd_stkpc_tp": "0"}, token))
    assert raw["stk_dt_pole_chart_qry"], "0 = raw prices is accepted too"


def test_bad_or_missing_tic_scope(simulator: RunningSimulator, token: str) -> None:
    cases = {
        "ka10080": ("2", "120", "1m", "0"),
        "ka10079": ("15", "60", "0", "2"),  # 15/60 are minute scopes, not tick scopes
    }
    for api_id, scopes in cases.items():
        for scope in scopes:
            response = simulator.call(api_id, "chart", intraday_body(scope), token)
            assert error_code(response) == (2, "1517"), (api_id, scope)
            assert "tic_scope" in response.json()["return_msg"]
        response = simulator.call(api_id, "chart", {"stk_cd": CODE, "upd_stkpc_tp": "1"}, token)
        assert error_code(response) == (2, "1511")
        assert "tic_scope" in response.json()["return_msg"]
    for scope in ("1", "3", "5", "10", "15", "30", "45", "60"):
        ok(simulator.call("ka10080", "chart", intraday_body(scope), token))
    for scope in ("1", "3", "5", "10", "30"):
        ok(simulator.call("ka10079", "chart", intraday_body(scope), token))


def test_unknown_stock_is_1902(simulator: RunningSimulator, token: str) -> None:
    for api_id in LIST_KEYS:
        response = simulator.call(api_id, "chart", request_body(api_id, "999999"), token)
        assert error_code(response) == (2, "1902"), api_id


# --------------------------------------------------------------------------- W / M / Y


PERIOD_KEYS: dict[str, Callable[[date], object]] = {
    "ka10082": lambda d: d.isocalendar()[:2],  # ISO week
    "ka10083": lambda d: (d.year, d.month),
    "ka10094": lambda d: d.year,
}


def test_period_bars_aggregate_the_daily_bars(
    simulator: RunningSimulator, token: str, daily: list[Row]
) -> None:
    for api_id, key in PERIOD_KEYS.items():
        check_period_bars(all_rows(simulator, api_id, period_body(), token), daily, api_id, key)


def check_period_bars(
    periods: list[Row], daily: list[Row], api_id: str, key: Callable[[date], object]
) -> None:
    groups = grouped(list(reversed(daily)), key)
    assert len(periods) == len(groups)
    for row, group in zip(reversed(periods), groups, strict=True):
        assert row["dt"] == group[0]["dt"], "a period is dated by its first trading day"
        assert all(row[name].isdigit() for name in PRICE_FIELDS), row
        check_ohlc(row)
        assert row["open_pric"] == group[0]["open_pric"]
        assert row["cur_prc"] == group[-1]["cur_prc"]
        assert int(row["high_pric"]) == max(int(d["high_pric"]) for d in group)
        assert int(row["low_pric"]) == min(int(d["low_pric"]) for d in group)
        assert int(row["trde_qty"]) == sum(int(d["trde_qty"]) for d in group)
        # W/M/Y 거래대금 is in 원, daily in 백만원 (each rounded down).
        millions = sum(int(d["trde_prica"]) for d in group)
        assert millions <= int(row["trde_prica"]) // 1_000_000 < millions + len(group), row
    # Change fields chain from the previous period's close (not on yearly rows).
    if api_id != "ka10094":
        for newer, older in itertools.pairwise(periods):
            change = int(newer["cur_prc"]) - int(older["cur_prc"])
            assert newer["pred_pre"] == signed(change)
            assert newer["pred_pre_sig"] == sig(int(newer["cur_prc"]), int(older["cur_prc"]))


def test_a_period_holding_base_dt_ends_at_base_dt(
    simulator: RunningSimulator, token: str, daily: list[Row]
) -> None:
    base_dt = "20240313"  # a Wednesday in the middle of a week, a month and a year
    for api_id in PERIOD_KEYS:
        answer = ok(simulator.call(api_id, "chart", period_body(base_dt), token))
        newest = answer[LIST_KEYS[api_id]][0]
        start = newest["dt"]
        assert start <= base_dt
        days = [row for row in daily if start <= row["dt"] <= base_dt]
        assert newest["cur_prc"] == days[0]["cur_prc"], f"{api_id}: no day after base_dt"
        assert int(newest["high_pric"]) == max(int(d["high_pric"]) for d in days)
        assert int(newest["trde_qty"]) == sum(int(d["trde_qty"]) for d in days)


# --------------------------------------------------------------------------- minutes


def minute_rows(sim: RunningSimulator, token: str, scope: str = "1", **extra: str) -> list[Row]:
    return all_rows(sim, "ka10080", intraday_body(scope, **extra), token)


def test_minute_bars_carry_signs_and_agree_with_ka10001(
    simulator: RunningSimulator, token: str
) -> None:
    info = stock_info(simulator, token)
    base = int(info["base_pric"])
    lower, upper = limits(base)
    rows = minute_rows(simulator, token)
    times = [row["cntr_tm"] for row in rows]
    assert all(TIMESTAMP.match(t) for t in times)
    expected = [
        (datetime(2026, 11, 24, 9, 0) + timedelta(minutes=m)).strftime("%Y%m%d%H%M%S")
        for m in range(61)
    ]
    assert times == expected[::-1], "one bar per minute 09:00..10:00, newest first"
    for row in rows:
        for name in PRICE_FIELDS:
            sign, value = split(row[name])
            assert sign == direction(value, base), f"minute prices carry direction signs: {row}"
            assert lower <= value <= upper
        _, _, _, close = check_ohlc(row)
        assert row["pred_pre"] == signed(close - base)
        assert SIGNED_NUMBER.match(row["pred_pre"])
        assert row["pred_pre_sig"] == sig(close, base)
        assert int(row["trde_qty"]) > 0
    assert rows[0]["cur_prc"] == info["cur_prc"], "the newest minute closes at the last price"
    assert sum(int(row["trde_qty"]) for row in rows) == int(info["trde_qty"])
    assert max(price(row["high_pric"]) for row in rows) == price(info["high_pric"])
    assert min(price(row["low_pric"]) for row in rows) == price(info["low_pric"])
    assert rows[-1]["open_pric"] == info["open_pric"]
    # acc_trde_qty runs up to the day's volume.
    assert rows[0]["acc_trde_qty"] == info["trde_qty"]
    for newer, older in itertools.pairwise(rows):
        assert int(newer["acc_trde_qty"]) == int(older["acc_trde_qty"]) + int(newer["trde_qty"])
    assert rows[-1]["acc_trde_qty"] == rows[-1]["trde_qty"]


def test_advancing_the_clock_adds_minute_bars(simulator: RunningSimulator, token: str) -> None:
    before = minute_rows(simulator, token)
    simulator.advance(60)
    after = minute_rows(simulator, token)
    assert len(after) == len(before) + 1
    assert after[0]["cntr_tm"] == "20261124100100"
    assert after[1]["cntr_tm"] == before[0]["cntr_tm"] == "20261124100000"
    assert after[2:] == before[1:], "finished minutes never change"
    assert int(after[1]["trde_qty"]) >= int(before[0]["trde_qty"]), "10:00 went on trading"
    info = stock_info(simulator, token)
    assert after[0]["cur_prc"] == info["cur_prc"]
    assert sum(int(row["trde_qty"]) for row in after) == int(info["trde_qty"])
    simulator.advance(600)
    assert minute_rows(simulator, token)[0]["cntr_tm"] == "20261124101100"


def test_n_minute_bars_merge_one_minute_bars(simulator: RunningSimulator, token: str) -> None:
    ones = list(reversed(minute_rows(simulator, token)))
    for scope in ("3", "5", "15", "60"):
        check_minute_buckets(ones, list(reversed(minute_rows(simulator, token, scope))), scope)


def check_minute_buckets(ones: list[Row], bars: list[Row], scope: str) -> None:
    width = int(scope)
    assert len(bars) == -(-len(ones) // width)
    for index, bar in enumerate(bars):
        group = ones[index * width : (index + 1) * width]
        assert bar["cntr_tm"] == group[0]["cntr_tm"], "bucketed from 09:00"
        assert bar["open_pric"] == group[0]["open_pric"]
        assert bar["cur_prc"] == group[-1]["cur_prc"]
        assert price(bar["high_pric"]) == max(price(r["high_pric"]) for r in group)
        assert price(bar["low_pric"]) == min(price(r["low_pric"]) for r in group)
        assert int(bar["trde_qty"]) == sum(int(r["trde_qty"]) for r in group)
        assert bar["acc_trde_qty"] == group[-1]["acc_trde_qty"]


def test_minute_chart_base_dt_before_today_is_empty(
    simulator: RunningSimulator, token: str
) -> None:
    assert minute_rows(simulator, token, base_dt="20261123") == []
    assert len(minute_rows(simulator, token, base_dt=TODAY)) == 61


def test_minute_chart_pages_over_several_days(start_simulator: StartSimulator) -> None:
    """Friday 10:00 → Tuesday 12:00: three simulated sessions, more than one page."""
    sim = start_simulator(start="2026-11-20T10:00:00+09:00")
    token = sim.token()
    friday_open = ok(sim.call("ka10001", "stkinfo", {"stk_cd": CODE}, token))
    sim.advance((4 * 24 + 2) * 3600)  # to Tuesday 2026-11-24 12:00
    token = sim.token()  # the first one lived 24 hours
    pages, headers = walk(sim, "ka10080", intraday_body("1"), token)
    assert len(pages) >= 2
    assert [h["cont-yn"] for h in headers][-1] == "N"
    assert all(h["cont-yn"] == "Y" for h in headers[:-1])
    rows = [row for page in pages for row in page]
    times = [row["cntr_tm"] for row in rows]
    assert len(set(times)) == len(times)
    assert times == sorted(times, reverse=True)
    days = sorted({t[:8] for t in times})
    assert days == ["20261120", "20261123", "20261124"]
    assert times[0] == "20261124120000"
    # Each day's bars are signed against that day's base price: the day before's close.
    daily = ok(sim.call("ka10081", "chart", period_body(), token))["stk_dt_pole_chart_qry"]
    close = {row["dt"]: int(row["cur_prc"]) for row in daily}
    assert int(friday_open["base_pric"]) == close["20261119"]
    for row in rows:
        base = int(row["pred_close_pric"])
        previous_day = max(d for d in close if d < row["cntr_tm"][:8])
        assert base == close[previous_day], row
        assert split(row["cur_prc"])[0] == direction(price(row["cur_prc"]), base)
    for trading_day in days:
        todays = [row for row in rows if row["cntr_tm"].startswith(trading_day)]
        assert price(todays[0]["cur_prc"]) == close[trading_day], "last minute = day's close"
        volume = next(row["trde_qty"] for row in daily if row["dt"] == trading_day)
        assert todays[0]["acc_trde_qty"] == volume
        assert sum(int(row["trde_qty"]) for row in todays) == int(volume)
    # Tick bars reach back into Monday too, each signed against its own day's base.
    ticks = all_rows(sim, "ka10079", intraday_body("30"), token)
    assert {row["cntr_tm"][:8] for row in ticks} == {"20261123", "20261124"}
    for row in ticks:
        base = close[max(d for d in close if d < row["cntr_tm"][:8])]
        assert row["pred_pre"] == signed(price(row["cur_prc"]) - base), row
        assert split(row["cur_prc"])[0] == direction(price(row["cur_prc"]), base), row
    # base_dt limits the minute chart to days up to it.
    friday = all_rows(sim, "ka10080", intraday_body("1", base_dt="20261120"), token)
    assert friday == [row for row in rows if row["cntr_tm"].startswith("20261120")]
    assert friday[0]["cntr_tm"] == "20261120151900", "the continuous session ends 15:20"


# --------------------------------------------------------------------------- ticks


def tick_rows(sim: RunningSimulator, token: str, scope: str) -> tuple[list[Row], str]:
    pages: list[list[Row]] = []
    counts: set[str] = set()
    extra: dict[str, str] = {}
    while True:
        response = sim.call("ka10079", "chart", intraday_body(scope), token, headers=extra)
        answer = ok(response)
        pages.append(answer["stk_tic_chart_qry"])
        counts.add(answer["last_tic_cnt"])
        if response.headers["cont-yn"] != "Y":
            break
        extra = continuing(response.headers["next-key"])
    assert len(counts) == 1, "last_tic_cnt is the same on every page"
    assert all(len(page) == 900 for page in pages[:-1])
    return [row for page in pages for row in page], counts.pop()


def test_single_ticks_are_todays_trades(simulator: RunningSimulator, token: str) -> None:
    info = stock_info(simulator, token)
    base = int(info["base_pric"])
    ticks, last_count = tick_rows(simulator, token, "1")
    assert last_count == "1"
    assert len(ticks) > 900, "an hour of trading needs several pages"
    times = [row["cntr_tm"] for row in ticks]
    assert times == sorted(times, reverse=True)
    assert times[0] == "20261124100000"
    assert times[-1] == "20261124090000"
    for row in ticks:
        assert row["open_pric"] == row["high_pric"] == row["low_pric"] == row["cur_prc"], row
        sign, value = split(row["cur_prc"])
        assert sign == direction(value, base)
        assert on_grid(value)
        assert row["pred_pre"] == signed(value - base)
        assert int(row["trde_qty"]) > 0
    assert ticks[0]["cur_prc"] == info["cur_prc"]
    assert ticks[-1]["cur_prc"] == info["open_pric"]
    assert sum(int(row["trde_qty"]) for row in ticks) == int(info["trde_qty"])


def test_n_tick_bars_group_single_ticks(simulator: RunningSimulator, token: str) -> None:
    ones = list(reversed(tick_rows(simulator, token, "1")[0]))
    for scope in ("3", "10", "30"):
        check_tick_groups(ones, *tick_rows(simulator, token, scope), scope)
    simulator.advance(7)  # seven more trades: the newest bar is a partial one
    ones = list(reversed(tick_rows(simulator, token, "1")[0]))
    for scope in ("3", "10", "30"):
        check_tick_groups(ones, *tick_rows(simulator, token, scope), scope)


def check_tick_groups(
    ones: list[Row], grouped_rows: list[Row], last_count: str, scope: str
) -> None:
    bars = list(reversed(grouped_rows))
    width = int(scope)
    assert len(bars) == -(-len(ones) // width)
    assert int(last_count) == len(ones) - width * (len(bars) - 1)
    for index, bar in enumerate(bars):
        group = ones[index * width : (index + 1) * width]
        assert bar["cntr_tm"] == group[-1]["cntr_tm"], "a tick bar is stamped by its last trade"
        assert bar["open_pric"] == group[0]["cur_prc"]
        assert bar["cur_prc"] == group[-1]["cur_prc"]
        assert price(bar["high_pric"]) == max(price(r["cur_prc"]) for r in group)
        assert price(bar["low_pric"]) == min(price(r["cur_prc"]) for r in group)
        assert int(bar["trde_qty"]) == sum(int(r["trde_qty"]) for r in group)


def test_a_bad_tick_next_key_is_1517(simulator: RunningSimulator, token: str) -> None:
    response = simulator.call(
        "ka10079", "chart", intraday_body("1"), token, headers=continuing("nope")
    )
    assert error_code(response) == (2, "1517")


# --------------------------------------------------------------------------- determinism


def test_the_same_seed_replays_the_same_charts(start_simulator: StartSimulator) -> None:
    def answers(seed: int) -> tuple[Any, ...]:
        sim = start_simulator(seed=seed)
        token = sim.token()
        daily = [
            ok(sim.call("ka10081", "chart", period_body(d), token)) for d in (TODAY, "20230601")
        ]
        minutes = ok(sim.call("ka10080", "chart", intraday_body("1"), token))
        return (*daily, minutes)

    first, again, other = answers(7), answers(7), answers(8)
    assert first == again
    assert first[0] != other[0]
    assert first[1] != other[1]
    assert first[2] != other[2]
