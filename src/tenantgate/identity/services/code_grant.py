"""`grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6)."""

from __future__ import annotations

from collections.abc import Mapping

from ..domain.accounts import AccountKind, Client
from ..domain.errors import InvalidGrant, InvalidRequest
from ..domain.opaque_tokens import digest_opaque_token, looks_like_opaque_token
from ..domain.permissions import fixed_permissions
from ..domain.pkce import verifier_matches
from . import audit_events
from .context import Caller, Deps
from .issuance import TokenResponse, access_token_for, new_session, start_refresh_family


async def exchange_code(
    deps: Deps, client: Client, form: Mapping[str, str], caller: Caller
) -> TokenResponse:
    code, verifier = form.get("code", ""), form.get("code_verifier", "")
    redirect_uri = form.get("redirect_uri", "")
    if not code or not verifier or not redirect_uri:
        raise InvalidRequest("code, code_verifier and redirect_uri are required")
    if not looks_like_opaque_token(code):
        raise InvalidGrant("malformed code")
    # Single use first: a second presentation fails even if everything else is wrong.
    use = await deps.store.use_code(digest_opaque_token(code), deps.now())
    if use is None:
        raise InvalidGrant("unknown code")
    issued = use.code
    if not use.first_use:
        # RFC 6749 §4.1.2: revoke what the first redemption produced.
        if use.session_id is not None:
            await deps.store.revoke_session(use.session_id, deps.now())
        await deps.audit(
            audit_events.CODE_REUSED,
            caller,
            account_id=issued.account_id,
            client_id=client.client_id,
            session_id=use.session_id,
        )
        raise InvalidGrant("authorization code reused")
    if issued.client_id != client.client_id:
        raise InvalidGrant("code issued to another client")
    if deps.now() > issued.expires_at:
        raise InvalidGrant("code expired")
    if redirect_uri != issued.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the authorization request")
    if not verifier_matches(verifier, issued.code_challenge):
        raise InvalidGrant("PKCE verification failed")
    account = await deps.store.account_by_id(issued.account_id)
    if account is None or not account.active or not client.admits(account.kind):
        raise InvalidGrant("account no longer usable")

    tenant_id = None if account.kind is AccountKind.ADMIN else account.tenant_id
    session = await new_session(deps, account, client, tenant_id)
    await deps.store.bind_code_to_session(issued.digest, session.id)
    permissions = fixed_permissions(account) if tenant_id is not None else frozenset()
    access, ttl = await access_token_for(deps, account, client, session.id, tenant_id, permissions)
    refresh = await start_refresh_family(deps, session, client, account, tenant_id)
    await deps.audit(
        audit_events.CODE_EXCHANGED,
        caller,
        account_id=account.id,
        client_id=client.client_id,
        tenant_id=tenant_id,
        session_id=session.id,
    )
    return TokenResponse(access, ttl, refresh_token=refresh)
