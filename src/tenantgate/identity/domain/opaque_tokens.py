"""Opaque secrets: refresh tokens, authorization codes, client secrets.

They are 256 bits from the OS CSPRNG and stored only as SHA-256 digests.  A
plain digest (not Argon2) is right here: the input already has full entropy,
so there is nothing for a slow hash to protect, and the token endpoint stays fast.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
MAX_OPAQUE_TOKEN_LENGTH = 512


def new_opaque_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest_opaque_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def opaque_token_matches(token: str, digest: str) -> bool:
    return hmac.compare_digest(digest_opaque_token(token), digest)


def looks_like_opaque_token(token: str) -> bool:
    return 0 < len(token) <= MAX_OPAQUE_TOKEN_LENGTH and token.isascii()
