from __future__ import annotations

import dataclasses
import secrets

import pytest

from tenantgate.identity.domain.keys import (
    KeyUnsealError,
    generate_signing_key,
    generate_sso_key,
    open_signing_key,
    open_sso_key,
    seal,
    unseal,
)

KEK = secrets.token_bytes(32)


def test_private_keys_are_sealed_at_rest() -> None:
    stored = generate_signing_key(KEK, 0.0)
    assert stored.public_jwk is not None
    assert "d" not in stored.public_jwk
    opened = open_signing_key(stored, KEK)
    secret = opened.private.as_dict(private=True)["d"]
    assert isinstance(secret, str)
    assert secret not in stored.sealed_private


def test_a_wrong_kek_cannot_open_keys() -> None:
    with pytest.raises(KeyUnsealError):
        open_sso_key(generate_sso_key(KEK, 0.0), secrets.token_bytes(32))


def test_a_sealed_blob_is_bound_to_its_key_id() -> None:
    blob = seal(b"secret", KEK, "kid-a")
    assert unseal(blob, KEK, "kid-a") == b"secret"
    with pytest.raises(KeyUnsealError):
        unseal(blob, KEK, "kid-b")


def test_retired_keys_stay_usable_only_for_the_overlap() -> None:
    stored = generate_signing_key(KEK, 0.0)
    retired = dataclasses.replace(stored, retired_at=100.0)
    assert retired.usable_at(100.0 + 3599, overlap=3600)
    assert not retired.usable_at(100.0 + 3600, overlap=3600)
    assert stored.usable_at(10**12, overlap=0)
