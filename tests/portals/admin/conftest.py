"""Admin-portal fixtures: the portal in-process against a seeded identity server and
banking database (every test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantgate.portals.admin.app import create_admin_app

from ...identity.harness import World
from ..harness import PortalWorld, running_portal
from .steps import REPORTING_URL


@pytest.fixture
async def admin(world: World, banking_url: str, sessions_url: str) -> AsyncIterator[PortalWorld]:
    async with running_portal(
        world,
        "admin",
        lambda portal, banking: create_admin_app(portal, banking, reporting_url=REPORTING_URL),
        banking_url=banking_url,
        sessions_url=sessions_url,
    ) as running:
        yield running
