from __future__ import annotations

import asyncio

import jwt
import pytest

from ..harness import World, running_world

pytestmark = pytest.mark.anyio


async def test_every_refresh_rotates_the_refresh_token(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    first = await world.refresh("admin-portal", scoped["refresh_token"])
    assert first.status_code == 200
    second = await world.refresh("admin-portal", first.json()["refresh_token"])
    assert second.status_code == 200
    tokens = {
        scoped["refresh_token"],
        first.json()["refresh_token"],
        second.json()["refresh_token"],
    }
    assert len(tokens) == 3


async def test_reusing_a_rotated_token_revokes_the_whole_family(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    newest = (await world.refresh("admin-portal", scoped["refresh_token"])).json()["refresh_token"]
    reuse = await world.refresh("admin-portal", scoped["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    newest_after = await world.refresh("admin-portal", newest)
    assert newest_after.status_code == 400
    assert newest_after.json()["error"] == "invalid_grant"
    assert await world.audit_events("token.refresh_reuse_detected")


async def test_twenty_parallel_refreshes_of_one_token_give_exactly_one_success(
    world: World,
) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    answers = await asyncio.gather(
        *(world.refresh("admin-portal", scoped["refresh_token"]) for _ in range(20))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == 19, statuses
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}


async def test_a_refresh_token_dies_after_the_idle_window(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    world.clock.advance(world.deps.config.refresh_token_idle_ttl + 1)
    response = await world.refresh("admin-portal", scoped["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_rotation_never_outlives_the_absolute_lifetime(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    token = scoped["refresh_token"]
    idle = world.deps.config.refresh_token_idle_ttl
    absolute = world.deps.config.refresh_token_ttl
    elapsed = 0
    while elapsed + idle - 10 < absolute:
        world.clock.advance(idle - 10)
        elapsed += idle - 10
        response = await world.refresh("admin-portal", token)
        assert response.status_code == 200, elapsed
        token = response.json()["refresh_token"]
    world.clock.advance(absolute - elapsed + 1)
    response = await world.refresh("admin-portal", token)
    assert response.status_code == 400


async def test_removing_the_grant_stops_refresh_at_once(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    admin = await world.administration()
    account_id, _ = await admin.account_id("admin")
    await admin.revoke_grant(account_id, world.seed.tenants["First Harbor Bank"])
    response = await world.refresh("admin-portal", scoped["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_disabling_the_account_stops_refresh_at_once(world: World) -> None:
    employee = world.employee_of()
    tokens = await world.login("reporting-portal", employee.username)
    await (await world.administration()).set_account_active(employee.username, False)
    response = await world.refresh("reporting-portal", tokens["refresh_token"])
    assert response.status_code == 400


async def test_a_refresh_token_of_one_client_is_refused_to_another_and_then_dead(
    world: World,
) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    stolen = await world.refresh("reporting-portal", scoped["refresh_token"])
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    assert (await world.refresh("admin-portal", scoped["refresh_token"])).status_code == 400


async def test_a_refresh_cannot_move_to_another_tenant(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    other_ref = await world.tenant_ref(scoped["unscoped"]["access_token"], "Granite Savings Bank")
    response = await world.refresh("admin-portal", scoped["refresh_token"], tenant=other_ref)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


async def test_a_refresh_cannot_widen_the_scope(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    response = await world.refresh(
        "admin-portal", scoped["refresh_token"], scope="customers:read sessions:manage admin"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_the_new_access_token_carries_current_permissions(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    admin = await world.administration()
    account_id, _ = await admin.account_id("admin")
    await admin.grant(
        account_id, world.seed.tenants["First Harbor Bank"], frozenset({"customers:read"})
    )
    body = (await world.refresh("admin-portal", scoped["refresh_token"])).json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["permissions"] == ["customers:read"]


@pytest.mark.parametrize("token", ["", "x" * 600, "not a token", "ünïcode"])
async def test_garbage_refresh_tokens_are_refused_cleanly(world: World, token: str) -> None:
    response = await world.refresh("admin-portal", token)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_grant", "invalid_request"}


async def test_a_revoked_refresh_token_stays_refused_after_a_restart(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    assert (await world.revoke("admin-portal", scoped["refresh_token"])).status_code == 200
    url = world.deps.store.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    async with running_world(url, world.seed, world.clock) as restarted:
        response = await restarted.refresh("admin-portal", scoped["refresh_token"])
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
        fresh = await restarted.admin_in("First Harbor Bank")
        assert (await restarted.refresh("admin-portal", fresh["refresh_token"])).status_code == 200
