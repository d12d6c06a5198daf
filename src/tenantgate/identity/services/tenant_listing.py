"""`GET /tenants`: the FIs an admin may select, by their current refs only."""

from __future__ import annotations

from ..domain.accounts import AccountKind
from ..domain.errors import InsufficientScope, InvalidToken
from .bearer import TokenNotAccepted, accept_access_token
from .context import Deps


async def list_selectable_tenants(
    deps: Deps, bearer_token: str, audiences: tuple[str, ...]
) -> list[dict[str, str]]:
    try:
        accepted = await accept_access_token(deps, bearer_token, audiences=audiences)
    except TokenNotAccepted as exc:
        raise InvalidToken(str(exc)) from exc
    if accepted.account.kind is not AccountKind.ADMIN:
        raise InsufficientScope("only admins select tenants")
    tenants = await deps.store.admin_tenants(accepted.account.id)
    return [
        {"ref": await deps.current_ref(tenant.id), "name": tenant.name}
        for tenant in sorted(tenants, key=lambda t: t.name)
    ]
