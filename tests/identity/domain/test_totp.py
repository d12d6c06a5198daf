from __future__ import annotations

import secrets

import pyotp
import pytest

from tenantgate.identity.domain import totp
from tenantgate.identity.domain.keys import KeyUnsealError

KEK = secrets.token_bytes(32)
NOW = 1_800_000_015.0


def test_enrolment_gives_a_base32_secret_an_otpauth_uri_and_a_sealed_blob() -> None:
    enrolment = totp.enrol("alice", "u_subject", KEK)
    assert len(enrolment.secret) == 32  # 160 bits, base32
    assert enrolment.uri.startswith("otpauth://totp/Tenantgate:alice?")
    assert f"secret={enrolment.secret}" in enrolment.uri
    assert enrolment.secret not in enrolment.sealed
    assert totp.open_secret(enrolment.sealed, "u_subject", KEK) == enrolment.secret


def test_a_sealed_secret_opens_only_for_its_account_and_kek() -> None:
    enrolment = totp.enrol("alice", "u_alice", KEK)
    with pytest.raises(KeyUnsealError):
        totp.open_secret(enrolment.sealed, "u_mallory", KEK)
    with pytest.raises(KeyUnsealError):
        totp.open_secret(enrolment.sealed, "u_alice", secrets.token_bytes(32))


def test_codes_match_their_step_within_one_step_of_drift() -> None:
    secret = totp.new_secret()
    current = totp.time_step(NOW)
    for offset in (-1, 0, 1):
        code = pyotp.TOTP(secret).at(NOW + 30 * offset)
        assert totp.matching_step(secret, code, NOW) == current + offset
    for offset in (-3, -2, 2, 3):
        code = pyotp.TOTP(secret).at(NOW + 30 * offset)
        # A far step's code may collide with a near one by chance (1 in 10^6): compare.
        near = {pyotp.TOTP(secret).at(NOW + 30 * o) for o in (-1, 0, 1)}
        if code not in near:
            assert totp.matching_step(secret, code, NOW) is None


@pytest.mark.parametrize("garbage", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5"])
def test_malformed_codes_never_match(garbage: str) -> None:
    assert totp.matching_step(totp.new_secret(), garbage, NOW) is None


def test_spaces_inside_a_code_are_tolerated() -> None:
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    assert totp.matching_step(secret, f" {code[:3]} {code[3:]} ", NOW) == totp.time_step(NOW)
