from __future__ import annotations

import pytest

from ..harness import World

pytestmark = pytest.mark.anyio


async def test_admin_logs_in_lists_selects_refreshes_and_revokes(world: World) -> None:
    unscoped = await world.login("admin-portal", "admin")
    listing = await world.tenants(unscoped["access_token"])
    assert listing.status_code == 200
    names = [t["name"] for t in listing.json()["tenants"]]
    assert "First Harbor Bank" in names
    ref = await world.tenant_ref(unscoped["access_token"], "First Harbor Bank")
    selected = await world.select_tenant(unscoped["access_token"], ref)
    assert selected.status_code == 200, selected.text
    body = selected.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    refreshed = await world.refresh("admin-portal", body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert (
        await world.revoke("admin-portal", refreshed.json()["refresh_token"])
    ).status_code == 200
    again = await world.refresh("admin-portal", refreshed.json()["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
