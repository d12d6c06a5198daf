from __future__ import annotations

from typing import Any

import jwt
import pytest

from tenantgate.identity.domain.tenant_refs import RefStatus

from ..harness import World, build_deps

pytestmark = pytest.mark.anyio


def tenant_claim(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["tenant"])


async def test_rotation_never_ends_a_session_and_refresh_carries_the_current_ref(
    world: World,
) -> None:
    period = world.deps.config.tenant_ref_rotation
    scoped = await world.admin_in("First Harbor Bank")
    old_ref = scoped["tenant"]["ref"]
    world.clock.advance(period)
    refreshed = await world.refresh("admin-portal", scoped["refresh_token"])
    assert refreshed.status_code == 200
    new_ref = tenant_claim(refreshed.json()["access_token"])
    assert new_ref != old_ref
    assert refreshed.json()["tenant"] == {"ref": new_ref, "name": "First Harbor Bank"}
    # The session goes on: SSO works with the refreshed token.
    assert (await world.mint_sso(refreshed.json()["access_token"])).status_code == 200


async def test_an_old_ref_is_stale_during_the_grace_window_then_unknown(world: World) -> None:
    period = world.deps.config.tenant_ref_rotation
    admin = await world.login("admin-portal", "admin")
    old_ref = await world.tenant_ref(admin["access_token"], "First Harbor Bank")
    world.clock.advance(period)
    fresh = await world.login("admin-portal", "admin")
    # Stale within grace: still names its FI; the answer carries the current ref.
    selected = await world.select_tenant(fresh["access_token"], old_ref)
    assert selected.status_code == 200
    assert selected.json()["tenant"]["ref"] != old_ref
    world.clock.advance(world.deps.config.tenant_ref_grace + 1)
    later = await world.login("admin-portal", "admin")
    refused = await world.select_tenant(later["access_token"], old_ref)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"


async def test_every_instance_agrees_on_the_current_ref(world: World) -> None:
    url = world.deps.store.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    other = build_deps(url, world.clock)
    tenant_id = world.seed.tenants["First Harbor Bank"]
    try:
        world.clock.advance(3 * world.deps.config.tenant_ref_rotation)
        refs = {await world.deps.current_ref(tenant_id), await other.current_ref(tenant_id)}
        assert len(refs) == 1
    finally:
        await other.store.engine.dispose()  # type: ignore[attr-defined]


async def test_a_token_with_a_ref_past_its_grace_is_refused(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    config = world.deps.config
    world.clock.advance(config.tenant_ref_rotation + config.tenant_ref_grace)
    # The access token itself has expired by now too; introspection says inactive.
    assert (await world.introspect("admin-portal", scoped["access_token"]))["active"] is False


async def test_a_known_ref_is_read_once_and_still_ages_by_the_clock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another instance learns a ref from the store once; stale and unknown still follow
    the clock afterwards, with no further read."""
    url = world.deps.store.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    other = build_deps(url, world.clock)
    tenant_id = world.seed.tenants["First Harbor Bank"]
    config = world.deps.config
    reads: list[str] = []
    real_find = other.store.find_ref

    async def counted(ref: str) -> Any:
        reads.append(ref)
        return await real_find(ref)

    monkeypatch.setattr(other.store, "find_ref", counted)
    try:
        ref = await world.deps.current_ref(tenant_id)
        assert await other.resolve_ref(ref) == (tenant_id, RefStatus.CURRENT)
        assert await other.resolve_ref(ref) == (tenant_id, RefStatus.CURRENT)
        assert reads == [ref]
        world.clock.advance(config.tenant_ref_rotation)
        assert await other.resolve_ref(ref) == (tenant_id, RefStatus.STALE)
        world.clock.advance(config.tenant_ref_grace + 1)
        assert (await other.resolve_ref(ref))[1] is RefStatus.UNKNOWN
        assert reads == [ref]
    finally:
        await other.store.engine.dispose()  # type: ignore[attr-defined]


async def test_an_unknown_ref_is_asked_for_every_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Misses are not kept: guesses cannot fill memory, and a ref stored later (by another
    instance) is found."""
    reads: list[str] = []
    real_find = world.deps.store.find_ref

    async def counted(ref: str) -> Any:
        reads.append(ref)
        return await real_find(ref)

    monkeypatch.setattr(world.deps.store, "find_ref", counted)
    guess = "fi_" + "z" * 24
    for _ in range(3):
        assert await world.deps.resolve_ref(guess) == (0, RefStatus.UNKNOWN)
    assert reads == [guess] * 3
    assert guess not in world.deps._ref_rows
