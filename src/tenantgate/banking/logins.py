"""Login events of an FI's users, as reporting sees them.

The identity server owns authentication and its own audit trail; this is the banking side's
read model of it (the "logins" KPI). A customer's successful login makes them active that day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.clock import require_aware, utc_day, utc_now
from tenantgate.banking.customers import customer_row_in
from tenantgate.banking.errors import InvalidRequest, UnknownCustomer
from tenantgate.banking.rollups import add_activity
from tenantgate.banking.schema import ACTOR_KINDS, login_events, next_id
from tenantgate.banking.scope import TenantScope, tenant_transaction


async def record_login_event(
    engine: AsyncEngine,
    scope: TenantScope,
    *,
    actor_kind: str,
    success: bool,
    customer_public_id: str | None = None,
    subject: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record one login attempt for the scope's FI and update that day's rollup.

    ``customer_public_id`` is required for successful customer logins (it is what makes the
    customer active); a failed attempt may not know who it was. Only customer logins count in
    the ``logins`` KPI; employee and admin logins are kept for the record.
    """
    if actor_kind not in ACTOR_KINDS:
        raise InvalidRequest(f"actor_kind is one of: {', '.join(ACTOR_KINDS)}.")
    if actor_kind != "customer" and customer_public_id is not None:
        raise InvalidRequest("Only customer logins name a customer.")
    if actor_kind == "customer" and success and customer_public_id is None:
        raise InvalidRequest("A successful customer login names the customer.")
    if subject is not None and not 0 < len(subject) <= 200:
        raise InvalidRequest("A subject is 1–200 characters.")
    moment = require_aware(now) if now is not None else utc_now()
    async with tenant_transaction(engine, scope) as conn:
        customer_id: int | None = None
        if customer_public_id is not None:
            customer = await customer_row_in(conn, scope, customer_public_id)
            if customer is None:
                raise UnknownCustomer
            customer_id = customer.id
        values: dict[str, Any] = {
            "tenant_id": scope.tenant_id,
            "actor_kind": actor_kind,
            "customer_id": customer_id,
            "subject": subject,
            "success": int(success),
            "at": moment,
        }
        new_id = next_id(conn, login_events, scope.tenant_id)
        if new_id is not None:
            values["id"] = new_id
        await conn.execute(insert(login_events).values(values))
        if actor_kind == "customer":
            await add_activity(
                conn,
                scope.tenant_id,
                utc_day(moment),
                active_customer_id=customer_id if success else None,
                logins=int(success),
                failed_logins=int(not success),
            )
