"""The realtime socket: LOGIN, PING, REG/REMOVE and REAL pushes (PROTOCOL.md §8)."""

from __future__ import annotations

import httpx
import pytest
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator
from tests.integration.simulator.wsclient import KiwoomSocket

from quantum.kiwoom.realtime import BOOK_FIDS, TRADE_FIDS
from quantum.krx.rules import is_on_tick


def _register(sock: KiwoomSocket, items: list[str], types: list[str], grp: str = "1") -> dict:
    sock.send(
        {"trnm": "REG", "grp_no": grp, "refresh": "1", "data": [{"item": items, "type": types}]}
    )
    return sock.wait_for(lambda f: f.get("trnm") == "REG")


def test_login_answer_after_optional_system_frames(simulator: RunningSimulator) -> None:
    sock = KiwoomSocket(simulator.ws_url)
    answer = sock.login(simulator.token())
    assert answer == {"trnm": "LOGIN", "return_code": 0, "return_msg": "", "sor_yn": "Y"}
    assert sock.frames[0]["trnm"] == "SYSTEM", "production mode sends a SYSTEM frame first"
    sock.close()


def test_mock_mode_sends_login_answer_first(start_simulator: StartSimulator) -> None:
    sim = start_simulator(mode="mock", rate_limit={"per_second": 100})
    sock = KiwoomSocket(sim.ws_url)
    sock.send({"trnm": "LOGIN", "token": sim.token()})
    assert sock.recv()["trnm"] == "LOGIN"
    sock.close()


def test_bad_token_is_refused_and_closed(simulator: RunningSimulator) -> None:
    sock = KiwoomSocket(simulator.ws_url)
    answer = sock.login("not-a-token")
    assert answer["return_code"] == 805004
    assert "CODE=8005" in answer["return_msg"]
    assert sock.closed_within(10)


def test_no_login_in_grace_period_is_r10004(start_simulator: StartSimulator) -> None:
    sim = start_simulator(websocket={"login_grace_seconds": 0.3})
    sock = KiwoomSocket(sim.ws_url)
    frame = sock.recv(10)
    assert frame["trnm"] == "SYSTEM" and frame["code"] == "R10004"
    assert sock.closed_within(10)


def test_unanswered_pings_close_with_r10002(start_simulator: StartSimulator) -> None:
    sim = start_simulator(websocket={"ping_interval_seconds": 0.1, "max_missed_pings": 3})
    sock = KiwoomSocket(sim.ws_url)
    sock.login(sim.token())
    pings = 0
    while True:
        frame = sock.recv(10)
        if frame["trnm"] == "PING":
            pings += 1
            continue
        break
    assert frame == {
        "trnm": "SYSTEM",
        "code": "R10002",
        "message": "사용자 프로그램으로부터 Heartbeat(연결유지) 메시지가 오지않아서 접속을 종료합니다",
    }
    assert pings == 3
    assert sock.closed_within(10)


def test_echoed_pings_keep_the_session(start_simulator: StartSimulator) -> None:
    # Unechoed, the session would end at the eleventh PING; echoed, it outlives the
    # fifteenth, and a loaded machine's pauses of a few hundred ms do not end it.
    sim = start_simulator(websocket={"ping_interval_seconds": 0.1, "max_missed_pings": 10})
    sock = KiwoomSocket(sim.ws_url)
    sock.login(sim.token())
    for _ in range(15):
        ping = sock.wait_for(lambda f: f["trnm"] == "PING", echo_pings=False)
        sock.send(ping)
    assert not sock.closed_within(0.3, echo_pings=True)
    sock.close()


def test_reg_ack_and_trade_pushes(simulator: RunningSimulator) -> None:
    sock = KiwoomSocket(simulator.ws_url)
    sock.login(simulator.token())
    assert _register(sock, ["005930", "000660"], ["0B"]) == {
        "trnm": "REG",
        "return_code": 0,
        "return_msg": "",
    }
    simulator.advance(30)
    entries = sock.real_entries("0B")
    assert {entry["item"] for entry in entries} == {"005930", "000660"}, "several entries per frame"
    entry = entries[-1]
    assert entry["name"] == "주식체결"
    values = entry["values"]
    assert set(TRADE_FIDS.values()) <= set(values) | {"26", "29", "30", "32"}
    assert all(isinstance(v, str) for v in values.values())
    price = abs(int(values["10"]))
    assert is_on_tick(price)
    assert values["15"][0] in "+-"
    sock.close()


def test_book_pushes_have_ten_levels(simulator: RunningSimulator) -> None:
    sock = KiwoomSocket(simulator.ws_url)
    sock.login(simulator.token())
    _register(sock, ["005930"], ["0D", "0C"])
    simulator.advance(5)
    book = sock.real_entries("0D")[-1]["values"]
    asks = [abs(int(book[BOOK_FIDS[f"ask_price_{n}"]])) for n in range(1, 11)]
    bids = [abs(int(book[BOOK_FIDS[f"bid_price_{n}"]])) for n in range(1, 11)]
    assert asks == sorted(asks) and bids == sorted(bids, reverse=True)
    assert asks[0] > bids[0]
    sock.close()


