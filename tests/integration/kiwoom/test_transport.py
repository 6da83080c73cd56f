"""KiwoomTransport against the simulator: headers, every error class, the retry
policy for queries and orders, the observer, the limiter and secret hygiene."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
from typing import Any

import httpx
import orjson
import pytest
from tests.grants import Grants, most_in_window
from tests.integration.kiwoom.conftest import (
    APP_KEY,
    Harness,
    RunningSimulator,
    add_fault,
    settings_for,
    sim_state,
)
from tests.integration.simulator.conftest import StartSimulator

from quantum.kiwoom.exceptions import (
    AuthError,
    BusinessError,
    InputError,
    KiwoomError,
    MockUnsupportedError,
    OutcomeUnknownError,
    RateLimitedError,
    TransportError,
    UnavailableError,
)
from quantum.kiwoom.ratelimit import OutboundLimiter
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.tokens import InMemoryTokenCache, Token, TokenManager
from quantum.kiwoom.transport import KiwoomTransport
from quantum.kiwoom.wire import parse_price

CODE = "005930"
STOCK = {"stk_cd": CODE}
OPEN_ORDERS = {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "stex_tp": "0"}
FILLS = {"stk_cd": "", "qry_tp": "0", "sell_tp": "0", "ord_no": "", "stex_tp": "0"}


def _requests(running: RunningSimulator, api_id: str) -> int:
    return int(sim_state(running)["requests"].get(api_id, 0))


def _order(qty: int, price: int) -> dict[str, str]:
    return {
        "dmst_stex_tp": "KRX",
        "stk_cd": CODE,
        "ord_qty": str(qty),
        "ord_uv": str(price),
        "trde_tp": "0",
        "cond_uv": "",
    }


async def _book(transport: KiwoomTransport) -> tuple[int, int]:
    book = (await transport.call("ka10004", STOCK)).body
    return parse_price(book["sel_fpr_bid"]), parse_price(book["buy_fpr_bid"])


async def _order_numbers(transport: KiwoomTransport) -> list[str]:
    """Every order of the account: open (ka10075) and filled (ka10076), by number."""
    open_rows = (await transport.call("ka10075", OPEN_ORDERS)).body["oso"]
    fill_rows = (await transport.call("ka10076", FILLS)).body["cntr"]
    return sorted({row["ord_no"] for row in [*open_rows, *fill_rows]})


class Sent:
    """An httpx event hook recording what left the client."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def for_api(self, api_id: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.headers.get("api-id") == api_id]


# --------------------------------------------------------------------------- wire


async def test_request_shape(simulator: RunningSimulator, harness: Harness) -> None:
    sent = Sent()
    transport = harness.transport(simulator, event_hooks={"request": [sent]})
    answer = await transport.call("ka10001", STOCK)
    assert answer.api_id == "ka10001" and answer.http_status == 200
    assert answer.body["stk_cd"] == CODE and answer.body["return_code"] == 0
    assert answer.cont_yn is False and answer.next_key is None
    token = await transport.tokens.get()
    (request,) = sent.for_api("ka10001")
    assert request.method == "POST"
    assert str(request.url) == simulator.base_url + "/api/dostk/stkinfo"
    assert request.headers["authorization"] == f"Bearer {token.secret()}"
    assert request.headers["content-type"] == "application/json;charset=UTF-8"
    ua = request.headers["user-agent"]
    assert ua and not ua.startswith(("python-httpx", "aiohttp", "python-requests"))
    assert "cont-yn" not in request.headers and "next-key" not in request.headers
    assert orjson.loads(request.content) == STOCK

    chart = {**STOCK, "base_dt": "20261124", "upd_stkpc_tp": "1"}
    with pytest.raises(InputError) as bad_key:  # the simulator checks next-key values
        await transport.call("ka10081", chart, next_key="x1")
    assert bad_key.value.code == "1517"
    continued = sent.for_api("ka10081")[0]
    assert continued.headers["cont-yn"] == "Y" and continued.headers["next-key"] == "x1"
    assert str(continued.url).endswith("/api/dostk/chart")


