"""A customer's accounts and their statement lines.

Balances are integer minor units. Reads return only the caller's customer's accounts in the
caller's tenant; an unknown customer or another tenant's reads as "no accounts", never an error
that would confirm the id exists elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantgate.banking.clock import (
    ACCOUNT_ID_PREFIX,
    CUSTOMER_ID_PREFIX,
    as_utc,
    looks_like_public_id,
    new_public_id,
    require_aware,
    utc_day,
    utc_now,
)
from tenantgate.banking.customers import customer_row_in
from tenantgate.banking.errors import InvalidRequest, UnknownCustomer
from tenantgate.banking.rollups import add_activity
from tenantgate.banking.schema import ACCOUNT_KINDS, accounts, customers, next_id, transactions
from tenantgate.banking.scope import TenantScope, tenant_transaction

MAX_STATEMENT_LINES = 200


@dataclass(frozen=True, slots=True)
class Account:
    public_id: str
    kind: str
    currency: str
    balance_minor: int


@dataclass(frozen=True, slots=True)
class TransactionLine:
    account_public_id: str
    kind: str
    amount_minor: int
    description: str
    booked_at: datetime


async def insert_transaction(
    conn: AsyncConnection,
    tenant_id: int,
    account_id: int,
    *,
    kind: str,
    amount: int,
    description: str,
    booked_at: datetime,
) -> None:
    """Append one statement line (callers update the balance and rollups in the same tx)."""
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "account_id": account_id,
        "kind": kind,
        "amount": amount,
        "description": description,
        "booked_at": booked_at,
    }
    new_id = next_id(conn, transactions, tenant_id)
    if new_id is not None:
        values["id"] = new_id
    await conn.execute(insert(transactions).values(values))


async def open_account(
    engine: AsyncEngine,
    scope: TenantScope,
    customer_public_id: str,
    *,
    kind: str = "checking",
    currency: str = "USD",
    initial_deposit_minor: int = 0,
    now: datetime | None = None,
) -> Account:
    """Open an account; a non-zero initial deposit is booked as a ``deposit`` transaction."""
    if kind not in ACCOUNT_KINDS:
        raise InvalidRequest(f"An account is one of: {', '.join(ACCOUNT_KINDS)}.")
    if len(currency) != 3 or not currency.isascii() or not currency.isupper():
        raise InvalidRequest("A currency is a three-letter ISO 4217 code.")
    if initial_deposit_minor < 0:
        raise InvalidRequest("An initial deposit cannot be negative.")
    moment = require_aware(now) if now is not None else utc_now()
    public_id = new_public_id(ACCOUNT_ID_PREFIX)
    async with tenant_transaction(engine, scope) as conn:
        customer = await customer_row_in(conn, scope, customer_public_id)
        if customer is None:
            raise UnknownCustomer
        values: dict[str, Any] = {
            "tenant_id": scope.tenant_id,
            "public_id": public_id,
            "customer_id": customer.id,
            "kind": kind,
            "currency": currency,
            "balance": initial_deposit_minor,
        }
        new_id = next_id(conn, accounts, scope.tenant_id)
        if new_id is not None:
            values["id"] = new_id
        account_id = (
            await conn.execute(insert(accounts).values(values).returning(accounts.c.id))
        ).scalar_one()
        if initial_deposit_minor:
            await insert_transaction(
                conn,
                scope.tenant_id,
                account_id,
                kind="deposit",
                amount=initial_deposit_minor,
                description="Initial deposit",
                booked_at=moment,
            )
            await add_activity(
                conn,
                scope.tenant_id,
                utc_day(moment),
                kinds={"deposit": (1, initial_deposit_minor)},
                active_customer_id=customer.id,
            )
    return Account(public_id, kind, currency, initial_deposit_minor)


def _owned_by(scope: TenantScope, customer_public_id: str) -> Any:
    # Joining through customers (tenant and public id) is what ties accounts to their owner.
    return (
        select(accounts.c.id)
        .join(
            customers,
            (customers.c.tenant_id == accounts.c.tenant_id)
            & (customers.c.id == accounts.c.customer_id),
        )
        .where(
            accounts.c.tenant_id == scope.tenant_id,
            customers.c.tenant_id == scope.tenant_id,
            customers.c.public_id == customer_public_id,
        )
    )


async def list_accounts_of_customer(
    engine: AsyncEngine, scope: TenantScope, customer_public_id: str
) -> list[Account]:
    """The customer's accounts (oldest first); empty for an unknown or foreign customer."""
    if not looks_like_public_id(CUSTOMER_ID_PREFIX, customer_public_id):
        return []
    query = (
        _owned_by(scope, customer_public_id)
        .with_only_columns(
            accounts.c.public_id, accounts.c.kind, accounts.c.currency, accounts.c.balance
        )
        .order_by(accounts.c.id)
    )
    async with tenant_transaction(engine, scope) as conn:
        rows = (await conn.execute(query)).all()
    return [Account(r.public_id, r.kind, r.currency, r.balance) for r in rows]


async def recent_transactions(
    engine: AsyncEngine,
    scope: TenantScope,
    customer_public_id: str,
    *,
    limit: int = 20,
    account_public_id: str | None = None,
) -> list[TransactionLine]:
    """The customer's latest statement lines across accounts (or one account), newest first."""
    if not 1 <= limit <= MAX_STATEMENT_LINES:
        raise InvalidRequest(f"Ask for 1–{MAX_STATEMENT_LINES} transactions.")
    if not looks_like_public_id(CUSTOMER_ID_PREFIX, customer_public_id):
        return []
    owned = _owned_by(scope, customer_public_id)
    if account_public_id is not None:
        if not looks_like_public_id(ACCOUNT_ID_PREFIX, account_public_id):
            return []
        owned = owned.where(accounts.c.public_id == account_public_id)
    query = (
        owned.with_only_columns(
            accounts.c.public_id,
            transactions.c.kind,
            transactions.c.amount,
            transactions.c.description,
            transactions.c.booked_at,
        )
        .join(
            transactions,
            (transactions.c.tenant_id == accounts.c.tenant_id)
            & (transactions.c.account_id == accounts.c.id),
        )
        .where(transactions.c.tenant_id == scope.tenant_id)
        .order_by(transactions.c.booked_at.desc(), transactions.c.id.desc())
        .limit(limit)
    )
    async with tenant_transaction(engine, scope) as conn:
        rows = (await conn.execute(query)).all()
    return [
        TransactionLine(r.public_id, r.kind, r.amount, r.description, as_utc(r.booked_at))
        for r in rows
    ]
