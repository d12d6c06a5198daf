"""Token exchange (RFC 8693): one grant type, three hops told apart by token types.

| subject_token_type | requested_token_type | hop            |
|--------------------|----------------------|----------------|
| access_token       | (absent/access)      | select tenant  |
| access_token       | tenantgate sso       | mint SSO       |
| tenantgate sso     | (absent/access)      | redeem SSO     |
"""

from __future__ import annotations

from collections.abc import Mapping

from ..domain.accounts import Client
from ..domain.errors import InvalidRequest, UnsupportedTokenType
from ..domain.sso_tokens import SSO_TOKEN_TYPE_URN
from .context import Caller, Deps
from .issuance import ACCESS_TOKEN_TYPE_URN, TokenResponse
from .sso import mint_sso_token, redeem_sso_token
from .tenant_selection import select_tenant

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"


async def exchange_token(
    deps: Deps, client: Client, form: Mapping[str, str], caller: Caller
) -> TokenResponse:
    subject_type = form.get("subject_token_type", "")
    requested = form.get("requested_token_type") or ACCESS_TOKEN_TYPE_URN
    if not form.get("subject_token"):
        raise InvalidRequest("subject_token is required")
    if form.get("actor_token") or form.get("actor_token_type"):
        raise InvalidRequest("delegation (actor_token) is not supported")
    if subject_type == ACCESS_TOKEN_TYPE_URN and requested == ACCESS_TOKEN_TYPE_URN:
        return await select_tenant(deps, client, form, caller)
    if subject_type == ACCESS_TOKEN_TYPE_URN and requested == SSO_TOKEN_TYPE_URN:
        return await mint_sso_token(deps, client, form, caller)
    if subject_type == SSO_TOKEN_TYPE_URN and requested == ACCESS_TOKEN_TYPE_URN:
        return await redeem_sso_token(deps, client, form, caller)
    if not subject_type:
        raise InvalidRequest("subject_token_type is required")
    raise UnsupportedTokenType(f"exchange {subject_type[:80]!r} -> {requested[:80]!r}")
