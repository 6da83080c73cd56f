"""Tokens, keys, rate limits, faults and config: the simulator's plumbing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from quantum.simulator.clock import KST, ClockMode, SimClock
from quantum.simulator.config import KeyEntry, Mode, load_config
from quantum.simulator.faults import FaultInjector, FaultRule
from quantum.simulator.keys import KeyRegistry, KeyRejected, key_fingerprint
from quantum.simulator.ratelimit import RateLimiter
from quantum.simulator.tokens import TokenStore

START = datetime(2026, 11, 24, 10, 0, tzinfo=KST)


def _registry(allowed: list[KeyEntry] | None = None) -> tuple[KeyRegistry, list[tuple[str, int]]]:
    opened: list[tuple[str, int]] = []
    registry = KeyRegistry(Mode.PRODUCTION, 1_000, lambda a, c: opened.append((a, c)), allowed)
    return registry, opened


def test_each_key_gets_one_stable_account() -> None:
    registry, opened = _registry()
    first = registry.authenticate("key-a", "s")
    assert registry.authenticate("key-a", "s") is first
    other = registry.authenticate("key-b", "s")
    assert first.account_no != other.account_no
    assert len(first.account_no) == 10 and first.account_no.endswith("11")
    assert opened == [(first.account_no, 1_000), (other.account_no, 1_000)]
    again, _ = _registry()
    assert again.authenticate("key-a", "s").account_no == first.account_no
    with pytest.raises(KeyRejected) as wrong:
        registry.authenticate("key-a", "other")
    assert wrong.value.code == 8002
    assert first.fingerprint == key_fingerprint("key-a") != "key-a"


def test_key_file_rules() -> None:
    allowed = [KeyEntry(appkey="k", secretkey="s", cash=5, mode=Mode.MOCK)]
    registry, _ = _registry(allowed)
    for app_key, secret, code in [("x", "s", 8001), ("k", "bad", 8002), ("k", "s", 8030)]:
        with pytest.raises(KeyRejected) as rejected:
            registry.authenticate(app_key, secret)
        assert rejected.value.code == code


def test_tokens_reissue_expire_and_revoke() -> None:
    clock = SimClock(ClockMode.FIXED, START)
    registry, _ = _registry()
    key = registry.authenticate("k", "s")
    store = TokenStore(clock, 100)
    token = store.issue(key)
    assert store.issue(key) is token and store.issued[key.fingerprint] == 1
    assert store.resolve(token.token) is token
    clock.advance(100)
    assert store.resolve(token.token) is None
    renewed = store.issue(key)
    assert renewed.token != token.token
    assert store.revoke(key, renewed.token) and store.resolve(renewed.token) is None
    assert not store.revoke(key, renewed.token)


def test_rate_limiter_buckets_per_key_and_api_id() -> None:
    now = [0.0]
    limiter = RateLimiter(2, monotonic=lambda: now[0])
    assert limiter.check("k", "ka10001") is None
    assert limiter.check("k", "ka10001") is None
    limited = limiter.check("k", "ka10001")
    assert limited is not None and limited.http_status == 429
    assert limiter.check("k", "ka10004") is None
    assert limiter.check("other", "ka10001") is None
    now[0] = 0.5
    assert limiter.check("k", "ka10001") is None


def test_global_budget_answers_1701() -> None:
    now = [0.0]
    limiter = RateLimiter(100, global_per_second=1, monotonic=lambda: now[0])
    assert limiter.check("k", "a") is None
    answer = limiter.check("k", "b")
    assert answer is not None and "[1701:" in answer.return_msg


def test_fault_rules_count_down_and_match() -> None:
    injector = FaultInjector([FaultRule(api_id="kt10000", http_status=500, times=2)])
    assert injector.take("ka10001") is None
    assert injector.take("kt10000") is not None
    assert injector.take("kt10000") is not None
    assert injector.take("kt10000") is None
    with pytest.raises(ValidationError):
        FaultRule(http_status=500, lose_response=True)
    with pytest.raises(ValidationError):
        FaultRule(business="no colon")


def test_config_file_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        'seed = 7\nmode = "mock"\n[rate_limit]\nburst = 2\n[[faults]]\napi_id = "ka10001"\nlatency_ms = 5\n'
    )
    config = load_config(path, seed=9, port=None)
    assert (config.seed, config.mode, config.rate_limit.burst) == (9, Mode.MOCK, 2)
    assert config.rate_per_second == 1.0
    assert not config.system_frame_on_login
    assert config.faults[0].latency_ms == 5
    json_path = tmp_path / "sim.json"
    json_path.write_text(json.dumps({"clock": "fixed", "start": "2026-11-24T10:00:00+09:00"}))
    assert load_config(json_path).clock is ClockMode.FIXED


def test_clock_modes() -> None:
    fixed = SimClock(ClockMode.FIXED, START)
    assert fixed.now() == START
    assert fixed.advance(60) == datetime(2026, 11, 24, 10, 1, tzinfo=KST)
    with pytest.raises(ValueError, match="backwards"):
        fixed.set(START)
    fast = SimClock(ClockMode.FAST, START, speed=1000)
    assert fast.wall_seconds(1000) == 1
    naive = SimClock(ClockMode.FIXED, datetime(2026, 11, 24, 10, 0))
    assert naive.now().tzinfo is not None
