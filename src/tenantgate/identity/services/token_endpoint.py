"""The token endpoint's dispatch table (RFC 6749 §3.2): one grant type, one use case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from ..domain.accounts import Client
from ..domain.errors import UnauthorizedClient, UnsupportedGrantType
from .code_grant import exchange_code
from .context import Caller, Deps
from .issuance import TokenResponse
from .refresh_grant import refresh_tokens
from .token_exchange import GRANT_TYPE as TOKEN_EXCHANGE
from .token_exchange import exchange_token

Grant = Callable[[Deps, Client, Mapping[str, str], Caller], Awaitable[TokenResponse]]

GRANTS: dict[str, Grant] = {
    "authorization_code": exchange_code,
    "refresh_token": refresh_tokens,
    TOKEN_EXCHANGE: exchange_token,
}


async def grant_tokens(
    deps: Deps, client: Client, form: Mapping[str, str], caller: Caller
) -> TokenResponse:
    grant_type = form.get("grant_type", "")
    grant = GRANTS.get(grant_type)
    if grant is None:
        # `password` lands here too: RFC 9700 §2.4 says it must not be used.
        raise UnsupportedGrantType(f"grant_type {grant_type[:64]!r}")
    if not client.allows_grant(grant_type):
        raise UnauthorizedClient(f"{client.client_id} may not use {grant_type}")
    return await grant(deps, client, form, caller)
