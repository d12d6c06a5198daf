from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tenantgate.identity.domain.clock import ManualClock

from .databases import postgres_schema
from .harness import World, prepare_database, running_world


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=float(int(time.time())))


@pytest.fixture
async def world(database_url: str, clock: ManualClock) -> AsyncIterator[World]:
    seed = await prepare_database(database_url)
    async with running_world(database_url, seed, clock) as running:
        yield running
