"""PKCE, S256 only (RFC 7636 §4.1–4.6; RFC 9700 §2.1.1 forbids `plain`)."""

from __future__ import annotations

import hashlib
import hmac
import re

from .compact import b64url_encode

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
SUPPORTED_METHODS = ("S256",)


def is_valid_challenge(challenge: str, method: str) -> bool:
    return method in SUPPORTED_METHODS and _CHALLENGE.fullmatch(challenge) is not None


def challenge_for(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return b64url_encode(digest)


def verifier_matches(verifier: str, challenge: str) -> bool:
    if _VERIFIER.fullmatch(verifier) is None:
        return False
    return hmac.compare_digest(challenge_for(verifier), challenge)
