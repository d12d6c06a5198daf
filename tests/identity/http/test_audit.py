from __future__ import annotations

import json

import pytest

from ..harness import World

pytestmark = pytest.mark.anyio


async def test_logins_selection_refresh_reuse_and_revocation_are_audited(world: World) -> None:
    page, _ = await world.login_page("admin-portal")
    await world.submit_login(page, "admin", "wrong password!")
    scoped = await world.admin_in("First Harbor Bank")
    rotated = (await world.refresh("admin-portal", scoped["refresh_token"])).json()
    await world.refresh("admin-portal", scoped["refresh_token"])  # reuse
    await world.revoke("admin-portal", rotated["refresh_token"])
    events = await world.audit_events()
    names = [e["event"] for e in events]
    for expected in (
        "login.failed",
        "login.succeeded",
        "code.exchanged",
        "tenant.selected",
        "token.refreshed",
        "token.refresh_reuse_detected",
    ):
        assert expected in names, names
    first_harbor = world.seed.tenants["First Harbor Bank"]
    selected = next(e for e in events if e["event"] == "tenant.selected")
    assert selected["tenant_id"] == first_harbor
    assert selected["address"] == "127.0.0.1"
    assert selected["client_id"] == "admin-portal"
    failed = next(e for e in events if e["event"] == "login.failed")
    assert json.loads(failed["detail"]) == {"username": "admin"}
    assert failed["account_id"] is None  # the failure does not reveal whether the account exists


async def test_no_token_ever_lands_in_the_audit_trail(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    sso = (await world.mint_sso(scoped["access_token"])).json()["access_token"]
    redeemed = (await world.redeem_sso(sso)).json()
    secrets_seen = [
        scoped["access_token"],
        scoped["refresh_token"],
        sso,
        redeemed["access_token"],
        redeemed["refresh_token"],
    ]
    dump = json.dumps(await world.audit_events(), default=str)
    for secret in secrets_seen:
        assert secret not in dump
