"""Transfers between a customer's own accounts: atomic, no overdraft, clear refusals."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.accounts import list_accounts_of_customer, recent_transactions
from tenantgate.banking.customers import lock_customer, unlock_customer
from tenantgate.banking.errors import TransferRefused
from tenantgate.banking.kpis import summarize
from tenantgate.banking.schema import transactions
from tenantgate.banking.scope import TenantScope, tenant_transaction
from tenantgate.banking.transfers import TransferReceipt, transfer_between_own_accounts
from tenantgate.banking.verification import compare_rollups_with_facts

from .conftest import NOW, NewTenant, SeedCustomer
from .test_money import MALFORMED

pytestmark = pytest.mark.anyio


async def _balances(engine: AsyncEngine, scope: TenantScope, customer: str) -> list[int]:
    return [a.balance_minor for a in await list_accounts_of_customer(engine, scope, customer)]


async def _transaction_count(engine: AsyncEngine, scope: TenantScope) -> int:
    async with tenant_transaction(engine, scope) as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(transactions)
            .where(transactions.c.tenant_id == scope.tenant_id)
        )
    return int(count or 0)


async def test_transfer_moves_money_records_both_legs_and_shows_in_reporting(
    app_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    scope = await new_tenant()
    customer, (checking, savings) = await seed_customer(scope, 100_000, 5_000)
    receipt = await transfer_between_own_accounts(
        app_engine,
        scope,
        customer.public_id,
        checking.public_id,
        savings.public_id,
        "250.75",
        now=NOW,
    )
    assert receipt == TransferReceipt(
        checking.public_id, savings.public_id, 25_075, "USD", 74_925, 30_075, NOW
    )
    assert await _balances(app_engine, scope, customer.public_id) == [74_925, 30_075]
    lines = await recent_transactions(app_engine, scope, customer.public_id, limit=2)
    assert sorted((line.kind, line.amount_minor) for line in lines) == [
        ("transfer_in", 25_075),
        ("transfer_out", -25_075),
    ]
    assert all(line.booked_at == NOW for line in lines)
    kpis = await summarize(app_engine, scope, NOW.date(), NOW.date())
    kinds = {k.kind: (k.transactions, k.volume_minor) for k in kpis.by_kind}
    assert kinds["transfer_out"] == (1, 25_075)
    assert kinds["transfer_in"] == (1, 25_075)
    assert kpis.active_customers == 1
    assert await compare_rollups_with_facts(app_engine, scope, NOW.date(), NOW.date()) == []


async def test_overdraft_is_refused_and_nothing_changes(
    app_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    scope = await new_tenant()
    customer, (checking, savings) = await seed_customer(scope, 10_000, 0)
    before = await _transaction_count(app_engine, scope)
    with pytest.raises(TransferRefused) as refused:
        await transfer_between_own_accounts(
            app_engine,
            scope,
            customer.public_id,
            checking.public_id,
            savings.public_id,
            "100.01",
            now=NOW,
        )
    assert refused.value.reason == "insufficient_funds"
    assert "Insufficient funds" in refused.value.message
    assert await _balances(app_engine, scope, customer.public_id) == [10_000, 0]
    assert await _transaction_count(app_engine, scope) == before
    # Exactly the balance is fine.
    await transfer_between_own_accounts(
        app_engine, scope, customer.public_id, checking.public_id, savings.public_id, "100"
    )
    assert await _balances(app_engine, scope, customer.public_id) == [0, 10_000]


@pytest.mark.parametrize(("typed", "reason"), MALFORMED)
async def test_malformed_amounts_change_nothing(
    app_engine: AsyncEngine,
    new_tenant: NewTenant,
    seed_customer: SeedCustomer,
    typed: str,
    reason: str,
) -> None:
    scope = await new_tenant()
    customer, (checking, savings) = await seed_customer(scope, 10_000, 0)
    with pytest.raises(TransferRefused) as refused:
        await transfer_between_own_accounts(
            app_engine, scope, customer.public_id, checking.public_id, savings.public_id, typed
        )
    assert refused.value.reason == reason
    assert await _balances(app_engine, scope, customer.public_id) == [10_000, 0]


async def test_other_refusals(
    app_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    scope = await new_tenant()
    customer, (checking, savings) = await seed_customer(scope, 10_000, 0)
    _, (stranger,) = await seed_customer(scope, 99_000, name="Eve Stranger")
    cases = [
        (checking.public_id, checking.public_id, "same_account"),
        (stranger.public_id, savings.public_id, "unknown_account"),  # same FI, not theirs
        (checking.public_id, stranger.public_id, "unknown_account"),
        ("acc_" + "0" * 32, savings.public_id, "unknown_account"),
        ("not-an-id", savings.public_id, "unknown_account"),
    ]
    for source, target, reason in cases:
        with pytest.raises(TransferRefused) as refused:
            await transfer_between_own_accounts(
                app_engine, scope, customer.public_id, source, target, "1.00"
            )
        assert refused.value.reason == reason
    assert await lock_customer(app_engine, scope, customer.public_id) is not None
    with pytest.raises(TransferRefused) as refused:
        await transfer_between_own_accounts(
            app_engine, scope, customer.public_id, checking.public_id, savings.public_id, "1"
        )
    assert refused.value.reason == "customer_locked"
    await unlock_customer(app_engine, scope, customer.public_id)
    await transfer_between_own_accounts(
        app_engine, scope, customer.public_id, checking.public_id, savings.public_id, "1"
    )
    assert await _balances(app_engine, scope, customer.public_id) == [9_900, 100]


async def test_concurrent_transfers_never_overdraw_and_conserve_money(
    app_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    scope = await new_tenant()
    customer, (checking, savings) = await seed_customer(scope, 100_000, 0)
    outcomes: list[str] = []

    async def attempt() -> None:
        try:
            await transfer_between_own_accounts(
                app_engine,
                scope,
                customer.public_id,
                checking.public_id,
                savings.public_id,
                "75.00",
                now=NOW,
            )
            outcomes.append("ok")
        except TransferRefused as refused:
            outcomes.append(refused.reason)

    async with anyio.create_task_group() as group:
        for _ in range(20):  # 20 × 75.00 = 1,500.00 against a balance of 1,000.00
            group.start_soon(attempt)

    assert outcomes.count("ok") == 13
    assert outcomes.count("insufficient_funds") == 7
    balances = await _balances(app_engine, scope, customer.public_id)
    assert balances == [100_000 - 13 * 7_500, 13 * 7_500]
    assert min(balances) >= 0
    assert sum(balances) == 100_000
    assert await compare_rollups_with_facts(app_engine, scope, NOW.date(), NOW.date()) == []


async def test_opposite_concurrent_transfers_do_not_deadlock(
    app_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    scope = await new_tenant()
    customer, (first, second) = await seed_customer(scope, 50_000, 50_000)

    async def move(source: str, target: str) -> None:
        await transfer_between_own_accounts(
            app_engine, scope, customer.public_id, source, target, "10", now=NOW
        )

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            for index in range(20):
                pair = (first, second) if index % 2 else (second, first)
                group.start_soon(move, pair[0].public_id, pair[1].public_id)
    assert await _balances(app_engine, scope, customer.public_id) == [50_000, 50_000]
    later = NOW.date() + timedelta(days=1)
    assert await compare_rollups_with_facts(app_engine, scope, NOW.date(), later) == []
