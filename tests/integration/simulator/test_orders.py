"""Orders end to end: kt10000–kt10003 and the account TRs agreeing with them,
plus the realtime 00/04 sequence (PROTOCOL.md §6.5, §6.6, §8.5)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator
from tests.integration.simulator.wsclient import KiwoomSocket

from quantum.kiwoom.realtime import ORDER_FIDS
from quantum.kiwoom.wire import parse_int, parse_price
from quantum.krx.rules import tick_size

CODE = "005930"


def _order(qty: int, price: int | str, trde_tp: str = "0", **extra: str) -> dict[str, str]:
    body = {
        "dmst_stex_tp": "KRX",
        "stk_cd": CODE,
        "ord_qty": str(qty),
        "ord_uv": str(price),
        "trde_tp": trde_tp,
        "cond_uv": "",
    }
    body.update(extra)
    return body


def _book(sim: RunningSimulator, token: str) -> tuple[int, int]:
    book = sim.call("ka10004", "mrkcond", {"stk_cd": CODE}, token).json()
    return parse_price(book["sel_fpr_bid"]), parse_price(book["buy_fpr_bid"])


def _deposit(sim: RunningSimulator, token: str) -> dict[str, Any]:
    body: dict[str, Any] = sim.call("kt00001", "acnt", {"qry_tp": "3"}, token).json()
    return body


def _balance(sim: RunningSimulator, token: str) -> dict[str, Any]:
    body: dict[str, Any] = sim.call(
        "kt00018", "acnt", {"qry_tp": "1", "dmst_stex_tp": "KRX"}, token
    ).json()
    return body


def _open(sim: RunningSimulator, token: str) -> list[dict[str, str]]:
    body = {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "stex_tp": "0"}
    rows: list[dict[str, str]] = sim.call("ka10075", "acnt", body, token).json()["oso"]
    return rows


def _fills(sim: RunningSimulator, token: str) -> list[dict[str, str]]:
    body = {"stk_cd": "", "qry_tp": "0", "sell_tp": "0", "ord_no": "", "stex_tp": "0"}
    rows: list[dict[str, str]] = sim.call("ka10076", "acnt", body, token).json()["cntr"]
    return rows


def test_marketable_buy_fills_and_every_account_tr_agrees(simulator: RunningSimulator) -> None:
    token = simulator.token()
    ask, _ = _book(simulator, token)
    placed = simulator.call("kt10000", "ordr", _order(10, ask), token)
    body = placed.json()
    assert body["return_code"] == 0, body
    assert body["return_msg"] == "KRX 매수주문이 완료되었습니다."
    assert len(body["ord_no"]) == 7 and body["dmst_stex_tp"] == "KRX"

    fills = _fills(simulator, token)
    assert [row["ord_no"] for row in fills] == [body["ord_no"]]
    filled_qty = int(fills[0]["cntr_qty"])
    fill_price = int(fills[0]["cntr_pric"])
    assert filled_qty == 10 and fill_price <= ask
    commission = int(fills[0]["tdy_trde_cmsn"])

    deposit = _deposit(simulator, token)
    assert parse_int(deposit["entr"]) == 100_000_000 - fill_price * 10 - commission
    assert deposit["ord_alow_amt"] == deposit["entr"], "nothing left open"
    assert len(deposit["entr"]) == 15

    balance = _balance(simulator, token)
    rows = balance["acnt_evlt_remn_indv_tot"]
    assert [row["stk_cd"] for row in rows] == ["A005930"]
    assert parse_int(rows[0]["rmnd_qty"]) == 10
    assert parse_int(rows[0]["pur_amt"]) == fill_price * 10
    assert parse_int(rows[0]["pur_cmsn"]) == commission
    assert len(rows[0]["cur_prc"]) == 12
    assert parse_int(balance["prsm_dpst_aset_amt"]) == parse_int(deposit["entr"]) + parse_int(
        balance["tot_evlt_amt"]
    )
    assert _open(simulator, token) == []


def test_resting_buy_is_listed_then_cancelled(simulator: RunningSimulator) -> None:
    token = simulator.token()
    _, bid = _book(simulator, token)
    price = bid - 5 * tick_size(bid)
    ord_no = simulator.call("kt10000", "ordr", _order(3, price), token).json()["ord_no"]
    rows = _open(simulator, token)
    assert [(r["ord_no"], r["oso_qty"], r["ord_pric"], r["io_tp_nm"]) for r in rows] == [
        (ord_no, "3", str(price), "+매수")
    ]
    reserved = 100_000_000 - parse_int(_deposit(simulator, token)["ord_alow_amt"])
    assert reserved >= 3 * price

    cancel = {"dmst_stex_tp": "KRX", "orig_ord_no": ord_no, "stk_cd": CODE, "cncl_qty": "0"}
    answer = simulator.call("kt10003", "ordr", cancel, token).json()
    assert answer["return_code"] == 0, answer
    assert answer["base_orig_ord_no"] == ord_no and answer["cncl_qty"] == "000000000003"
    assert answer["return_msg"] == "매수취소 주문입력이 완료되었습니다"
    assert _open(simulator, token) == []
    assert parse_int(_deposit(simulator, token)["ord_alow_amt"]) == 100_000_000


def test_modify_moves_the_order_to_a_new_number_and_price(simulator: RunningSimulator) -> None:
    token = simulator.token()
    _, bid = _book(simulator, token)
    low = bid - 10 * tick_size(bid)
    ord_no = simulator.call("kt10000", "ordr", _order(4, low), token).json()["ord_no"]
    new_price = low + tick_size(low)
    modify = {
        "dmst_stex_tp": "KRX",
        "orig_ord_no": ord_no,
        "stk_cd": CODE,
        "mdfy_qty": "0",
        "mdfy_uv": str(new_price),
        "mdfy_cond_uv": "",
    }
    answer = simulator.call("kt10002", "ordr", modify, token).json()
    assert answer["return_code"] == 0, answer
    assert answer["base_orig_ord_no"] == ord_no and answer["ord_no"] != ord_no
    assert answer["mdfy_qty"] == "000000000004"
    rows = _open(simulator, token)
    assert [(r["ord_no"], r["ord_pric"], r["orig_ord_no"]) for r in rows] == [
        (answer["ord_no"], str(new_price), ord_no)
    ]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (lambda bid: _order(1, bid + 1), "[2000](RC4003:"),
        (lambda bid: _order(1, bid * 2), "[2000](RC4004:"),
        (lambda bid: _order(100_000, bid), "[2000](RC4025:"),
        (lambda bid: _order(1, "", trde_tp="61"), "[2000](RC4060:"),
        (lambda bid: _order(1, bid, trde_tp="99"), "[1517:"),
        (lambda bid: _order(1, "", trde_tp="0"), "[1511:"),
        (lambda bid: {**_order(1, bid), "stk_cd": "123456"}, "[1902:"),
    ],
)
def test_rejected_buys_change_nothing(
    simulator: RunningSimulator, order: Any, expected: str
) -> None:
    token = simulator.token()
    _, bid = _book(simulator, token)
    before = _deposit(simulator, token)
    answer = simulator.call("kt10000", "ordr", order(bid), token)
    assert answer.status_code == 200
    assert expected in answer.json()["return_msg"]
    assert answer.json()["return_code"] != 0
    assert _deposit(simulator, token) == before
    assert _open(simulator, token) == [] and _fills(simulator, token) == []


def test_selling_what_you_do_not_hold_is_rejected(simulator: RunningSimulator) -> None:
    token = simulator.token()
    _, bid = _book(simulator, token)
    answer = simulator.call("kt10001", "ordr", _order(1, bid), token).json()
    assert answer["return_code"] == 20 and "RC4032" in answer["return_msg"]


def test_orders_outside_the_session_are_refused(start_simulator: StartSimulator) -> None:
    sim = start_simulator(start="2026-11-24T20:00:00+09:00")
    answer = sim.call("kt10000", "ordr", _order(1, 70000), sim.token()).json()
    assert answer["return_code"] == 20 and "RC4058" in answer["return_msg"]
    mock = start_simulator(start="2026-11-24T20:00:00+09:00", mode="mock")
    answer = mock.call("kt10000", "ordr", _order(1, 70000), mock.token()).json()
    assert answer["return_msg"] == "[2000](RC4058:모의투자 장종료)"


def test_mock_success_message_and_krx_only(start_simulator: StartSimulator) -> None:
    sim = start_simulator(mode="mock", rate_limit={"per_second": 100})
    token = sim.token()
    ask, _ = _book(sim, token)
    answer = sim.call("kt10000", "ordr", _order(1, ask), token).json()
    assert answer["return_msg"] == "모의투자 매수주문완료"
    nxt = sim.call("kt10000", "ordr", {**_order(1, ask), "dmst_stex_tp": "NXT"}, token).json()
    assert nxt["return_code"] == 2 and "dmst_stex_tp" in nxt["return_msg"]


def test_fok_that_cannot_fill_leaves_no_trace(start_simulator: StartSimulator) -> None:
    sim = start_simulator(liquidity_scale=0.05)
    token = sim.token()
    ask, _ = _book(sim, token)
    answer = sim.call("kt10000", "ordr", _order(1_000, ask, "20"), token)
    assert answer.json()["return_code"] == 0, answer.json()
    assert _fills(sim, token) == [] and _open(sim, token) == []
    assert parse_int(_deposit(sim, token)["ord_alow_amt"]) == 100_000_000


def test_market_buy_walks_the_thin_book(start_simulator: StartSimulator) -> None:
    sim = start_simulator(liquidity_scale=0.05, starting_cash=10_000_000_000)
    token = sim.token()
    answer = sim.call("kt10000", "ordr", _order(5_000, "", "13"), token).json()
    assert answer["return_code"] == 0, answer
    fills = _fills(sim, token)
    assert fills and 0 < int(fills[0]["cntr_qty"]) < 5_000, "IOC: partial fill, rest cancelled"
    assert _open(sim, token) == []


def test_lost_order_response_still_executes(start_simulator: StartSimulator) -> None:
    sim = start_simulator(lost_response_seconds=5)
    token = sim.token()
    ask, _ = _book(sim, token)
    sim.client.post("/_sim/faults", json={"api_id": "kt10000", "lose_response": True, "times": 1})
    with pytest.raises(httpx.ReadTimeout):  # only the wait for the answer is short
        sim.client.post(
            "/api/dostk/ordr",
            json=_order(2, ask),
            headers={"api-id": "kt10000", "authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10, read=1.5),
        )
    deadline = time.monotonic() + 15
    while not (fills := _fills(sim, token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [int(row["cntr_qty"]) for row in fills] == [2]


def test_injected_errors_and_status(simulator: RunningSimulator) -> None:
    token = simulator.token()
    simulator.client.post(
        "/_sim/faults", json={"api_id": "ka10001", "http_status": 503, "times": 1}
    )
    assert simulator.call("ka10001", "stkinfo", {"stk_cd": CODE}, token).status_code == 503
    assert simulator.call("ka10001", "stkinfo", {"stk_cd": CODE}, token).status_code == 200
    simulator.client.post("/_sim/faults", json={"api_id": "ka10001", "error_code": 1700})
    limited = simulator.call("ka10001", "stkinfo", {"stk_cd": CODE}, token)
    assert limited.status_code == 429 and "[1700:" in limited.json()["return_msg"]
    simulator.client.delete("/_sim/faults")
    bad = simulator.client.post("/_sim/faults", json={"http_status": 200})
    assert bad.status_code == 422 and "error" in bad.json()


def test_realtime_order_and_balance_sequence(simulator: RunningSimulator) -> None:
    token = simulator.token()
    account = simulator.account_no(token)
    sock = KiwoomSocket(simulator.ws_url)
    sock.login(token)
    sock.send(
        {
            "trnm": "REG",
            "grp_no": "9",
            "refresh": "1",
            "data": [{"item": [""], "type": ["00", "04"]}],
        }
    )
    assert sock.wait_for(lambda f: f.get("trnm") == "REG")["return_code"] == 0
    ask, _ = _book(simulator, token)
    ord_no = simulator.call("kt10000", "ordr", _order(5, ask), token).json()["ord_no"]

    seen: list[dict[str, str]] = []
    balance: dict[str, str] | None = None
    while balance is None or not seen or seen[-1][ORDER_FIDS["unfilled_qty"]] != "0":
        frame = sock.wait_for(lambda f: f.get("trnm") == "REAL")
        for entry in frame["data"]:
            if entry["type"] == "00":
                seen.append(entry["values"])
            elif entry["type"] == "04":
                balance = entry["values"]
    assert seen[0]["913"] == "접수" and seen[0]["902"] == "5" and seen[0]["9203"] == ord_no
    assert all(v["913"] == "체결" for v in seen[1:])
    # 915: each fill's quantity; 911: the order's cumulative, as Kiwoom sends it
    assert sum(int(v["915"]) for v in seen[1:]) == 5
    cumulative = [int(v["911"]) for v in seen[1:]]
    assert cumulative == sorted(cumulative) and cumulative[-1] == 5
    assert all(int(v["902"]) + int(v["911"]) == 5 for v in seen[1:])
    assert seen[0]["9201"] == account and seen[0]["905"] == "+매수" and seen[0]["907"] == "2"
    assert balance["930"] == "5" and balance["9201"] == account
    sock.close()


def test_realtime_cancel_sequence(simulator: RunningSimulator) -> None:
    token = simulator.token()
    sock = KiwoomSocket(simulator.ws_url)
    sock.login(token)
    sock.send(
        {"trnm": "REG", "grp_no": "1", "refresh": "1", "data": [{"item": [], "type": ["00"]}]}
    )
    sock.wait_for(lambda f: f.get("trnm") == "REG")
    _, bid = _book(simulator, token)
    ord_no = simulator.call("kt10000", "ordr", _order(2, bid - 10 * tick_size(bid)), token).json()[
        "ord_no"
    ]
    cancel = {"dmst_stex_tp": "KRX", "orig_ord_no": ord_no, "stk_cd": CODE, "cncl_qty": "0"}
    simulator.call("kt10003", "ordr", cancel, token)
    statuses: list[tuple[str, str]] = []
    while len(statuses) < 3:
        frame = sock.wait_for(lambda f: f.get("trnm") == "REAL")
        statuses += [(e["values"]["905"], e["values"]["913"]) for e in frame["data"]]
    assert statuses[0] == ("+매수", "접수")
    assert ("매수취소", "접수") in statuses and ("매수취소", "확인") in statuses
    sock.close()


def test_realtime_modify_sequence(simulator: RunningSimulator) -> None:
    token = simulator.token()
    sock = KiwoomSocket(simulator.ws_url)
    sock.login(token)
    sock.send({"trnm": "REG", "grp_no": "1", "refresh": "1", "data": [{"item": "", "type": "00"}]})
    sock.wait_for(lambda f: f.get("trnm") == "REG")
    _, bid = _book(simulator, token)
    low = bid - 10 * tick_size(bid)
    ord_no = simulator.call("kt10000", "ordr", _order(2, low), token).json()["ord_no"]
    modify = {
        "dmst_stex_tp": "KRX",
        "orig_ord_no": ord_no,
        "stk_cd": CODE,
        "mdfy_qty": "0",
        "mdfy_uv": str(low + tick_size(low)),
    }
    new_no = simulator.call("kt10002", "ordr", modify, token).json()["ord_no"]
    frames: list[dict[str, str]] = []
    while not any(v["9203"] == new_no and v["913"] == "확인" for v in frames):
        frame = sock.wait_for(lambda f: f.get("trnm") == "REAL")
        frames += [entry["values"] for entry in frame["data"]]
    modified = [v for v in frames if v["9203"] == new_no]
    assert [(v["905"], v["913"]) for v in modified] == [("매수정정", "접수"), ("매수정정", "확인")]
    assert modified[0]["904"] == ord_no and modified[0]["901"] == str(low + tick_size(low))
    sock.close()


def test_injected_latency_delays_the_answer(simulator: RunningSimulator) -> None:
    import time

    token = simulator.token()
    simulator.client.post("/_sim/faults", json={"api_id": "ka10001", "latency_ms": 300, "times": 1})
    started = time.monotonic()
    answer = simulator.call("ka10001", "stkinfo", {"stk_cd": CODE}, token)
    assert answer.json()["return_code"] == 0
    assert time.monotonic() - started >= 0.3
