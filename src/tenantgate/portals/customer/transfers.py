"""Making a transfer for the session's customer, shared by the JSON API and the plain form.

``transfer_between_own_accounts`` does the work atomically and refuses with a message meant
for the user; here we only add the permission check, the wording of a success and the
HTTP status each refusal gets. Nothing is written when a transfer is refused."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking import (
    TransferReceipt,
    TransferRefused,
    list_accounts_of_customer,
    transfer_between_own_accounts,
)

from .access import TRANSFERS_CREATE, CustomerContext, require_permission
from .formatting import account_name, masked, money_text

log = structlog.get_logger("tenantgate.customer")

# An unknown account and another customer's (or FI's) account get the same 404: never a hint.
_STATUS = {
    "unknown_account": 404,
    "insufficient_funds": 409,
    "customer_locked": 403,
    "currency_mismatch": 409,
}


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    ok: bool
    status: int
    error: str | None
    message: str
    receipt: TransferReceipt | None = None


async def make_transfer(
    banking: AsyncEngine, ctx: CustomerContext, source: str, target: str, amount: str
) -> TransferOutcome:
    require_permission(ctx.session, TRANSFERS_CREATE)
    try:
        receipt = await transfer_between_own_accounts(
            banking, ctx.scope, ctx.customer.public_id, source, target, amount
        )
    except TransferRefused as refused:
        log.info("transfer_refused", reason=refused.reason, session=ctx.session.public_id)
        status = _STATUS.get(refused.reason, 400)
        return TransferOutcome(False, status, refused.reason, str(refused))
    log.info("transfer_made", session=ctx.session.public_id, amount_minor=receipt.amount_minor)
    return TransferOutcome(True, 200, None, await _success_text(banking, ctx, receipt), receipt)


async def _success_text(
    banking: AsyncEngine, ctx: CustomerContext, receipt: TransferReceipt
) -> str:
    accounts = {
        a.public_id: a
        for a in await list_accounts_of_customer(banking, ctx.scope, ctx.customer.public_id)
    }

    def name(public_id: str) -> str:
        found = accounts.get(public_id)
        return account_name(found) if found else masked(public_id)

    amount = money_text(receipt.amount_minor, receipt.currency)
    return f"Transferred {amount} from {name(receipt.from_account)} to {name(receipt.to_account)}."
