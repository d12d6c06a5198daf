"""Customer listing, search, locking and linking to an identity-server login."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.customers import (
    create_customer,
    find_customer_by_subject,
    get_customer,
    link_customer_to_subject,
    list_customers,
    lock_customer,
    unlock_customer,
)
from tenantgate.banking.errors import InvalidRequest

from .conftest import NOW, NewTenant

pytestmark = pytest.mark.anyio


async def test_list_search_and_pages(app_engine: AsyncEngine, new_tenant: NewTenant) -> None:
    scope = await new_tenant()
    for name, email in [
        ("Carol Danvers", "carol@example.com"),
        ("Bruce Banner", "hulk@example.org"),
        ("Anna 100% Real", "anna_x@example.net"),
        ("Diana Prince", "diana@example.com"),
    ]:
        await create_customer(app_engine, scope, full_name=name, email=email, now=NOW)

    first = await list_customers(app_engine, scope, limit=3)
    assert [c.full_name for c in first.customers] == [
        "Anna 100% Real",
        "Bruce Banner",
        "Carol Danvers",
    ]
    assert first.has_more
    rest = await list_customers(app_engine, scope, limit=3, offset=3)
    assert [c.full_name for c in rest.customers] == ["Diana Prince"]
    assert not rest.has_more

    async def names(term: str) -> list[str]:
        page = await list_customers(app_engine, scope, search=term)
        return [c.full_name for c in page.customers]

    assert await names("BANNER") == ["Bruce Banner"]
    assert await names("example.com") == ["Carol Danvers", "Diana Prince"]
    # Wildcards in the search text are literal characters.
    assert await names("%") == ["Anna 100% Real"]
    assert await names("_") == ["Anna 100% Real"]
    assert await names("nobody") == []

    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"search": "x" * 101}):
        with pytest.raises(InvalidRequest):
            await list_customers(app_engine, scope, **bad)


async def test_lock_unlock_and_link(app_engine: AsyncEngine, new_tenant: NewTenant) -> None:
    scope = await new_tenant()
    customer = await create_customer(
        app_engine, scope, full_name="Grace Hopper", email="grace@example.com", now=NOW
    )
    assert customer.public_id.startswith("cus_")
    assert customer.created_at == NOW
    locked = await lock_customer(app_engine, scope, customer.public_id)
    assert locked is not None
    assert locked.is_locked
    fetched = await get_customer(app_engine, scope, customer.public_id)
    assert fetched is not None
    assert fetched.status == "locked"
    unlocked = await unlock_customer(app_engine, scope, customer.public_id)
    assert unlocked is not None
    assert not unlocked.is_locked

    assert await find_customer_by_subject(app_engine, scope, "sub-123") is None
    linked = await link_customer_to_subject(app_engine, scope, customer.public_id, "sub-123")
    assert linked is not None
    assert linked.subject == "sub-123"
    found = await find_customer_by_subject(app_engine, scope, "sub-123")
    assert found is not None
    assert found.public_id == customer.public_id


async def test_customer_input_is_validated(app_engine: AsyncEngine, new_tenant: NewTenant) -> None:
    scope = await new_tenant()
    with pytest.raises(InvalidRequest):
        await create_customer(app_engine, scope, full_name=" ", email="a@example.com")
    with pytest.raises(InvalidRequest):
        await create_customer(app_engine, scope, full_name="A", email="not-an-email")
