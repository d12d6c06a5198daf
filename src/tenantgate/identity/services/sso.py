"""Reporting SSO: mint a one-time encrypted token for an admin's current FI, and
redeem it — exactly once, by the client it names — for that client's own tokens.

Every refusal on redeem is the same `invalid_grant` (no oracle between expired,
replayed, tampered and foreign); the reason goes only to the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import NoReturn

from ..domain.accounts import AccountKind, Client
from ..domain.errors import InvalidGrant, InvalidTarget, UnauthorizedClient
from ..domain.permissions import REPORTING_PERMISSIONS, REPORTING_VIEW
from ..domain.sso_tokens import (
    SSO_TOKEN_TYPE_URN,
    SsoClaims,
    SsoTokenRefused,
    open_sso_token,
    seal_sso_token,
)
from . import audit_events
from .bearer import TokenNotAccepted, accept_access_token
from .context import Caller, Deps
from .issuance import (
    ACCESS_TOKEN_TYPE_URN,
    TokenResponse,
    access_token_for,
    open_session_with_family,
    tenant_view,
)
from .records import AuditEvent, Session

ONE_TIME_KIND = "sso"
SSO_REFUSED = "The SSO token is invalid, expired or already used."


async def mint_sso_token(
    deps: Deps, client: Client, form: Mapping[str, str], caller: Caller
) -> TokenResponse:
    audience = form.get("audience", "")
    if audience not in client.sso_audiences:
        raise UnauthorizedClient("this client may not mint SSO tokens for that audience")
    try:
        subject = await accept_access_token(
            deps, form["subject_token"], audiences=(client.audience,)
        )
    except TokenNotAccepted as exc:
        raise InvalidGrant(f"subject_token: {exc}") from exc
    account, tenant_id = subject.account, subject.tenant_id
    if subject.claims.client_id != client.client_id or account.kind is not AccountKind.ADMIN:
        raise InvalidGrant("subject_token is not an admin token of this client")
    if tenant_id is None:
        raise InvalidTarget("an unscoped admin token cannot open reporting")
    # Re-check now, not only from the token: the grant may have changed since it was issued
    # (read live with the token's session).
    permissions = subject.tenant_grant
    if not permissions or REPORTING_VIEW not in permissions:
        raise InvalidTarget("no reporting:view on this tenant")
    await deps.keyring.refresh()
    now = int(deps.now())
    claims = SsoClaims(
        issuer=deps.config.issuer,
        audience=audience,
        account_id=account.id,
        subject=account.subject,
        tenant_id=tenant_id,
        session_id=subject.session.id,
        minted_by=client.client_id,
        jwt_id=str(uuid.uuid4()),
        issued_at=now,
        expires_at=now + deps.config.sso_token_ttl,
    )
    token = seal_sso_token(claims, deps.keyring.sso_key())
    await deps.audit(
        audit_events.SSO_MINTED,
        caller,
        account_id=account.id,
        client_id=client.client_id,
        tenant_id=tenant_id,
        session_id=subject.session.id,
        jti=claims.jwt_id,
        audience=audience,
    )
    return TokenResponse(
        token,
        deps.config.sso_token_ttl,
        token_type="N_A",  # RFC 8693 §2.2.1: not a bearer credential for any API
        issued_token_type=SSO_TOKEN_TYPE_URN,
    )


async def redeem_sso_token(
    deps: Deps, client: Client, form: Mapping[str, str], caller: Caller
) -> TokenResponse:
    if not client.redeems_sso:
        await _refuse(deps, caller, client, "client may not redeem SSO tokens")
    claims = await _open(deps, client, form["subject_token"], caller)
    # The claim, and the admin's account and grant as they are right after it.
    claim = await deps.store.claim_with_grant(
        ONE_TIME_KIND,
        claims.jwt_id,
        client.client_id,
        deps.now(),
        claims.expires_at,
        account_id=claims.account_id,
        tenant_id=claims.tenant_id,
    )
    if (first := claim.first_claimant) is not None:
        await deps.audit(
            audit_events.SSO_REPLAY_REFUSED,
            caller,
            account_id=claims.account_id,
            client_id=client.client_id,
            tenant_id=claims.tenant_id,
            jti=claims.jwt_id,
            first_redeemed_by=first,
        )
        raise InvalidGrant("SSO token replayed", description=SSO_REFUSED)
    account, granted = claim.account, claim.grant
    if account is None or not account.active or account.kind is not AccountKind.ADMIN:
        await _refuse(deps, caller, client, "account unusable", claims)
    if not granted or REPORTING_VIEW not in granted:
        await _refuse(deps, caller, client, "grant removed since mint", claims)
    # Never wider than the admin's own grant on that FI (RFC 8693 §5).
    permissions = REPORTING_PERMISSIONS & granted

    def redeemed(session: Session) -> AuditEvent:
        return deps.audit_event(
            audit_events.SSO_REDEEMED,
            caller,
            account_id=account.id,
            client_id=client.client_id,
            tenant_id=claims.tenant_id,
            session_id=session.id,
            jti=claims.jwt_id,
            origin_session=claims.session_id,
        )

    # The reporting session, its refresh family and the audit event commit together.
    session, refresh = await open_session_with_family(
        deps, account, client, claims.tenant_id, ceiling=permissions, audit=redeemed
    )
    access, ttl = await access_token_for(
        deps, account, client, session.id, claims.tenant_id, permissions
    )
    return TokenResponse(
        access,
        ttl,
        refresh_token=refresh,
        issued_token_type=ACCESS_TOKEN_TYPE_URN,
        extra={"tenant": await tenant_view(deps, claims.tenant_id)},
    )


async def _open(deps: Deps, client: Client, token: str, caller: Caller) -> SsoClaims:
    await deps.keyring.refresh()
    try:
        return _open_with_cached_keys(deps, client, token)
    except SsoTokenRefused as exc:
        # Minted by an instance that rotated keys after our cache was filled?
        if str(exc) != "unknown kid" or not await deps.keyring.refresh_for_unknown_kid():
            await _refuse(deps, caller, client, str(exc))
    try:
        return _open_with_cached_keys(deps, client, token)
    except SsoTokenRefused as exc:
        await _refuse(deps, caller, client, str(exc))


def _open_with_cached_keys(deps: Deps, client: Client, token: str) -> SsoClaims:
    return open_sso_token(
        token,
        keys=deps.keyring.sso_opening_key,
        issuer=deps.config.issuer,
        audience=client.client_id,
        now=deps.now(),
        leeway=deps.config.leeway,
    )


async def _refuse(
    deps: Deps, caller: Caller, client: Client, reason: str, claims: SsoClaims | None = None
) -> NoReturn:
    await deps.audit(
        audit_events.SSO_REFUSED,
        caller,
        account_id=claims.account_id if claims else None,
        client_id=client.client_id,
        tenant_id=claims.tenant_id if claims else None,
        reason=reason,
    )
    raise InvalidGrant(reason, description=SSO_REFUSED)
