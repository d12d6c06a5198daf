"""Reporting KPIs from the rollups: shape, zero-filled series, CSV, and equality with the facts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.errors import InvalidRequest
from tenantgate.banking.kpis import CSV_HEADER, export_rows, summarize
from tenantgate.banking.logins import record_login_event
from tenantgate.banking.transfers import transfer_between_own_accounts
from tenantgate.banking.verification import compare_rollups_with_facts

from .conftest import NOW, NewTenant, SeedCustomer

pytestmark = pytest.mark.anyio


async def test_summary_counts_logins_activity_and_fills_gaps(
    app_engine: AsyncEngine, new_tenant: NewTenant, seed_customer: SeedCustomer
) -> None:
    scope = await new_tenant()
    alice, (checking, savings) = await seed_customer(scope, 50_000, 0, name="Alice")
    bob, _ = await seed_customer(scope, 0, name="Bob")  # no deposit: not active from it
    yesterday = NOW - timedelta(days=1)
    await record_login_event(
        app_engine,
        scope,
        actor_kind="customer",
        success=True,
        customer_public_id=bob.public_id,
        now=yesterday,
    )
    await record_login_event(app_engine, scope, actor_kind="customer", success=False, now=NOW)
    await record_login_event(
        app_engine, scope, actor_kind="employee", success=True, subject="emp-1", now=NOW
    )
    await record_login_event(
        app_engine,
        scope,
        actor_kind="customer",
        success=True,
        customer_public_id=alice.public_id,
        now=NOW,
    )
    await transfer_between_own_accounts(
        app_engine, scope, alice.public_id, checking.public_id, savings.public_id, "10", now=NOW
    )

    start = NOW.date() - timedelta(days=3)
    kpis = await summarize(app_engine, scope, start, NOW.date())
    assert [d.day for d in kpis.series] == [start + timedelta(days=i) for i in range(4)]
    assert kpis.series[0].transactions == 0
    assert kpis.logins == 2  # customers only; the employee's login is kept but not counted
    assert kpis.failed_logins == 1
    assert kpis.active_customers == 2  # distinct over the period
    assert kpis.series[-1].active_customers == 1
    assert kpis.series[-2].active_customers == 1
    assert kpis.transactions == 3  # initial deposit + two legs
    assert kpis.volume_minor == 50_000 + 2 * 1_000
    assert [k.kind for k in kpis.by_kind] == ["deposit", "transfer_in", "transfer_out"]
    assert await compare_rollups_with_facts(app_engine, scope, start, NOW.date()) == []

    rows = await export_rows(app_engine, scope, start, NOW.date())
    assert rows[0] == CSV_HEADER
    assert rows[-1] == (NOW.date().isoformat(), "3", "520.00", "1", "1", "1")
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    assert buffer.getvalue().count("\n") == 5


async def test_period_is_validated(app_engine: AsyncEngine, new_tenant: NewTenant) -> None:
    scope = await new_tenant()
    with pytest.raises(InvalidRequest):
        await summarize(app_engine, scope, NOW.date(), NOW.date() - timedelta(days=1))
    with pytest.raises(InvalidRequest):
        await summarize(app_engine, scope, NOW.date() - timedelta(days=400), NOW.date())
    empty = await summarize(app_engine, scope, NOW.date(), NOW.date())
    assert (empty.transactions, empty.active_customers, empty.by_kind) == (0, 0, [])
