"""PostgreSQL row-level security: the database enforces the tenant even when a query forgets.

These tests connect as the application role (not a superuser, no BYPASSRLS) and run raw SQL
*without* any tenant filter, which is exactly the bug RLS exists to contain.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.rls import create_app_role
from tenantgate.banking.schema import TENANT_TABLES
from tenantgate.banking.scope import tenant_transaction

from .conftest import NewTenant, SeedCustomer, Target

pytestmark = pytest.mark.anyio


@pytest.fixture
def postgres_only(prepared: Target) -> Target:
    if prepared.kind != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; SQLite relies on the explicit filter")
    return prepared


async def test_app_role_is_bound_by_rls(postgres_only: Target, app_engine: AsyncEngine) -> None:
    async with app_engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        assert tuple(row) == (False, False)
        forced = (
            await conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'"
                )
            )
        ).all()
    assert {name for name, enabled, force in forced if enabled and force} == {
        t.name for t in TENANT_TABLES
    }


async def test_unfiltered_query_sees_only_the_bound_tenant(
    postgres_only: Target,
    app_engine: AsyncEngine,
    new_tenant: NewTenant,
    seed_customer: SeedCustomer,
) -> None:
    a, b = await new_tenant(), await new_tenant()
    await seed_customer(a, 1_000, name="Alice A")
    await seed_customer(a, 2_000, name="Andy A")
    await seed_customer(b, 3_000, name="Bob B")

    async with tenant_transaction(app_engine, a) as conn:
        tenants = (await conn.execute(text("SELECT tenant_id FROM customers"))).scalars().all()
        balances = (await conn.execute(text("SELECT balance FROM accounts"))).scalars().all()
    assert sorted(tenants) == [a.tenant_id, a.tenant_id]
    assert sorted(balances) == [1_000, 2_000]

    # No tenant bound: nothing at all, on a fresh connection...
    async with app_engine.connect() as conn:
        for table in TENANT_TABLES:
            count = await conn.scalar(text(f"SELECT count(*) FROM {table.name}"))  # noqa: S608
            assert count == 0, table.name
    # ...and on a pooled connection that served a tenant before (the setting reads '' then).
    async with app_engine.connect() as conn:
        async with conn.begin():
            await conn.execute(
                text("SELECT set_config('tenantgate.tenant_id', :v, true)"), {"v": str(a.tenant_id)}
            )
            assert await conn.scalar(text("SELECT count(*) FROM customers")) == 2
        assert await conn.scalar(text("SELECT count(*) FROM customers")) == 0


async def test_writes_for_another_tenant_are_rejected(
    postgres_only: Target,
    app_engine: AsyncEngine,
    new_tenant: NewTenant,
    seed_customer: SeedCustomer,
) -> None:
    a, b = await new_tenant(), await new_tenant()
    b_customer, _ = await seed_customer(b, 5_000)
    with pytest.raises(DBAPIError, match="row-level security"):
        async with tenant_transaction(app_engine, a) as conn:
            await conn.execute(
                text(
                    "INSERT INTO customers (tenant_id, public_id, full_name, email, status, "
                    "created_at) VALUES (:t, 'cus_x', 'Mallory', 'm@example.com', 'active', now())"
                ),
                {"t": b.tenant_id},
            )
    async with tenant_transaction(app_engine, a) as conn:
        changed = await conn.execute(text("UPDATE customers SET status = 'locked'"))
        assert changed.rowcount == 0
    async with tenant_transaction(app_engine, b) as conn:
        status = await conn.scalar(
            text("SELECT status FROM customers WHERE public_id = :p"),
            {"p": b_customer.public_id},
        )
    assert status == "active"


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM transactions",
        "UPDATE transactions SET amount = 1",
        "UPDATE accounts SET customer_id = 1",
        "DELETE FROM customers",
        "INSERT INTO institutions (tenant_id, name) VALUES (1, 'x')",
        "ALTER TABLE customers DISABLE ROW LEVEL SECURITY",
        "SET session_replication_role = replica",
    ],
)
async def test_app_role_has_least_privilege(
    postgres_only: Target, app_engine: AsyncEngine, new_tenant: NewTenant, statement: str
) -> None:
    scope = await new_tenant()
    with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
        async with tenant_transaction(app_engine, scope) as conn:
            await conn.execute(text(statement))


async def test_role_names_are_validated(postgres_only: Target, owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        for bad in ("Robert'); DROP TABLE customers; --", "UPPER", "", "a" * 64):
            with pytest.raises(ValueError, match="identifier"):
                await create_app_role(conn, bad)
