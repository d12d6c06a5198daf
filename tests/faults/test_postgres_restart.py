"""PostgreSQL goes away under traffic: a real identity process answers 503
`temporarily_unavailable` quickly (never a 500, never a hang), recovers on its own once the
database is back, and no refresh-token state is lost or issued twice.

Runs on a private PostgreSQL cluster in a temporary directory: the shared server is never
stopped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from ..identity.harness import prepare_database
from .harness import (
    Oauth,
    PrivatePostgres,
    assert_audit_verifies,
    audit_counts,
    private_postgres,
    serving,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# A request during the outage must be answered well within this.
MAX_OUTAGE_ANSWER_SECONDS = 5.0
OUTAGE_SECONDS = 3.0
RECOVERY_DEADLINE = 30.0


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


async def test_restart_during_refresh_traffic(postgres: PrivatePostgres, tmp_path: Path) -> None:
    seed = await prepare_database(postgres.url)
    tenant = next(iter(seed.tenants))
    with serving(postgres.url, tmp_path / "identity.log") as server:
        async with httpx.AsyncClient(timeout=20) as http:
            await server.wait_healthy(http)
            oauth = Oauth(server, seed, http)
            scoped = await oauth.scoped_admin(tenant)
            current = str(scoped["refresh_token"])
            issued: list[str] = [current]
            outcomes: list[tuple[str, int, float, str]] = []  # phase, status, seconds, error

            async def refresh_once(phase: str) -> httpx.Response:
                nonlocal current
                started = time.monotonic()
                with anyio.fail_after(MAX_OUTAGE_ANSWER_SECONDS + 10):
                    answer = await oauth.refresh(current)
                took = time.monotonic() - started
                error = ""
                if answer.status_code == 200:
                    current = str(answer.json()["refresh_token"])
                    issued.append(current)
                    oauth.count("token.refreshed")
                else:
                    error = str(answer.json().get("error"))
                outcomes.append((phase, answer.status_code, took, error))
                return answer

            # Traffic before the outage.
            for _ in range(10):
                assert (await refresh_once("before")).status_code == 200

            await anyio.to_thread.run_sync(postgres.stop)
            outage_end = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < outage_end:
                answer = await refresh_once("outage")
                assert answer.status_code == 503, answer.text
                body = answer.json()
                assert body["error"] == "temporarily_unavailable", body
                assert body.get("error_description"), body
                assert answer.headers["cache-control"] == "no-store"
                await anyio.sleep(0.05)
            # Health and readiness tell the truth meanwhile.
            assert (await http.get(f"{server.base}/healthz")).status_code == 200
            assert (await http.get(f"{server.base}/readyz")).status_code == 503

            await anyio.to_thread.run_sync(postgres.start)
            restarted = time.monotonic()
            recovered_after: float | None = None
            while time.monotonic() - restarted < RECOVERY_DEADLINE:
                answer = await refresh_once("recovery")
                assert answer.status_code in (200, 503), answer.text
                if answer.status_code == 200:
                    recovered_after = time.monotonic() - restarted
                    break
                await anyio.sleep(0.1)
            assert recovered_after is not None, "no recovery without restarting the app"
            for _ in range(10):
                assert (await refresh_once("after")).status_code == 200
            assert server.process is not None
            assert server.process.poll() is None  # the same process served throughout

            # The family is intact: the last token works exactly once ...
            last = current
            final = await oauth.refresh(last)
            assert final.status_code == 200, final.text
            oauth.count("token.refreshed")
            replay = await oauth.refresh(last)
            assert replay.status_code == 400
            assert replay.json()["error"] == "invalid_grant"
            # ... and every token issued before it was already spent exactly once: no double
            # issuance (each success rotated a distinct token; the refusals rotated none).
            assert len(set(issued)) == len(issued)

    statuses = [(phase, status) for phase, status, _, _ in outcomes]
    assert not [s for s in statuses if s[1] >= 500 and s[1] != 503]
    outage = [o for o in outcomes if o[0] == "outage"]
    slowest = max(o[2] for o in outage)
    assert slowest < MAX_OUTAGE_ANSWER_SECONDS, slowest
    counts = audit_counts(postgres.url)
    assert counts.get("token.refreshed") == oauth.tally["token.refreshed"], counts
    assert counts.get("code.exchanged") == oauth.tally["code.exchanged"], counts
    assert counts.get("token.refresh_reuse_detected") == 1, counts  # the replay above
    verified = assert_audit_verifies(postgres.url)
    print(
        f"postgres restart: {len(outage)} requests during the outage, all 503 "
        f"temporarily_unavailable (slowest {slowest:.3f}s); "
        f"{sum(1 for o in outcomes if o[0] == 'recovery' and o[1] == 503)} more 503 after the "
        f"restart; recovered {recovered_after:.2f}s after PostgreSQL was back; "
        f"{oauth.tally['token.refreshed']} refreshes; audit {verified}"
    )
