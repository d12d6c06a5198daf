from __future__ import annotations

import secrets

import pytest

from tenantgate.identity.domain.keys import EncryptionKey, generate_sso_key, open_sso_key
from tenantgate.identity.domain.sso_tokens import (
    SsoClaims,
    SsoTokenRefused,
    open_sso_token,
    seal_sso_token,
)

KEK = secrets.token_bytes(32)
ISSUER = "https://identity.example"
NOW = 1_900_000_000


@pytest.fixture(scope="module")
def key() -> EncryptionKey:
    return open_sso_key(generate_sso_key(KEK, NOW), KEK)


def sso_claims(**overrides: object) -> SsoClaims:
    values: dict[str, object] = {
        "issuer": ISSUER,
        "audience": "reporting-portal",
        "account_id": 7,
        "subject": "u_admin",
        "tenant_id": 3,
        "session_id": "s-admin",
        "minted_by": "admin-portal",
        "jwt_id": "jti-1",
        "issued_at": NOW,
        "expires_at": NOW + 120,
    }
    values.update(overrides)
    return SsoClaims(**values)  # type: ignore[arg-type]


def open_at(
    token: str, key: EncryptionKey, now: float, audience: str = "reporting-portal"
) -> SsoClaims:
    return open_sso_token(
        token,
        keys=lambda kid: key if kid == key.kid else None,
        issuer=ISSUER,
        audience=audience,
        now=now,
        leeway=0,
    )


def test_a_sealed_token_is_a_five_part_jwe_that_hides_its_claims(key: EncryptionKey) -> None:
    token = seal_sso_token(sso_claims(), key)
    assert token.count(".") == 4
    assert "u_admin" not in token
    assert "reporting-portal" not in token
    assert open_at(token, key, NOW) == sso_claims()


def test_accepted_at_ttl_minus_one_second(key: EncryptionKey) -> None:
    assert open_at(seal_sso_token(sso_claims(), key), key, NOW + 119).jwt_id == "jti-1"


def test_refused_at_ttl_plus_one_second(key: EncryptionKey) -> None:
    with pytest.raises(SsoTokenRefused, match="expired"):
        open_at(seal_sso_token(sso_claims(), key), key, NOW + 121)


def test_refused_for_another_audience(key: EncryptionKey) -> None:
    with pytest.raises(SsoTokenRefused, match="audience"):
        open_at(seal_sso_token(sso_claims(), key), key, NOW, audience="admin-portal")


def test_refused_under_another_key_with_the_same_kid(key: EncryptionKey) -> None:
    other = open_sso_key(generate_sso_key(KEK, NOW), KEK)
    forged = seal_sso_token(sso_claims(), EncryptionKey(key.kid, other.secret))
    with pytest.raises(SsoTokenRefused, match="decryption"):
        open_at(forged, key, NOW)
