from __future__ import annotations

from pathlib import Path

import pytest

from tenantgate.identity.domain.passwords import (
    COMMON_PASSWORDS_FILE,
    PasswordTooWeak,
    check_password_policy,
    common_passwords,
    is_short_for_an_admin,
)


def test_the_shipped_list_is_large_lower_case_deduplicated_and_documented() -> None:
    lines = COMMON_PASSWORDS_FILE.read_text("utf-8").splitlines()
    assert len(lines) >= 10_000
    assert len(set(lines)) == len(lines)
    assert all(line == line.lower() and line.strip() == line and line for line in lines)
    assert len(common_passwords()) == len(lines)
    readme = (Path(COMMON_PASSWORDS_FILE).parent / "README.md").read_text("utf-8")
    for fact in ("Django", "BSD", "Royce Williams", "common-passwords.txt.gz"):
        assert fact in readme


@pytest.mark.parametrize(
    "password",
    ["password1234", "PASSWORD1234", "Password1234", "qwertyuiop", "QwErTyUiOp", "iloveyou1"],
)
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    with pytest.raises(PasswordTooWeak, match="commonly used"):
        check_password_policy(password)


@pytest.mark.parametrize(
    "password",
    [
        "mqzvtrkw",  # 8 letters, no composition rules
        "correct horse battery staple",
        "ünïcödé passphrase",
        "p" * 64 + "x",
        "q" * 1000 + "z",
    ],
)
def test_uncommon_passwords_of_any_composition_pass(password: str) -> None:
    check_password_policy(password)


def test_length_rules_still_apply() -> None:
    with pytest.raises(PasswordTooWeak, match="at least 8"):
        check_password_policy("mqzvtrk")
    with pytest.raises(PasswordTooWeak, match="at most"):
        check_password_policy("m" * 1025)


def test_admins_are_advised_fifteen_characters() -> None:
    assert is_short_for_an_admin("fourteen chars")
    assert not is_short_for_an_admin("fifteen chars!!")
