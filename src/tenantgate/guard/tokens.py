"""The verified token and the authorization helpers that read it.

A :class:`VerifiedToken` only ever comes out of :class:`~tenantgate.guard.verify.TokenVerifier`,
after signature and claim checks. It is immutable all the way down, so a handler cannot widen
its own permissions or tenant by editing what it was given.

The tenant a request acts on comes only from the token (SECURITY.md; ASVS 8.2.2, 8.4.1). A
tenant named anywhere in the request - path, query, body, header - is checked against it
with :func:`require_tenant`, never used instead of it.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, cast

from tenantgate.guard.errors import InsufficientScope, TenantMismatch

from .errors import InvalidToken

__all__ = [
    "Kind",
    "VerifiedToken",
    "freeze",
    "require_permission",
    "require_tenant",
    "require_tenant_scoped",
]

Kind = Literal["admin", "employee", "customer"]


MAX_CLAIM_DEPTH = 32
_CONTAINERS = (dict, list)  # what decoded JSON nests; everything else is a scalar


def freeze(value: Any, depth: int = 0) -> Any:
    """Deep-immutable copy of decoded JSON: objects become read-only mappings, lists tuples."""
    # Claims nested deeper than any real token would exhaust the stack; refuse them cleanly.
    if depth > MAX_CLAIM_DEPTH:
        raise InvalidToken("claims nested too deeply")
    # Recurse only into containers: most claims are scalars, and this runs per token.
    if isinstance(value, dict):
        return MappingProxyType(
            {k: freeze(v, depth + 1) if isinstance(v, _CONTAINERS) else v for k, v in value.items()}
        )
    if isinstance(value, list):
        return tuple(freeze(v, depth + 1) if isinstance(v, _CONTAINERS) else v for v in value)
    return value


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """An access token whose signature, issuer, audience, type and lifetime were checked."""

    subject: str
    kind: Kind
    client_id: str
    session_id: str
    tenant_ref: str | None  # None only on an unscoped admin token
    permissions: frozenset[str]
    expires_at: int
    jti: str
    claims: Mapping[str, Any]  # read-only copy of every claim, for what is not modelled

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> VerifiedToken:
        """Build from claims that :func:`~tenantgate.guard.claims.check_claims` accepted."""
        return cls._build(claims, freeze(claims if isinstance(claims, dict) else dict(claims)))

    @classmethod
    def from_owned_claims(cls, claims: dict[str, Any]) -> VerifiedToken:
        """Like :meth:`from_claims` for a dict nobody else holds (just decoded): its nested
        containers are frozen in place and the dict itself is wrapped, not copied."""
        for name, value in claims.items():
            if type(value) is list:
                # The common shape (``permissions``, a one-element ``aud``): a flat list of
                # strings becomes a tuple in one C call instead of a generator through freeze.
                for item in value:
                    if isinstance(item, _CONTAINERS):
                        claims[name] = freeze(value, 1)
                        break
                else:
                    claims[name] = tuple(value)
            elif isinstance(value, _CONTAINERS):
                claims[name] = freeze(value, 1)
        return cls._build(claims, MappingProxyType(claims))

    @classmethod
    def _build(cls, claims: Mapping[str, Any], frozen: Mapping[str, Any]) -> VerifiedToken:
        return cls(
            subject=claims["sub"],
            kind=cast(Kind, claims["kind"]),
            client_id=claims["client_id"],
            session_id=claims["sid"],
            tenant_ref=claims.get("tenant"),
            permissions=frozenset(claims["permissions"]),
            expires_at=claims["exp"],
            jti=claims["jti"],
            claims=frozen,
        )

    @property
    def is_tenant_scoped(self) -> bool:
        return self.tenant_ref is not None

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions


def require_permission(token: VerifiedToken, *permissions: str) -> None:
    """Refuse with :class:`InsufficientScope` unless the token holds every permission named."""
    if not permissions:
        raise ValueError("name at least one permission")  # a call bug, not a refusal
    for permission in permissions:
        if permission not in token.permissions:
            raise InsufficientScope(
                f"permission {permission!r} not held by sub={token.subject}", scope=permission
            )


def require_tenant_scoped(token: VerifiedToken) -> str:
    """Return the token's tenant ref, or refuse an unscoped (admin-only) token."""
    if token.tenant_ref is None:
        raise TenantMismatch(f"unscoped token for sub={token.subject} on a tenant route")
    return token.tenant_ref


def require_tenant(token: VerifiedToken, ref: object) -> str:
    """Refuse unless ``ref`` - a tenant named by the request - is the token's own tenant.

    ``ref`` is typed ``object`` because it comes straight from untrusted input (a query
    parameter may be a list, a JSON body may hold a number); anything but the exact same
    string is refused. Returns the token's tenant ref.
    """
    own = require_tenant_scoped(token)
    # compare_digest: equal-time comparison so a caller cannot probe the ref byte by byte.
    if not isinstance(ref, str) or not hmac.compare_digest(
        ref.encode("utf-8", "surrogatepass"), own.encode("utf-8")
    ):
        raise TenantMismatch(f"request names another tenant than the token ({own})")
    return own
