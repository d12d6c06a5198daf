"""Tenantgate guard: the relying-party library that verifies Tenantgate access tokens.

Written as a package of its own: it imports nothing else from ``tenantgate``.

Typical use in a portal backend::

    client = httpx.AsyncClient()
    keys = RemoteKeySet(await discover_jwks_uri(client, ISSUER), client)
    verifier = TokenVerifier(issuer=ISSUER, audience="reporting-portal", keys=keys)

    token = await verifier.verify(raw_bearer)      # InvalidToken on any failure
    require_permission(token, "reporting:view")     # InsufficientScope
    require_tenant(token, request_tenant_ref)       # TenantMismatch
"""

from __future__ import annotations

from tenantgate.guard.claims import ClaimPolicy
from tenantgate.guard.errors import (
    GuardError,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    KeySetUnavailable,
    MissingToken,
    TenantMismatch,
)
from tenantgate.guard.jwks import RemoteKeySet, StaticKeySource, discover_jwks_uri
from tenantgate.guard.keys import ED_DSA, ES256, KeySet, PublicKey
from tenantgate.guard.tokens import (
    VerifiedToken,
    require_permission,
    require_tenant,
    require_tenant_scoped,
)
from tenantgate.guard.verify import KeySource, TokenVerifier

__all__ = [
    "ED_DSA",
    "ES256",
    "ClaimPolicy",
    "GuardError",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidToken",
    "KeySet",
    "KeySetUnavailable",
    "KeySource",
    "MissingToken",
    "PublicKey",
    "RemoteKeySet",
    "StaticKeySource",
    "TenantMismatch",
    "TokenVerifier",
    "VerifiedToken",
    "discover_jwks_uri",
    "require_permission",
    "require_tenant",
    "require_tenant_scoped",
]