async def test_observer_gets_a_record_after_every_call(
    simulator: RunningSimulator, harness: Harness
) -> None:
    transport = harness.transport(simulator)
    await transport.call("ka10001", STOCK)
    with pytest.raises(InputError):
        await transport.call("ka10001", {"stk_cd": "999999"})
    ok, failed = harness.records
    fingerprint = hashlib.sha256(APP_KEY.encode()).hexdigest()[:12]
    assert ok.key_fingerprint == failed.key_fingerprint == fingerprint
    assert (ok.api_id, ok.path, ok.outcome, ok.error_code, ok.http_status, ok.attempts) == (
        "ka10001",
        "/api/dostk/stkinfo",
        "ok",
        None,
        200,
        1,
    )
    assert ok.latency_ms > 0
    assert (failed.outcome, failed.error_code, failed.attempts) == ("error", "1902", 1)


# --------------------------------------------------------------------------- error classes


async def test_input_errors(simulator: RunningSimulator, harness: Harness) -> None:
    transport = harness.transport(simulator)
    with pytest.raises(InputError) as missing:
        await transport.call("ka10001", {})
    assert missing.value.code == "1511" and "stk_cd" in missing.value.message
    with pytest.raises(InputError) as unknown_stock:
        await transport.call("ka10001", {"stk_cd": "999999"})
    assert unknown_stock.value.code == "1902" and unknown_stock.value.return_code == 2
    # a raw call to the wrong category path
    with pytest.raises(InputError) as wrong_path:
        await transport.call("ka10001", STOCK, path="/api/dostk/chart")
    assert wrong_path.value.code == "1504" and wrong_path.value.return_code == 1
    with pytest.raises(InputError):
        await transport.call("ka99999", {})
    assert [r.attempts for r in harness.records] == [1, 1, 1, 0]
    assert _requests(simulator, "ka10001") == 3


async def test_rate_limited_query_waits_and_succeeds(
    start_simulator: StartSimulator, harness: Harness
) -> None:
    running = start_simulator(rate_limit={"per_second": 1})
    # The client's own limiter allows far more, so the server's 1/s answers 429 to
    # whichever call comes second, unless a stalled machine spaced them a second
    # apart: the injected 429 makes sure that one of them meets one.
    add_fault(running, api_id="ka10001", error_code=1700, times=1)
    transport = harness.transport(running, max_query_retries=30, retry_backoff_max_seconds=0.3)
    first, second = await asyncio.gather(
        transport.call("ka10001", STOCK), transport.call("ka10001", STOCK)
    )
    assert first.body["stk_cd"] == second.body["stk_cd"] == CODE
    assert max(r.attempts for r in harness.records) > 1
    assert all(r.outcome == "ok" for r in harness.records)

    impatient = harness.transport(running, app_key="PSimpatientKEY", max_query_retries=0)
    await impatient.call("ka10004", STOCK)
    # the server's bucket answers 429 within its second; the fault, should the
    # second call come later than that on a stalled machine
    add_fault(running, api_id="ka10004", error_code=1700, times=1)
    with pytest.raises(RateLimitedError) as limited:
        await impatient.call("ka10004", STOCK)
    assert limited.value.code == "1700" and limited.value.http_status == 429
    assert limited.value.return_code == 5


async def test_rate_limited_order_is_retried_exactly(
    start_simulator: StartSimulator, harness: Harness
) -> None:
    running = start_simulator(rate_limit={"per_second": 1})
    transport = harness.transport(running, max_order_retries=30, retry_backoff_max_seconds=0.3)
    _, bid = await _book(transport)
    # the server's 1/s answers the second order 429 unless a stall spaced them a
    # second apart: the injected 429 (sent before the order runs) makes sure of one
    add_fault(running, api_id="kt10000", error_code=1700, times=1)
    placed = await asyncio.gather(
        transport.call("kt10000", _order(1, bid)), transport.call("kt10000", _order(2, bid))
    )
    order_records = [r for r in harness.records if r.api_id == "kt10000"]
    assert max(r.attempts for r in order_records) > 1, "one of them met a 429 and was retried"
    numbers = await _order_numbers(transport)
    assert numbers == sorted(answer.body["ord_no"] for answer in placed), "two orders, not more"


async def test_business_error_is_not_retried(simulator: RunningSimulator, harness: Harness) -> None:
    transport = harness.transport(simulator)
    ask, _ = await _book(transport)
    add_fault(simulator, api_id="kt10000", business="RC4058:모의투자 장종료", times=1)
    with pytest.raises(BusinessError) as rejected:
        await transport.call("kt10000", _order(1, ask))
    assert (rejected.value.code, rejected.value.message) == ("RC4058", "모의투자 장종료")
    assert rejected.value.return_code == 20
    assert harness.records[-1].attempts == 1 and _requests(simulator, "kt10000") == 1


