"""Token revocation (RFC 7009).  Unknown, malformed or foreign tokens get the same
200 as a successful revocation (§2.2), so the endpoint reveals nothing."""

from __future__ import annotations

from collections.abc import Mapping

from ..domain.accounts import Client
from ..domain.errors import InvalidRequest
from ..domain.opaque_tokens import digest_opaque_token, looks_like_opaque_token
from . import audit_events
from .bearer import TokenNotAccepted, accept_access_token
from .context import Caller, Deps


async def revoke_token(deps: Deps, client: Client, form: Mapping[str, str], caller: Caller) -> None:
    token = form.get("token", "")
    if not token:
        raise InvalidRequest("token is required")
    # The hint only orders the lookups (§2.1); both kinds are always tried.
    if token.count(".") == 2:
        await _revoke_access_token(deps, client, token, caller)
    elif looks_like_opaque_token(token):
        await _revoke_refresh_token(deps, client, token, caller)


async def _revoke_refresh_token(deps: Deps, client: Client, token: str, caller: Caller) -> None:
    view = await deps.store.refresh_token(digest_opaque_token(token))
    if view is None or view.family.client_id != client.client_id:
        return
    # Revoking a refresh token ends its whole session (CONTRACT §2).
    await deps.store.revoke_session(view.family.session_id, deps.now())
    await deps.audit(
        audit_events.TOKEN_REVOKED,
        caller,
        account_id=view.family.account_id,
        client_id=client.client_id,
        tenant_id=view.family.tenant_id,
        session_id=view.family.session_id,
        token_type="refresh_token",
    )


async def _revoke_access_token(deps: Deps, client: Client, token: str, caller: Caller) -> None:
    try:
        accepted = await accept_access_token(deps, token)
    except TokenNotAccepted:
        return
    if accepted.claims.client_id != client.client_id:
        return
    await deps.store.revoke_access_token(accepted.claims.jwt_id, accepted.claims.expires_at)
    await deps.audit(
        audit_events.TOKEN_REVOKED,
        caller,
        account_id=accepted.account.id,
        client_id=client.client_id,
        tenant_id=accepted.tenant_id,
        session_id=accepted.session.id,
        token_type="access_token",
        jti=accepted.claims.jwt_id,
    )
