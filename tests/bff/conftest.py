from __future__ import annotations

from ..portals.conftest import (  # noqa: F401 — fixtures shared with the portal tests
    anyio_backend,
    banking_url,
    clock,
    postgres_template,
    sessions_url,
    sqlite_template,
    world,
    world_database,
)
