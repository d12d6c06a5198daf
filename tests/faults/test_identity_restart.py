"""An identity server restart keeps every session and every revocation: stop the process,
start a new one on the same database (SQLite file, or a private schema on the shared
PostgreSQL), and the old refresh tokens still work while revoked ones stay revoked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..identity.databases import postgres_schema
from ..identity.harness import prepare_database
from .harness import Oauth, assert_audit_verifies, audit_counts, serving

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
        return
    with postgres_schema() as url:
        yield url


async def test_sessions_and_revocations_survive_a_restart(database: str, tmp_path: Path) -> None:
    seed = await prepare_database(database)
    tenant = next(iter(seed.tenants))
    log = tmp_path / "identity.log"
    async with httpx.AsyncClient(timeout=20) as http:
        with serving(database, log) as first:
            await first.wait_healthy(http)
            oauth = Oauth(first, seed, http)
            kept = [await oauth.scoped_admin(tenant) for _ in range(3)]
            revoked = [await oauth.scoped_admin(tenant) for _ in range(2)]
            # One kept session has rotated before the restart: its old token is spent.
            rotated = await oauth.refresh(kept[0]["refresh_token"])
            assert rotated.status_code == 200, rotated.text
            spent = kept[0]["refresh_token"]
            kept[0] = rotated.json()
            for session in revoked:
                answer = await oauth.revoke(session["refresh_token"])
                assert answer.status_code == 200, answer.text
            first_pid = first.process.pid if first.process else None

        with serving(database, log) as second:
            await second.wait_healthy(http)
            assert second.process is not None
            assert second.process.pid != first_pid
            oauth.server = second
            for session in kept:
                answer = await oauth.refresh(session["refresh_token"])
                assert answer.status_code == 200, answer.text
                introspected = await oauth.introspect(answer.json()["access_token"])
                assert introspected.json()["active"] is True
            for session in revoked:
                answer = await oauth.refresh(session["refresh_token"])
                assert answer.status_code == 400, answer.text
                assert answer.json()["error"] == "invalid_grant"
                # The access token of a revoked session is dead too.
                introspected = await oauth.introspect(session["access_token"])
                assert introspected.json()["active"] is False
            replay = await oauth.refresh(spent)
            assert replay.status_code == 400
            assert replay.json()["error"] == "invalid_grant"

    counts = audit_counts(database)
    assert counts.get("code.exchanged") == 5, counts
    assert counts.get("tenant.selected") == 5, counts
    assert counts.get("token.refreshed") == 1 + len(kept), counts
    assert counts.get("token.revoked", 0) >= len(revoked), counts
    assert_audit_verifies(database)
