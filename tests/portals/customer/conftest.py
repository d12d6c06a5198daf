"""Customer-portal fixtures: the portal in-process against a seeded identity server and
banking database (every test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantgate.portals.customer.app import create_customer_app

from ...identity.harness import World
from ..harness import PortalWorld, running_portal
from .support import Customer, ensure_two_accounts, sign_in


@pytest.fixture
async def portal(world: World, banking_url: str, sessions_url: str) -> AsyncIterator[PortalWorld]:
    async with running_portal(
        world, "customer", create_customer_app, banking_url=banking_url, sessions_url=sessions_url
    ) as running:
        yield running


@pytest.fixture
async def me(portal: PortalWorld) -> Customer:
    """The first FI's demo customer, signed in, with (at least) two accounts to move money."""
    await ensure_two_accounts(portal, 0)
    return await sign_in(portal, 0)
