"""CSRF protection for the hosted login form without a server-side session.

A random nonce goes into a short-lived, HttpOnly, SameSite=Strict cookie; the form
carries an HMAC of it under a key derived from the KEK.  A cross-site page can
neither read the cookie nor compute the MAC, and a cookie planted from elsewhere
(`__Host-` prevents that on HTTPS anyway) is useless without the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LOGIN_CSRF_TTL = 900


def derive_csrf_key(kek: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tenantgate login csrf")
    return hkdf.derive(kek)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def form_token(key: bytes, nonce: str) -> str:
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


def form_token_matches(key: bytes, nonce: str | None, token: str) -> bool:
    if not nonce or not token or len(nonce) > 64:
        return False
    return hmac.compare_digest(form_token(key, nonce), token)


def cookie_name(secure: bool) -> str:
    return "__Host-tg_login" if secure else "tg_login"
