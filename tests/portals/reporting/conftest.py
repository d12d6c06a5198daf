"""The reporting portal in-process, wired to the seeded identity server and banking data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantgate.portals.reporting.app import create_reporting_app

from ...identity.harness import World
from ..harness import PortalWorld, running_portal


@pytest.fixture
async def reporting(
    world: World, banking_url: str, sessions_url: str
) -> AsyncIterator[PortalWorld]:
    async with running_portal(
        world,
        "reporting",
        create_reporting_app,
        banking_url=banking_url,
        sessions_url=sessions_url,
    ) as running:
        yield running
