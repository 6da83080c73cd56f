"""au10001 / au10002 against a running simulator (PROTOCOL.md §2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.integration.simulator.conftest import RunningSimulator, StartSimulator

from quantum.kiwoom.wire import KST

TOKEN_BODY = {"grant_type": "client_credentials", "appkey": "k-1", "secretkey": "s-1"}


def test_token_has_kiwoom_shape(simulator: RunningSimulator) -> None:
    response = simulator.client.post("/oauth2/token", json=TOKEN_BODY)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"expires_dt", "token_type", "token", "return_code", "return_msg"}
    assert body["return_code"] == 0 and isinstance(body["return_code"], int)
    assert body["token_type"] == "Bearer"
    assert len(body["token"]) >= 80
    expires = datetime.strptime(body["expires_dt"], "%Y%m%d%H%M%S").replace(tzinfo=KST)
    assert expires - simulator.sim.clock.now() == timedelta(hours=24)


def test_same_token_while_valid_and_counted_once(simulator: RunningSimulator) -> None:
    first = simulator.client.post("/oauth2/token", json=TOKEN_BODY).json()["token"]
    second = simulator.client.post("/oauth2/token", json=TOKEN_BODY).json()["token"]
    assert first == second
    state = simulator.client.get("/_sim/state").json()
    assert sum(state["tokens_issued"].values()) == 1
    assert sum(state["token_requests"].values()) == 2
    assert "k-1" not in str(state)


def test_token_expires_on_the_simulated_clock(start_simulator: StartSimulator) -> None:
    sim = start_simulator(token_lifetime_seconds=60)
    token = sim.client.post("/oauth2/token", json=TOKEN_BODY).json()["token"]
    assert sim.call("ka00001", "acnt", {}, token).json()["return_code"] == 0
    sim.advance(61)
    expired = sim.call("ka00001", "acnt", {}, token).json()
    assert expired == {"return_code": 3, "return_msg": expired["return_msg"]}
    assert "[8005:" in expired["return_msg"]
    renewed = sim.client.post("/oauth2/token", json=TOKEN_BODY).json()["token"]
    assert renewed != token


def test_revoke_then_use_is_8005_and_reissue_is_new(simulator: RunningSimulator) -> None:
    token = simulator.client.post("/oauth2/token", json=TOKEN_BODY).json()["token"]
    revoke = {"appkey": "k-1", "secretkey": "s-1", "token": token}
    answer = simulator.client.post("/oauth2/revoke", json=revoke).json()
    assert answer == {"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}
    used = simulator.call("ka00001", "acnt", {}, token).json()
    assert used["return_code"] == 3 and "8005" in used["return_msg"]
    again = simulator.client.post("/oauth2/revoke", json=revoke).json()
    assert again["return_code"] == 3 and "[8015:" in again["return_msg"]
    assert simulator.client.post("/oauth2/token", json=TOKEN_BODY).json()["token"] != token


def test_token_input_errors(simulator: RunningSimulator) -> None:
    cases = [
        ({"appkey": "a", "secretkey": "b"}, 2, "8011"),
        ({**TOKEN_BODY, "grant_type": "password"}, 2, "8012"),
        ({"grant_type": "client_credentials", "appkey": "a"}, 2, "8020"),
    ]
    for body, family, code in cases:
        answer = simulator.client.post("/oauth2/token", json=body)
        assert answer.status_code == 200
        assert answer.json()["return_code"] == family
        assert f"[{code}:" in answer.json()["return_msg"]
    bad_json = simulator.client.post(
        "/oauth2/token", content=b"{not json", headers={"Content-Type": "application/json"}
    ).json()
    assert bad_json["return_code"] == 2 and "[1517:" in bad_json["return_msg"]


def test_secret_must_match_the_key(simulator: RunningSimulator) -> None:
    simulator.client.post("/oauth2/token", json=TOKEN_BODY)
    wrong = simulator.client.post("/oauth2/token", json={**TOKEN_BODY, "secretkey": "other"})
    assert wrong.json()["return_code"] == 3 and "[8002:" in wrong.json()["return_msg"]
    assert "other" not in wrong.text


def test_key_file_restricts_keys(start_simulator: StartSimulator, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "keys.json"
    path.write_text(
        '{"keys": [{"appkey": "allowed", "secretkey": "s", "cash": 5000000},'
        ' {"appkey": "mockonly", "secretkey": "s", "mode": "mock"}]}'
    )
    sim = start_simulator(key_file=str(path))
    unknown = sim.client.post("/oauth2/token", json=TOKEN_BODY).json()
    assert unknown["return_code"] == 3 and "[8001:" in unknown["return_msg"]
    other_mode = sim.client.post(
        "/oauth2/token",
        json={"grant_type": "client_credentials", "appkey": "mockonly", "secretkey": "s"},
    ).json()
    assert other_mode["return_code"] == 2 and "[8030:" in other_mode["return_msg"]
    token = sim.token("allowed", "s")
    deposit = sim.call("kt00001", "acnt", {"qry_tp": "3"}, token).json()
    assert deposit["entr"] == "000000005000000"
