from __future__ import annotations

import jwt
import pytest

from tenantgate.identity.services.keyring import rotate_keys

from ..harness import World

pytestmark = pytest.mark.anyio


async def test_rotation_publishes_both_keys_and_old_tokens_keep_working(world: World) -> None:
    before = await world.admin_in("First Harbor Bank")
    old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
    await rotate_keys(world.deps.store, world.deps.config, world.clock, "sig")
    await world.deps.keyring.refresh(force=True)
    kids = {k["kid"] for k in (await world.http.get("/jwks.json")).json()["keys"]}
    assert len(kids) == 2
    assert old_kid in kids
    after = await world.refresh("admin-portal", before["refresh_token"])
    new_kid = jwt.get_unverified_header(after.json()["access_token"])["kid"]
    assert new_kid != old_kid
    assert (await world.introspect("admin-portal", before["access_token"]))["active"] is True
    # Access tokens signed by the retired key keep working until they expire.
    assert (await world.mint_sso(before["access_token"])).status_code == 200
    assert (await world.mint_sso(after.json()["access_token"])).status_code == 200


async def test_a_retired_key_leaves_the_jwks_after_the_overlap(world: World) -> None:
    token = (await world.admin_in("First Harbor Bank"))["access_token"]
    old_kid = jwt.get_unverified_header(token)["kid"]
    await rotate_keys(world.deps.store, world.deps.config, world.clock, "sig")
    world.clock.advance(world.deps.config.key_overlap + 1)
    await world.deps.keyring.refresh(force=True)
    kids = {k["kid"] for k in (await world.http.get("/jwks.json")).json()["keys"]}
    assert old_kid not in kids
    assert len(kids) == 1
    assert (await world.introspect("admin-portal", token))["active"] is False
