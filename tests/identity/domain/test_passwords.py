from __future__ import annotations

import pytest

from tenantgate.identity.domain.passwords import (
    Argon2Parameters,
    Passwords,
    PasswordTooWeak,
    check_password_policy,
)

FAST = Argon2Parameters(memory_cost_kib=1024, time_cost=1, parallelism=1)


def test_hashes_are_argon2id_and_verify() -> None:
    passwords = Passwords(FAST)
    stored = passwords.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse battery staple")
    assert not passwords.verify(stored, "correct horse battery stapl")


def test_owasp_parameters_are_the_default() -> None:
    stored = Passwords().hash("a long enough passphrase")
    assert "$m=19456,t=2,p=1$" in stored


def test_an_unknown_user_never_verifies_even_with_the_dummy_password() -> None:
    passwords = Passwords(FAST)
    assert not passwords.verify(None, "tenantgate-dummy-password-for-equal-timing")
    assert not passwords.verify(None, "")


@pytest.mark.parametrize("length", [64, 1000, 1024])
def test_long_passwords_work_and_are_never_truncated(length: int) -> None:
    passwords = Passwords(FAST)
    password = "p" * length
    stored = passwords.hash(password)
    assert passwords.verify(stored, password)
    assert not passwords.verify(stored, password[:-1])
    assert not passwords.verify(stored, password + "p")


def test_over_long_input_is_refused_without_error() -> None:
    passwords = Passwords(FAST)
    stored = passwords.hash("p" * 1024)
    assert not passwords.verify(stored, "p" * 5000)


def test_a_garbage_hash_is_a_mismatch_not_a_crash() -> None:
    assert not Passwords(FAST).verify("not-a-hash", "whatever")


def test_changed_parameters_ask_for_a_rehash() -> None:
    old = Passwords(FAST).hash("some password here")
    assert Passwords().needs_rehash(old)
    assert not Passwords(FAST).needs_rehash(old)


@pytest.mark.parametrize("password", ["", "short", "1234567"])
def test_policy_refuses_passwords_under_eight_characters(password: str) -> None:
    with pytest.raises(PasswordTooWeak):
        check_password_policy(password)


def test_policy_accepts_any_composition_from_eight_characters() -> None:
    check_password_policy("mqzvtrkw")  # 8 lower-case letters, no digit, no symbol
    check_password_policy("ünïcödé passphrase")
