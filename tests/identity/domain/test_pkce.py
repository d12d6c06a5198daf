from __future__ import annotations

import pytest

from tenantgate.identity.domain.pkce import challenge_for, is_valid_challenge, verifier_matches

# A known answer: BASE64URL(SHA256(ASCII(verifier))) computed outside the code under test.
RFC_VERIFIER = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc"


def test_s256_matches_a_known_answer() -> None:
    assert challenge_for(RFC_VERIFIER) == RFC_CHALLENGE
    assert verifier_matches(RFC_VERIFIER, RFC_CHALLENGE)


@pytest.mark.parametrize(
    "verifier",
    [
        RFC_VERIFIER[:-1],  # 42 characters: too short
        RFC_VERIFIER + "x",  # a different verifier
        RFC_VERIFIER[:42] + "+",  # outside the unreserved alphabet
        "a" * 129,  # too long
        "",
    ],
)
def test_wrong_or_malformed_verifiers_are_refused(verifier: str) -> None:
    assert not verifier_matches(verifier, RFC_CHALLENGE)


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        (RFC_CHALLENGE, "plain"),
        (RFC_CHALLENGE, ""),
        (RFC_CHALLENGE, "s256"),
        (RFC_CHALLENGE[:-1], "S256"),
        (RFC_CHALLENGE + "=", "S256"),
        ("", "S256"),
    ],
)
def test_only_well_formed_s256_challenges_are_accepted(challenge: str, method: str) -> None:
    assert not is_valid_challenge(challenge, method)
    assert is_valid_challenge(RFC_CHALLENGE, "S256")
