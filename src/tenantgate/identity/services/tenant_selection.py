"""Select tenant: an admin token in, a token scoped to one FI out (RFC 8693).

The admin session then acts on that FI only: the session's other tenant-scoped
refresh families are revoked and tokens minted for the previous FI stop being
accepted here (`bearer.accept_access_token`)."""

from __future__ import annotations

from collections.abc import Mapping

from ..domain.accounts import AccountKind, Client
from ..domain.errors import InvalidGrant, InvalidRequest, InvalidTarget, UnauthorizedClient
from ..domain.tenant_refs import RefStatus, looks_like_tenant_ref
from . import audit_events
from .bearer import TokenNotAccepted, accept_verified, verify_subject
from .context import Caller, Deps
from .issuance import (
    ACCESS_TOKEN_TYPE_URN,
    TokenResponse,
    access_token_for,
    start_refresh_family,
    tenant_view,
)


async def select_tenant(
    deps: Deps, client: Client, form: Mapping[str, str], caller: Caller
) -> TokenResponse:
    if not client.admits(AccountKind.ADMIN):
        raise UnauthorizedClient("this client serves no admins")
    ref = form.get("tenant", "")
    if not ref:
        raise InvalidRequest("tenant is required")
    try:
        # The signature first; then the ref, so that the state and the admin's grant on
        # that FI are read in one statement.
        claims = await verify_subject(deps, form["subject_token"], (client.audience,))
        tenant_id, status = (
            await deps.resolve_ref(ref) if looks_like_tenant_ref(ref) else (0, RefStatus.UNKNOWN)
        )
        known = status is not RefStatus.UNKNOWN
        subject = await accept_verified(deps, claims, grant_on=tenant_id if known else None)
    except TokenNotAccepted as exc:
        raise InvalidGrant(f"subject_token: {exc}") from exc
    if (
        subject.claims.client_id != client.client_id
        or subject.account.kind is not AccountKind.ADMIN
    ):
        raise InvalidGrant("subject_token is not an admin token of this client")
    # A stale ref still names its FI during the grace window; the answer carries the current one.
    permissions = subject.grant_on_target if known else None
    if not permissions:
        raise InvalidTarget("no grant on that tenant, or unknown tenant ref")
    account, session = subject.account, subject.session
    selected = deps.audit_event(
        audit_events.TENANT_SELECTED,
        caller,
        account_id=account.id,
        client_id=client.client_id,
        tenant_id=tenant_id,
        session_id=session.id,
    )
    # The switch and its audit event commit together.
    refresh = await start_refresh_family(
        deps, session, client, account, tenant_id, replaces_others=True, audit=selected
    )
    access, ttl = await access_token_for(deps, account, client, session.id, tenant_id, permissions)
    return TokenResponse(
        access,
        ttl,
        refresh_token=refresh,
        issued_token_type=ACCESS_TOKEN_TYPE_URN,
        extra={"tenant": await tenant_view(deps, tenant_id)},
    )
