"""Routing, authorization, input and rate-limit answers (PROTOCOL.md §3, §4, §10)."""

from __future__ import annotations

import pytest
from tests.integration.simulator.conftest import RunningSimulator, StartSimulator

from quantum.simulator.ratelimit import RateLimiter


def _error(response: object) -> tuple[int, int, str]:
    import httpx

    assert isinstance(response, httpx.Response)
    body = response.json()
    assert set(body) == {"return_code", "return_msg"}
    return response.status_code, body["return_code"], body["return_msg"]


def test_missing_api_id_is_1501(simulator: RunningSimulator) -> None:
    token = simulator.token()
    response = simulator.client.post(
        "/api/dostk/stkinfo",
        json={"stk_cd": "005930"},
        headers={"authorization": f"Bearer {token}"},
    )
    status, family, message = _error(response)
    assert (status, family) == (200, 1) and "[1501:" in message


def test_unknown_api_id_is_1505(simulator: RunningSimulator) -> None:
    status, family, message = _error(simulator.call("ka99999", "stkinfo", {"stk_cd": "005930"}))
    assert (status, family) == (200, 1) and "[1505:" in message


def test_api_id_on_the_wrong_path_is_1504(simulator: RunningSimulator) -> None:
    status, family, message = _error(simulator.call("ka10001", "acnt", {"stk_cd": "005930"}))
    assert (status, family) == (200, 1)
    assert message.startswith("잘못된 요청입니다[1504:")


def test_unknown_category_path_is_a_json_404(simulator: RunningSimulator) -> None:
    response = simulator.call("ka10001", "nosuch", {"stk_cd": "005930"})
    assert response.status_code == 404 and response.json()["return_code"] == 1


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "1513"),
        ("Bearer", "1516"),
        ("Basic abc", "1515"),
        ("Bearer not-a-real-token", "8005"),
    ],
)
def test_authorization_errors(
    simulator: RunningSimulator, authorization: str | None, code: str
) -> None:
    headers = {"api-id": "ka10001"}
    if authorization is not None:
        headers["authorization"] = authorization
    response = simulator.client.post(
        "/api/dostk/stkinfo", json={"stk_cd": "005930"}, headers=headers
    )
    status, family, message = _error(response)
    assert (status, family) == (200, 3)
    assert f"[{code}:" in message


def test_missing_required_field_is_1511_naming_it(simulator: RunningSimulator) -> None:
    status, family, message = _error(simulator.call("ka10001", "stkinfo", {}))
    assert (status, family) == (200, 2)
    assert (
        message
        == "입력 값 오류입니다[1511:필수 입력 값에 값이 존재하지 않습니다. 필수입력 파라미터=stk_cd]"
    )
    order = {"dmst_stex_tp": "KRX", "orig_ord_no": "0000001", "stk_cd": "005930"}
    _, _, message = _error(simulator.call("kt10003", "ordr", order))
    assert "필수입력 파라미터=cncl_qty" in message


def test_malformed_json_and_signed_price_are_1517(simulator: RunningSimulator) -> None:
    token = simulator.token()
    response = simulator.client.post(
        "/api/dostk/stkinfo",
        content=b"{oops",
        headers={"api-id": "ka10001", "authorization": f"Bearer {token}"},
    )
    assert _error(response)[1] == 2 and "[1517:" in _error(response)[2]
    order = {
        "dmst_stex_tp": "KRX",
        "stk_cd": "005930",
        "ord_qty": "1",
        "ord_uv": "-182000",
        "trde_tp": "0",
    }
    status, family, message = _error(simulator.call("kt10000", "ordr", order, token))
    assert (status, family) == (200, 2) and "[1517:" in message and "ord_uv" in message


def test_unknown_stock_is_1902(simulator: RunningSimulator) -> None:
    status, family, message = _error(simulator.call("ka10001", "stkinfo", {"stk_cd": "999999"}))
    assert (status, family) == (200, 2) and "[1902:" in message


def test_success_values_are_strings_and_return_code_int(simulator: RunningSimulator) -> None:
    response = simulator.call("ka10001", "stkinfo", {"stk_cd": "005930"})
    body = response.json()
    assert response.headers["api-id"] == "ka10001"
    assert response.headers["cont-yn"] == "N"
    assert isinstance(body.pop("return_code"), int)
    assert all(isinstance(value, str) for value in body.values())


def _freeze_limiter(sim: RunningSimulator) -> None:
    """The simulator's limiter, with its budget, on a clock that does not move: no
    token comes back between calls however slowly the machine makes them."""
    limiter = sim.sim.limiter
    sim.sim.limiter = RateLimiter(
        limiter.per_second,
        limiter.burst,
        limiter.global_per_second,
        enabled=limiter.enabled,
        monotonic=lambda: 0.0,
    )


def test_rate_limit_is_429_with_1700(start_simulator: StartSimulator) -> None:
    sim = start_simulator(rate_limit={"per_second": 5})
    _freeze_limiter(sim)
    token = sim.token()
    answers = [sim.call("ka10001", "stkinfo", {"stk_cd": "005930"}, token) for _ in range(8)]
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 5 + [429] * 3, "a 5/s budget lets five calls through at once"
    _, family, message = _error(answers[5])
    assert family == 5
    assert message == (
        "허용된 요청 개수를 초과하였습니다[1700:허용된 API 요청 개수를 초과하였습니다. "
        "유량=5, API ID=ka10001]"
    )
    assert sim.sim.limiter.rejections == {"ka10001": 3}
    other_tr = sim.call("ka10004", "mrkcond", {"stk_cd": "005930"}, token)
    assert other_tr.status_code == 200, "the budget is per api-id"


def test_mock_mode_default_limit_is_one_per_second(start_simulator: StartSimulator) -> None:
    sim = start_simulator(mode="mock", rate_limit={})
    _freeze_limiter(sim)
    assert sim.sim.limiter.per_second == 1
    token = sim.token()
    first = sim.call("ka10001", "stkinfo", {"stk_cd": "005930"}, token)
    second = sim.call("ka10001", "stkinfo", {"stk_cd": "005930"}, token)
    assert first.status_code == 200 and second.status_code == 429
    assert "유량=1," in second.json()["return_msg"]


def test_mock_mode_unsupported_trs_and_exchanges(start_simulator: StartSimulator) -> None:
    sim = start_simulator(mode="mock")
    token = sim.token()
    _, family, message = _error(sim.call("ka01690", "acnt", {}, token))
    assert family == 2 and "[8104:모의투자에서 지원하지 않는 API 입니다.]" in message
    _, family, message = _error(sim.call("kt00002", "acnt", {}, token))
    assert family == 20
    assert message == "[2000](RC9000:모의투자에서는 해당업무가 제공되지 않습니다.)"
    _, family, message = _error(sim.call("ka10001", "stkinfo", {"stk_cd": "005930_NX"}, token))
    assert family == 2 and "[1903:" in message


def test_production_serves_nxt_lines(simulator: RunningSimulator) -> None:
    body = simulator.call("ka10001", "stkinfo", {"stk_cd": "005930_NX"}).json()
    assert body["return_code"] == 0 and body["stk_cd"] == "005930"