async def test_mock_unsupported(start_simulator: StartSimulator, harness: Harness) -> None:
    running = start_simulator(mode="mock")
    transport = harness.transport(running, mock=True)
    with pytest.raises(MockUnsupportedError) as business:
        await transport.call("kt00005", {})
    assert business.value.code == "RC9000" and business.value.return_code == 20
    with pytest.raises(MockUnsupportedError) as api:
        await transport.call("ka01690", {})
    assert api.value.code == "8104" and api.value.return_code == 2


async def test_query_5xx_is_retried_then_unavailable(
    simulator: RunningSimulator, harness: Harness
) -> None:
    transport = harness.transport(simulator, max_query_retries=3)
    add_fault(simulator, api_id="ka10001", http_status=503, times=1)
    answer = await transport.call("ka10001", STOCK)
    assert answer.body["stk_cd"] == CODE and harness.records[-1].attempts == 2

    add_fault(simulator, api_id="ka10001", http_status=503)
    with pytest.raises(UnavailableError) as down:
        await transport.call("ka10001", STOCK)
    assert down.value.http_status == 503
    assert harness.records[-1].attempts == 4
    assert _requests(simulator, "ka10001") == 2 + 4


async def test_order_5xx_is_outcome_unknown_and_never_resent(
    simulator: RunningSimulator, harness: Harness
) -> None:
    transport = harness.transport(simulator)
    ask, _ = await _book(transport)
    add_fault(simulator, api_id="kt10000", http_status=500, times=3)
    with pytest.raises(OutcomeUnknownError) as unknown:
        await transport.call("kt10000", _order(1, ask))
    assert unknown.value.http_status == 500
    record = harness.records[-1]
    assert (record.outcome, record.attempts, record.http_status) == ("unknown", 1, 500)
    assert _requests(simulator, "kt10000") == 1


async def test_lost_order_response_is_outcome_unknown_and_the_order_exists_once(
    start_simulator: StartSimulator, harness: Harness
) -> None:
    # The timeout applies to every call (token, queries): roomy enough for a loaded
    # machine, far below the simulator's withholding of the lost answer.
    running = start_simulator(lost_response_seconds=8)
    transport = harness.transport(running, timeout_seconds=2.0)
    ask, _ = await _book(transport)
    add_fault(running, api_id="kt10000", lose_response=True, times=1)
    with pytest.raises(OutcomeUnknownError) as unknown:
        await transport.call("kt10000", _order(3, ask))
    assert "not re-sent" in unknown.value.message
    record = harness.records[-1]
    assert (record.outcome, record.attempts, record.http_status) == ("unknown", 1, None)
    assert _requests(running, "kt10000") == 1
    assert len(await _order_numbers(transport)) == 1, "the order reached Kiwoom exactly once"


async def test_connect_error_is_retried_even_for_orders(harness: Harness) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    settings = KiwoomSettings.for_url(
        f"http://127.0.0.1:{port}", APP_KEY, "secret", max_order_retries=2,
        retry_backoff_seconds=0.01, retry_jitter_seconds=0,
    )  # fmt: skip
    cache = InMemoryTokenCache()
    token = Token.from_answer({"token": "T" * 40, "expires_dt": "20991231000000"})
    await cache.set(settings.key_fingerprint, token)
    async with KiwoomTransport(
        settings,
        tokens=TokenManager(settings, cache=cache),
        observer=harness.records.append,
    ) as transport:
        with pytest.raises(TransportError) as refused:
            await transport.call("kt10000", _order(1, 70000))
    assert refused.value.sent is False
    assert not isinstance(refused.value, OutcomeUnknownError)
    record = harness.records[-1]
    assert (record.outcome, record.attempts) == ("error", 3)


async def test_8005_twice_is_an_auth_error(simulator: RunningSimulator, harness: Harness) -> None:
    transport = harness.transport(simulator)
    await transport.call("ka10001", STOCK)
    add_fault(simulator, api_id="ka10001", error_code=8005, times=2)
    with pytest.raises(AuthError) as rejected:
        await transport.call("ka10001", STOCK)
    assert rejected.value.code == "8005" and harness.records[-1].attempts == 2


# --------------------------------------------------------------------------- limiter


