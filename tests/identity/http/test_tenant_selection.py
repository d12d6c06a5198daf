from __future__ import annotations

import jwt
import pytest
from sqlalchemy import update

from tenantgate.identity.storage import schema
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from ..harness import World

pytestmark = pytest.mark.anyio


async def test_tenants_lists_exactly_the_admins_fis(world: World) -> None:
    ops = await world.login("admin-portal", "ops")
    listing = (await world.tenants(ops["access_token"])).json()["tenants"]
    assert [t["name"] for t in listing] == sorted(t["name"] for t in world.user("ops").tenants)
    assert len(listing) == 2
    assert all(t["ref"].startswith("fi_") for t in listing)
    admin = await world.login("admin-portal", "admin")
    assert len((await world.tenants(admin["access_token"])).json()["tenants"]) == 3


async def test_tenant_listing_needs_an_admin_bearer_token(world: World) -> None:
    assert (await world.http.get("/tenants")).status_code == 401
    employee = await world.login("reporting-portal", world.employee_of().username)
    refused = await world.tenants(employee["access_token"])
    assert refused.status_code == 401  # a reporting-api token is not for this resource
    assert refused.headers["www-authenticate"].startswith("Bearer")


async def test_selecting_an_fi_gives_a_scoped_token_with_the_grants_permissions(
    world: World,
) -> None:
    scoped = await world.admin_in("First Harbor Bank", username="ops")
    claims = jwt.decode(scoped["access_token"], options={"verify_signature": False})
    assert claims["tenant"] == scoped["tenant"]["ref"]
    assert scoped["tenant"]["name"] == "First Harbor Bank"
    assert sorted(claims["permissions"]) == ["customers:read", "reporting:view"]
    assert claims["aud"] == "admin-api"
    unscoped_claims = jwt.decode(
        scoped["unscoped"]["access_token"], options={"verify_signature": False}
    )
    assert claims["sid"] == unscoped_claims["sid"]


async def test_an_fi_without_a_grant_is_an_invalid_target(world: World) -> None:
    ops = await world.login("admin-portal", "ops")
    admin = await world.login("admin-portal", "admin")
    ops_names = {t["name"] for t in world.user("ops").tenants}
    foreign = next(
        t["ref"]
        for t in (await world.tenants(admin["access_token"])).json()["tenants"]
        if t["name"] not in ops_names
    )
    response = await world.select_tenant(ops["access_token"], foreign)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


@pytest.mark.parametrize(
    "ref", ["fi_" + "A" * 24, "1", "' OR 1=1 --", "{{7*7}}", "fi_\r\nX-Injected: 1", "x" * 5000]
)
async def test_unknown_or_hostile_refs_are_invalid_targets(world: World, ref: str) -> None:
    admin = await world.login("admin-portal", "admin")
    response = await world.select_tenant(admin["access_token"], ref)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


