"""GET /api/v1/portfolio on the simulator: the broker's numbers (kt00001, kt00018)
as they are, and today's realized P&L from the platform's own fills."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from tests.integration.platform.conftest import Harness

CODE = "005930"
URL = "/api/v1/portfolio"


async def quote(harness: Harness, headers: dict[str, str]) -> dict[str, Any]:
    answer = await harness.client.get(f"/api/v1/stocks/{CODE}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def place(harness: Harness, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"stockCode": CODE, "orderType": "LIMIT", "orderSide": "BUY", "quantity": 10}
    body.update(fields)
    answer = await harness.client.post("/api/v1/orders", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    placed: dict[str, Any] = answer.json()
    return placed


async def portfolio(harness: Harness, headers: dict[str, str]) -> dict[str, Any]:
    answer = await harness.client.get(URL, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def broker_view(harness: Harness, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """kt00001 and kt00018 straight from the simulator."""
    deposit = harness.sim.call("kt00001", "acnt", {"qry_tp": "3"}, token).json()
    balance = harness.sim.call(
        "kt00018", "acnt", {"qry_tp": "1", "dmst_stex_tp": "KRX"}, token
    ).json()
    assert deposit["return_code"] == 0, deposit
    assert balance["return_code"] == 0, balance
    return deposit, balance


def assert_matches_broker(
    body: dict[str, Any], deposit: dict[str, Any], kt00018: dict[str, Any]
) -> None:
    assert body["cash"] == int(deposit["entr"])
    assert body["buyingPower"] == int(deposit["ord_alow_amt"])
    assert body["withdrawable"] == int(deposit["pymn_alow_amt"])
    assert body["totalPurchase"] == int(kt00018["tot_pur_amt"])
    assert body["totalEvaluation"] == int(kt00018["tot_evlt_amt"])
    assert body["totalProfit"] == int(kt00018["tot_evlt_pl"])
    assert body["estimatedAssets"] == int(kt00018["prsm_dpst_aset_amt"])
    rows = kt00018["acnt_evlt_remn_indv_tot"]
    assert len(body["holdings"]) == len(rows)
    for holding, row in zip(body["holdings"], rows, strict=True):
        assert holding["stockCode"] == row["stk_cd"].removeprefix("A")
        assert holding["name"] == row["stk_nm"]
        assert holding["quantity"] == int(row["rmnd_qty"])
        assert holding["sellableQuantity"] == int(row["trde_able_qty"])
        assert holding["averagePrice"] == int(row["pur_pric"])
        assert holding["purchaseAmount"] == int(row["pur_amt"])
        assert holding["price"] == abs(int(row["cur_prc"]))
        assert holding["evaluation"] == int(row["evlt_amt"])
        assert holding["profit"] == int(row["evltv_prft"])
        expected_rate = round(Fraction(int(row["evltv_prft"]), int(row["pur_amt"])), 4)
        assert abs(Fraction(holding["profitRate"]) - expected_rate) < Fraction(1, 10**6)


async def fills_of(
    harness: Harness, headers: dict[str, str], order_id: str
) -> list[tuple[int, int]]:
    detail = await harness.client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert detail.status_code == 200, detail.text
    return [
        (int(e["data"]["fill_quantity"]), int(e["data"]["fill_price"]))
        for e in detail.json()["events"]
        if e["type"] in ("FILLED", "PARTIALLY_FILLED")
    ]


async def test_empty_portfolio_matches_the_broker(harness: Harness) -> None:
    _user, headers = await harness.trader(app_key="k1", secret="s1")
    body = await portfolio(harness, headers)
    deposit, balance = broker_view(harness, harness.sim.token("k1", "s1"))
    assert_matches_broker(body, deposit, balance)
    assert body["holdings"] == []
    assert body["realizedProfitToday"] == 0
    assert body["openOrders"] == 0
    assert body["totalProfitRate"] == 0
    assert body["cash"] > 0 and body["asOf"] and body["tradingDay"]
    assert body["kiwoomAccountId"]


async def test_after_a_buy_holdings_and_cash_match_the_broker(harness: Harness) -> None:
    _user, headers = await harness.trader(app_key="k2", secret="s2")
    q = await quote(harness, headers)
    await place(harness, headers, price=q["upperLimit"])
    await harness.platform.supervisor.run_once()
    body = await portfolio(harness, headers)
    deposit, balance = broker_view(harness, harness.sim.token("k2", "s2"))
    assert_matches_broker(body, deposit, balance)
    [holding] = body["holdings"]
    assert holding["stockCode"] == CODE and holding["quantity"] == 10
    assert body["realizedProfitToday"] == 0  # buys realize nothing
    assert body["openOrders"] == 0
    expected = round(Fraction(body["totalProfit"], body["totalPurchase"]), 4)
    assert abs(Fraction(body["totalProfitRate"]) - expected) < Fraction(1, 10**6)


async def test_partial_sell_realizes_profit_by_average_cost(harness: Harness) -> None:
    _user, headers = await harness.trader(app_key="k3", secret="s3")
    q = await quote(harness, headers)
    first = await place(harness, headers, price=q["upperLimit"], quantity=6)
    second = await place(harness, headers, price=q["upperLimit"], quantity=4)
    await harness.platform.supervisor.run_once()
    sold = await place(harness, headers, orderSide="SELL", price=q["lowerLimit"], quantity=3)
    await harness.platform.supervisor.run_once()

    buys = await fills_of(harness, headers, first["orderId"])
    buys += await fills_of(harness, headers, second["orderId"])
    sells = await fills_of(harness, headers, sold["orderId"])
    assert sum(n for n, _ in buys) == 10 and sum(n for n, _ in sells) == 3
    average = Fraction(sum(n * p for n, p in buys), sum(n for n, _ in buys))
    by_hand = sum((p - average) * n for n, p in sells)
    expected = int(by_hand + Fraction(1, 2)) if by_hand >= 0 else -int(-by_hand + Fraction(1, 2))

    body = await portfolio(harness, headers)
    assert body["realizedProfitToday"] == expected
    deposit, balance = broker_view(harness, harness.sim.token("k3", "s3"))
    assert_matches_broker(body, deposit, balance)
    [holding] = body["holdings"]
    assert holding["quantity"] == 7


async def test_open_orders_are_counted(harness: Harness) -> None:
    _user, headers = await harness.trader()
    q = await quote(harness, headers)
    await place(harness, headers, price=q["lowerLimit"], quantity=1)
    body = await portfolio(harness, headers)
    assert body["openOrders"] == 1
    assert body["holdings"] == []


async def test_each_user_sees_only_their_own_portfolio(harness: Harness) -> None:
    _alice, alice = await harness.trader(app_key="ka", secret="sa")
    _bob, bob = await harness.trader(app_key="kb", secret="sb")
    q = await quote(harness, alice)
    await place(harness, alice, price=q["upperLimit"])
    await harness.platform.supervisor.run_once()
    mine = await portfolio(harness, alice)
    theirs = await portfolio(harness, bob)
    assert [h["stockCode"] for h in mine["holdings"]] == [CODE]
    assert theirs["holdings"] == [] and theirs["totalPurchase"] == 0
    assert mine["kiwoomAccountId"] != theirs["kiwoomAccountId"]
    deposit, balance = broker_view(harness, harness.sim.token("kb", "sb"))
    assert_matches_broker(theirs, deposit, balance)


async def test_without_credentials_409(harness: Harness) -> None:
    user = await harness.create_user()
    admin = await harness.admin()
    account = await harness.client.post(
        "/api/v1/admin/kiwoom-accounts", json={"environment": "SIMULATOR"}, headers=admin
    )
    assert account.status_code == 201, account.text
    assigned = await harness.client.put(
        f"/api/v1/admin/kiwoom-accounts/{account.json()['kiwoomAccountId']}/assignment",
        json={"userId": user["userId"]},
        headers=admin,
    )
    assert assigned.status_code == 200, assigned.text
    headers = await harness.login(user["username"], "user-password-1")
    answer = await harness.client.get(URL, headers=headers)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "credentials_missing"


async def test_sign_in_required(harness: Harness) -> None:
    answer = await harness.client.get(URL)
    assert answer.status_code == 401
