"""Our compact JWS and JWE are the standard ones: joserfc, an independent implementation,
reads what we write and we read what it writes, with the same keys."""

from __future__ import annotations

import json

import pytest
from joserfc import jwe, jws
from joserfc.jwk import ECKey

from tenantgate.identity.domain.access_tokens import (
    AccessTokenClaims,
    AccessTokenRejected,
    issue_access_token,
    verify_access_token,
)
from tenantgate.identity.domain.keys import (
    EncryptionKey,
    SigningKey,
    generate_signing_key,
    generate_sso_key,
    open_signing_key,
    open_sso_key,
)
from tenantgate.identity.domain.sso_tokens import (
    SsoClaims,
    SsoTokenRefused,
    open_sso_token,
    seal_sso_token,
)

from .test_access_tokens import claims as access_claims
from .test_sso_tokens import ISSUER, KEK, NOW, sso_claims

SSO_ALGORITHMS = ["dir", "A256GCM"]
ACCESS = access_claims(permissions=("customers:read", "reporting:view"))
SSO = sso_claims()


@pytest.fixture(scope="module")
def signing() -> SigningKey:
    return open_signing_key(generate_signing_key(KEK, NOW), KEK)


@pytest.fixture(scope="module")
def sso_key() -> EncryptionKey:
    return open_sso_key(generate_sso_key(KEK, NOW), KEK)


def verify(token: str, key: SigningKey) -> AccessTokenClaims:
    return verify_access_token(
        token, keys={key.kid: key}.get, issuer=ISSUER, now=NOW, leeway=5, audiences=("admin-api",)
    )


def open_sso(token: str, key: EncryptionKey) -> SsoClaims:
    return open_sso_token(
        token,
        keys={key.kid: key}.get,
        issuer=ISSUER,
        audience="reporting-portal",
        now=NOW,
        leeway=5,
    )


def test_joserfc_verifies_our_access_token_with_the_public_jwk_alone(signing: SigningKey) -> None:
    token = issue_access_token(ACCESS, signing)
    public = ECKey.import_key(signing.public_jwk)
    assert not public.is_private
    decoded = jws.deserialize_compact(token, public, algorithms=["ES256"])
    assert decoded.protected == {"alg": "ES256", "typ": "at+jwt", "kid": signing.kid}
    assert json.loads(decoded.payload) == ACCESS.as_claims()


def test_we_verify_an_access_token_joserfc_signed(signing: SigningKey) -> None:
    header = {"alg": "ES256", "typ": "at+jwt", "kid": signing.kid}
    payload = json.dumps(ACCESS.as_claims()).encode()  # joserfc's layout, spaces and all
    token = jws.serialize_compact(header, payload, signing.private, algorithms=["ES256"])
    assert verify(token, signing) == ACCESS


def test_a_joserfc_token_under_another_key_with_our_kid_is_refused(signing: SigningKey) -> None:
    other = ECKey.generate_key("P-256", private=True)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": signing.kid}
    payload = json.dumps(ACCESS.as_claims()).encode()
    token = jws.serialize_compact(header, payload, other, algorithms=["ES256"])
    with pytest.raises(AccessTokenRejected, match="signature"):
        verify(token, signing)


def test_joserfc_opens_our_sso_token(sso_key: EncryptionKey) -> None:
    token = seal_sso_token(SSO, sso_key)
    opened = jwe.decrypt_compact(token, sso_key.secret, algorithms=SSO_ALGORITHMS)
    assert opened.protected == {
        "alg": "dir",
        "enc": "A256GCM",
        "typ": "tg-sso+jwe",
        "kid": sso_key.kid,
    }
    assert json.loads(opened.plaintext or b"") == SSO.as_claims()


def test_we_open_an_sso_token_joserfc_sealed(sso_key: EncryptionKey) -> None:
    header = {"alg": "dir", "enc": "A256GCM", "typ": "tg-sso+jwe", "kid": sso_key.kid}
    plaintext = json.dumps(SSO.as_claims()).encode()
    token = jwe.encrypt_compact(header, plaintext, sso_key.secret, algorithms=SSO_ALGORITHMS)
    assert open_sso(token, sso_key) == SSO


def test_an_sso_token_joserfc_sealed_under_another_key_is_refused(
    sso_key: EncryptionKey,
) -> None:
    other = open_sso_key(generate_sso_key(KEK, NOW), KEK)
    header = {"alg": "dir", "enc": "A256GCM", "typ": "tg-sso+jwe", "kid": sso_key.kid}
    plaintext = json.dumps(SSO.as_claims()).encode()
    token = jwe.encrypt_compact(header, plaintext, other.secret, algorithms=SSO_ALGORITHMS)
    with pytest.raises(SsoTokenRefused, match="decryption"):
        open_sso(token, sso_key)


def test_every_seal_draws_a_fresh_iv(sso_key: EncryptionKey) -> None:
    ivs = {seal_sso_token(SSO, sso_key).split(".")[2] for _ in range(50)}
    assert len(ivs) == 50
