"""`grant_type=refresh_token` with rotation and reuse detection (RFC 6749 §6, RFC 9700 §4.14).

Every refresh re-reads the account and its grant, so a removed grant or a
disabled account stops the family at once.  Rotation is one conditional UPDATE:
of N concurrent presentations exactly one wins; the others are reuse, and reuse
revokes the whole family — including the token the winner just received.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from ..domain.accounts import AccountKind, Client
from ..domain.errors import InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget
from ..domain.opaque_tokens import digest_opaque_token, looks_like_opaque_token, new_opaque_token
from ..domain.permissions import fixed_permissions
from ..domain.tenant_refs import RefStatus
from . import audit_events
from .context import Caller, Deps
from .issuance import TokenResponse, access_token_for, refresh_policy, tenant_view
from .records import RefreshContext, RefreshToken, RefreshView


async def refresh_tokens(
    deps: Deps, client: Client, form: Mapping[str, str], caller: Caller
) -> TokenResponse:
    presented = form.get("refresh_token", "")
    if not presented:
        raise InvalidRequest("refresh_token is required")
    if form.get("scope"):
        raise InvalidScope("a refresh cannot change or widen the scope")
    if not looks_like_opaque_token(presented):
        raise InvalidGrant("malformed refresh token")
    # One read: token, family, session, account, FI state and admin grant (a snapshot).
    context = await deps.store.refresh_context(digest_opaque_token(presented))
    if context is None:
        raise InvalidGrant("unknown refresh token")
    view = context.view
    await _check_usable(deps, client, view, caller)
    await _check_requested_tenant(deps, view, form.get("tenant"))
    family, now = view.family, deps.now()
    account = context.account
    permissions = _current_permissions(context, family.tenant_id)
    if permissions is not None and family.ceiling is not None:
        # Re-read the grant, but never beyond what the family was born with; losing all of
        # it (e.g. reporting:view for an SSO-born session) ends the family.
        permissions = permissions & family.ceiling or None
    if account is None or not account.active or permissions is None:
        await deps.store.revoke_family(family.id, now)
        await _refused(deps, caller, view, "account disabled or grant removed")

    new_token = new_opaque_token()
    policy = refresh_policy(deps)
    record = RefreshToken(
        digest_opaque_token(new_token), family.id, now, policy.token_deadline(now, family.deadline)
    )
    # Rotation and its audit event commit together: one transaction per refresh.
    refreshed = deps.audit_event(
        audit_events.TOKEN_REFRESHED,
        caller,
        account_id=account.id,
        client_id=client.client_id,
        tenant_id=family.tenant_id,
        session_id=family.session_id,
    )
    if not await deps.store.rotate_refresh_token(view.token.digest, record, now, audit=refreshed):
        await _reuse_detected(deps, caller, view)
    access, ttl = await access_token_for(
        deps, account, client, family.session_id, family.tenant_id, permissions
    )
    extra = {"tenant": await tenant_view(deps, family.tenant_id)} if family.tenant_id else {}
    return TokenResponse(access, ttl, refresh_token=new_token, extra=extra)


async def _check_usable(deps: Deps, client: Client, view: RefreshView, caller: Caller) -> None:
    now = deps.now()
    if view.family.client_id != client.client_id:
        # A token in the wrong hands: end the family (RFC 9700 §4.14.2).
        await deps.store.revoke_family(view.family.id, now)
        await _refused(deps, caller, view, "presented by another client")
    if view.family_revoked or view.session_revoked:
        await _refused(deps, caller, view, "family or session revoked")
    if view.rotated_at is not None:
        await _reuse_detected(deps, caller, view)
    if now > view.token.expires_at or now > view.family.deadline:
        await _refused(deps, caller, view, "expired")


async def _check_requested_tenant(deps: Deps, view: RefreshView, requested: str | None) -> None:
    if requested is None:
        return
    tenant_id, status = await deps.resolve_ref(requested)
    if status is RefStatus.UNKNOWN or tenant_id != view.family.tenant_id:
        raise InvalidTarget("a refresh cannot move to another tenant")


def _current_permissions(context: RefreshContext, tenant_id: int | None) -> frozenset[str] | None:
    """What the account may do now on the family's FI (``None``: nothing, end the family):
    an admin's grant on an active FI, or an employee's or customer's fixed permissions
    on the active FI they belong to; an unscoped family is an admin's only."""
    account = context.account
    if account is None:
        return None
    if tenant_id is None:
        return frozenset() if account.kind is AccountKind.ADMIN else None
    if account.kind is AccountKind.ADMIN:
        active = context.tenant_active and account.active
        return context.admin_grant if active else None
    if not context.tenant_active or account.tenant_id != tenant_id:
        return None
    return fixed_permissions(account)


async def _reuse_detected(deps: Deps, caller: Caller, view: RefreshView) -> NoReturn:
    await deps.store.revoke_family(view.family.id, deps.now())
    await deps.audit(
        audit_events.REFRESH_REUSED,
        caller,
        account_id=view.family.account_id,
        client_id=view.family.client_id,
        tenant_id=view.family.tenant_id,
        session_id=view.family.session_id,
    )
    raise InvalidGrant("refresh token reused; family revoked")


async def _refused(deps: Deps, caller: Caller, view: RefreshView, reason: str) -> NoReturn:
    await deps.audit(
        audit_events.REFRESH_REFUSED,
        caller,
        account_id=view.family.account_id,
        client_id=view.family.client_id,
        tenant_id=view.family.tenant_id,
        session_id=view.family.session_id,
        reason=reason,
    )
    raise InvalidGrant(reason)
