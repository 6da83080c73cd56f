import time
from collections.abc import Callable

import pytest

from quantum.platform.security.passwords import Passwords, check_password_policy


@pytest.fixture
def passwords() -> Passwords:
    return Passwords(time_cost=1, memory_cost=1024)


def test_hash_is_argon2id_and_salted(passwords: Passwords) -> None:
    a = passwords.hash("correct horse")
    b = passwords.hash("correct horse")
    assert a.startswith("$argon2id$")
    assert a != b
    assert "correct horse" not in a


def test_verify(passwords: Passwords) -> None:
    hashed = passwords.hash("correct horse")
    assert passwords.verify(hashed, "correct horse") is True
    assert passwords.verify(hashed, "correct horsE") is False
    assert passwords.verify(hashed, "") is False


@pytest.mark.parametrize("bad", ["", "not-a-hash", "$argon2id$v=19$m=1024,t=1,p=4$garbage"])
def test_verify_invalid_hash_returns_false(passwords: Passwords, bad: str) -> None:
    assert passwords.verify(bad, "whatever1") is False


def test_needs_rehash(passwords: Passwords) -> None:
    hashed = passwords.hash("correct horse")
    assert passwords.needs_rehash(hashed) is False
    stronger = Passwords(time_cost=2, memory_cost=1024)
    assert stronger.needs_rehash(hashed) is True
    assert passwords.needs_rehash("not-a-hash") is True


def test_verify_dummy_takes_comparable_time() -> None:
    passwords = Passwords(time_cost=3, memory_cost=8192)
    hashed = passwords.hash("correct horse")

    def best_of(fn: Callable[[], object], runs: int = 5) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    real = best_of(lambda: passwords.verify(hashed, "wrong password"))
    dummy = best_of(lambda: passwords.verify_dummy("wrong password"))
    assert passwords.verify_dummy("anything") is None
    assert dummy > real * 0.3
    assert dummy < real * 3 + 0.01


def test_repr_has_no_hash(passwords: Passwords) -> None:
    assert "argon2" not in repr(passwords)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8"),
        ("x" * 257, "at most 256"),
        (" " * 12, "whitespace"),
        ("\t\n  \t\n  ", "whitespace"),
    ],
)
def test_password_policy_rejects(password: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_password_policy(password)


@pytest.mark.parametrize("password", ["12345678", "x" * 256, " pass phrase "])
def test_password_policy_accepts(password: str) -> None:
    check_password_policy(password)
