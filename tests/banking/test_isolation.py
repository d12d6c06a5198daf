"""Tenant A's scope can neither see nor change tenant B's objects, whatever ids it presents."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.accounts import list_accounts_of_customer, recent_transactions
from tenantgate.banking.customers import (
    get_customer,
    link_customer_to_subject,
    list_customers,
    lock_customer,
    unlock_customer,
)
from tenantgate.banking.errors import TransferRefused, UnknownCustomer
from tenantgate.banking.institutions import get_institution
from tenantgate.banking.kpis import summarize
from tenantgate.banking.logins import record_login_event
from tenantgate.banking.schema import transactions
from tenantgate.banking.scope import TenantScope, tenant_transaction
from tenantgate.banking.transfers import transfer_between_own_accounts

from .conftest import NOW, NewTenant, SeedCustomer

pytestmark = pytest.mark.anyio


async def test_reads_of_another_tenants_objects_find_nothing(
    app_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    a, b = await new_tenant(), await new_tenant()
    await seed_customer(a, 10_000, name="Alice Anders")
    b_customer, b_accounts = await seed_customer(b, 50_000, 0, name="Bob Brown")

    assert await get_customer(app_engine, a, b_customer.public_id) is None
    assert await list_accounts_of_customer(app_engine, a, b_customer.public_id) == []
    assert await recent_transactions(app_engine, a, b_customer.public_id) == []
    page = await list_customers(app_engine, a, search="Bob")
    assert page.customers == []
    names = [c.full_name for c in (await list_customers(app_engine, a)).customers]
    assert names == ["Alice Anders"]
    institution = await get_institution(app_engine, a)
    assert institution is not None
    assert institution.tenant_id == a.tenant_id
    # B still sees its own.
    assert await get_customer(app_engine, b, b_customer.public_id) == b_customer
    assert len(await list_accounts_of_customer(app_engine, b, b_customer.public_id)) == 2
    assert b_accounts[0].balance_minor == 50_000


async def test_writes_to_another_tenants_objects_are_refused(
    app_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    a, b = await new_tenant(), await new_tenant()
    a_customer, _ = await seed_customer(a, 10_000)
    b_customer, (b_checking, b_savings) = await seed_customer(b, 50_000, 0)

    assert await lock_customer(app_engine, a, b_customer.public_id) is None
    assert await unlock_customer(app_engine, a, b_customer.public_id) is None
    assert await link_customer_to_subject(app_engine, a, b_customer.public_id, "sub-x") is None
    with pytest.raises(TransferRefused) as refused:
        await transfer_between_own_accounts(
            app_engine, a, b_customer.public_id, b_checking.public_id, b_savings.public_id, "10"
        )
    assert refused.value.reason == "unknown_account"
    # A's own customer cannot move B's money either.
    with pytest.raises(TransferRefused):
        await transfer_between_own_accounts(
            app_engine, a, a_customer.public_id, b_checking.public_id, b_savings.public_id, "10"
        )
    with pytest.raises(UnknownCustomer):
        await record_login_event(
            app_engine,
            a,
            actor_kind="customer",
            success=True,
            customer_public_id=b_customer.public_id,
            now=NOW,
        )

    untouched = await get_customer(app_engine, b, b_customer.public_id)
    assert untouched is not None
    assert untouched.status == "active"
    assert untouched.subject is None
    balances = [
        x.balance_minor
        for x in await list_accounts_of_customer(app_engine, b, b_customer.public_id)
    ]
    assert balances == [50_000, 0]
    kpis = await summarize(app_engine, a, NOW.date(), NOW.date())
    assert kpis.logins == 0


async def test_explicit_filter_holds_even_without_rls(
    owner_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    """The owner connection bypasses RLS (superuser in tests); the code's filter still holds."""
    a, b = await new_tenant(), await new_tenant()
    b_customer, _ = await seed_customer(b, 1_000)
    assert await get_customer(owner_engine, a, b_customer.public_id) is None
    async with tenant_transaction(owner_engine, a) as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(transactions)
            .where(transactions.c.tenant_id == a.tenant_id)
        )
    assert count == 0


@pytest.mark.parametrize(
    "junk",
    ["", "cus_", "cus_" + "z" * 32, "1", "' OR 1=1 --", "cus_" + "0" * 31, "x" * 5000],
)
async def test_junk_public_ids_find_nothing(
    app_engine: AsyncEngine, new_tenant: NewTenant, junk: str
) -> None:
    scope = await new_tenant()
    assert await get_customer(app_engine, scope, junk) is None
    assert await lock_customer(app_engine, scope, junk) is None
    assert await list_accounts_of_customer(app_engine, scope, junk) == []


def test_scope_accepts_only_positive_integers() -> None:
    for bad in (0, -1, 2**63):
        with pytest.raises(ValueError, match="positive"):
            TenantScope(bad)
    for wrong in (True, "1", 1.0):
        with pytest.raises(TypeError):
            TenantScope(wrong)  # type: ignore[arg-type]
