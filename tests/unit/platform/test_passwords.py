import pytest
from argon2 import extract_parameters

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


def test_verify_dummy_does_one_real_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown username costs what a wrong password does: one argon2 verification
    against a hash of the same parameters (compared as work, not by the clock)."""
    passwords = Passwords(time_cost=3, memory_cost=8192)
    hashed = passwords.hash("correct horse")
    verified: list[str] = []
    verify = passwords.verify

    def recording(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify", recording)
    assert passwords.verify_dummy("wrong password") is None
    assert len(verified) == 1
    assert verified[0] != hashed
    assert extract_parameters(verified[0]) == extract_parameters(hashed)


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