async def test_a_missing_tenant_is_an_invalid_request(world: World) -> None:
    admin = await world.login("admin-portal", "admin")
    response = await world.token(
        "admin-portal",
        grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token=admin["access_token"],
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_an_employee_token_cannot_select_a_tenant(world: World) -> None:
    employee = await world.login("reporting-portal", world.employee_of().username)
    admin = await world.login("admin-portal", "admin")
    ref = await world.tenant_ref(admin["access_token"], "First Harbor Bank")
    response = await world.select_tenant(employee["access_token"], ref)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_switching_fi_kills_the_previous_fis_tokens(world: World) -> None:
    first = await world.admin_in("First Harbor Bank")
    unscoped = first["unscoped"]["access_token"]
    ref_b = await world.tenant_ref(unscoped, "Granite Savings Bank")
    second = await world.select_tenant(unscoped, ref_b)
    assert second.status_code == 200
    # The FI-A refresh family is revoked and its access token no longer works here.
    assert (await world.refresh("admin-portal", first["refresh_token"])).status_code == 400
    replay = await world.mint_sso(first["access_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert (await world.introspect("admin-portal", first["access_token"]))["active"] is False
    # FI B works, and the unscoped token still lists tenants.
    assert (await world.refresh("admin-portal", second.json()["refresh_token"])).status_code == 200
    assert (await world.tenants(unscoped)).status_code == 200


async def test_selection_is_audited_with_the_internal_tenant_id(world: World) -> None:
    await world.admin_in("First Harbor Bank")
    events = await world.audit_events("tenant.selected")
    assert len(events) == 1
    assert events[0]["tenant_id"] == world.seed.tenants["First Harbor Bank"]
    assert events[0]["client_id"] == "admin-portal"
    assert events[0]["account_id"] is not None
    assert events[0]["address"] == "127.0.0.1"


async def test_a_portal_backend_resolves_refs_to_internal_ids(world: World) -> None:
    admin = await world.login("admin-portal", "admin")
    ref = await world.tenant_ref(admin["access_token"], "First Harbor Bank")
    response = await world.http.post(
        "/tenant-refs/resolve", data={"ref": ref}, auth=world.basic("reporting-portal")
    )
    assert response.status_code == 200
    assert response.json() == {
        "tenant_id": world.seed.tenants["First Harbor Bank"],
        "name": "First Harbor Bank",
        "status": "current",
        "current_ref": ref,
    }
    world.clock.advance(world.deps.config.tenant_ref_rotation)
    stale = await world.http.post(
        "/tenant-refs/resolve", data={"ref": ref}, auth=world.basic("reporting-portal")
    )
    assert stale.json()["status"] == "stale"
    assert stale.json()["current_ref"] != ref


@pytest.mark.parametrize("ref", ["", "fi_" + "Z" * 24, "1"])
async def test_resolving_unknown_refs_is_refused(world: World, ref: str) -> None:
    response = await world.http.post(
        "/tenant-refs/resolve", data={"ref": ref}, auth=world.basic("admin-portal")
    )
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_target", "invalid_request"}
    anonymous = await world.http.post("/tenant-refs/resolve", data={"ref": ref})
    assert anonymous.status_code == 401


async def test_a_selection_takes_the_grant_on_the_chosen_fi_as_it_is_now(world: World) -> None:
    """The grant is read with the token's session, on the FI being selected (not the one
    the session acts on), live: narrowed, revoked or with its FI switched off after the
    unscoped token was issued, it counts at once."""
    first, second = list(world.seed.tenants)[:2]
    admin = await world.administration()
    admin_id, _ = await admin.account_id("admin")
    unscoped = (await world.login("admin-portal", "admin"))["access_token"]
    first_ref = await world.tenant_ref(unscoped, first)
    second_ref = await world.tenant_ref(unscoped, second)
    assert (await world.select_tenant(unscoped, first_ref)).status_code == 200
    # The session now acts on the first FI; the second's grant is narrower.
    await admin.grant(admin_id, world.seed.tenants[second], frozenset({"customers:read"}))
    switched = await world.select_tenant(unscoped, second_ref)
    assert switched.status_code == 200, switched.text
    claims = jwt.decode(switched.json()["access_token"], options={"verify_signature": False})
    assert claims["permissions"] == ["customers:read"]
    # Revoked: refused, with the same token.
    await admin.revoke_grant(admin_id, world.seed.tenants[first])
    revoked = await world.select_tenant(unscoped, first_ref)
    assert (revoked.status_code, revoked.json()["error"]) == (400, "invalid_target")
    # Its FI switched off: refused.
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    async with store.engine.begin() as conn:
        await conn.execute(
            update(schema.tenants)
            .where(schema.tenants.c.id == world.seed.tenants[second])
            .values(active=False)
        )
    off = await world.select_tenant(unscoped, second_ref)
    assert (off.status_code, off.json()["error"]) == (400, "invalid_target")


async def test_a_bad_subject_token_is_refused_before_the_ref_matters(world: World) -> None:
    admin = (await world.login("admin-portal", "admin"))["access_token"]
    ref = await world.tenant_ref(admin, next(iter(world.seed.tenants)))
    tampered = admin[:-4] + ("AAAA" if not admin.endswith("AAAA") else "BBBB")
    for candidate_ref in (ref, "fi_" + "A" * 24):
        refused = await world.select_tenant(tampered, candidate_ref)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
