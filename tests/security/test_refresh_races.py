"""SECURITY.md matrix, row "Refresh races", at the identity server (the only holder of
refresh tokens) and through a portal's transparent refresh. Thorough:
tests/identity/http/test_refresh.py."""

from __future__ import annotations

import anyio
import httpx
import pytest

from ..identity.harness import World, running_world
from ..portals.harness import PortalWorld
from ..portals.reporting.steps import employee_login, employee_of_fi
from .portals import session_of
from .support import FIRST

pytestmark = pytest.mark.anyio


async def test_n_parallel_refreshes_of_one_token(world: World) -> None:
    tokens = await world.login("admin-portal", "admin")
    answers: list[httpx.Response] = []

    async def refresh() -> None:
        answers.append(await world.refresh("admin-portal", tokens["refresh_token"]))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            for _ in range(12):
                tasks.start_soon(refresh)
    assert sorted(a.status_code for a in answers) == [200] + [400] * 11
    assert all(a.json()["error"] == "invalid_grant" for a in answers if a.status_code == 400)


async def test_n_parallel_portal_requests_needing_a_refresh(reporting: PortalWorld) -> None:
    """The BFF side: ten requests of one session all arrive after the access token expired;
    the session's lease lets one of them rotate, all ten are served, the family lives."""
    session = await employee_login(reporting, employee_of_fi(reporting, FIRST))
    before = await session_of(reporting)
    world = reporting.identity
    world.clock.advance(before.access_expires_at - world.clock.now() + 1)
    answers: list[httpx.Response] = []

    async def call() -> None:
        answers.append(
            await reporting.browser.get("/api/session", headers={"X-Reporting-Session": session})
        )

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            for _ in range(10):
                tasks.start_soon(call)
    assert [a.status_code for a in answers] == [200] * 10
    after = await session_of(reporting)
    assert after.tokens.refresh_token != before.tokens.refresh_token
    assert await world.audit_events("token.refresh_reuse_detected") == []


async def test_reuse_after_rotation_revokes_the_family(world: World) -> None:
    tokens = await world.login("admin-portal", "admin")
    rotated = await world.refresh("admin-portal", tokens["refresh_token"])
    newest = rotated.json()["refresh_token"]
    reuse = await world.refresh("admin-portal", tokens["refresh_token"])
    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
    victim = await world.refresh("admin-portal", newest)
    assert (victim.status_code, victim.json()["error"]) == (400, "invalid_grant")
    # Residual, documented (SECURITY.md "Tokens"): the live access token of the revoked
    # family is bounded by its lifetime; what dies at once is every refresh of the family.
    assert len(await world.audit_events("token.refresh_reuse_detected")) == 1


async def test_revoked_token_after_a_restart(world: World) -> None:
    tokens = await world.login("admin-portal", "admin")
    assert (await world.revoke("admin-portal", tokens["refresh_token"])).status_code == 200
    url = world.deps.store.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    async with running_world(url, world.seed, world.clock) as restarted:
        answer = await restarted.refresh("admin-portal", tokens["refresh_token"])
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
        fresh = await restarted.login("admin-portal", "admin")
        assert (await restarted.refresh("admin-portal", fresh["refresh_token"])).status_code == 200


async def test_refresh_token_of_client_p_used_by_client_q(world: World) -> None:
    employee = next(u for u in world.seed.users if u.kind.value == "employee")
    tokens = await world.login("reporting-portal", employee.username)
    for thief in ("admin-portal", "customer-portal"):
        stolen = await world.refresh(thief, tokens["refresh_token"])
        assert (stolen.status_code, stolen.json()["error"]) == (400, "invalid_grant"), thief
    anonymous = await world.http.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert anonymous.status_code == 401


async def test_refresh_after_grant_removal(world: World) -> None:
    scoped = await world.admin_in(FIRST)
    admin = await world.administration()
    account_id, _ = await admin.account_id("admin")
    await admin.revoke_grant(account_id, world.seed.tenants[FIRST])
    answer = await world.refresh("admin-portal", scoped["refresh_token"])
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 400


async def test_refresh_after_account_disable(world: World) -> None:
    employee = next(u for u in world.seed.users if u.kind.value == "employee")
    tokens = await world.login("reporting-portal", employee.username)
    await (await world.administration()).set_account_active(employee.username, False)
    answer = await world.refresh("reporting-portal", tokens["refresh_token"])
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
