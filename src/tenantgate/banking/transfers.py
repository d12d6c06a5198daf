"""Moving money between a customer's own accounts.

Guarantees:
- Malformed amounts are refused before any database work (``money.parse_amount``).
- Atomic: both legs, both statement lines and the rollups commit together or not at all.
- No overdraft, even under concurrency: the debit is a *conditional* UPDATE
  (``... WHERE balance >= :amount``); if it matches no row the transfer is refused. Whatever the
  interleaving, the database re-checks the balance it is about to change. A CHECK constraint
  (``balance >= 0``) stands behind it.
- No deadlocks between opposite transfers: both account rows are locked in id order first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.accounts import insert_transaction
from tenantgate.banking.clock import (
    ACCOUNT_ID_PREFIX,
    CUSTOMER_ID_PREFIX,
    looks_like_public_id,
    require_aware,
    utc_day,
    utc_now,
)
from tenantgate.banking.customers import customer_row_in
from tenantgate.banking.errors import TransferRefused
from tenantgate.banking.money import MAX_TRANSFER_MINOR, format_minor, parse_amount
from tenantgate.banking.rollups import add_activity
from tenantgate.banking.schema import accounts
from tenantgate.banking.scope import TenantScope, tenant_transaction


@dataclass(frozen=True, slots=True)
class TransferReceipt:
    from_account: str
    to_account: str
    amount_minor: int
    currency: str
    from_balance_minor: int
    to_balance_minor: int
    booked_at: datetime


_NOT_FOUND = "That account was not found."


def _suffix(public_id: str) -> str:
    # Statement text names the other account the way banks do: by its last few characters.
    return "••" + public_id[-4:]


async def transfer_between_own_accounts(
    engine: AsyncEngine,
    scope: TenantScope,
    customer_public_id: str,
    from_account: str,
    to_account: str,
    amount_text: str,
    *,
    now: datetime | None = None,
    maximum_minor: int = MAX_TRANSFER_MINOR,
) -> TransferReceipt:
    """Move ``amount_text`` (as typed, e.g. ``"125.50"``) between two of the customer's accounts.

    Raises ``TransferRefused`` (with a message for the user) and writes nothing when refused.
    """
    amount = parse_amount(amount_text, maximum_minor=maximum_minor)
    if from_account == to_account:
        raise TransferRefused("Choose two different accounts.", reason="same_account")
    if not (
        looks_like_public_id(CUSTOMER_ID_PREFIX, customer_public_id)
        and looks_like_public_id(ACCOUNT_ID_PREFIX, from_account)
        and looks_like_public_id(ACCOUNT_ID_PREFIX, to_account)
    ):
        raise TransferRefused(_NOT_FOUND, reason="unknown_account")
    moment = require_aware(now) if now is not None else utc_now()

    async with tenant_transaction(engine, scope) as conn:
        customer = await customer_row_in(conn, scope, customer_public_id, for_share=True)
        if customer is None:
            raise TransferRefused(_NOT_FOUND, reason="unknown_account")
        if customer.status != "active":
            raise TransferRefused(
                "Transfers are not available while your profile is locked. Contact your bank.",
                reason="customer_locked",
            )
        # Lock both rows in id order (deadlock-free) and prove both belong to this customer.
        rows = (
            await conn.execute(
                select(accounts.c.id, accounts.c.public_id, accounts.c.currency)
                .where(
                    accounts.c.tenant_id == scope.tenant_id,
                    accounts.c.customer_id == customer.id,
                    accounts.c.public_id.in_([from_account, to_account]),
                )
                .order_by(accounts.c.id)
                .with_for_update()
            )
        ).all()
        by_public = {row.public_id: row for row in rows}
        source, target = by_public.get(from_account), by_public.get(to_account)
        if source is None or target is None:
            raise TransferRefused(_NOT_FOUND, reason="unknown_account")
        if source.currency != target.currency:
            raise TransferRefused(
                "Both accounts must be in the same currency.", reason="currency_mismatch"
            )

        debited = (
            await conn.execute(
                update(accounts)
                .where(
                    accounts.c.tenant_id == scope.tenant_id,
                    accounts.c.id == source.id,
                    accounts.c.balance >= amount,
                )
                .values(balance=accounts.c.balance - amount)
                .returning(accounts.c.balance)
            )
        ).scalar_one_or_none()
        if debited is None:
            raise TransferRefused(
                f"Insufficient funds: {format_minor(amount)} {source.currency} is more than "
                "the available balance.",
                reason="insufficient_funds",
            )
        credited = (
            await conn.execute(
                update(accounts)
                .where(accounts.c.tenant_id == scope.tenant_id, accounts.c.id == target.id)
                .values(balance=accounts.c.balance + amount)
                .returning(accounts.c.balance)
            )
        ).scalar_one()

        await insert_transaction(
            conn,
            scope.tenant_id,
            source.id,
            kind="transfer_out",
            amount=-amount,
            description=f"Transfer to {_suffix(to_account)}",
            booked_at=moment,
        )
        await insert_transaction(
            conn,
            scope.tenant_id,
            target.id,
            kind="transfer_in",
            amount=amount,
            description=f"Transfer from {_suffix(from_account)}",
            booked_at=moment,
        )
        await add_activity(
            conn,
            scope.tenant_id,
            utc_day(moment),
            kinds={"transfer_out": (1, amount), "transfer_in": (1, amount)},
            active_customer_id=customer.id,
        )
    return TransferReceipt(
        from_account=from_account,
        to_account=to_account,
        amount_minor=amount,
        currency=source.currency,
        from_balance_minor=debited,
        to_balance_minor=credited,
        booked_at=moment,
    )
