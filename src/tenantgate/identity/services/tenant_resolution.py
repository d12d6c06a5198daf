"""Resolving a tenant ref for a portal backend.

Refs are all a browser or token ever names; a confidential client (a portal
backend) asks here which internal FI a ref denotes, to scope its own data
queries.  The answer says whether the ref is current or stale, and the current
ref, so the backend can tell a page "refresh" instead of "not found"."""

from __future__ import annotations

from typing import Any

from ..domain.accounts import Client
from ..domain.errors import InvalidRequest, InvalidTarget
from ..domain.tenant_refs import RefStatus, looks_like_tenant_ref
from .context import Deps


async def resolve_tenant_ref(deps: Deps, client: Client, ref: str) -> dict[str, Any]:
    del client  # any authenticated portal backend may resolve refs
    if not ref:
        raise InvalidRequest("ref is required")
    tenant_id, status = (
        await deps.resolve_ref(ref) if looks_like_tenant_ref(ref) else (0, RefStatus.UNKNOWN)
    )
    tenant = await deps.store.tenant_by_id(tenant_id) if status is not RefStatus.UNKNOWN else None
    if tenant is None or not tenant.active:
        raise InvalidTarget("unknown tenant ref")
    return {
        "tenant_id": tenant.id,
        "name": tenant.name,
        "status": status.value,
        "current_ref": await deps.current_ref(tenant.id),
    }
