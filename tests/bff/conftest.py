from __future__ import annotations

from ..identity.conftest import (  # noqa: F401 — fixtures shared with the identity tests
    anyio_backend,
    clock,
    postgres_template,
    sqlite_template,
    world,
    world_database,
)
from ..portals.conftest import banking_url, sessions_url  # noqa: F401 — shared fixtures
