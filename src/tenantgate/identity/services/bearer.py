"""Accepting the identity server's own access tokens: as a Bearer credential
(`GET /tenants`), as a token-exchange `subject_token`, and for introspection.

Beyond the signature and claim checks this re-reads live state, so that
entitlement changes take effect at once here: the token's session must be active,
its `jti` not revoked, its account active, and for an admin the token's FI must
still be the FI the session acts on (a token from before a switch is dead).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..domain.access_tokens import AccessTokenClaims, AccessTokenRejected, verify_access_token
from ..domain.accounts import Account, AccountKind
from ..domain.tenant_refs import RefStatus
from .context import Deps
from .records import Session


class TokenNotAccepted(Exception):
    """Private reason in the message."""


@dataclass(frozen=True, slots=True)
class AcceptedToken:
    claims: AccessTokenClaims
    account: Account
    session: Session
    tenant_id: int | None
    # An admin's FI-scoped token: the admin's grant on that FI as it is now, read with the
    # session (``admin_permissions`` would answer the same); None otherwise.
    tenant_grant: frozenset[str] | None = None
    # An admin's token accepted with ``grant_on``: the admin's grant on that FI, likewise.
    grant_on_target: frozenset[str] | None = None


async def accept_access_token(
    deps: Deps, token: str, *, audiences: Collection[str] | None = None
) -> AcceptedToken:
    return await accept_verified(deps, await verify_subject(deps, token, audiences))


async def accept_verified(
    deps: Deps, claims: AccessTokenClaims, *, grant_on: int | None = None
) -> AcceptedToken:
    """The second half: the live state re-checked in one read.  With *grant_on* (an
    admin's token), ``AcceptedToken.grant_on_target`` is the admin's grant on that FI,
    read with the rest."""
    state = await deps.store.bearer_state(claims.jwt_id, claims.session_id, grant_on)
    if state is None:
        raise TokenNotAccepted("session ended")
    if state.jti_revoked:
        raise TokenNotAccepted("revoked jti")
    session, account = state.session, state.account
    if not session.active or session.client_id != claims.client_id:
        raise TokenNotAccepted("session ended")
    if not account.active or account.subject != claims.subject:
        raise TokenNotAccepted("account")
    tenant_id: int | None = None
    tenant_grant: frozenset[str] | None = None
    admin = account.kind is AccountKind.ADMIN
    if claims.tenant is not None:
        tenant_id, status = await deps.resolve_ref(claims.tenant)
        if status is RefStatus.UNKNOWN:
            raise TokenNotAccepted("tenant ref unknown")
        if admin and session.current_tenant_id != tenant_id:
            raise TokenNotAccepted("session now acts on another tenant")
        if admin and grant_on is None:
            tenant_grant = state.grant  # the grant on the session's FI: this one
        if not admin and account.tenant_id != tenant_id:
            raise TokenNotAccepted("tenant mismatch")
    elif not admin:
        raise TokenNotAccepted("unscoped token for a tenant-bound account")
    target_grant = state.grant if admin and grant_on is not None else None
    return AcceptedToken(claims, account, session, tenant_id, tenant_grant, target_grant)


async def verify_subject(
    deps: Deps, token: str, audiences: Collection[str] | None = None
) -> AccessTokenClaims:
    """The first half of :func:`accept_access_token`: signature and claims only, no
    state read; for a caller that has more to look up before :func:`accept_verified`."""
    await deps.keyring.refresh()
    for attempt in range(2):
        try:
            return verify_access_token(
                token,
                keys=deps.keyring.verification_key,
                issuer=deps.config.issuer,
                now=deps.now(),
                leeway=deps.config.leeway,
                audiences=audiences,
            )
        except AccessTokenRejected as exc:
            # Another instance may have rotated keys since our cache was filled.
            retry = str(exc) == "unknown kid" and attempt == 0
            if retry and await deps.keyring.refresh_for_unknown_kid():
                continue
            raise TokenNotAccepted(str(exc)) from exc
    raise TokenNotAccepted("unknown kid")
