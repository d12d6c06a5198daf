"""Public verification keys: parsed once from a JWK Set, then used for every token.

Only the two algorithms the issuer signs with are known here (RFC 8725 §3.1: a fixed
allow-list, never taken from the token). Each JWK is turned into a ``cryptography`` public
key object when the set is loaded, so verifying a token never re-parses a key.

Entries are *ignored*, not fatal, when they are not for us: private keys (a ``d`` member -
a public JWKS must never carry one, and we refuse to hold one), other key types or curves,
``use`` other than ``sig``, ``key_ops`` without ``verify``, or an ``alg`` we do not allow.
One bad entry must not take every other key, and so every portal, offline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tenantgate.guard.compact import b64url_decode
from tenantgate.guard.errors import InvalidToken

__all__ = ["ED_DSA", "ES256", "SUPPORTED_ALGORITHMS", "KeySet", "PublicKey", "verify_signature"]

log = logging.getLogger(__name__)

ES256: Final = "ES256"
ED_DSA: Final = "EdDSA"
SUPPORTED_ALGORITHMS: Final = frozenset({ES256, ED_DSA})

MAX_KID_LENGTH: Final = 128
# JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_ECDSA_SHA256: Final = ec.ECDSA(hashes.SHA256())


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One usable verification key: its ``kid``, the one algorithm it serves, the key."""

    kid: str
    alg: str
    key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


def _parse_ec(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    if jwk.get("crv") != "P-256":
        raise ValueError("EC key not on P-256")
    x, y = jwk.get("x"), jwk.get("y")
    if not isinstance(x, str) or not isinstance(y, str):
        raise ValueError("EC key without x/y")
    xb, yb = b64url_decode(x), b64url_decode(y)
    if len(xb) != 32 or len(yb) != 32:  # RFC 7518 §6.2.1.2: full-length coordinates
        raise ValueError("EC coordinate of wrong length")
    # from_encoded_point checks the point is on the curve (invalid-curve attacks).
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + xb + yb)


def _parse_okp(jwk: Mapping[str, Any]) -> ed25519.Ed25519PublicKey:
    if jwk.get("crv") != "Ed25519":  # RFC 8037 §2; X25519 is for key agreement, not us
        raise ValueError("OKP key not Ed25519")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise ValueError("OKP key without x")
    return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(x))


def parse_jwk(jwk: object, allowed: frozenset[str]) -> PublicKey:
    """Turn one JWK into a :class:`PublicKey` or raise ``ValueError`` saying why not."""
    if not isinstance(jwk, Mapping):
        raise ValueError("entry is not an object")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise ValueError("entry carries private key material")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise ValueError("entry has no usable kid")
    use = jwk.get("use")
    if use is not None and use != "sig":  # RFC 7517 §4.2
        raise ValueError("entry is not a signature key")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):  # §4.3
        raise ValueError("entry may not verify")
    kty = jwk.get("kty")
    parsed: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
    if kty == "EC":
        alg, parsed = ES256, _parse_ec(jwk)
    elif kty == "OKP":
        alg, parsed = ED_DSA, _parse_okp(jwk)
    else:
        raise ValueError("unsupported key type")
    declared = jwk.get("alg")
    if declared is not None and declared != alg:  # §4.4: a key serves one algorithm
        raise ValueError("entry alg does not match its key type")
    if alg not in allowed:
        raise ValueError("entry algorithm not allowed")
    return PublicKey(kid, alg, parsed)


class KeySet:
    """An immutable, parsed JWK Set indexed by ``kid``."""

    __slots__ = ("_by_kid",)

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        by_kid: dict[str, PublicKey] = {}
        for key in keys:
            # A kid is unique within a set (RFC 7517 §4.5); first wins, the rest is noise.
            if key.kid in by_kid:
                log.warning("jwks: duplicate kid ignored", extra={"kid": key.kid})
                continue
            by_kid[key.kid] = key
        self._by_kid: Mapping[str, PublicKey] = by_kid

    @classmethod
    def from_jwks(
        cls, document: object, *, allowed: frozenset[str] = SUPPORTED_ALGORITHMS
    ) -> KeySet:
        """Build from a JWK Set document (RFC 7517 §5); raises ``ValueError`` on its shape."""
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWK Set")
        keys = []
        for entry in document["keys"]:
            try:
                keys.append(parse_jwk(entry, allowed))
            except (ValueError, InvalidToken, UnsupportedAlgorithm) as exc:
                log.info("jwks: entry ignored", extra={"reason": str(exc)})
        return cls(keys)

    def get(self, kid: str) -> PublicKey | None:
        return self._by_kid.get(kid)

    def kids(self) -> frozenset[str]:
        return frozenset(self._by_kid)

    def __len__(self) -> int:
        return len(self._by_kid)


def verify_signature(key: PublicKey, alg: str, signing_input: bytes, signature: bytes) -> None:
    """Verify a JWS signature with ``cryptography`` directly (RFC 7518 §3.4, RFC 8037 §3.1).

    Calling ``cryptography`` on the cached key object keeps the overhead over a raw verify
    small (figures in :mod:`tenantgate.guard.verify`).
    """
    if alg != key.alg:  # the header's alg must be the one this key serves (RFC 8725 §3.1)
        raise InvalidToken("alg does not match the key")
    try:
        # Branch on the key's one algorithm (a string compare), not an ABC isinstance check.
        if alg == ES256:
            # JWS carries R || S, 32 bytes each (RFC 7518 §3.4); cryptography wants DER.
            if len(signature) != 64:
                raise InvalidToken("ES256 signature is not 64 bytes")
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            if r == 0 or s == 0:  # never valid (SEC 1 §4.1.4); refuse before any math
                raise InvalidToken("ES256 signature with zero component")
            ec_key = cast(ec.EllipticCurvePublicKey, key.key)
            ec_key.verify(encode_dss_signature(r, s), signing_input, _ECDSA_SHA256)
        else:
            if len(signature) != 64:
                raise InvalidToken("EdDSA signature is not 64 bytes")
            cast(ed25519.Ed25519PublicKey, key.key).verify(signature, signing_input)
    except InvalidSignature as exc:
        raise InvalidToken("signature does not verify") from exc
