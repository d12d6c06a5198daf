"""Key rotation (`tenantgate keys rotate` in another process, twice) and tenant-ref
rotation (every 3 s) while 20 clients refresh, introspect, mint and redeem SSO tokens for
about 10 s against a real identity process: not one request may fail.  Afterwards the
audit trail holds an event for every token handed out and `tenantgate audit verify`
passes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ..identity.databases import postgres_schema
from ..identity.harness import prepare_database
from .harness import Oauth, assert_audit_verifies, audit_counts, cli, serving

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CLIENTS = 20
LOAD_SECONDS = 14.0  # longer than the key cache (10 s): new keys sign during the load
MAX_ITERATIONS = 60  # per client: bounds the request count whatever the machine's speed
# A ref stays accepted for one further period only, whatever the access token's lifetime:
# with a 3 s period, a token refreshed late in one period and used ~3 s later (20 clients on
# one process) was refused as "tenant ref unknown".  4 s keeps several rotations in the run
# while leaving every token more than its round trip of validity.
REF_ROTATION = "4"


def signing_kid(jwt: str) -> str:
    header = jwt.split(".", 1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


async def test_rotations_during_load_fail_no_request(database: str, tmp_path: Path) -> None:
    seed = await prepare_database(database)
    tenant = next(iter(seed.tenants))
    settings = {"tenant_ref_rotation": REF_ROTATION}
    failures: list[str] = []
    refs: set[str] = set()
    kids: set[str] = set()
    rotations: list[str] = []
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(database, tmp_path / "identity.log", **settings) as server:
            await server.wait_healthy(http)
            oauth = Oauth(server, seed, http)
            sessions = [await oauth.scoped_admin(tenant) for _ in range(CLIENTS)]
            deadline = time.monotonic() + LOAD_SECONDS

            def failed(what: str, answer: httpx.Response) -> bool:
                if answer.status_code == 200:
                    return False
                failures.append(
                    f"{what} at {time.time():.3f}: {answer.status_code} {answer.text[:120]}"
                )
                return True

            async def client_loop(session: dict[str, Any]) -> None:
                refresh_token = str(session["refresh_token"])
                for _ in range(MAX_ITERATIONS):
                    if time.monotonic() >= deadline:
                        return
                    refreshed_at = time.time()
                    refreshed = await oauth.refresh(refresh_token)
                    if failed("refresh", refreshed):
                        return
                    oauth.count("token.refreshed")
                    body = refreshed.json()
                    refresh_token = str(body["refresh_token"])
                    access = str(body["access_token"])
                    kids.add(signing_kid(access))
                    if isinstance(body.get("tenant"), dict):
                        refs.add(str(body["tenant"].get("ref")))
                    introspected = await oauth.introspect(access)
                    if failed("introspect", introspected):
                        return
                    if introspected.json().get("active") is not True:
                        failures.append(f"introspect: inactive {introspected.text[:200]}")
                        return
                    minted = await oauth.mint_sso(access)
                    if failed(f"mint ({time.time() - refreshed_at:.2f}s after refresh)", minted):
                        return
                    oauth.count("sso.minted")
                    redeemed = await oauth.redeem_sso(str(minted.json()["access_token"]))
                    if failed("redeem", redeemed):
                        return
                    oauth.count("sso.redeemed")

            async def rotate_keys() -> None:
                for at in (1.0, 3.0):
                    await anyio.sleep(max(0.0, deadline - LOAD_SECONDS + at - time.monotonic()))
                    done = await anyio.to_thread.run_sync(
                        lambda: cli(database, "keys", "rotate", **settings)
                    )
                    assert done.returncode == 0, done.stdout + done.stderr
                    rotations.append(done.stdout.strip())

            started = time.monotonic()
            with anyio.fail_after(LOAD_SECONDS + 60):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(rotate_keys)
                    for session in sessions:
                        tg.start_soon(client_loop, session)
            elapsed = time.monotonic() - started
        log = (tmp_path / "identity.log").read_text(errors="replace")

    refused = [line for line in log.splitlines() if "request_refused" in line]
    assert failures == [], (failures[:5], refused[:5])
    assert len(rotations) == 2, rotations
    assert len(kids) >= 2, f"the load never saw a rotated signing key: {kids}"
    assert "unhandled_error" not in log
    tally = oauth.tally
    counts = audit_counts(database)
    # Every request that got a token has its audit event; nothing extra, nothing missing.
    for event in ("code.exchanged", "tenant.selected", "token.refreshed"):
        assert counts.get(event) == tally[event], (event, counts, tally)
    assert counts.get("sso.minted") == tally["sso.minted"], (counts, tally)
    assert counts.get("sso.redeemed") == tally["sso.redeemed"], (counts, tally)
    verified = assert_audit_verifies(database)
    requests = 4 * tally["token.refreshed"]
    print(
        f"rotation under load: {CLIENTS} clients, {elapsed:.1f}s, ~{requests} requests, "
        f"0 failed; {tally['token.refreshed']} refreshes, {tally['sso.redeemed']} SSO "
        f"round trips; {len(refs)} distinct tenant refs seen; {len(kids)} signing kids in "
        f"the tokens across 2 key rotations; audit {verified}"
    )
