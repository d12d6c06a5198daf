from __future__ import annotations

import secrets

import pytest

from tenantgate.identity.domain.access_tokens import (
    AccessTokenClaims,
    AccessTokenRejected,
    issue_access_token,
    verify_access_token,
)
from tenantgate.identity.domain.keys import SigningKey, generate_signing_key, open_signing_key

KEK = secrets.token_bytes(32)
ISSUER = "https://identity.example"
NOW = 1_900_000_000


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return open_signing_key(generate_signing_key(KEK, NOW), KEK)


def claims(**overrides: object) -> AccessTokenClaims:
    values: dict[str, object] = {
        "issuer": ISSUER,
        "subject": "u_abc",
        "audience": "admin-api",
        "client_id": "admin-portal",
        "issued_at": NOW,
        "expires_at": NOW + 1200,
        "jwt_id": "j1",
        "session_id": "s1",
        "kind": "admin",
        "permissions": ("customers:read",),
        "tenant": "fi_" + "a" * 24,
    }
    values.update(overrides)
    return AccessTokenClaims(**values)  # type: ignore[arg-type]


def verify(
    token: str, key: SigningKey, *, now: float, audiences: tuple[str, ...] = ("admin-api",)
) -> AccessTokenClaims:
    return verify_access_token(
        token,
        keys=lambda kid: key if kid == key.kid else None,
        issuer=ISSUER,
        now=now,
        leeway=5,
        audiences=audiences,
    )


def test_an_issued_token_verifies_with_all_claims(key: SigningKey) -> None:
    original = claims()
    assert verify(issue_access_token(original, key), key, now=NOW) == original


def test_one_second_before_expiry_is_accepted(key: SigningKey) -> None:
    token = issue_access_token(claims(), key)
    assert verify(token, key, now=NOW + 1199).jwt_id == "j1"


def test_past_expiry_plus_leeway_is_refused(key: SigningKey) -> None:
    token = issue_access_token(claims(), key)
    with pytest.raises(AccessTokenRejected, match="expired"):
        verify(token, key, now=NOW + 1200 + 5 + 1)


def test_a_token_from_the_future_is_refused(key: SigningKey) -> None:
    token = issue_access_token(claims(issued_at=NOW + 600, expires_at=NOW + 1800), key)
    with pytest.raises(AccessTokenRejected, match="future"):
        verify(token, key, now=NOW)


def test_the_wrong_audience_is_refused(key: SigningKey) -> None:
    token = issue_access_token(claims(audience="reporting-api"), key)
    with pytest.raises(AccessTokenRejected, match="audience"):
        verify(token, key, now=NOW)


@pytest.mark.parametrize(
    "issuer", [ISSUER + "/", ISSUER.upper(), "https://identity.example.evil", ISSUER[:-1]]
)
def test_issuer_variants_are_refused(key: SigningKey, issuer: str) -> None:
    token = issue_access_token(claims(issuer=issuer), key)
    with pytest.raises(AccessTokenRejected, match="issuer"):
        verify(token, key, now=NOW)


def test_a_token_signed_by_another_key_with_our_kid_is_refused(key: SigningKey) -> None:
    other = open_signing_key(generate_signing_key(KEK, NOW), KEK)
    impostor = SigningKey(key.kid, other.alg, other.private, key.public_jwk)
    token = issue_access_token(claims(), impostor)
    with pytest.raises(AccessTokenRejected):
        verify(token, key, now=NOW)


def test_an_unknown_kid_is_refused(key: SigningKey) -> None:
    other = open_signing_key(generate_signing_key(KEK, NOW), KEK)
    with pytest.raises(AccessTokenRejected, match="unknown kid"):
        verify(issue_access_token(claims(), other), key, now=NOW)
