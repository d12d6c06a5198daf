"""The mirror of the identity server's FIs: one row per tenant (internal id and name).

Banking never invents tenants. Provisioning (the demo seeder, or a sync from the identity server)
writes this table with a privileged connection; the apps' role may only read its own row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantgate.banking.schema import institutions
from tenantgate.banking.scope import TenantScope, tenant_transaction


@dataclass(frozen=True, slots=True)
class Institution:
    tenant_id: int
    name: str


async def upsert_institution_in(conn: AsyncConnection, scope: TenantScope, name: str) -> None:
    """Insert or rename the scope's institution inside an open tenant transaction."""
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise ValueError("institution name must be 1–200 characters")
    values = {"tenant_id": scope.tenant_id, "name": clean}
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(institutions).values(values)
        await conn.execute(
            pg.on_conflict_do_update(index_elements=["tenant_id"], set_={"name": clean})
        )
    else:
        lite = sqlite.insert(institutions).values(values)
        await conn.execute(
            lite.on_conflict_do_update(index_elements=["tenant_id"], set_={"name": clean})
        )


async def upsert_institution(engine: AsyncEngine, scope: TenantScope, name: str) -> None:
    """Mirror one FI (provisioning only: the apps' database role cannot write this table)."""
    async with tenant_transaction(engine, scope) as conn:
        await upsert_institution_in(conn, scope, name)


async def get_institution(engine: AsyncEngine, scope: TenantScope) -> Institution | None:
    """The scope's own FI, or ``None`` if it has not been mirrored yet."""
    async with tenant_transaction(engine, scope) as conn:
        row = (
            await conn.execute(
                select(institutions.c.tenant_id, institutions.c.name).where(
                    institutions.c.tenant_id == scope.tenant_id
                )
            )
        ).one_or_none()
    return None if row is None else Institution(tenant_id=row.tenant_id, name=row.name)
