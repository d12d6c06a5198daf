"""Daily pre-aggregates, maintained in the same transaction as the facts they summarise.

Reporting reads these instead of scanning millions of transactions: a period's KPIs cost one
index range per table, whatever the data volume. Because every writer (transfer, login,
account opening, the generator) updates the rollups atomically with its facts, they cannot
drift; ``compare_rollups_with_facts`` (tests) proves it against direct aggregates.

Definitions (one place): ``tx_count`` counts transaction rows (a transfer has two legs);
``volume`` sums ``|amount|`` in minor units; ``logins`` counts successful *customer* logins;
a customer is *active* on a day with a successful login or any transaction except a fee (fees
are the bank's doing, not the customer's).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantgate.banking.schema import customer_active_days, daily_kind_rollups, daily_rollups

#: Transaction kinds that do not make a customer "active".
PASSIVE_KINDS: tuple[str, ...] = ("fee",)


def dialect_insert(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT with ``on_conflict_*`` (same API on PostgreSQL and SQLite)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def mark_customer_active(
    conn: AsyncConnection, tenant_id: int, day: date, customer_id: int
) -> bool:
    """Record that a customer was active on ``day``; True if this is their first activity."""
    stmt = (
        dialect_insert(conn, customer_active_days)
        .values(tenant_id=tenant_id, day=day, customer_id=customer_id)
        .on_conflict_do_nothing(index_elements=["tenant_id", "day", "customer_id"])
        # RETURNING yields a row only when the insert happened; rowcount is not reliable
        # across drivers for INSERT ... ON CONFLICT.
        .returning(customer_active_days.c.customer_id)
    )
    return (await conn.execute(stmt)).scalar_one_or_none() is not None


async def add_activity(
    conn: AsyncConnection,
    tenant_id: int,
    day: date,
    *,
    kinds: Mapping[str, tuple[int, int]] | None = None,
    active_customer_id: int | None = None,
    logins: int = 0,
    failed_logins: int = 0,
) -> None:
    """Add facts to ``day``'s rollups: ``kinds`` maps kind → (count, volume in minor units).

    Lock order is always: active-day row, daily row, kind rows in sorted order — the same in
    every writer, so concurrent writers of one tenant queue instead of deadlocking.
    """
    kinds = kinds or {}
    new_active = 0
    if active_customer_id is not None:
        new_active = int(await mark_customer_active(conn, tenant_id, day, active_customer_id))
    tx_count = sum(count for count, _ in kinds.values())
    volume = sum(vol for _, vol in kinds.values())
    increments = {
        "tx_count": tx_count,
        "volume": volume,
        "active_customers": new_active,
        "logins": logins,
        "failed_logins": failed_logins,
    }
    insert = dialect_insert(conn, daily_rollups).values(tenant_id=tenant_id, day=day, **increments)
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=["tenant_id", "day"],
            set_={name: daily_rollups.c[name] + insert.excluded[name] for name in increments},
        )
    )
    for kind in sorted(kinds):
        count, vol = kinds[kind]
        kind_insert = dialect_insert(conn, daily_kind_rollups).values(
            tenant_id=tenant_id, day=day, kind=kind, tx_count=count, volume=vol
        )
        await conn.execute(
            kind_insert.on_conflict_do_update(
                index_elements=["tenant_id", "day", "kind"],
                set_={
                    "tx_count": daily_kind_rollups.c.tx_count + kind_insert.excluded.tx_count,
                    "volume": daily_kind_rollups.c.volume + kind_insert.excluded.volume,
                },
            )
        )
