"""The dashboard end to end, as a trader and as an admin (issue #7), in headless
Chromium against the demo platform (see conftest). Only ``data-testid`` selectors
(``web/README.md``)."""

from __future__ import annotations

import re
import secrets
import time

import httpx
from bench.web import DEMO_ADMIN, DEMO_TRADER, login
from playwright.sync_api import Page, Request, expect

STOCK = "005930"
LIVE_WAIT_MS = 20_000
ORDER_WAIT_MS = 20_000


def sign_in(page: Page, username: str, password: str, role: str = "USER") -> None:
    page.goto("/signin")
    page.get_by_test_id("signin-username").fill(username)
    page.get_by_test_id("signin-password").fill(password)
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("current-user")).to_have_attribute("data-role", role)


def number(text: str) -> int:
    """``92,900`` / ``₩92,900`` / ``92,900원`` -> 92900."""
    digits = re.sub(r"[^0-9-]", "", text)
    assert digits, f"no number in {text!r}"
    return int(digits)


def open_stock(page: Page) -> None:
    """Market page, search "삼성", pick 005930: its quote is shown."""
    page.get_by_test_id("nav-market").click()
    page.get_by_test_id("stock-search").fill("삼성")
    expect(page.get_by_test_id("stock-search-results")).to_be_visible()
    page.get_by_test_id(f"stock-result-{STOCK}").click()
    expect(page).to_have_url(re.compile(f"/market/{STOCK}$"))
    expect(page.get_by_test_id("quote-panel")).to_have_attribute("data-stock-code", STOCK)
    expect(page.get_by_test_id("quote-name")).to_have_text("삼성전자")


def submit_limit_buy(page: Page, price: int, quantity: int = 1) -> str:
    """A LIMIT BUY from the ticket; the order id it answers."""
    page.get_by_test_id("ticket-side-buy").click()
    page.get_by_test_id("ticket-order-type").select_option("LIMIT")
    page.get_by_test_id("ticket-quantity").fill(str(quantity))
    page.get_by_test_id("ticket-price").fill(str(price))
    page.get_by_test_id("ticket-submit").click()
    result = page.get_by_test_id("ticket-result")
    expect(result).to_be_visible()
    order_id = result.get_attribute("data-order-id")
    assert order_id and order_id.startswith("ORD"), order_id
    return order_id


def holding_quantity(page: Page) -> int:
    """The 005930 row's quantity on the portfolio page (0 without a row)."""
    page.get_by_test_id("nav-portfolio").click()
    expect(page.get_by_test_id("portfolio-page")).to_be_visible()
    shown = page.get_by_test_id("holdings-table").or_(page.get_by_test_id("portfolio-empty"))
    expect(shown).to_be_visible()
    row = page.get_by_test_id(f"holding-row-{STOCK}")
    return number(row.get_by_test_id("holding-quantity").inner_text()) if row.count() else 0


def test_market_quote_moves_live(page: Page) -> None:
    sign_in(page, *DEMO_TRADER)
    open_stock(page)
    price = page.get_by_test_id("quote-price")
    # one read of both: live ticks may move the price between two reads
    first, shown = price.evaluate("e => [e.dataset.value, e.textContent]")
    assert first and int(first) > 0
    assert number(shown) == int(first)
    expect(page.get_by_test_id("realtime-status")).to_have_attribute(
        "data-status", "LIVE", timeout=LIVE_WAIT_MS
    )
    chart = page.get_by_test_id("price-chart")
    expect(chart).to_have_attribute("data-candles", re.compile(r"^[1-9][0-9]*$"))
    candles = chart.get_attribute("data-candles")
    # a TICK over the WebSocket moves the quote (or adds a candle to the chart)
    page.wait_for_function(
        """([first, candles]) => {
          const price = document.querySelector('[data-testid=quote-price]');
          const chart = document.querySelector('[data-testid=price-chart]');
          return (price && price.dataset.value !== first) ||
                 (chart && chart.dataset.candles !== candles);
        }""",
        arg=[first, candles],
        timeout=LIVE_WAIT_MS,
    )
    expect(page.get_by_test_id("realtime-status")).to_have_attribute("data-status", "LIVE")


