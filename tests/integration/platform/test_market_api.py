"""Market data for a user (issue #6): stocks, search, order book, batch quotes and
charts against a real simulator, on SQLite and PostgreSQL. Bad input answers 4xx
without any Kiwoom call."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from tests.integration.platform.conftest import USER_PASSWORD, Harness, error_of

from quantum.adapter.charts import MAX_COUNT
from quantum.adapter.schema import Environment

STOCK_FIELDS = {
    "stockCode",
    "name",
    "market",
    "listedShares",
    "price",
    "basePrice",
    "change",
    "changeRate",
    "open",
    "high",
    "low",
    "volume",
    "upperLimit",
    "lowerLimit",
    "time",
}


def kiwoom_calls(harness: Harness) -> Counter[str]:
    return Counter(harness.sim.sim.requests)


def signed(value: str) -> int:
    return int(value.lstrip("+-")) * (-1 if value.startswith("-") else 1)


async def test_stock_quote_and_company(harness: Harness) -> None:
    user, headers = await harness.trader()
    response = await harness.client.get("/api/v1/stocks/005930", headers=headers)
    assert response.status_code == 200, response.text
    stock = response.json()
    assert set(stock) == STOCK_FIELDS
    assert (stock["stockCode"], stock["name"], stock["market"]) == ("005930", "삼성전자", "KOSPI")
    assert stock["listedShares"] == 5_919_637_922
    assert stock["lowerLimit"] <= stock["low"] <= stock["price"] <= stock["high"]
    assert stock["price"] <= stock["upperLimit"]
    assert stock["change"] == stock["price"] - stock["basePrice"]

    raw = harness.sim.call("ka10001", "stkinfo", {"stk_cd": "005930"}).json()
    assert stock["price"] == abs(signed(raw["cur_prc"]))
    assert stock["basePrice"] == int(raw["base_pric"])
    assert stock["upperLimit"] == abs(signed(raw["upl_pric"]))
    assert stock["lowerLimit"] == abs(signed(raw["lst_pric"]))
    assert stock["volume"] == int(raw["trde_qty"])
    assert stock["changeRate"] == float(raw["flu_rt"])

    # a KOSDAQ stock
    kosdaq = await harness.client.get("/api/v1/stocks/247540", headers=headers)
    assert kosdaq.status_code == 200, kosdaq.text
    assert kosdaq.json()["market"] == "KOSDAQ"

    # the Kiwoom calls were made for this user's account
    await harness.platform.usage.flush()
    logs = await harness.client.get(
        "/api/v1/admin/kiwoom/logs",
        params={"userId": user["userId"], "size": 100},
        headers=await harness.admin(),
    )
    assert logs.status_code == 200, logs.text
    api_ids = {row["apiId"] for row in logs.json()["items"]}
    assert {"ka10099", "ka10001"} <= api_ids


async def test_search(harness: Harness) -> None:
    _, headers = await harness.trader()

    async def search(**params: Any) -> dict[str, Any]:
        response = await harness.client.get("/api/v1/stocks", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    samsung = await search(query="삼성")
    codes = [item["stockCode"] for item in samsung["items"]]
    assert codes[0] == "005930"
    assert samsung["total"] == len(codes) > 5
    assert all("삼성" in item["name"] for item in samsung["items"])
    assert set(samsung["items"][0]) == {"stockCode", "name", "market", "listedShares", "lastPrice"}

    # exact code, then code prefix; names never outrank codes
    prefix = await search(query="00593")
    assert [item["stockCode"] for item in prefix["items"]] == ["005930", "005935"]
    exact = await search(query="005935")
    assert exact["items"][0]["stockCode"] == "005935"
    # names starting with the query before names merely containing it
    electronics = await search(query="전자", limit=100)
    names = [item["name"] for item in electronics["items"]]
    assert "삼성전자" in names and all("전자" in name for name in names)
    starts = [name.startswith("전자") for name in names]
    assert starts == sorted(starts, reverse=True)

    # case-insensitive latin in Korean names; limit and market filter
    sdi = await search(query="sdi")
    assert "006400" in [item["stockCode"] for item in sdi["items"]]
    assert len((await search(query="삼성", limit=3))["items"]) == 3
    kosdaq = await search(query="0", market="kosdaq", limit=100)
    assert kosdaq["market"] == "KOSDAQ" and kosdaq["items"]
    assert {item["market"] for item in kosdaq["items"]} == {"KOSDAQ"}
    assert (await search(query="없는종목이름"))["items"] == []

    # the listing was loaded once (both markets) for all of these
    assert harness.platform.market.listings.loads == 1


async def test_order_book(harness: Harness) -> None:
    _, headers = await harness.trader()
    response = await harness.client.get("/api/v1/stocks/000660/orderbook", headers=headers)
    assert response.status_code == 200, response.text
    book = response.json()
    assert set(book) == {
        "stockCode",
        "time",
        "asks",
        "bids",
        "totalAskQuantity",
        "totalBidQuantity",
    }
    asks = [level["price"] for level in book["asks"]]
    bids = [level["price"] for level in book["bids"]]
    assert asks and bids
    assert asks == sorted(asks) and bids == sorted(bids, reverse=True)
    assert bids[0] < asks[0]
    assert set(book["asks"][0]) == {"price", "quantity"}
    assert book["totalAskQuantity"] >= sum(level["quantity"] for level in book["asks"]) > 0


async def test_batch_quotes(harness: Harness) -> None:
    _, headers = await harness.trader()
    response = await harness.client.get(
        "/api/v1/quotes", params={"codes": "000660, 005930,000660,035420"}, headers=headers
    )
    assert response.status_code == 200, response.text
    quotes = response.json()["quotes"]
    assert [quote["stockCode"] for quote in quotes] == ["000660", "005930", "035420"]
    assert all(set(quote) == STOCK_FIELDS for quote in quotes)
    single = await harness.client.get("/api/v1/stocks/005930", headers=headers)
    assert quotes[1]["price"] == single.json()["price"]


async def test_charts(harness: Harness) -> None:
    _, headers = await harness.trader()

    async def chart(**params: Any) -> dict[str, Any]:
        response = await harness.client.get("/api/v1/charts/005930", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    daily = await chart(period="D", limit=30)
    assert (daily["stockCode"], daily["period"], daily["interval"]) == ("005930", "D", None)
    candles = daily["candles"]
    assert len(candles) == daily["count"] == 30
    assert set(candles[0]) == {"time", "open", "high", "low", "close", "volume"}
    times = [datetime.fromisoformat(c["time"]) for c in candles]
    assert times == sorted(times) and len(set(times)) == 30
    assert times[-1].date().isoformat() == "2026-11-24"
    assert all(c["low"] <= min(c["open"], c["close"]) <= c["high"] for c in candles)

    default = await chart(period="D")
    assert default["count"] == 200

    # to = the broker's until; from filters
    until = await chart(period="D", to="2026-11-20", limit=5)
    assert until["candles"][-1]["time"].startswith("2026-11-20")
    assert len(until["candles"]) == 5
    window = await chart(period="D", **{"from": "2026-11-18", "to": "2026-11-23"})
    assert [c["time"][:10] for c in window["candles"]] == [
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
        "2026-11-23",
    ]

    weekly = await chart(period="W", limit=4)
    assert weekly["count"] == 4
    week_starts = [datetime.fromisoformat(c["time"]).date() for c in weekly["candles"]]
    assert all((b - a).days % 7 == 0 and b > a for a, b in itertools.pairwise(week_starts))

    minutes = await chart(interval="5", limit=12)
    assert (minutes["period"], minutes["interval"]) == (None, 5)
    stamps = [datetime.fromisoformat(c["time"]) for c in minutes["candles"]]
    assert len(stamps) == 12
    assert all(b - a == timedelta(minutes=5) for a, b in itertools.pairwise(stamps))

    # minute charts take datetimes (naive = KST)
    since = await chart(interval="5", limit=100, **{"from": "2026-11-24T09:30:00"})
    first = datetime.fromisoformat(since["candles"][0]["time"])
    assert first.isoformat() == "2026-11-24T09:30:00+09:00"
    before = await chart(interval="5", limit=4, to="2026-11-24T09:45:00+09:00")
    assert [c["time"][11:16] for c in before["candles"]] == ["09:30", "09:35", "09:40", "09:45"]


async def test_bad_input_is_refused_before_any_kiwoom_call(harness: Harness) -> None:
    _, headers = await harness.trader()
    warm = await harness.client.get("/api/v1/stocks", params={"query": "삼"}, headers=headers)
    assert warm.status_code == 200, warm.text
    before = kiwoom_calls(harness)

    async def refused(url: str, status: int, code: str, **params: Any) -> dict[str, Any]:
        response = await harness.client.get(url, params=params, headers=headers)
        return error_of(response, status, code)

    # stock codes: format 422, not listed 404
    for url in ("/api/v1/stocks/{}", "/api/v1/stocks/{}/orderbook", "/api/v1/charts/{}"):
        params = {"period": "D"} if "charts" in url else {}
        await refused(url.format("12345"), 422, "invalid_stock_code", **params)
        await refused(url.format("00593@"), 422, "invalid_stock_code", **params)
        body = await refused(url.format("999999"), 404, "unknown_stock", **params)
        assert body["error"]["details"] == {"stockCodes": ["999999"]}

    # search
    await refused("/api/v1/stocks", 422, "invalid_input", query="   ")
    await refused("/api/v1/stocks", 422, "invalid_input", query="")
    await refused("/api/v1/stocks", 422, "invalid_input")
    await refused("/api/v1/stocks", 422, "invalid_input", query="삼성", limit=0)
    await refused("/api/v1/stocks", 422, "invalid_input", query="삼성", limit=101)
    await refused("/api/v1/stocks", 422, "invalid_input", query="삼성", market="NYSE")

    # batch quotes
    body = await refused("/api/v1/quotes", 404, "unknown_stock", codes="005930,999999,999998")
    assert body["error"]["details"] == {"stockCodes": ["999999", "999998"]}
    assert "999999" in body["error"]["message"]
    await refused("/api/v1/quotes", 422, "invalid_stock_code", codes="005930,12")
    await refused("/api/v1/quotes", 422, "invalid_input", codes=",,")
    await refused("/api/v1/quotes", 422, "invalid_input")
    many = ",".join(f"{n:06d}" for n in range(51))
    await refused("/api/v1/quotes", 422, "invalid_input", codes=many)

    # charts
    chart = "/api/v1/charts/005930"
    await refused(chart, 422, "invalid_input")
    await refused(chart, 422, "invalid_input", period="D", interval="5")
    await refused(chart, 422, "invalid_input", period="H")
    await refused(chart, 422, "invalid_input", interval="7")
    await refused(chart, 422, "invalid_input", period="D", limit=0)
    await refused(chart, 422, "invalid_input", period="D", limit=MAX_COUNT + 1)
    await refused(chart, 422, "invalid_input", period="D", to="2026-13-01")
    await refused(chart, 422, "invalid_input", period="D", to="2026-11-24T09:00:00")
    await refused(
        chart, 422, "invalid_input", period="D", **{"from": "2026-11-24", "to": "2026-11-01"}
    )

    assert kiwoom_calls(harness) == before


async def test_needs_a_user_with_credentials(harness: Harness) -> None:
    urls = (
        "/api/v1/stocks/005930",
        "/api/v1/stocks?query=삼성",
        "/api/v1/stocks/005930/orderbook",
        "/api/v1/quotes?codes=005930",
        "/api/v1/charts/005930?period=D",
    )
    before = kiwoom_calls(harness)
    error_of(await harness.client.get(urls[0]), 401, "unauthorized")

    user = await harness.create_user()
    headers = await harness.login(user["username"], USER_PASSWORD)
    for url in urls:
        error_of(await harness.client.get(url, headers=headers), 404, "no_account_assigned")

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
    for url in urls:
        error_of(await harness.client.get(url, headers=headers), 409, "credentials_missing")
    assert kiwoom_calls(harness) == before


async def test_listing_is_shared_and_cached(harness: Harness) -> None:
    _, first = await harness.trader()
    _, second = await harness.trader()
    for headers in (first, second, first):
        response = await harness.client.get("/api/v1/stocks/035720", headers=headers)
        assert response.status_code == 200, response.text
    assert kiwoom_calls(harness)["ka10099"] == 2  # KOSPI and KOSDAQ, once
    assert harness.platform.market.listings.loads == 1

    cached = harness.platform.market.listings.cached(Environment.SIMULATOR)
    assert cached is not None and "035720" in cached
