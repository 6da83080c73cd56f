"""Token, TokenCache and TokenManager against an in-process fake of Kiwoom's OAuth."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from quantum.kiwoom.endpoints import REVOKE_PATH, TOKEN_PATH
from quantum.kiwoom.errors import error_answer
from quantum.kiwoom.exceptions import AuthError, KiwoomError
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.tokens import InMemoryTokenCache, Token, TokenCache, TokenManager
from quantum.kiwoom.wire import KST, format_timestamp

KEY = "PSunitTokenAPPKEY0000000000000000"
SECRET = "SEunitTokenSECRET000000000000000000"
START = datetime(2026, 11, 24, 10, 0, tzinfo=KST)


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeOAuth:
    """au10001/au10002 with Kiwoom's semantics: the same token while it is valid."""

    def __init__(
        self,
        clock: FakeClock,
        *,
        lifetime: float = 86_400,
        same_while_valid: bool = True,
        delay: float = 0.0,
        revoke_fails: bool = False,
        fail_first: list[int] | None = None,
    ) -> None:
        self.clock = clock
        self.lifetime = timedelta(seconds=lifetime)
        self.same_while_valid = same_while_valid
        self.delay = delay
        self.revoke_fails = revoke_fails
        self.fail_first = list(fail_first or [])
        self.current: str | None = None
        self.expires = START
        self.serial = 0
        self.issue_requests = 0
        self.revoked: list[str] = []
        self.seen: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        body = json.loads(request.content)
        if request.url.path == TOKEN_PATH:
            self.issue_requests += 1
            await asyncio.sleep(self.delay)
            if self.fail_first:
                status = self.fail_first.pop(0)
                answer = error_answer(1700, limit="1", api_id="au10001")
                return httpx.Response(status, json=answer.body())
            if body.get("appkey") != KEY or body.get("secretkey") != SECRET:
                answer = error_answer(8001)
                return httpx.Response(200, json=answer.body())
            now = self.clock()
            if not (self.same_while_valid and self.current and now < self.expires):
                self.serial += 1
                self.current = f"tok{self.serial:03d}" + "x" * 80
                self.expires = now + self.lifetime
            return httpx.Response(
                200,
                json={
                    "expires_dt": format_timestamp(self.expires),
                    "token_type": "Bearer",
                    "token": self.current,
                    "return_code": 0,
                    "return_msg": "정상적으로 처리되었습니다",
                },
            )
        assert request.url.path == REVOKE_PATH
        if self.revoke_fails or body.get("token") != self.current:
            return httpx.Response(200, json=error_answer(8015).body())
        self.revoked.append(body["token"])
        self.current = None
        return httpx.Response(
            200, json={"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}
        )


def _settings(**overrides: Any) -> KiwoomSettings:
    values: dict[str, Any] = {"retry_backoff_seconds": 0.01, "retry_jitter_seconds": 0.0}
    values.update(overrides)
    return KiwoomSettings.for_url("http://kiwoom.test", KEY, SECRET, **values)


Factory = Callable[..., tuple[TokenManager, FakeOAuth, FakeClock]]


@pytest.fixture
async def manager_for() -> AsyncIterator[Factory]:
    clients: list[httpx.AsyncClient] = []

    def build(
        settings: KiwoomSettings | None = None,
        cache: TokenCache | None = None,
        server: FakeOAuth | None = None,
        **server_options: Any,
    ) -> tuple[TokenManager, FakeOAuth, FakeClock]:
        clock = server.clock if server is not None else FakeClock()
        server = server or FakeOAuth(clock, **server_options)
        http = httpx.AsyncClient(transport=httpx.MockTransport(server))
        clients.append(http)
        manager = TokenManager(settings or _settings(), http=http, cache=cache, clock=clock)
        return manager, server, clock

    yield build
    for http in clients:
        await http.aclose()


# --------------------------------------------------------------------------- Token


def test_token_parses_expires_dt_as_kst() -> None:
    token = Token.from_answer(
        {"token": "abcdef", "expires_dt": "20260315091502", "token_type": "bearer"},
        now=datetime(2026, 3, 14, 0, 0, tzinfo=UTC),
    )
    assert token.expires_at == datetime(2026, 3, 15, 0, 15, 2, tzinfo=UTC)
    assert token.expires_at.utcoffset() == timedelta(hours=9)
    assert token.secret() == "abcdef" and token.authorization == "Bearer abcdef"
    assert token.token_type == "bearer"
    assert "abcdef" not in repr(token) and "abcdef" not in str(token)


def test_token_without_a_value_is_an_error() -> None:
    with pytest.raises(KiwoomError):
        Token.from_answer({"return_code": 0, "expires_dt": "20260315091502"})


def test_unreadable_expiry_falls_back_to_a_conservative_lifetime() -> None:
    now = datetime(2026, 3, 14, tzinfo=UTC)
    token = Token.from_answer({"token": "abcdef", "expires_dt": "soon"}, now=now)
    assert timedelta(hours=20) < token.expires_at - now <= timedelta(hours=24)


def test_refresh_is_due_within_the_margin() -> None:
    issued = START
    token = Token.from_answer(
        {"token": "t" * 10, "expires_dt": format_timestamp(issued + timedelta(hours=24))},
        now=issued,
    )
    expiry = issued + timedelta(hours=24)
    assert not token.refresh_due(expiry - timedelta(seconds=301), 300)
    assert token.refresh_due(expiry - timedelta(seconds=300), 300)
    assert token.expired(expiry) and not token.expired(expiry - timedelta(seconds=1))


def test_margin_is_capped_at_half_the_lifetime_and_skew_is_trusted() -> None:
    short = Token.from_answer(
        {"token": "t" * 10, "expires_dt": format_timestamp(START + timedelta(seconds=100))},
        now=START,
    )
    assert not short.refresh_due(START + timedelta(seconds=49), 300)
    assert short.refresh_due(START + timedelta(seconds=50), 300)
    skewed = Token.from_answer(
        {"token": "t" * 10, "expires_dt": format_timestamp(START - timedelta(hours=1))},
        now=START,
    )
    assert not skewed.refresh_due(START + timedelta(hours=5), 300)


def test_in_memory_cache_is_a_token_cache() -> None:
    assert isinstance(InMemoryTokenCache(), TokenCache)


# --------------------------------------------------------------------------- manager


async def test_issues_once_and_caches(manager_for: Factory) -> None:
    manager, server, _ = manager_for()
    first = await manager.get()
    second = await manager.get()
    assert first is second and server.issue_requests == 1
    assert await manager.peek() is first
    request = server.seen[0]
    assert request.method == "POST" and request.url.path == "/oauth2/token"
    assert json.loads(request.content) == {
        "grant_type": "client_credentials",
        "appkey": KEY,
        "secretkey": SECRET,
    }
    assert request.headers["content-type"] == "application/json;charset=UTF-8"
    assert "authorization" not in request.headers
    assert not request.headers["user-agent"].startswith("python-httpx")


async def test_a_thousand_concurrent_callers_cause_one_issue(manager_for: Factory) -> None:
    manager, server, _ = manager_for(delay=0.05)
    tokens = await asyncio.gather(*(manager.get() for _ in range(1000)))
    assert server.issue_requests == 1
    assert len({token.secret() for token in tokens}) == 1


async def test_refresh_near_expiry_rotates_a_reissued_token(manager_for: Factory) -> None:
    manager, server, clock = manager_for(lifetime=3600)
    first = await manager.get()
    clock.advance(3600 - 301)
    assert await manager.get() is first, "outside the margin: no request"
    clock.advance(2)
    refreshed = await manager.get()
    # Kiwoom hands back the live token: revoke it, issue again, get a fresh one
    assert refreshed.secret() != first.secret()
    assert server.revoked == [first.secret()]
    assert server.issue_requests == 3
    assert refreshed.expires_at == clock() + timedelta(seconds=3600)
    assert await manager.get() is refreshed


async def test_refresh_without_rotation_when_the_server_issues_a_new_token(
    manager_for: Factory,
) -> None:
    manager, server, clock = manager_for(lifetime=3600, same_while_valid=False)
    first = await manager.get()
    clock.advance(3500)
    second = await manager.get()
    assert second.secret() != first.secret()
    assert server.revoked == [] and server.issue_requests == 2


async def test_a_token_that_cannot_be_rotated_is_used_until_it_expires(
    manager_for: Factory,
) -> None:
    manager, server, clock = manager_for(lifetime=3600, revoke_fails=True)
    first = await manager.get()
    clock.advance(3500)
    again = await manager.get()
    assert again.secret() == first.secret()
    requests = server.issue_requests
    for _ in range(5):
        clock.advance(10)
        await manager.get()
    assert server.issue_requests == requests, "no re-issue storm"
    clock.advance(100)  # past expiry
    server.current = None
    fresh = await manager.get()
    assert fresh.secret() != first.secret()


async def test_concurrent_forced_refreshes_share_one_issue(manager_for: Factory) -> None:
    manager, server, _ = manager_for(same_while_valid=False, delay=0.02)
    first = await manager.get()
    refreshed = await asyncio.gather(*(manager.get(force_refresh=True) for _ in range(100)))
    assert server.issue_requests == 2
    assert {token.secret() for token in refreshed} == {refreshed[0].secret()} != {first.secret()}


async def test_invalidate_forgets_only_the_given_token(manager_for: Factory) -> None:
    manager, server, _ = manager_for(same_while_valid=False)
    first = await manager.get()
    await manager.invalidate(first)
    second = await manager.get()
    assert second.secret() != first.secret()
    await manager.invalidate(first)  # stale: somebody already replaced it
    assert await manager.peek() is second
    await manager.invalidate()
    assert await manager.peek() is None
    assert server.issue_requests == 2


async def test_revoke_sends_au10002_and_forgets(manager_for: Factory) -> None:
    manager, server, _ = manager_for()
    assert await manager.revoke() is False, "nothing to revoke"
    token = await manager.get()
    assert await manager.revoke() is True
    assert server.revoked == [token.secret()]
    revoke_request = server.seen[-1]
    assert revoke_request.url.path == "/oauth2/revoke"
    assert json.loads(revoke_request.content) == {
        "appkey": KEY,
        "secretkey": SECRET,
        "token": token.secret(),
    }
    assert await manager.peek() is None
    assert (await manager.get()).secret() != token.secret()


async def test_a_shared_cache_serves_other_managers(manager_for: Factory) -> None:
    cache = InMemoryTokenCache()
    first, server, _ = manager_for(cache=cache)
    second, _, _ = manager_for(cache=cache, server=server)
    token = await first.get()
    assert (await second.get()).secret() == token.secret()
    assert server.issue_requests == 1


async def test_issue_is_retried_when_rate_limited(manager_for: Factory) -> None:
    manager, server, _ = manager_for(fail_first=[429, 429])
    token = await manager.get()
    assert token.secret().startswith("tok001") and server.issue_requests == 3


async def test_rejected_keys_raise_auth_error_without_secrets(manager_for: Factory) -> None:
    wrong = "SEwrongSECRETrecognizable999999"
    manager, _, _ = manager_for(settings=KiwoomSettings.for_url("http://kiwoom.test", KEY, wrong))
    with pytest.raises(AuthError) as caught:
        await manager.get()
    assert caught.value.code == "8001" and caught.value.api_id == "au10001"
    for text in (str(caught.value), repr(caught.value)):
        assert KEY not in text and wrong not in text


async def test_missing_credentials_raise(manager_for: Factory) -> None:
    settings = KiwoomSettings(_env_file=None, rest_url="http://kiwoom.test")  # type: ignore[call-arg]
    settings.app_key = settings.app_secret = None
    manager, _, _ = manager_for(settings=settings)
    with pytest.raises(KiwoomError, match="app key"):
        await manager.get()