async def test_limiter_keeps_sends_inside_the_servers_budget(
    start_simulator: StartSimulator, harness: Harness
) -> None:
    running = start_simulator(rate_limit={"per_second": 5})
    grants = Grants()
    # the margin covers jitter between the limiter's grant and the server's clock
    # (a send can lag its grant unevenly on a loaded machine; the simulator runs in a
    # thread of this process): a whole second, so only a stall of a second fails
    options: dict[str, Any] = {"rate_limit_per_second": None, "rate_limit_margin_seconds": 1.0}
    limiter = OutboundLimiter.from_settings(settings_for(running, **options), on_acquire=grants)
    transport = harness.transport(
        running,
        limiter=limiter,
        max_query_retries=0,  # a single 429 would fail the test
        **options,  # rate_limit_per_second=None: the production table, 5/s per api-id
    )
    answers = await asyncio.gather(*(transport.call("ka10001", STOCK) for _ in range(10)))
    assert len(answers) == 10
    assert all(record.attempts == 1 for record in harness.records)
    assert sim_state(running)["rate_limited"] == {}, "the server answered no 429"
    usage = limiter.utilisation[(transport.key_fingerprint, "ka10001")]
    assert usage.acquired == 10 and usage.delayed >= 5 and usage.limit == 5
    # the limiter's own grants (its clock): never a sixth inside a window + margin
    assert most_in_window(grants.stamps("ka10001"), usage.window_seconds) == 5
    assert len(grants.stamps("ka10001")) == 10


async def test_a_shared_limiter_paces_two_transports_of_one_key(
    start_simulator: StartSimulator, harness: Harness
) -> None:
    running = start_simulator(rate_limit={"per_second": 2})
    grants = Grants()
    # a margin of a second: a batch delivered late by less than that still finds
    # the server's bucket full again (the default 20 ms left no room for a stall)
    options: dict[str, Any] = {"rate_limit_per_second": 2, "rate_limit_margin_seconds": 1.0}
    limiter = OutboundLimiter.from_settings(settings_for(running, **options), on_acquire=grants)
    first = harness.transport(running, limiter=limiter, max_query_retries=0, **options)
    second = harness.transport(running, limiter=limiter, max_query_retries=0, **options)
    await asyncio.gather(*(t.call("ka10004", STOCK) for t in (first, second, first, second)))
    assert all(record.outcome == "ok" for record in harness.records)
    assert sim_state(running)["rate_limited"] == {}, "the server answered no 429"
    # one budget for both: two grants per window (+ margin), not two per transport
    usage = limiter.utilisation[(first.key_fingerprint, "ka10004")]
    assert usage.window_seconds == 2.0 and usage.acquired == 4
    assert most_in_window(grants.stamps("ka10004"), usage.window_seconds) == 2
    assert len(grants.stamps("ka10004")) == 4


# --------------------------------------------------------------------------- secrets


async def test_no_error_record_or_log_shows_a_key_secret_or_token(
    simulator: RunningSimulator, harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    key = "PSrecognizableAPPKEYvalue0123456789"
    secret = "SErecognizableSECRETvalue0123456789"
    caplog.set_level(logging.DEBUG)
    transport = harness.transport(simulator, app_key=key, app_secret=secret, max_query_retries=1)
    errors: list[KiwoomError] = []
    add_fault(simulator, api_id="ka10001", error_code=8005, times=2)
    add_fault(simulator, api_id="ka10004", http_status=503)
    add_fault(simulator, api_id="kt10000", http_status=500, times=1)
    add_fault(simulator, api_id="ka10080", error_code=1700)
    for api_id, body in [
        ("ka10001", STOCK),
        ("ka10001", {}),
        ("ka10004", STOCK),
        ("kt10000", _order(1, 70000)),
        ("ka10080", {**STOCK, "tic_scope": "1", "upd_stkpc_tp": "1"}),
        ("ka10099", {"mrkt_tp": "0"}),
    ]:
        try:
            await transport.call(api_id, body)
        except KiwoomError as exc:
            errors.append(exc)
    bad = harness.transport(simulator, app_key=key, app_secret="SEwrongWRONGwrong0123456")
    try:
        await bad.call("ka10001", STOCK)
    except KiwoomError as exc:
        errors.append(exc)
    assert len(errors) >= 6
    token = (await transport.tokens.get()).secret()
    shown = "\n".join(
        [str(e) for e in errors]
        + [repr(e) for e in errors]
        + [repr(r) for r in harness.records]
        + [repr(transport.settings), repr(await transport.tokens.get())]
        + [caplog.text]
    )
    for value in (key, secret, token, "SEwrongWRONGwrong0123456"):
        assert value not in shown
