"""Tokens against the simulator: issue, cache, refresh before expiry, single-flight,
8005 recovery and revoke (PROTOCOL.md §2)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.integration.kiwoom.conftest import (
    APP_KEY,
    APP_SECRET,
    Harness,
    RunningSimulator,
    sim_state,
)
from tests.integration.simulator.conftest import StartSimulator

from quantum.kiwoom.settings import key_fingerprint

FP = key_fingerprint(APP_KEY)
STOCK = {"stk_cd": "005930"}


def _counts(running: RunningSimulator, fingerprint: str = FP) -> tuple[int, int]:
    state = sim_state(running)
    return state["tokens_issued"].get(fingerprint, 0), state["token_requests"].get(fingerprint, 0)


def _raw_status(running: RunningSimulator, token: str) -> int:
    """return_code of a ka10001 sent with this token, bypassing the client."""
    body = running.call("ka10001", "stkinfo", STOCK, token).json()
    return int(body["return_code"])


async def test_token_is_issued_once_and_cached(
    simulator: RunningSimulator, harness: Harness
) -> None:
    transport = harness.transport(simulator)
    for _ in range(3):
        await transport.call("ka10001", STOCK)
    assert _counts(simulator) == (1, 1)
    token = await transport.tokens.get()
    assert token.expires_at == simulator.sim.clock.now() + (token.expires_at - token.issued_at)
    assert [record.attempts for record in harness.records] == [1, 1, 1]


async def test_a_thousand_concurrent_callers_cause_one_au10001(
    simulator: RunningSimulator, harness: Harness
) -> None:
    transport = harness.transport(simulator)
    tokens = await asyncio.gather(*(transport.tokens.get() for _ in range(1000)))
    assert len({token.secret() for token in tokens}) == 1
    assert _counts(simulator) == (1, 1)

    # the same through real calls, for a second key with a cold cache
    other_key = "PSsecondConcurrentKEY000000000000"
    other = harness.transport(simulator, app_key=other_key)
    answers = await asyncio.gather(*(other.call("ka10001", STOCK) for _ in range(100)))
    assert all(answer.body["stk_cd"] == "005930" for answer in answers)
    assert _counts(simulator, key_fingerprint(other_key)) == (1, 1)


async def test_token_is_refreshed_before_it_expires(
    start_simulator: StartSimulator, harness: Harness
) -> None:
    running = start_simulator(token_lifetime_seconds=600)
    transport = harness.transport(running, token_refresh_margin_seconds=120)
    await transport.call("ka10001", STOCK)
    first = await transport.tokens.get()
    running.advance(400)  # 200 s left: outside the 120 s margin
    await transport.call("ka10001", STOCK)
    assert _counts(running) == (1, 1)
    running.advance(100)  # 100 s left: inside the margin
    await transport.call("ka10001", STOCK)
    second = await transport.tokens.get()
    assert second.secret() != first.secret()
    # Kiwoom re-issues a live token unchanged, so the client revoked and re-issued it
    assert _counts(running) == (2, 3)
    assert _raw_status(running, first.secret()) == 3, "the old token is revoked"
    assert all(record.attempts == 1 and record.outcome == "ok" for record in harness.records)
    running.advance(200)  # the old token's expiry passes: the new one is still good
    await transport.call("ka10001", STOCK)
    assert _counts(running) == (2, 3)


async def test_an_expired_token_is_replaced_after_one_8005(
    start_simulator: StartSimulator, harness: Harness
) -> None:
    running = start_simulator(token_lifetime_seconds=600)
    # margin 0 and a client clock that lags: the client does not see the expiry coming
    transport = harness.transport(
        running,
        token_refresh_margin_seconds=0,
        clock=lambda: running.sim.clock.now() - timedelta(hours=1),
    )
    await transport.call("ka10001", STOCK)
    running.advance(700)
    answer = await transport.call("ka10001", STOCK)
    assert answer.body["stk_cd"] == "005930"
    assert harness.records[-1].attempts == 2 and harness.records[-1].outcome == "ok"
    assert _counts(running) == (2, 2)


async def test_a_token_revoked_behind_our_back_is_reissued_once(
    simulator: RunningSimulator, harness: Harness
) -> None:
    transport = harness.transport(simulator)
    await transport.call("ka10001", STOCK)
    token = await transport.tokens.get()
    revoked = simulator.client.post(
        "/oauth2/revoke",
        json={"appkey": APP_KEY, "secretkey": APP_SECRET, "token": token.secret()},
    )
    assert revoked.json()["return_code"] == 0
    # several callers hit 8005 at once: still one re-issue
    answers = await asyncio.gather(*(transport.call("ka10001", STOCK) for _ in range(20)))
    assert len(answers) == 20
    assert _counts(simulator) == (2, 2)
    assert max(record.attempts for record in harness.records) == 2
    assert all(record.outcome == "ok" for record in harness.records)
    assert (await transport.tokens.get()).secret() != token.secret()


async def test_revoke_and_revoke_on_close(simulator: RunningSimulator, harness: Harness) -> None:
    transport = harness.transport(simulator)
    await transport.call("ka10001", STOCK)
    token = await transport.tokens.get()
    assert await transport.tokens.revoke() is True
    assert _raw_status(simulator, token.secret()) == 3

    closing = harness.transport(simulator, revoke_on_close=True)
    await closing.call("ka10001", STOCK)
    last = await closing.tokens.get()
    await closing.aclose()
    assert _raw_status(simulator, last.secret()) == 3
    assert sim_state(simulator)["requests"].get("au10002") == 2


async def test_a_client_on_the_real_clock_trusts_a_token_that_looks_expired(
    simulator: RunningSimulator, harness: Harness
) -> None:
    """The fixed simulated clock stands in the past: expires_dt looks expired to the
    wall clock. The client trusts the server (clock skew) instead of re-issuing."""
    transport = harness.transport(simulator, clock=lambda: datetime.now(UTC))
    for _ in range(3):
        await transport.call("ka10001", STOCK)
    assert _counts(simulator) == (1, 1)
