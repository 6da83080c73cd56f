from quantum.platform.security.login_limits import LoginLimiter


async def test_sixth_attempt_for_username_is_blocked() -> None:
    limiter = LoginLimiter()
    for i in range(5):
        assert await limiter.check("alice", f"10.0.0.{i}") is None
    wait = await limiter.check("alice", "10.0.0.99")
    assert wait is not None
    assert 0 < wait <= 60
    assert await limiter.check("bob", "10.0.0.99") is None


async def test_username_is_case_insensitive() -> None:
    limiter = LoginLimiter(per_username="2/minute")
    assert await limiter.check("Alice", "c1") is None
    assert await limiter.check("alice ", "c2") is None
    assert await limiter.check("ALICE", "c3") is not None


async def test_reset_clears_username_failures() -> None:
    limiter = LoginLimiter()
    for _ in range(5):
        assert await limiter.check("alice", "10.0.0.1") is None
    assert await limiter.check("alice", "10.0.0.1") is not None
    await limiter.reset("alice")
    assert await limiter.check("alice", "10.0.0.1") is None


async def test_per_client_limit_across_usernames() -> None:
    limiter = LoginLimiter(per_client="20/minute")
    for i in range(20):
        assert await limiter.check(f"user{i}", "203.0.113.7") is None
    wait = await limiter.check("someone-new", "203.0.113.7")
    assert wait is not None
    assert wait > 0
    assert await limiter.check("someone-new", "198.51.100.1") is None


async def test_reset_does_not_clear_client_bucket() -> None:
    limiter = LoginLimiter(per_username="100/minute", per_client="3/minute")
    for _ in range(3):
        assert await limiter.check("alice", "c1") is None
    await limiter.reset("alice")
    assert await limiter.check("alice", "c1") is not None


async def test_retry_after_reflects_window() -> None:
    limiter = LoginLimiter(per_username="1/hour")
    assert await limiter.check("alice", "c1") is None
    wait = await limiter.check("alice", "c1")
    assert wait is not None
    assert 3500 < wait <= 3600


def test_repr_has_no_usernames() -> None:
    assert "alice" not in repr(LoginLimiter())