def test_remove_stops_pushes(simulator: RunningSimulator) -> None:
    sock = KiwoomSocket(simulator.ws_url)
    sock.login(simulator.token())
    _register(sock, ["005930"], ["0B"])
    sock.send({"trnm": "REMOVE", "grp_no": "1", "data": [{"item": ["005930"], "type": ["0B"]}]})
    assert sock.wait_for(lambda f: f.get("trnm") == "REMOVE")["return_code"] == 0
    state = simulator.client.get("/_sim/state").json()
    assert state["ws_messages"] == {"REG": 1, "REMOVE": 1}
    assert state["ws_items"] == {"REG": 1, "REMOVE": 1}
    simulator.advance(30)
    with pytest.raises(TimeoutError):
        sock.wait_for(lambda f: f.get("trnm") == "REAL", timeout=0.5)
    sock.close()


@pytest.mark.parametrize(
    "message",
    [
        {"trnm": "REG", "grp_no": "1", "data": [{"item": ["005930"], "type": ["ZZ"]}]},
        {"trnm": "REG", "grp_no": "1", "data": [{"item": ["999999"], "type": ["0B"]}]},
        {"trnm": "REG", "data": [{"item": ["005930"], "type": ["0B"]}]},
        {"trnm": "REG", "grp_no": "1", "data": "005930"},
    ],
)
def test_bad_registrations_answer_return_code_1(simulator: RunningSimulator, message: dict) -> None:
    sock = KiwoomSocket(simulator.ws_url)
    sock.login(simulator.token())
    sock.send(message)
    answer = sock.wait_for(lambda f: f.get("trnm") == "REG")
    assert answer["return_code"] == 1
    sock.close()


def test_item_limit_per_group(start_simulator: StartSimulator) -> None:
    sim = start_simulator(websocket={"max_items_per_group": 2})
    sock = KiwoomSocket(sim.ws_url)
    sock.login(sim.token())
    answer = _register(sock, ["005930", "000660", "035420"], ["0B"])
    assert answer["return_code"] == 1 and "초과" in answer["return_msg"]
    assert _register(sock, ["035420"], ["0B"], grp="2")["return_code"] == 0
    sock.close()


def test_drop_fault_closes_the_socket(simulator: RunningSimulator) -> None:
    sock = KiwoomSocket(simulator.ws_url)
    sock.login(simulator.token())
    assert simulator.client.post("/_sim/ws/drop", json={}).json() == {"dropped": 1}
    assert sock.closed_within(10)


def test_silence_fault_keeps_socket_open_but_quiet(start_simulator: StartSimulator) -> None:
    # PINGs every 0.1 s, the socket closed after 20 unanswered (2 s): the test may
    # leave PINGs unanswered for up to 2 s before the silence without losing it
    sim = start_simulator(websocket={"ping_interval_seconds": 0.1, "max_missed_pings": 20})
    sock = KiwoomSocket(sim.ws_url)
    sock.login(sim.token())
    _register(sock, ["005930"], ["0B"])
    assert sim.client.post("/_sim/ws/silence", json={}).json() == {"silenced": 1}
    sim.advance(30)
    # no data comes, and the PINGs it no longer gets are not counted as missed: after
    # longer than 20 PINGs' time, the socket is still open (a closed one raises)
    with pytest.raises(TimeoutError):
        sock.wait_for(lambda f: True, timeout=3.0)
    sock.close()


def test_second_session_same_key_coexists_by_default(simulator: RunningSimulator) -> None:
    token = simulator.token()
    first, second = KiwoomSocket(simulator.ws_url), KiwoomSocket(simulator.ws_url)
    first.login(token)
    second.login(token)
    assert not first.closed_within(0.3)
    first.close()
    second.close()


def test_single_session_per_key_sends_r10001(start_simulator: StartSimulator) -> None:
    sim = start_simulator(websocket={"single_session_per_key": True})
    token = sim.token()
    first = KiwoomSocket(sim.ws_url)
    first.login(token)
    second = KiwoomSocket(sim.ws_url)
    second.login(token)
    notice = first.wait_for(lambda f: f.get("trnm") == "SYSTEM" and f.get("code") == "R10001")
    assert "기존 세션은 종료" in notice["message"]
    assert first.closed_within(10)
    second.close()


def test_control_endpoint_is_loopback_only_and_counts(simulator: RunningSimulator) -> None:
    simulator.call("ka10001", "stkinfo", {"stk_cd": "005930"})
    state = httpx.get(f"{simulator.base_url}/_sim/state").json()
    assert state["requests"]["ka10001"] >= 1