def test_ticket_refuses_an_off_tick_price(page: Page, api: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {login(str(api.base_url), *DEMO_TRADER)['accessToken']}"}
    before = api.get("/api/v1/orders", params={"size": 1}, headers=headers).json()["total"]
    sign_in(page, *DEMO_TRADER)
    open_stock(page)
    upper = number(page.get_by_test_id("quote-upper-limit").inner_text())
    assert upper % 100 == 0, upper  # 005930 trades in 100-won ticks (50,000-200,000)
    posts: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST":
            posts.append(request.url)

    page.on("request", on_request)
    page.get_by_test_id("ticket-order-type").select_option("LIMIT")
    page.get_by_test_id("ticket-quantity").fill("1")
    page.get_by_test_id("ticket-price").fill(str(upper - 50))
    page.get_by_test_id("ticket-submit").click()
    expect(page.get_by_test_id("ticket-price-error")).to_be_visible()
    expect(page.get_by_test_id("ticket-result")).to_have_count(0)
    page.wait_for_timeout(500)  # give a (wrong) submit the time to leave
    assert not [url for url in posts if "/api/v1/orders" in url]
    after = api.get("/api/v1/orders", params={"size": 1}, headers=headers).json()["total"]
    assert after == before


def test_limit_orders_fill_and_cancel(page: Page) -> None:
    sign_in(page, *DEMO_TRADER)
    open_stock(page)
    upper = number(page.get_by_test_id("quote-upper-limit").inner_text())
    lower = number(page.get_by_test_id("quote-lower-limit").inner_text())
    assert lower < upper

    filled = submit_limit_buy(page, upper)  # marketable: fills at once
    page.get_by_test_id("nav-orders").click()
    row = page.get_by_test_id(f"order-row-{filled}")
    expect(row).to_have_attribute("data-state", "FILLED", timeout=ORDER_WAIT_MS)
    expect(row.get_by_test_id("order-state")).to_have_text("FILLED")
    expect(row.get_by_test_id("order-filled")).to_have_text("1")
    expect(row.get_by_test_id("order-remaining")).to_have_text("0")
    expect(row.get_by_test_id("order-cancel")).to_have_count(0)

    open_stock(page)
    resting = submit_limit_buy(page, lower)  # far below the market: rests
    page.get_by_test_id("nav-orders").click()
    row = page.get_by_test_id(f"order-row-{resting}")
    expect(row).to_have_attribute("data-state", "ACCEPTED", timeout=ORDER_WAIT_MS)
    expect(row.get_by_test_id("order-remaining")).to_have_text("1")
    row.get_by_test_id("order-cancel").click()
    expect(row).to_have_attribute("data-state", "CANCELLED", timeout=ORDER_WAIT_MS)
    expect(row.get_by_test_id("order-cancel")).to_have_count(0)

    # its history lists what happened
    row.get_by_test_id("order-history-link").click()
    expect(page.get_by_test_id("order-history-state")).to_have_attribute("data-state", "CANCELLED")
    expect(page.locator("[data-testid^=order-event-]").first).to_be_visible()


def test_portfolio_grows_after_a_fill(page: Page) -> None:
    sign_in(page, *DEMO_TRADER)
    held = holding_quantity(page)
    open_stock(page)
    upper = number(page.get_by_test_id("quote-upper-limit").inner_text())
    order_id = submit_limit_buy(page, upper, quantity=2)
    page.get_by_test_id("nav-orders").click()
    expect(page.get_by_test_id(f"order-row-{order_id}")).to_have_attribute(
        "data-state", "FILLED", timeout=ORDER_WAIT_MS
    )
    deadline = time.monotonic() + ORDER_WAIT_MS / 1000
    while (now := holding_quantity(page)) < held + 2 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.get_by_test_id("nav-orders").click()
    assert now == held + 2, f"holding {now}, expected {held} + 2"
    row = page.get_by_test_id(f"holding-row-{STOCK}")
    assert int(row.get_by_test_id("holding-price").get_attribute("data-value") or 0) > 0
    expect(page.get_by_test_id("pf-cash")).to_be_visible()


def test_admin_assigns_an_account_and_sees_usage(page: Page) -> None:
    suffix = secrets.token_hex(3).upper()
    user_id, username, account_id = (
        f"USER_E2E_{suffix}",
        f"e2e-{suffix.lower()}",
        f"E2E_ACC_{suffix}",
    )
    sign_in(page, *DEMO_ADMIN, role="ADMIN")
    page.get_by_test_id("nav-admin").click()

    page.get_by_test_id("admin-tab-users").click()
    page.get_by_test_id("admin-user-new-username").fill(username)
    page.get_by_test_id("admin-user-new-password").fill("e2e-password-1")
    page.get_by_test_id("admin-user-new-role").select_option("USER")
    page.get_by_test_id("admin-user-new-id").fill(user_id)
    page.get_by_test_id("admin-user-create-submit").click()
    user_row = page.get_by_test_id(f"admin-user-row-{user_id}")
    expect(user_row).to_have_attribute("data-active", "true")
    expect(user_row.get_by_test_id("admin-user-username")).to_have_text(username)

    page.get_by_test_id("admin-tab-accounts").click()
    page.get_by_test_id("admin-account-new-environment").select_option("SIMULATOR")
    page.get_by_test_id("admin-account-new-id").fill(account_id)
    page.get_by_test_id("admin-account-create-submit").click()
    account_row = page.get_by_test_id(f"admin-account-row-{account_id}")
    expect(account_row).to_have_attribute("data-user-id", "")
    account_row.get_by_test_id("admin-account-assign-user").select_option(user_id)
    account_row.get_by_test_id("admin-account-assign").click()
    expect(account_row).to_have_attribute("data-user-id", user_id)
    history = page.get_by_test_id("admin-assignment-history")
    expect(history).to_contain_text(account_id)
    entry = history.get_by_test_id("admin-history-entry").filter(has_text=user_id)
    expect(entry).to_have_count(1)
    assert (entry.get_attribute("data-action") or "").upper().startswith("ASSIGN")

    page.get_by_test_id("admin-tab-usage").click()
    page.get_by_test_id("admin-usage-load").click()
    for chart in ("usage-chart-calls", "usage-chart-success", "usage-chart-latency"):
        expect(page.get_by_test_id(chart)).to_have_attribute(
            "data-points", re.compile(r"^[1-9][0-9]*$")
        )
    rows = page.locator("[data-testid=usage-table] tbody tr")
    expect(rows.first).to_be_visible()
    calls = sum(number(row.locator("td").nth(1).inner_text()) for row in rows.all())
    assert calls > 0
    expect(page.get_by_test_id("admin-recent-errors")).to_be_visible()
