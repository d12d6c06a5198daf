"""Token introspection (RFC 7662).  A client learns only about tokens issued to it:
anything expired, revoked, malformed or foreign is just `{"active": false}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.accounts import Client
from ..domain.errors import InvalidRequest
from ..domain.opaque_tokens import digest_opaque_token, looks_like_opaque_token
from .bearer import TokenNotAccepted, accept_access_token
from .context import Deps

INACTIVE: dict[str, Any] = {"active": False}


async def introspect_token(deps: Deps, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    token = form.get("token", "")
    if not token:
        raise InvalidRequest("token is required")
    if token.count(".") == 2:
        return await _introspect_access_token(deps, client, token)
    if looks_like_opaque_token(token):
        return await _introspect_refresh_token(deps, client, token)
    return INACTIVE


async def _introspect_access_token(deps: Deps, client: Client, token: str) -> dict[str, Any]:
    try:
        accepted = await accept_access_token(deps, token)
    except TokenNotAccepted:
        return INACTIVE
    claims = accepted.claims
    if claims.client_id != client.client_id and claims.audience != client.audience:
        return INACTIVE
    body: dict[str, Any] = {"active": True, "token_type": "Bearer", **claims.as_claims()}
    body["scope"] = " ".join(claims.permissions)
    return body


async def _introspect_refresh_token(deps: Deps, client: Client, token: str) -> dict[str, Any]:
    view = await deps.store.refresh_token(digest_opaque_token(token))
    now = deps.now()
    if (
        view is None
        or view.family.client_id != client.client_id
        or view.family_revoked
        or view.session_revoked
        or view.rotated_at is not None
        or now > view.token.expires_at
    ):
        return INACTIVE
    account = await deps.store.account_by_id(view.family.account_id)
    if account is None or not account.active:
        return INACTIVE
    body: dict[str, Any] = {
        "active": True,
        "token_type": "refresh_token",
        "client_id": client.client_id,
        "sub": account.subject,
        "sid": view.family.session_id,
        "iss": deps.config.issuer,
        "exp": int(view.token.expires_at),
        "iat": int(view.token.issued_at),
    }
    if view.family.tenant_id is not None:
        body["tenant"] = await deps.current_ref(view.family.tenant_id)
    return body
