"""An FI's customers: search, look up by public id, lock and unlock, link to a login.

Every function takes the caller's ``TenantScope`` and filters by it; a public id that belongs to
another tenant behaves exactly like one that does not exist (``None``), so nothing reveals that
another FI's customer is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantgate.banking.clock import (
    CUSTOMER_ID_PREFIX,
    as_utc,
    looks_like_public_id,
    new_public_id,
    require_aware,
    utc_now,
)
from tenantgate.banking.errors import InvalidRequest
from tenantgate.banking.schema import customers, next_id
from tenantgate.banking.scope import TenantScope, tenant_transaction

MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000
MAX_SEARCH_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Customer:
    public_id: str
    full_name: str
    email: str
    status: str
    created_at: datetime
    subject: str | None

    @property
    def is_locked(self) -> bool:
        return self.status == "locked"


@dataclass(frozen=True, slots=True)
class CustomerPage:
    customers: list[Customer]
    has_more: bool


_COLUMNS = (
    customers.c.public_id,
    customers.c.full_name,
    customers.c.email,
    customers.c.status,
    customers.c.created_at,
    customers.c.subject,
)


def _customer(row: Any) -> Customer:
    return Customer(
        public_id=row.public_id,
        full_name=row.full_name,
        email=row.email,
        status=row.status,
        created_at=as_utc(row.created_at),
        subject=row.subject,
    )


def _escape_like(term: str) -> str:
    # The user's text is matched literally: % and _ must not act as wildcards.
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _mine(scope: TenantScope, public_id: str) -> Any:
    return and_(customers.c.tenant_id == scope.tenant_id, customers.c.public_id == public_id)


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """The internal handle of a customer, for use inside one tenant transaction only."""

    id: int
    status: str


async def customer_row_in(
    conn: AsyncConnection, scope: TenantScope, public_id: str, *, for_share: bool = False
) -> CustomerRef | None:
    """The scope's customer with this public id, or ``None``; optionally share-locked."""
    if not looks_like_public_id(CUSTOMER_ID_PREFIX, public_id):
        return None
    query = select(customers.c.id, customers.c.status).where(_mine(scope, public_id))
    if for_share:
        # Keeps a concurrent lock_customer from slipping between the check and the transfer.
        query = query.with_for_update(read=True)
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else CustomerRef(id=row.id, status=row.status)


async def create_customer(
    engine: AsyncEngine,
    scope: TenantScope,
    *,
    full_name: str,
    email: str,
    subject: str | None = None,
    now: datetime | None = None,
) -> Customer:
    """Onboard a customer of the scope's FI with a fresh random public id."""
    name, mail = full_name.strip(), email.strip()
    if not 0 < len(name) <= 200 or not 0 < len(mail) <= 254 or "@" not in mail:
        raise InvalidRequest("A customer needs a name and an email address.")
    created = require_aware(now) if now is not None else utc_now()
    values: dict[str, Any] = {
        "tenant_id": scope.tenant_id,
        "public_id": new_public_id(CUSTOMER_ID_PREFIX),
        "full_name": name,
        "email": mail,
        "status": "active",
        "subject": subject,
        "created_at": created,
    }
    async with tenant_transaction(engine, scope) as conn:
        new_id = next_id(conn, customers, scope.tenant_id)
        if new_id is not None:
            values["id"] = new_id
        await conn.execute(insert(customers).values(values))
    return Customer(
        public_id=values["public_id"],
        full_name=name,
        email=mail,
        status="active",
        created_at=created,
        subject=subject,
    )


async def list_customers(
    engine: AsyncEngine,
    scope: TenantScope,
    *,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> CustomerPage:
    """One page of the FI's customers by name, optionally filtered by name or email."""
    if not 1 <= limit <= MAX_PAGE_SIZE or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest(f"Page size must be 1–{MAX_PAGE_SIZE} and the offset not negative.")
    query = select(*_COLUMNS).where(customers.c.tenant_id == scope.tenant_id)
    term = (search or "").strip()
    if len(term) > MAX_SEARCH_LENGTH:
        raise InvalidRequest(f"Search for at most {MAX_SEARCH_LENGTH} characters.")
    if term:
        pattern = f"%{_escape_like(term.lower())}%"
        query = query.where(
            or_(
                func.lower(customers.c.full_name).like(pattern, escape="\\"),
                func.lower(customers.c.email).like(pattern, escape="\\"),
            )
        )
    # The id tie-breaker makes pages stable when names repeat.
    query = query.order_by(customers.c.full_name, customers.c.id).limit(limit + 1).offset(offset)
    async with tenant_transaction(engine, scope) as conn:
        rows = (await conn.execute(query)).all()
    return CustomerPage(
        customers=[_customer(row) for row in rows[:limit]], has_more=len(rows) > limit
    )


async def get_customer(engine: AsyncEngine, scope: TenantScope, public_id: str) -> Customer | None:
    """The scope's customer with this public id; ``None`` if unknown or another tenant's."""
    if not looks_like_public_id(CUSTOMER_ID_PREFIX, public_id):
        return None
    async with tenant_transaction(engine, scope) as conn:
        row = (await conn.execute(select(*_COLUMNS).where(_mine(scope, public_id)))).one_or_none()
    return None if row is None else _customer(row)


async def find_customer_by_subject(
    engine: AsyncEngine, scope: TenantScope, subject: str
) -> Customer | None:
    """The customer linked to an identity-server login (``sub``) in the scope's FI."""
    async with tenant_transaction(engine, scope) as conn:
        row = (
            await conn.execute(
                select(*_COLUMNS).where(
                    customers.c.tenant_id == scope.tenant_id, customers.c.subject == subject
                )
            )
        ).one_or_none()
    return None if row is None else _customer(row)


async def _update(
    engine: AsyncEngine, scope: TenantScope, public_id: str, values: dict[str, Any]
) -> Customer | None:
    if not looks_like_public_id(CUSTOMER_ID_PREFIX, public_id):
        return None
    async with tenant_transaction(engine, scope) as conn:
        row = (
            await conn.execute(
                update(customers).where(_mine(scope, public_id)).values(values).returning(*_COLUMNS)
            )
        ).one_or_none()
    return None if row is None else _customer(row)


async def lock_customer(engine: AsyncEngine, scope: TenantScope, public_id: str) -> Customer | None:
    """Lock the customer (no transfers while locked); ``None`` if not the scope's customer."""
    return await _update(engine, scope, public_id, {"status": "locked"})


async def unlock_customer(
    engine: AsyncEngine, scope: TenantScope, public_id: str
) -> Customer | None:
    return await _update(engine, scope, public_id, {"status": "active"})


async def link_customer_to_subject(
    engine: AsyncEngine, scope: TenantScope, public_id: str, subject: str
) -> Customer | None:
    """Link the customer to the identity server's ``sub`` of their login (demo seeding)."""
    if not 0 < len(subject) <= 200:
        raise InvalidRequest("A subject is 1–200 characters.")
    return await _update(engine, scope, public_id, {"subject": subject})
