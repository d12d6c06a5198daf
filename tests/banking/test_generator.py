"""The demo data generator: deterministic, realistic shapes, rollups equal to the facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.accounts import list_accounts_of_customer
from tenantgate.banking.customers import list_customers
from tenantgate.banking.generator import generate
from tenantgate.banking.institutions import get_institution
from tenantgate.banking.kpis import summarize
from tenantgate.banking.plan import plan_bank
from tenantgate.banking.schema import accounts, transactions
from tenantgate.banking.scope import TenantScope, tenant_transaction
from tenantgate.banking.transfers import transfer_between_own_accounts
from tenantgate.banking.verification import compare_rollups_with_facts
from tenantgate.banking.vocabulary import institution_names

from .conftest import NewTenant

UNTIL = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)


def _plan(tenant_id: int, seed: int) -> object:
    return plan_bank(
        tenant_id,
        "Bank",
        customers=40,
        first_day=UNTIL.date() - timedelta(days=29),
        days=30,
        horizon_seconds=29 * 86_400 + 15 * 3_600,
        seed=seed,
    )


def test_plans_are_deterministic_per_seed_and_bank() -> None:
    assert _plan(7, seed=1) == _plan(7, seed=1)
    assert _plan(7, seed=1) != _plan(7, seed=2)
    assert _plan(7, seed=1) != _plan(8, seed=1)


def test_plans_look_like_banking() -> None:
    plan = plan_bank(
        1,
        "Bank",
        customers=300,
        first_day=UNTIL.date() - timedelta(days=89),
        days=90,
        horizon_seconds=90 * 86_400,
        seed=3,
    )
    assert len(plan.customers) == 300
    assert 300 <= len(plan.accounts) <= 900
    assert 15 <= len(plan.transactions) / 300 <= 25
    assert all(balance >= 0 for *_, balance in plan.accounts)
    assert len({c[0] for c in plan.customers}) == 300  # public ids are unique
    assert {kind for _, kind, *_ in plan.transactions} == {
        "card",
        "deposit",
        "fee",
        "transfer_in",
        "transfer_out",
        "withdrawal",
    }
    assert all(second < 90 * 86_400 for *_, second in plan.transactions)


def test_institution_names_are_distinct() -> None:
    names = institution_names(300)
    assert names[0] == "First Harbor Bank"
    assert len(set(names)) == 300


@pytest.mark.anyio
async def test_generated_data_is_consistent_and_rollups_equal_facts(
    owner_engine: AsyncEngine, app_engine: AsyncEngine, new_tenant: NewTenant
) -> None:
    # Tenant ids far from new_tenant's: the generator mirrors these institutions itself.
    base = (await new_tenant()).tenant_id + 500_000
    first, second = TenantScope(base), TenantScope(base + 1)
    report = await generate(
        owner_engine,
        [(first.tenant_id, "Gen Bank A"), (second.tenant_id, "Gen Bank B")],
        customers_per_bank=25,
        days=20,
        until=UNTIL,
        seed=11,
    )
    assert report.banks == 2
    assert report.customers == 50
    assert report.transactions > 0
    start = UNTIL.date() - timedelta(days=19)
    for scope in (first, second):
        assert await compare_rollups_with_facts(app_engine, scope, start, UNTIL.date()) == []
        kpis = await summarize(app_engine, scope, start, UNTIL.date())
        assert kpis.transactions > 0
        assert kpis.logins > 0
        assert 0 < kpis.active_customers <= 25
    institution = await get_institution(app_engine, first)
    assert institution is not None
    assert institution.name == "Gen Bank A"

    async with tenant_transaction(app_engine, first) as conn:
        negative = await conn.scalar(
            select(func.count())
            .select_from(accounts)
            .where(accounts.c.tenant_id == first.tenant_id, accounts.c.balance < 0)
        )
        late = await conn.scalar(
            select(func.count())
            .select_from(transactions)
            .where(transactions.c.tenant_id == first.tenant_id, transactions.c.booked_at > UNTIL)
        )
    assert (negative, late) == (0, 0)

    # A transfer on top of generated data (identity ids must not collide) keeps them equal.
    page = await list_customers(app_engine, first, limit=200)
    for customer in page.customers:
        owned = await list_accounts_of_customer(app_engine, first, customer.public_id)
        if len(owned) >= 2 and owned[0].balance_minor >= 100 and not customer.is_locked:
            await transfer_between_own_accounts(
                app_engine,
                first,
                customer.public_id,
                owned[0].public_id,
                owned[1].public_id,
                "1.00",
                now=UNTIL,
            )
            break
    else:
        pytest.fail("no generated customer with two funded accounts")
    assert await compare_rollups_with_facts(app_engine, first, start, UNTIL.date()) == []

    with pytest.raises(ValueError, match="already has banking data"):
        await generate(
            owner_engine, [(first.tenant_id, "Again")], customers_per_bank=1, until=UNTIL
        )
