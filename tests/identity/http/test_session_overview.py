"""The operators' session overview on real logins: what `sessions list` shows, and that
`sessions revoke` really ends refresh, SSO and the access token."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tenantgate.demo.seed import ADMIN_GRANT
from tenantgate.identity.domain.permissions import SESSIONS_MANAGE

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


# -- The same overview over HTTP, for the admin portal (`/admin/sessions`) -------------------
# The FI comes from the operator's token only: whatever is asked, nothing acting on another
# FI is ever listed or ended, and the answers for "another FI's" and "unknown" are equal.

FIRST = "First Harbor Bank"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def overview(world: World, token: str, username: str) -> httpx.Response:
    return await world.http.get(
        "/admin/sessions", params={"username": username}, headers=bearer(token)
    )


async def listed(world: World, token: str, username: str) -> list[dict[str, Any]]:
    response = await overview(world, token, username)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    sessions: list[dict[str, Any]] = response.json()["sessions"]
    return sessions


async def revoke_sid(world: World, token: str, sid: str) -> httpx.Response:
    return await world.http.post("/admin/sessions/revoke", data={"sid": sid}, headers=bearer(token))


def other_fi(world: World) -> str:
    return sorted(set(world.seed.tenants) - {FIRST})[0]


def employee_at(world: World, fi: str) -> str:
    return next(
        u.username
        for u in world.seed.users
        if u.kind.value == "employee" and u.tenants[0]["name"] == fi
    )


def customer_at(world: World, fi: str) -> str:
    return next(
        u.username
        for u in world.seed.users
        if u.kind.value == "customer" and u.tenants[0]["name"] == fi
    )


async def sid_of(world: World, client_id: str, access_token: str) -> str:
    return str((await world.introspect(client_id, access_token))["sid"])


async def test_an_operator_sees_exactly_the_sessions_acting_on_its_fi(world: World) -> None:
    other = other_fi(world)
    employee = await world.login("reporting-portal", employee_at(world, FIRST))
    await world.login("reporting-portal", employee_at(world, other))
    await world.login("customer-portal", customer_at(world, FIRST))
    world.clock.advance(30)
    operator = await world.admin_in(FIRST)
    token = operator["access_token"]
    sso = (await world.mint_sso(token)).json()["access_token"]
    assert (await world.redeem_sso(sso)).status_code == 200  # the admin's reporting session
    elsewhere = await world.admin_in(other)  # the admin's session acting on another FI
    await world.login("admin-portal", "admin")  # and one acting on no FI yet

    answer = (await overview(world, token, employee_at(world, FIRST))).json()
    assert answer["tenant"] == {"ref": operator["tenant"]["ref"], "name": FIRST}
    [only] = answer["sessions"]
    assert only == {
        "sid": await sid_of(world, "reporting-portal", employee["access_token"]),
        "client_id": "reporting-portal",
        "client_name": "Reporting Dashboard",
        "tenant": {"name": FIRST},
        "started_at": world.clock.now() - 30,
        "last_activity_at": world.clock.now() - 30,
        "current": False,
    }
    [customer] = await listed(world, token, customer_at(world, FIRST))
    assert customer["client_id"] == "customer-portal"

    mine = await listed(world, token, "admin")
    assert sorted((s["client_id"], s["current"]) for s in mine) == [
        ("admin-portal", True),
        ("reporting-portal", False),
    ]
    assert {s["tenant"]["name"] for s in mine} == {FIRST}
    own_sid = await sid_of(world, "admin-portal", token)
    assert next(s["sid"] for s in mine if s["current"]) == own_sid

    # Another FI's people, an unknown name and hostile input: one and the same answer.
    nothing = {"tenant": answer["tenant"], "sessions": []}
    for username in (
        employee_at(world, other),
        customer_at(world, other),
        "nobody",
        "' OR 1=1 --",
        "%",
    ):
        found = (await overview(world, token, username)).json()
        assert found == {**nothing, "username": username}, username

    # Seen from the other FI, the picture is the mirror image.
    theirs = elsewhere["access_token"]
    assert await listed(world, theirs, employee_at(world, FIRST)) == []
    assert len(await listed(world, theirs, employee_at(world, other))) == 1
    assert [s["current"] for s in await listed(world, theirs, "admin")] == [True]


async def test_revoking_ends_the_session_and_is_audited_with_who_did_it(world: World) -> None:
    username = employee_at(world, FIRST)
    employee = await world.login("reporting-portal", username)
    operator = await world.admin_in(FIRST)
    token = operator["access_token"]
    [session] = await listed(world, token, username)

    answer = await revoke_sid(world, token, session["sid"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"revoked": session["sid"]}
    refused = await world.refresh("reporting-portal", employee["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert await world.introspect("reporting-portal", employee["access_token"]) == {"active": False}
    assert await listed(world, token, username) == []
    again = await revoke_sid(world, token, session["sid"])
    assert again.status_code == 404
    assert again.json() == (await revoke_sid(world, token, "no-such-session")).json()

    admin = await world.administration()
    [event] = await world.audit_events("session.revoked")
    assert event["session_id"] == session["sid"]
    assert event["account_id"] == (await admin.account_id(username))[0]
    assert event["tenant_id"] == world.seed.tenants[FIRST]
    assert event["client_id"] == "admin-portal"
    detail = json.loads(event["detail"])
    assert detail["by"] == "admin"
    assert detail["by_account_id"] == (await admin.account_id("admin"))[0]
    assert detail["by_session_id"] == await sid_of(world, "admin-portal", token)
    assert detail["session_client_id"] == "reporting-portal"
    assert len(await world.audit_events("session.revoke_refused")) == 2
    assert (await admin.verify_audit_chain()).intact


async def test_another_fis_session_is_not_found_and_lives_on(world: World) -> None:
    other = other_fi(world)
    theirs = await world.login("reporting-portal", employee_at(world, other))
    admin_there = await world.admin_in(other)
    unscoped = await world.login("admin-portal", "admin")
    moved = await world.admin_in(FIRST)  # acts on FIRST now, on the other FI a moment later
    operator = await world.admin_in(FIRST)
    token = operator["access_token"]
    moved_sid = await sid_of(world, "admin-portal", moved["access_token"])
    assert moved_sid in {s["sid"] for s in await listed(world, token, "admin")}
    ref = await world.tenant_ref(moved["unscoped"]["access_token"], other)
    switched = await world.select_tenant(moved["unscoped"]["access_token"], ref)
    assert switched.status_code == 200

    unknown = await revoke_sid(world, token, "no-such-session")
    assert unknown.status_code == 404
    foreign = [
        await sid_of(world, "reporting-portal", theirs["access_token"]),
        await sid_of(world, "admin-portal", admin_there["access_token"]),
        await sid_of(world, "admin-portal", unscoped["access_token"]),
        moved_sid,
    ]
    for sid in foreign:
        answer = await revoke_sid(world, token, sid)
        assert (answer.status_code, answer.json()) == (404, unknown.json()), sid
    assert (await world.refresh("reporting-portal", theirs["refresh_token"])).status_code == 200
    assert (await world.refresh("admin-portal", admin_there["refresh_token"])).status_code == 200
    assert (
        await world.refresh("admin-portal", switched.json()["refresh_token"])
    ).status_code == 200
    assert (await world.tenants(unscoped["access_token"])).status_code == 200
    assert await world.audit_events("session.revoked") == []


async def test_without_sessions_manage_the_overview_is_forbidden(world: World) -> None:
    username = employee_at(world, FIRST)
    employee = await world.login("reporting-portal", username)
    sid = await sid_of(world, "reporting-portal", employee["access_token"])
    ops_fi = world.user("ops").tenants[0]["name"]
    ops = await world.admin_in(ops_fi, "ops")  # customers:read and reporting:view only
    for answer in (
        await overview(world, ops["access_token"], username),
        await revoke_sid(world, ops["access_token"], sid),
    ):
        assert answer.status_code == 403
        assert answer.json()["error"] == "insufficient_scope"

    # A grant narrowed after the token was issued counts at once.
    operator = await world.admin_in(FIRST)
    assert len(await listed(world, operator["access_token"], username)) == 1
    admin = await world.administration()
    admin_id, _ = await admin.account_id("admin")
    await admin.grant(
        admin_id, world.seed.tenants[FIRST], ADMIN_GRANT - frozenset({SESSIONS_MANAGE})
    )
    assert (await overview(world, operator["access_token"], username)).status_code == 403
    assert (await revoke_sid(world, operator["access_token"], sid)).status_code == 403
    assert (await world.refresh("reporting-portal", employee["refresh_token"])).status_code == 200


async def test_only_a_live_fi_scoped_admin_token_for_the_admin_api_is_accepted(
    world: World,
) -> None:
    username = employee_at(world, FIRST)
    employee = await world.login("reporting-portal", username)
    customer = await world.login("customer-portal", customer_at(world, FIRST))
    unscoped = await world.login("admin-portal", "admin")
    answer = await overview(world, unscoped["access_token"], username)
    assert (answer.status_code, answer.json()["error"]) == (403, "insufficient_scope")

    operator = await world.admin_in(FIRST)
    sso = (await world.mint_sso(operator["access_token"])).json()["access_token"]
    via_sso = (await world.redeem_sso(sso)).json()
    before_switch = operator["access_token"]
    ref = await world.tenant_ref(operator["unscoped"]["access_token"], other_fi(world))
    assert (await world.select_tenant(operator["unscoped"]["access_token"], ref)).status_code == 200
    for token in (
        employee["access_token"],  # another audience (reporting-api)
        customer["access_token"],
        via_sso["access_token"],  # the admin, but in reporting
        before_switch,  # the session acts on another FI now
        employee["refresh_token"],
        sso,
    ):
        answer = await overview(world, token, username)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer a.b.c.d.e",
        "Token abc",
        "Basic YTpi",
    ],
)
async def test_garbage_credentials_are_invalid_tokens(
    world: World, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for answer in (
        await world.http.get("/admin/sessions", params={"username": "admin"}, headers=headers),
        await world.http.post("/admin/sessions/revoke", data={"sid": "x"}, headers=headers),
    ):
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_token"


async def test_malformed_requests_are_refused_without_effect(world: World) -> None:
    username = employee_at(world, FIRST)
    employee = await world.login("reporting-portal", username)
    token = (await world.admin_in(FIRST))["access_token"]
    get = world.http.get
    for params in ({}, {"username": ""}, {"username": "x" * 151}, {"username": "a\x00b"}):
        answer = await get("/admin/sessions", params=params, headers=bearer(token))
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request"), params
    repeated = await get("/admin/sessions?username=admin&username=ops", headers=bearer(token))
    assert repeated.status_code == 400
    huge = await overview(world, "x" * 9000, username)
    assert huge.status_code in (400, 431)  # the header limit may answer first

    post = world.http.post
    for data in ({}, {"sid": ""}):
        answer = await post("/admin/sessions/revoke", data=data, headers=bearer(token))
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    as_json = await post("/admin/sessions/revoke", json={"sid": "x"}, headers=bearer(token))
    assert as_json.status_code == 400
    for sid in ("x" * 65, "' OR 1=1 --", "%"):
        assert (await revoke_sid(world, token, sid)).status_code == 404
    assert (await get("/admin/sessions/revoke", headers=bearer(token))).status_code == 405
    assert (await post("/admin/sessions", headers=bearer(token))).status_code == 405
    assert (await world.refresh("reporting-portal", employee["refresh_token"])).status_code == 200


async def test_a_session_that_can_no_longer_refresh_is_not_listed(world: World) -> None:
    username = employee_at(world, FIRST)
    employee = await world.login("reporting-portal", username)
    sid = await sid_of(world, "reporting-portal", employee["access_token"])
    world.clock.advance(world.deps.config.refresh_token_idle_ttl + 1)
    token = (await world.admin_in(FIRST))["access_token"]
    assert await listed(world, token, username) == []
    assert (await revoke_sid(world, token, sid)).status_code == 404
