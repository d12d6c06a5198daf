"""Demo banking data: generated per FI, with each demo customer login linked to a
banking customer of its FI, and on PostgreSQL an application role bound by RLS."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ..banking import (
    DEFAULT_APP_ROLE,
    TenantScope,
    create_app_role,
    create_banking_engine,
    create_schema,
    link_customer_to_subject,
    list_accounts_of_customer,
    list_customers,
    open_account,
)
from ..banking.generator import GenerationReport, generate


def app_role_url(admin_url: str) -> str:
    """The same database, as the non-superuser role that row-level security binds."""
    parsed = make_url(admin_url)
    if parsed.get_backend_name() != "postgresql":
        return admin_url
    return parsed.set(username=DEFAULT_APP_ROLE, password=None).render_as_string(
        hide_password=False
    )


async def seed_banking(
    url: str,
    institutions: list[tuple[int, str]],
    customer_subjects: dict[int, str],
    *,
    customers_per_bank: int,
    progress: Callable[[str], None] | None = None,
) -> GenerationReport:
    engine = create_banking_engine(url)
    try:
        await create_schema(engine)
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await create_app_role(conn)
        report = await generate(
            engine, institutions, customers_per_bank=customers_per_bank, progress=progress
        )
        await _link_demo_customers(engine, customer_subjects)
        return report
    finally:
        await engine.dispose()


async def _link_demo_customers(engine: AsyncEngine, subjects: dict[int, str]) -> None:
    """Each FI's demo customer login gets a banking customer with two accounts, so a
    transfer between their own accounts is possible from the first sign-in."""
    for tenant_id, subject in subjects.items():
        scope = TenantScope(tenant_id)
        candidates = (await list_customers(engine, scope, limit=50)).customers
        if not candidates:
            continue
        chosen = candidates[0]
        for candidate in candidates:
            if len(await list_accounts_of_customer(engine, scope, candidate.public_id)) >= 2:
                chosen = candidate
                break
        else:
            await open_account(
                engine, scope, chosen.public_id, kind="savings", initial_deposit_minor=250_000
            )
        await link_customer_to_subject(engine, scope, chosen.public_id, subject)
