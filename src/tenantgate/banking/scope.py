"""The tenant a unit of work acts for, and the transaction that enforces it.

A ``TenantScope`` is built by the composition root from a *verified* access token (the identity
server's internal tenant id behind the token's tenant ref). No banking function accepts a bare
tenant id or reads one from a request: every function takes a scope, filters every statement by
``scope.tenant_id`` itself, and runs inside ``tenant_transaction`` which, on PostgreSQL, also tells
row-level security which tenant this transaction belongs to. Two independent guards: a forgotten
filter in the code is still caught by the database, and a misconfigured database role is still
caught by the code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

#: The PostgreSQL setting the RLS policies read (see rls.py). Custom settings need a dot.
TENANT_SETTING = "tenantgate.tenant_id"

# PostgreSQL bigint range: tenant ids are stored as BIGINT everywhere.
_MAX_TENANT_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class TenantScope:
    """The FI (tenant) a request acts for, taken from a verified token — never from user input."""

    tenant_id: int

    def __post_init__(self) -> None:
        # bool is an int subclass; True as a tenant id is always a bug upstream.
        if isinstance(self.tenant_id, bool) or not isinstance(self.tenant_id, int):
            raise TypeError("tenant_id must be an int")
        if not 0 < self.tenant_id <= _MAX_TENANT_ID:
            raise ValueError("tenant_id must be a positive 64-bit integer")

    def __repr__(self) -> str:
        return f"TenantScope(tenant_id={self.tenant_id})"


def is_postgresql(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


async def bind_tenant(conn: AsyncConnection, scope: TenantScope) -> None:
    """Tell PostgreSQL's RLS policies which tenant the *current transaction* acts for.

    ``set_config(..., true)`` is transaction-local: it ends with COMMIT/ROLLBACK, so a pooled
    connection can never carry one request's tenant into the next request.
    """
    if is_postgresql(conn):
        await conn.execute(
            text("SELECT set_config(:name, :value, true)"),
            {"name": TENANT_SETTING, "value": str(scope.tenant_id)},
        )


@asynccontextmanager
async def tenant_transaction(
    engine: AsyncEngine, scope: TenantScope
) -> AsyncIterator[AsyncConnection]:
    """Begin a transaction bound to ``scope``; commit on success, roll back on any exception."""
    async with engine.begin() as conn:
        await bind_tenant(conn, scope)
        yield conn
