from __future__ import annotations

import pytest

from ..harness import World

pytestmark = pytest.mark.anyio


async def test_a_fresh_access_token_introspects_active_with_its_claims(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    body = await world.introspect("admin-portal", scoped["access_token"])
    assert body["active"] is True
    assert body["tenant"] == scoped["tenant"]["ref"]
    assert body["client_id"] == "admin-portal"
    assert body["token_type"] == "Bearer"


async def test_a_refresh_token_introspects_active_for_its_client_only(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    assert (await world.introspect("admin-portal", scoped["refresh_token"]))["active"] is True
    assert await world.introspect("reporting-portal", scoped["refresh_token"]) == {"active": False}


async def test_foreign_tokens_introspect_inactive(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    assert await world.introspect("customer-portal", scoped["access_token"]) == {"active": False}


async def test_expired_tokens_introspect_inactive(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    world.clock.advance(world.deps.config.access_token_ttl + world.deps.config.leeway + 1)
    assert await world.introspect("admin-portal", scoped["access_token"]) == {"active": False}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "a.b.c.d.e", "x" * 9000])
async def test_garbage_introspects_inactive(world: World, token: str) -> None:
    assert await world.introspect("admin-portal", token) == {"active": False}


async def test_introspection_needs_client_authentication(world: World) -> None:
    response = await world.http.post("/introspect", data={"token": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_revoking_a_refresh_token_ends_its_session(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    assert (await world.revoke("admin-portal", scoped["refresh_token"])).status_code == 200
    assert (await world.refresh("admin-portal", scoped["refresh_token"])).status_code == 400
    assert (await world.introspect("admin-portal", scoped["access_token"]))["active"] is False
    unscoped = scoped["unscoped"]
    assert (await world.refresh("admin-portal", unscoped["refresh_token"])).status_code == 400
    assert (await world.tenants(unscoped["access_token"])).status_code == 401
    assert await world.audit_events("token.revoked")


async def test_revoking_an_access_token_makes_it_inactive(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    assert (await world.revoke("admin-portal", scoped["access_token"])).status_code == 200
    assert (await world.introspect("admin-portal", scoped["access_token"]))["active"] is False
    assert (await world.mint_sso(scoped["access_token"])).status_code == 400
    # The session itself goes on through refresh.
    assert (await world.refresh("admin-portal", scoped["refresh_token"])).status_code == 200


async def test_another_client_cannot_revoke_a_token(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    assert (await world.revoke("reporting-portal", scoped["refresh_token"])).status_code == 200
    assert (await world.refresh("admin-portal", scoped["refresh_token"])).status_code == 200


@pytest.mark.parametrize("token", ["unknown-token", "a.b.c", "\u2603"])
async def test_unknown_tokens_revoke_with_200(world: World, token: str) -> None:
    assert (await world.revoke("admin-portal", token)).status_code == 200


async def test_revocation_without_a_token_is_an_invalid_request(world: World) -> None:
    response = await world.http.post("/revoke", data={}, auth=world.basic("admin-portal"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
