"""The operators' session overview on real logins: what `sessions list` shows, and that
`sessions revoke` really ends refresh, SSO and the access token."""

from __future__ import annotations

import pytest

from ..harness import World

pytestmark = pytest.mark.anyio


async def test_live_sessions_show_client_fi_and_refresh_and_revocation_ends_them(
    world: World,
) -> None:
    first = await world.admin_in("First Harbor Bank")
    second = await world.login("admin-portal", "admin")
    world.clock.advance(60)
    await world.refresh("admin-portal", second["refresh_token"])
    admin = await world.administration()
    account_id, _ = await admin.account_id("admin")
    live = await admin.live_sessions(account_id)
    assert len(live) == 2
    by_fi = {s.tenant_name: s for s in live}
    assert set(by_fi) == {"First Harbor Bank", None}
    assert by_fi[None].last_refresh_at == world.clock.now()
    assert all(s.client_id == "admin-portal" for s in live)
    assert await admin.live_sessions((await admin.account_id("ops"))[0]) == []

    first_sid = by_fi["First Harbor Bank"].sid
    unscoped_token = first["unscoped"]["access_token"]
    assert (await world.tenants(unscoped_token)).status_code == 200
    assert await admin.revoke_sessions("admin", sid=first_sid, operator="tester") == [first_sid]
    refused = await world.refresh("admin-portal", first["refresh_token"])
    assert refused.status_code == 400
    assert (await world.tenants(unscoped_token)).status_code == 401
    assert (await world.mint_sso(first["access_token"])).status_code in (400, 401)
    assert [s.sid for s in await admin.live_sessions(account_id)] == [by_fi[None].sid]
    revoked = await world.audit_events("session.revoked")
    assert [(e["session_id"], e["account_id"]) for e in revoked] == [(first_sid, account_id)]

    assert len(await admin.revoke_sessions("admin", sid=None, operator="tester")) == 1
    assert await admin.live_sessions(account_id) == []
    assert (await (await world.administration()).verify_audit_chain()).intact
