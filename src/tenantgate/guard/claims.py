"""Claim rules for Tenantgate access tokens (RFC 9068 §4, RFC 7519 §4.1, RFC 8725 §3.8-3.10).

Pure functions of the decoded payload, the policy and ``now``; the clock is read by the
caller so these rules never touch ``time.time()``. They run only after the signature has
been verified (RFC 8725 §3.1).

Audience choice: ``aud`` must be the configured audience, either as a string or as a list of
exactly one element equal to it (RFC 7519 §4.1.3 allows both spellings of one audience).
A list naming any other audience as well is refused: a token good for several services can
be replayed from one to the other (RFC 8725 §3.9; SECURITY.md "multi-valued aud").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tenantgate.guard.errors import InvalidToken

__all__ = ["KINDS", "ClaimPolicy", "check_claims"]

KINDS: Final = frozenset({"admin", "employee", "customer"})
# Kinds that always belong to one FI, so their tokens are always tenant-scoped.
_TENANT_BOUND_KINDS: Final = frozenset({"employee", "customer"})
MAX_STRING_CLAIM: Final = 256
MAX_PERMISSIONS: Final = 256


@dataclass(frozen=True, slots=True)
class ClaimPolicy:
    """What this relying party expects of every token."""

    issuer: str
    audience: str
    leeway: float = 5.0

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ValueError("issuer and audience are required")
        if not 0 <= self.leeway <= 300:  # RFC 8725 §3.8 asks for small; minutes is not small
            raise ValueError("leeway must be between 0 and 300 seconds")


def _numeric_date(claims: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required or name in claims:  # present-but-null is malformed, not absent
            raise InvalidToken(f"{name} missing")
        return None
    # The issuer writes integers; bool is an int subclass in Python and must not pass.
    if type(value) is not int:
        raise InvalidToken(f"{name} is not an integer NumericDate")
    return value


def _string(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_STRING_CLAIM:
        raise InvalidToken(f"{name} missing or not a string")
    return value


def _check_audience(aud: object, expected: str) -> None:
    if isinstance(aud, list):
        if len(aud) != 1:
            raise InvalidToken("aud names more than one audience")
        aud = aud[0]
    if not isinstance(aud, str) or aud != expected:
        raise InvalidToken("aud does not name this service")


def check_claims(claims: Mapping[str, Any], policy: ClaimPolicy, now: float) -> None:
    """Raise :class:`InvalidToken` unless every claim rule holds at time ``now``."""
    # Issuer: exact, case-sensitive string comparison (RFC 7519 §4.1.1, RFC 8414 §3.3).
    iss = claims.get("iss")
    if not isinstance(iss, str) or iss != policy.issuer:
        raise InvalidToken("iss mismatch")
    if "aud" not in claims:
        raise InvalidToken("aud missing")
    _check_audience(claims["aud"], policy.audience)

    # Time (RFC 7519 §4.1.4-4.1.6): exp required; nbf honoured when present; iat sanity.
    exp = _numeric_date(claims, "exp", required=True)
    if exp is not None and now >= exp + policy.leeway:
        raise InvalidToken("token expired")
    nbf = _numeric_date(claims, "nbf", required=False)
    if nbf is not None and now + policy.leeway < nbf:
        raise InvalidToken("token not yet valid")
    iat = _numeric_date(claims, "iat", required=True)  # RFC 9068 §2.2 makes iat required
    if iat is not None and now + policy.leeway < iat:
        raise InvalidToken("token issued in the future")

    for name in ("sub", "client_id", "jti", "sid"):
        _string(claims, name)
    kind = claims.get("kind")
    # isinstance first: ``[..] in frozenset`` raises TypeError (unhashable), not False.
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidToken("kind missing or unknown")

    permissions = claims.get("permissions")
    if (
        not isinstance(permissions, list)
        or len(permissions) > MAX_PERMISSIONS
        or not all(isinstance(p, str) and 0 < len(p) <= MAX_STRING_CLAIM for p in permissions)
    ):
        raise InvalidToken("permissions is not a list of strings")

    if "tenant" in claims:
        _string(claims, "tenant")
    elif kind in _TENANT_BOUND_KINDS:
        raise InvalidToken("tenant-bound kind without tenant")
