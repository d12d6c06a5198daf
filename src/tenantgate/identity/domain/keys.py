"""Signing and encryption keys, sealed at rest and rotated with overlap.

Private key material is stored encrypted with AES-256-GCM under the
key-encryption key (KEK) from settings; the key id is bound in as associated
data so a sealed blob cannot be moved to another key's row.  After rotation a
retired key stays usable for verification (published in the JWKS) and, for
SSO keys, for opening tokens, until ``overlap`` seconds have passed.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey, OctKey

KeyUse = Literal["sig", "enc"]
SIGNING_ALGORITHM = "ES256"
SSO_KEY_ALGORITHM = "dir"
SSO_CONTENT_ENCRYPTION = "A256GCM"
_NONCE_BYTES = 12


class KeyUnsealError(Exception):
    """A sealed key could not be opened: wrong KEK or tampered row."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    use: KeyUse
    alg: str
    sealed_private: str
    public_jwk: dict[str, Any] | None
    created_at: float
    retired_at: float | None = None

    def usable_at(self, now: float, overlap: int) -> bool:
        return self.retired_at is None or now < self.retired_at + overlap


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A signing key as joserfc holds it (JWK export, thumbprint), with the `cryptography`
    objects that sign and verify taken out of it once, not on every token."""

    kid: str
    alg: str
    private: ECKey
    public_jwk: dict[str, Any]
    signer: ec.EllipticCurvePrivateKey = field(init=False, repr=False, compare=False)
    verifier: ec.EllipticCurvePublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        signer = self.private.private_key
        if not isinstance(signer, ec.EllipticCurvePrivateKey):
            raise KeyUnsealError(self.kid)
        object.__setattr__(self, "signer", signer)
        object.__setattr__(self, "verifier", signer.public_key())


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    """The SSO key (a JWK), with its AES-GCM cipher made once."""

    kid: str
    secret: OctKey
    cipher: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cipher", AESGCM(self.secret.raw_value))


def seal(plaintext: bytes, kek: bytes, kid: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(kek).encrypt(nonce, plaintext, kid.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(blob: str, kek: bytes, kid: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(blob)
        return AESGCM(kek).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], kid.encode())
    except (InvalidTag, ValueError) as exc:
        raise KeyUnsealError(kid) from exc


def generate_signing_key(kek: bytes, now: float) -> StoredKey:
    key = ECKey.generate_key("P-256", private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": SIGNING_ALGORITHM}
    private = json.dumps(key.as_dict(private=True)).encode()
    return StoredKey(kid, "sig", SIGNING_ALGORITHM, seal(private, kek, kid), public, now)


def generate_sso_key(kek: bytes, now: float) -> StoredKey:
    key = OctKey.generate_key(256)
    kid = "sso-" + key.thumbprint()[:22]
    private = json.dumps(key.as_dict(private=True)).encode()
    return StoredKey(kid, "enc", SSO_KEY_ALGORITHM, seal(private, kek, kid), None, now)


def open_signing_key(stored: StoredKey, kek: bytes) -> SigningKey:
    data = json.loads(unseal(stored.sealed_private, kek, stored.kid))
    key = ECKey.import_key(data)
    if stored.public_jwk is None:
        raise KeyUnsealError(stored.kid)
    return SigningKey(stored.kid, stored.alg, key, stored.public_jwk)


def open_sso_key(stored: StoredKey, kek: bytes) -> EncryptionKey:
    data = json.loads(unseal(stored.sealed_private, kek, stored.kid))
    return EncryptionKey(stored.kid, OctKey.import_key(data))
