"""One-time SSO tokens: compact JWE, `dir` + A256GCM, a key only the identity server holds.

The token carries internal references (account and tenant ids) because nobody but
the identity server can read it.  Opening applies a fixed allow-list to the
protected header before any cryptography runs, so `zip` (decompression bombs),
PBES2 (`p2c` work factors) and key-carrying parameters are refused in
microseconds (OWASP JWE cheat sheet; RFC 8725 §3.1).

The one algorithm pair is applied with `cryptography`'s AES-GCM directly, as RFC 7516 §5.1
and §5.2 lay it out for `dir`: the encoded protected header is the additional data, the
JWE Encrypted Key is empty, the IV is 96 bits and the tag 128 (RFC 7518 §5.3), each
checked for exactly that length before anything is decrypted.  joserfc's
``encrypt_compact``/``decrypt_compact`` did the same with its registry and key-use checks
around it (timeit: ~18 and ~23 µs a token, against ~5 and ~3 µs here; see
:mod:`.access_tokens` for what both changes did to a hand-off).  Tests check that joserfc
opens our tokens and that we open joserfc's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag

from .compact import (
    MalformedToken,
    b64url_decode,
    b64url_encode,
    compact_json,
    json_segment,
    parse_header,
    split_compact,
)
from .keys import SSO_CONTENT_ENCRYPTION, SSO_KEY_ALGORITHM, EncryptionKey
from .strict_json import StrictJsonError, parse_json_object

SSO_TOKEN_TYPE = "tg-sso+jwe"
SSO_TOKEN_TYPE_URN = "urn:tenantgate:token-type:sso"
_ALLOWED_HEADER = frozenset({"alg", "enc", "typ", "kid"})
_IV_BYTES = 12  # RFC 7518 §5.3: a 96-bit IV ...
_TAG_BYTES = 16  # ... and a 128-bit authentication tag


class SsoTokenRefused(Exception):
    """The private reason is the message; the public answer is always the same."""


@dataclass(frozen=True, slots=True)
class SsoClaims:
    issuer: str
    audience: str  # the client that may redeem it
    account_id: int
    subject: str
    tenant_id: int
    session_id: str  # the admin session it came from
    minted_by: str  # the client that minted it
    jwt_id: str
    issued_at: int
    expires_at: int

    def as_claims(self) -> dict[str, Any]:
        return {
            "iss": self.issuer,
            "aud": self.audience,
            "uid": self.account_id,
            "sub": self.subject,
            "tid": self.tenant_id,
            "sid": self.session_id,
            "azp": self.minted_by,
            "jti": self.jwt_id,
            "iat": self.issued_at,
            "exp": self.expires_at,
        }


def seal_sso_token(claims: SsoClaims, key: EncryptionKey) -> str:
    header = {
        "alg": SSO_KEY_ALGORITHM,
        "enc": SSO_CONTENT_ENCRYPTION,
        "typ": SSO_TOKEN_TYPE,
        "kid": key.kid,
    }
    protected = json_segment(header)
    iv = os.urandom(_IV_BYTES)
    sealed = key.cipher.encrypt(iv, compact_json(claims.as_claims()), protected.encode("ascii"))
    ciphertext, tag = sealed[:-_TAG_BYTES], sealed[-_TAG_BYTES:]
    # header . (no encrypted key: `dir`) . iv . ciphertext . tag
    return f"{protected}..{b64url_encode(iv)}.{b64url_encode(ciphertext)}.{b64url_encode(tag)}"


def _decrypt(parts: list[str], key: EncryptionKey) -> bytes:
    """RFC 7516 §5.2 for `dir` + A256GCM; raises on any deviation or a failed tag."""
    if parts[1]:
        raise ValueError("an encrypted key with dir")
    iv, ciphertext, tag = (b64url_decode(part) for part in parts[2:])
    if len(iv) != _IV_BYTES or len(tag) != _TAG_BYTES:
        raise ValueError("IV or tag length")
    return key.cipher.decrypt(iv, ciphertext + tag, parts[0].encode("ascii"))


def open_sso_token(
    token: str,
    *,
    keys: Callable[[str], EncryptionKey | None],
    issuer: str,
    audience: str,
    now: float,
    leeway: int,
) -> SsoClaims:
    try:
        parts = split_compact(token, 5)
        header = parse_header(parts[0])
    except MalformedToken as exc:
        raise SsoTokenRefused(f"malformed: {exc}") from exc
    if not header.keys() <= _ALLOWED_HEADER:
        raise SsoTokenRefused("unexpected header parameter")
    if header.get("alg") != SSO_KEY_ALGORITHM or header.get("enc") != SSO_CONTENT_ENCRYPTION:
        raise SsoTokenRefused("algorithm not allowed")
    if header.get("typ") != SSO_TOKEN_TYPE:
        raise SsoTokenRefused("wrong typ")
    kid = header.get("kid")
    key = keys(kid) if isinstance(kid, str) else None
    if key is None:
        raise SsoTokenRefused("unknown kid")
    try:
        payload = parse_json_object(_decrypt(parts, key))
    except (InvalidTag, ValueError, StrictJsonError) as exc:
        raise SsoTokenRefused(f"decryption: {type(exc).__name__}") from exc
    claims = _claims_from(payload)
    if claims.issuer != issuer:
        raise SsoTokenRefused("issuer")
    if claims.audience != audience:
        raise SsoTokenRefused("audience")
    # No leeway on expiry: only identity instances sharing one database read this token,
    # so the lifetime is exactly what was minted (≤ 120 s), never stretched.
    if now > claims.expires_at:
        raise SsoTokenRefused("expired")
    if claims.issued_at > now + leeway:
        raise SsoTokenRefused("issued in the future")
    return claims


def _claims_from(payload: dict[str, Any]) -> SsoClaims:
    strings = ("iss", "aud", "sub", "sid", "azp", "jti")
    ints = ("uid", "tid", "iat", "exp")
    if not all(isinstance(payload.get(n), str) for n in strings):
        raise SsoTokenRefused("claim types")
    if not all(type(payload.get(n)) is int for n in ints):
        raise SsoTokenRefused("claim types")
    return SsoClaims(
        issuer=payload["iss"],
        audience=payload["aud"],
        account_id=payload["uid"],
        subject=payload["sub"],
        tenant_id=payload["tid"],
        session_id=payload["sid"],
        minted_by=payload["azp"],
        jwt_id=payload["jti"],
        issued_at=payload["iat"],
        expires_at=payload["exp"],
    )
