"""Helpers for the customer-portal tests: a signed-in customer and other people's accounts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from tenantgate.banking import (
    Account,
    TenantScope,
    find_customer_by_subject,
    list_accounts_of_customer,
    list_customers,
    open_account,
)
from tenantgate.banking.schema import transactions

from ..harness import PortalWorld


@dataclass
class Customer:
    """A customer signed in at the portal, with what its home page showed."""

    username: str
    subject: str
    tenant_id: int
    tenant_name: str
    home: httpx.Response
    csrf: str

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.tenant_id)


def tenant_of(portal: PortalWorld, index: int) -> tuple[str, int]:
    user = portal.identity.customer_of(index)
    name = str(user.tenants[0]["name"])
    return name, portal.identity.seed.tenants[name]


async def sign_in(portal: PortalWorld, index: int = 0) -> Customer:
    user = portal.identity.customer_of(index)
    callback = await portal.login(user.username)
    assert callback.status_code == 200, callback.text
    home = await portal.browser.get("/")
    assert home.status_code == 200, home.text
    name, tenant_id = tenant_of(portal, index)
    subject = portal.identity.seed.customer_subjects[tenant_id]
    return Customer(user.username, subject, tenant_id, name, home, portal.csrf(home.text))


async def ensure_two_accounts(portal: PortalWorld, index: int) -> None:
    """Seeded customers may hold a single account; transfers need a second one."""
    _, tenant_id = tenant_of(portal, index)
    scope = TenantScope(tenant_id)
    subject = portal.identity.seed.customer_subjects[tenant_id]
    linked = await find_customer_by_subject(portal.banking, scope, subject)
    assert linked is not None
    owned = await list_accounts_of_customer(portal.banking, scope, linked.public_id)
    if len(owned) < 2:
        await open_account(
            portal.banking, scope, linked.public_id, kind="savings", initial_deposit_minor=50_000
        )


async def overview(portal: PortalWorld) -> dict[str, Any]:
    answer = await portal.browser.get("/api/accounts")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def balances(body: dict[str, Any]) -> dict[str, int]:
    return {a["id"]: a["balance_minor"] for a in body["accounts"]}


async def someone_elses_accounts(
    portal: PortalWorld, tenant_id: int, not_subject: str | None = None
) -> list[Account]:
    """Accounts of a customer of ``tenant_id`` other than the one linked to ``not_subject``."""
    scope = TenantScope(tenant_id)
    page = await list_customers(portal.banking, scope, limit=10)
    for customer in page.customers:
        if customer.subject != not_subject:
            found = await list_accounts_of_customer(portal.banking, scope, customer.public_id)
            if found:
                return found
    raise AssertionError("no other customer with accounts")


async def transaction_count(portal: PortalWorld) -> int:
    async with portal.banking.connect() as conn:
        counted = await conn.execute(select(func.count()).select_from(transactions))
        return int(counted.scalar_one())
