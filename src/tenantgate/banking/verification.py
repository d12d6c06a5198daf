"""Proof that the rollups equal a direct aggregate of the facts.

Reporting trusts the rollups; this module recomputes the same figures straight from
``transactions`` and ``login_events`` (slow, exact) and lists every difference. Tests run it
after generating data and after transfers; operators can run it after an incident.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, and_, cast, func, select, union
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantgate.banking.clock import as_date, day_after_start, day_start
from tenantgate.banking.kpis import Kpis, check_period, summarize
from tenantgate.banking.rollups import PASSIVE_KINDS
from tenantgate.banking.schema import accounts, login_events, transactions
from tenantgate.banking.scope import TenantScope, tenant_transaction


def utc_day_of(conn: AsyncConnection, column: Any) -> Any:
    """SQL for the UTC calendar day of a timestamp column, per dialect."""
    if conn.dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'; date() takes the day part.
    return func.date(column)


async def direct_figures(
    engine: AsyncEngine, scope: TenantScope, start: date, end: date
) -> dict[str, Any]:
    """The KPI figures of a period computed from the facts, bypassing every rollup."""
    check_period(start, end)
    since, until = day_start(start), day_after_start(end)
    async with tenant_transaction(engine, scope) as conn:
        tx_day = utc_day_of(conn, transactions.c.booked_at).label("day")
        in_period = and_(
            transactions.c.tenant_id == scope.tenant_id,
            transactions.c.booked_at >= since,
            transactions.c.booked_at < until,
        )
        volume = func.sum(func.abs(transactions.c.amount))
        per_day = (
            await conn.execute(
                select(tx_day, func.count(), volume).where(in_period).group_by(tx_day)
            )
        ).all()
        per_kind = (
            await conn.execute(
                select(transactions.c.kind, func.count(), volume)
                .where(in_period)
                .group_by(transactions.c.kind)
            )
        ).all()
        login_day = utc_day_of(conn, login_events.c.at).label("day")
        logins_in_period = and_(
            login_events.c.tenant_id == scope.tenant_id,
            login_events.c.actor_kind == "customer",
            login_events.c.at >= since,
            login_events.c.at < until,
        )
        per_day_logins = (
            await conn.execute(
                select(
                    login_day,
                    func.sum(login_events.c.success),
                    func.sum(1 - login_events.c.success),
                )
                .where(logins_in_period)
                .group_by(login_day)
            )
        ).all()
        # Active = a non-fee transaction on one of their accounts, or a successful login.
        by_transactions = (
            select(tx_day, accounts.c.customer_id.label("customer_id"))
            .select_from(transactions)
            .join(
                accounts,
                and_(
                    accounts.c.tenant_id == transactions.c.tenant_id,
                    accounts.c.id == transactions.c.account_id,
                ),
            )
            .where(in_period, transactions.c.kind.not_in(PASSIVE_KINDS))
        )
        by_logins = select(login_day, login_events.c.customer_id.label("customer_id")).where(
            logins_in_period,
            login_events.c.success == 1,
            login_events.c.customer_id.is_not(None),
        )
        active_pairs = union(by_transactions, by_logins).subquery()
        per_day_active = (
            await conn.execute(
                select(
                    active_pairs.c.day, func.count(func.distinct(active_pairs.c.customer_id))
                ).group_by(active_pairs.c.day)
            )
        ).all()
        period_active = await conn.scalar(
            select(func.count(func.distinct(active_pairs.c.customer_id)))
        )
    days: dict[date, dict[str, int]] = {}

    def slot(day: Any) -> dict[str, int]:
        return days.setdefault(
            as_date(day),
            {"tx_count": 0, "volume": 0, "active_customers": 0, "logins": 0, "failed_logins": 0},
        )

    for day, count, vol in per_day:
        slot(day).update(tx_count=int(count), volume=int(vol))
    for day, ok, failed in per_day_logins:
        slot(day).update(logins=int(ok), failed_logins=int(failed))
    for day, count in per_day_active:
        slot(day)["active_customers"] = int(count)
    return {
        "days": days,
        "by_kind": {kind: (int(count), int(vol)) for kind, count, vol in per_kind},
        "active_customers": int(period_active or 0),
    }


def _rollup_figures(kpis: Kpis) -> dict[str, Any]:
    days = {
        d.day: {
            "tx_count": d.transactions,
            "volume": d.volume_minor,
            "active_customers": d.active_customers,
            "logins": d.logins,
            "failed_logins": d.failed_logins,
        }
        for d in kpis.series
        if d.transactions or d.logins or d.failed_logins or d.active_customers
    }
    return {
        "days": days,
        "by_kind": {k.kind: (k.transactions, k.volume_minor) for k in kpis.by_kind},
        "active_customers": kpis.active_customers,
    }


async def compare_rollups_with_facts(
    engine: AsyncEngine, scope: TenantScope, start: date, end: date
) -> list[str]:
    """Every difference between ``summarize`` (rollups) and the direct aggregates; [] if none."""
    from_rollups = _rollup_figures(await summarize(engine, scope, start, end))
    direct = await direct_figures(engine, scope, start, end)
    problems: list[str] = []
    if from_rollups["active_customers"] != direct["active_customers"]:
        problems.append(
            f"period active customers: rollups {from_rollups['active_customers']}, "
            f"facts {direct['active_customers']}"
        )
    if from_rollups["by_kind"] != direct["by_kind"]:
        problems.append(f"by kind: rollups {from_rollups['by_kind']}, facts {direct['by_kind']}")
    for day in sorted(set(from_rollups["days"]) | set(direct["days"])):
        mine, theirs = from_rollups["days"].get(day), direct["days"].get(day)
        if mine != theirs:
            problems.append(f"{day.isoformat()}: rollups {mine}, facts {theirs}")
    return problems
