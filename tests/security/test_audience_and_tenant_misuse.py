"""SECURITY.md matrix, row "Audience and tenant misuse": tokens presented where they do not
belong, and FI-A sessions reaching for FI B — at the identity server, at every portal's
guard, and on every route of the three portals (enumerated from `app.routes`, so a new
route fails `test_every_portal_route_is_in_the_isolation_tables` until it is probed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from urllib.parse import quote

import pytest

from tenantgate.banking import TenantScope, get_customer
from tenantgate.guard.errors import InvalidToken, TenantMismatch
from tenantgate.guard.tokens import require_tenant
from tenantgate.identity.services.sso import SSO_REFUSED

from ..identity.harness import ISSUER, World
from ..portals.admin.html import Page
from ..portals.admin.steps import choose, show, sign_in, some_customer_of
from ..portals.customer.support import (
    Customer,
    balances,
    overview,
    someone_elses_accounts,
    tenant_of,
    transaction_count,
)
from ..portals.harness import PortalWorld
from ..portals.reporting.steps import banner_of, employee_login, employee_of_fi
from .portals import PLUMBING, built_apps, served_routes, session_of
from .support import DROP, FIRST, PORTAL_NAMES, Forge, bearer, claims_of, verifier_for

pytestmark = pytest.mark.anyio
Probe = Callable[[], Awaitable[None]]


async def other_fi(world: World) -> tuple[str, str]:
    """(name, current ref) of an FI other than FIRST."""
    name = sorted(set(world.seed.tenants) - {FIRST})[0]
    unscoped = await world.login("admin-portal", "admin")
    return name, await world.tenant_ref(unscoped["access_token"], name)


# -- tokens in the wrong place ------------------------------------------------------------


async def test_reporting_token_on_admin_apis_and_the_reverse(world: World) -> None:
    """Each portal's guard accepts its own audience only; the identity server's admin API
    (`/tenants`) refuses a reporting token, also one that came from an SSO hand-off."""
    employee = next(u for u in world.seed.users if u.kind.value == "employee")
    scoped = await world.admin_in(FIRST)
    sso = (await world.mint_sso(scoped["access_token"])).json()["access_token"]
    tokens = {
        "admin": scoped["unscoped"]["access_token"],
        "reporting": (await world.login("reporting-portal", employee.username))["access_token"],
        "reporting (via SSO)": (await world.redeem_sso(sso)).json()["access_token"],
        "customer": (await world.login("customer-portal", world.customer_of().username))[
            "access_token"
        ],
    }
    verifiers = {name: verifier_for(world, name) for name in PORTAL_NAMES}
    for token_name, token in tokens.items():
        for portal_name, verifier in verifiers.items():
            if token_name.split()[0] == portal_name:
                await verifier.verify(token)
                continue
            with pytest.raises(InvalidToken):
                await verifier.verify(token)
        answer = await bearer(world, token)
        assert answer.status_code == (200 if token_name == "admin" else 401), token_name
    # The reporting token cannot act on the admin side of the identity server either.
    mint = await world.mint_sso(tokens["reporting (via SSO)"])
    assert (mint.status_code, mint.json()["error"]) == (400, "invalid_grant")


async def test_missing_or_multi_valued_aud(world: World) -> None:
    f = await Forge.of(world)
    await f.refused(
        {
            "missing": f.signed(aud=DROP),
            "null": f.signed(aud=None),
            "empty list": f.signed(aud=[]),
            "two audiences": f.signed(aud=["admin-api", "reporting-api"]),
            "ours twice": f.signed(aud=["admin-api", "admin-api"]),
            "other first": f.signed(aud=["reporting-api", "admin-api"]),
            "wrong type": f.signed(aud={"aud": "admin-api"}),
            "case": f.signed(aud="Admin-API"),
        }
    )


async def test_fi_a_token_on_fi_b_routes(world: World) -> None:
    """A route of FI B (named by its ref) refuses an FI-A token: the guard's `require_tenant`
    with the verified token, and the identity server's own tenant-bound doors."""
    b_name, b_ref = await other_fi(world)
    employee = next(
        u for u in world.seed.users if u.kind.value == "employee" and u.tenants[0]["name"] == FIRST
    )
    tokens = await world.login("reporting-portal", employee.username)
    verified = await verifier_for(world, "reporting").verify(tokens["access_token"])
    assert verified.tenant_ref is not None
    assert require_tenant(verified, verified.tenant_ref) == verified.tenant_ref
    with pytest.raises(TenantMismatch):
        require_tenant(verified, b_ref)
    # An FI-A admin token cannot select B by refresh, nor mint for B.
    scoped = await world.admin_in(FIRST)
    moved = await world.refresh("admin-portal", scoped["refresh_token"], tenant=b_ref)
    assert (moved.status_code, moved.json()["error"]) == (400, "invalid_target")
    assert b_name != FIRST


async def test_fi_a_token_with_tenant_b_in_query_body_or_header_at_admin(
    admin: PortalWorld,
) -> None:
    world = admin.identity
    await sign_in(admin)
    home = await choose(admin, FIRST)
    b_name, b_ref = await other_fi(world)
    theirs = await some_customer_of(admin, b_name)
    ours = home.page.all("customer-row")[0].attrs["data-customer"]
    mints = len(await world.audit_events("sso.minted"))
    # Header names B: 409, nothing changes (on our own customer, so only the FI is wrong).
    for path in (f"/customers/{ours}/lock", f"/customers/{theirs}/lock"):
        api = await admin.post_json(path, {}, home.csrf, **{"X-Tenant-Ref": b_ref})
        assert api.status_code == 409, (path, api.text)
        form = await admin.browser.post(
            path,
            data={"csrf_token": home.csrf, "tenant_ref": b_ref},
            headers={"Origin": admin.url},
        )
        assert form.status_code == 409, (path, form.text[:300])
    # Header says A, body says B: the header wins and is A's, so the action acts on A only.
    launch = await admin.browser.post(
        "/reporting/launch",
        data={"csrf_token": home.csrf, "tenant_ref": b_ref, "tenant": b_ref},
        headers={"Origin": admin.url},
    )
    assert launch.status_code == 409
    assert len(await world.audit_events("sso.minted")) == mints
    # Query names B: ignored; A's page.
    page = await show(admin, f"/?tenant={quote(b_ref)}&tenant_ref={quote(b_ref)}")
    assert FIRST in page.page.one("current-tenant").text
    assert theirs not in page.response.text
    context = await admin.browser.get("/api/context", params={"shown": b_ref, "tenant": b_ref})
    assert context.json() == {
        "tenant": {"ref": home.tenant_ref, "name": FIRST},
        "matches": False,
    }
    for scope, public_id in ((FIRST, ours), (b_name, theirs)):
        found = await get_customer(admin.banking, TenantScope(world.seed.tenants[scope]), public_id)
        assert found is not None
        assert not found.is_locked, scope
    assert (await session_of(admin)).tenant_id == world.seed.tenants[FIRST]


async def test_fi_a_token_with_tenant_b_in_query_body_or_header_at_reporting(
    reporting: PortalWorld,
) -> None:
    world = reporting.identity
    session = await employee_login(reporting, employee_of_fi(reporting, FIRST))
    _, b_ref = await other_fi(world)
    own = await reporting.browser.get("/api/summary", headers={"X-Reporting-Session": session})
    assert own.status_code == 200
    for params, headers in (
        ({"tenant": b_ref}, {}),
        ({"tenant_ref": b_ref, "fi": b_ref}, {"X-Tenant-Ref": b_ref, "X-Tenant": b_ref}),
    ):
        answer = await reporting.browser.get(
            "/api/summary", params=params, headers={"X-Reporting-Session": session, **headers}
        )
        assert answer.status_code == 200
        assert answer.json() == own.json()
        assert answer.json()["tenant"]["name"] == FIRST
    page = await reporting.browser.get("/dashboard", params={"tenant": b_ref})
    assert banner_of(page.text) == FIRST


async def test_fi_a_token_with_tenant_b_in_query_body_or_header_at_customer(
    portal: PortalWorld, me: Customer
) -> None:
    world = portal.identity
    _, b_ref = await other_fi(world)
    own = await overview(portal)
    answer = await portal.browser.get(
        "/api/accounts", params={"tenant": b_ref}, headers={"X-Tenant-Ref": b_ref}
    )
    assert answer.json() == own
    assert answer.json()["tenant"]["name"] == me.tenant_name
    mine = list(balances(own))
    before = await transaction_count(portal)
    # A tenant in the body is not a field of a transfer: refused whole, nothing written.
    body = {"from": mine[0], "to": mine[1], "amount": "1.00", "tenant": b_ref}
    moved = await portal.post_json("/api/transfers", body, me.csrf, **{"X-Tenant-Ref": b_ref})
    assert moved.status_code in (200, 400), moved.text
    if moved.status_code == 200:  # extra members ignored: then it moved A's money only
        assert moved.json()["transfer"]["from"] == mine[0]
        assert await transaction_count(portal) > before
    else:
        assert await transaction_count(portal) == before


# -- FI B's objects, by id, on every route ---------------------------------------------------


def test_every_portal_route_is_in_the_isolation_tables() -> None:
    """A route added to a portal must be probed below; this fails until it is."""
    tables = {"admin": ADMIN_ROUTES, "reporting": REPORTING_ROUTES, "customer": CUSTOMER_ROUTES}
    for name, app in built_apps().items():
        served = served_routes(app) - PLUMBING
        assert served == tables[name], (
            f"{name}: not probed {sorted(served - tables[name])}, "
            f"probed but gone {sorted(tables[name] - served)}"
        )


AUTH_ROUTES = {("GET", "/auth/login"), ("GET", "/auth/callback"), ("POST", "/auth/logout")}
ADMIN_ROUTES = AUTH_ROUTES | {
    ("GET", "/"),
    ("GET", "/tenants"),
    ("POST", "/tenants/select"),
    ("GET", "/api/context"),
    ("GET", "/customers/{public_id}"),
    ("POST", "/customers/{public_id}/lock"),
    ("POST", "/customers/{public_id}/unlock"),
    ("POST", "/reporting/launch"),
    ("GET", "/sessions"),
    ("POST", "/sessions/revoke"),
}
REPORTING_ROUTES = AUTH_ROUTES | {
    ("GET", "/"),
    ("GET", "/dashboard"),
    ("GET", "/api/session"),
    ("GET", "/api/summary"),
    ("GET", "/api/export.csv"),
    ("POST", "/sso/landing"),
}
CUSTOMER_ROUTES = AUTH_ROUTES | {
    ("GET", "/"),
    ("POST", "/transfers"),
    ("GET", "/api/accounts"),
    ("GET", "/api/accounts/{account_id}"),
    ("POST", "/api/transfers"),
}


def auth_probes(
    pw: PortalWorld, b_ref: str, csrf: str, foreign: str
) -> dict[tuple[str, str], Probe]:
    """The shared login/logout routes take no FI from the request; B named anywhere in them
    changes nothing about the live FI-A session."""

    async def login() -> None:
        answer = await pw.browser.get("/auth/login", params={"tenant": b_ref, "next": foreign})
        assert answer.status_code == 302
        assert answer.headers["location"].startswith(f"{ISSUER}/authorize?")
        assert b_ref not in answer.headers["location"]
        assert foreign not in answer.headers["location"]

    async def callback() -> None:
        answer = await pw.browser.get(
            "/auth/callback", params={"code": "x", "state": "y", "tenant": b_ref}
        )
        assert answer.status_code == 400

    async def logout() -> None:
        # Without the CSRF token: refused, the session lives on (the tenant field is noise).
        answer = await pw.browser.post(
            "/auth/logout", data={"tenant": b_ref}, headers={"Origin": pw.url}
        )
        assert answer.status_code == 403

    return {
        ("GET", "/auth/login"): login,
        ("GET", "/auth/callback"): callback,
        ("POST", "/auth/logout"): logout,
    }


async def run_probes(probes: dict[tuple[str, str], Probe], table: set[tuple[str, str]]) -> None:
    assert set(probes) == table
    failures = []
    for route, probe in probes.items():
        try:
            await probe()
        except AssertionError as exc:
            failures.append(f"{route}: {exc}")
    assert not failures, "\n".join(failures)


async def test_object_ids_of_fi_b_with_fi_a_token_on_every_admin_route(
    admin: PortalWorld,
) -> None:
    world = admin.identity
    await sign_in(admin)
    home = await choose(admin, FIRST)
    b_name, b_ref = await other_fi(world)
    theirs = await some_customer_of(admin, b_name)
    b_scope = TenantScope(world.seed.tenants[b_name])
    their_customer = await get_customer(admin.banking, b_scope, theirs)
    assert their_customer is not None
    fields = {"csrf_token": home.csrf, "tenant_ref": home.tenant_ref}
    origin = {"Origin": admin.url}

    async def listing() -> None:
        for query in (
            {"q": their_customer.full_name},
            {"q": their_customer.email},
            {"q": theirs},
            {"tenant": b_ref, "page": "1"},
        ):
            page = await admin.browser.get("/", params=query)
            assert page.status_code == 200
            rows = Page(page.text).all("customer-row")
            assert theirs not in [r.attrs["data-customer"] for r in rows], query
            assert not any(their_customer.email in r.text for r in rows), query

    async def institutions() -> None:
        page = await admin.browser.get("/tenants", params={"tenant": b_ref})
        assert page.status_code == 200
        allowed = (
            await world.tenants((await world.login("admin-portal", "admin"))["access_token"])
        ).json()
        shown = [o.text for o in (await show(admin, "/tenants")).page.all("tenant-option")]
        assert len(shown) == len(allowed["tenants"])

    async def select() -> None:
        for ref in ("fi_" + "A" * 22, b_ref + "x", "' OR 1=1--"):
            answer = await admin.browser.post(
                "/tenants/select", data={"csrf_token": home.csrf, "tenant": ref}, headers=origin
            )
            assert answer.status_code in (400, 403), (ref, answer.status_code)

    async def context() -> None:
        answer = await admin.browser.get("/api/context", params={"shown": b_ref})
        assert answer.json()["matches"] is False
        assert answer.json()["tenant"]["name"] == FIRST

    async def detail() -> None:
        answer = await admin.browser.get(f"/customers/{theirs}")
        assert answer.status_code == 404
        assert their_customer.full_name not in answer.text

    def change(action: str) -> Probe:
        async def probe() -> None:
            answer = await admin.browser.post(
                f"/customers/{theirs}/{action}", data=fields, headers=origin
            )
            assert answer.status_code == 404, answer.status_code
            api = await admin.post_json(
                f"/customers/{theirs}/{action}", {}, home.csrf, **{"X-Tenant-Ref": home.tenant_ref}
            )
            assert (api.status_code, api.json()["error"]) == (404, "not_found")

        return probe

    async def launch() -> None:
        answer = await admin.browser.post(
            "/reporting/launch", data={**fields, "tenant_ref": b_ref}, headers=origin
        )
        assert answer.status_code == 409

    b_employee = next(
        u.username
        for u in world.seed.users
        if u.kind.value == "employee" and u.tenants[0]["name"] == b_name
    )
    b_tokens = await world.login("reporting-portal", b_employee)
    b_sid = claims_of(b_tokens["access_token"])["sid"]

    async def sessions() -> None:
        answer = await admin.browser.get("/sessions", params={"username": b_employee})
        assert answer.status_code in (200, 403, 404), answer.status_code
        assert b_sid not in answer.text

    async def revoke() -> None:
        answer = await admin.browser.post(
            "/sessions/revoke",
            data={**fields, "sid": b_sid, "username": b_employee},
            headers=origin,
        )
        assert answer.status_code in (403, 404), answer.status_code
        assert (await world.introspect("reporting-portal", b_tokens["access_token"]))["active"]

    probes: dict[tuple[str, str], Probe] = {
        **auth_probes(admin, b_ref, home.csrf, "https://evil.example/"),
        ("GET", "/sessions"): sessions,
        ("POST", "/sessions/revoke"): revoke,
        ("GET", "/"): listing,
        ("GET", "/tenants"): institutions,
        ("POST", "/tenants/select"): select,
        ("GET", "/api/context"): context,
        ("GET", "/customers/{public_id}"): detail,
        ("POST", "/customers/{public_id}/lock"): change("lock"),
        ("POST", "/customers/{public_id}/unlock"): change("unlock"),
        ("POST", "/reporting/launch"): launch,
    }
    await run_probes(probes, ADMIN_ROUTES)
    after = await get_customer(admin.banking, b_scope, theirs)
    assert after is not None
    assert after.status == their_customer.status
    assert (await session_of(admin)).tenant_id == world.seed.tenants[FIRST]


async def test_object_ids_of_fi_b_with_fi_a_token_on_every_reporting_route(
    reporting: PortalWorld,
) -> None:
    world = reporting.identity
    session = await employee_login(reporting, employee_of_fi(reporting, FIRST))
    b_name, b_ref = await other_fi(world)
    named = {"X-Reporting-Session": session}
    own = (await reporting.browser.get("/api/summary", headers=named)).json()
    own_csv = (await reporting.browser.get("/api/export.csv", headers=named)).content

    async def root() -> None:
        answer = await reporting.browser.get("/", params={"tenant": b_ref})
        assert (answer.status_code, answer.headers["location"]) == (302, "/dashboard")

    async def dashboard() -> None:
        answer = await reporting.browser.get("/dashboard", params={"tenant": b_ref})
        assert banner_of(answer.text) == FIRST
        assert b_name not in answer.text

    async def current() -> None:
        answer = await reporting.browser.get(
            "/api/session", params={"tenant": b_ref}, headers=named
        )
        assert answer.json()["tenant"]["name"] == FIRST

    async def summary() -> None:
        answer = await reporting.browser.get(
            "/api/summary", params={"tenant": b_ref}, headers={**named, "X-Tenant-Ref": b_ref}
        )
        assert answer.json() == own

    async def export() -> None:
        answer = await reporting.browser.get(
            "/api/export.csv", params={"tenant": b_ref, "session": session}
        )
        assert answer.status_code == 200
        assert answer.content == own_csv

    async def landing() -> None:
        answer = await reporting.browser.post(
            "/sso/landing",
            data={"sso_token": "a.b.c.d.e", "tenant": b_ref},
            headers={"Origin": "http://127.0.0.1:8701"},
        )
        assert answer.status_code == 400

    probes: dict[tuple[str, str], Probe] = {
        **auth_probes(reporting, b_ref, "", "https://evil.example/"),
        ("GET", "/"): root,
        ("GET", "/dashboard"): dashboard,
        ("GET", "/api/session"): current,
        ("GET", "/api/summary"): summary,
        ("GET", "/api/export.csv"): export,
        ("POST", "/sso/landing"): landing,
    }
    await run_probes(probes, REPORTING_ROUTES)
    assert (await reporting.browser.get("/api/summary", headers=named)).json() == own


async def test_object_ids_of_fi_b_with_fi_a_token_on_every_customer_route(
    portal: PortalWorld, me: Customer
) -> None:
    world = portal.identity
    _, b_ref = await other_fi(world)
    b_name, b_id = tenant_of(portal, 1)
    assert b_name != me.tenant_name
    theirs = [a.public_id for a in await someone_elses_accounts(portal, b_id)]
    own = await overview(portal)
    mine = list(balances(own))
    before = await transaction_count(portal)
    json_headers = {"X-CSRF-Token": me.csrf, "Origin": portal.url}

    async def home() -> None:
        answer = await portal.browser.get("/", params={"tenant": b_ref, "account": theirs[0]})
        assert answer.status_code == 200
        assert not any(t in answer.text for t in theirs)

    async def accounts() -> None:
        answer = await portal.browser.get("/api/accounts", params={"tenant": b_ref})
        assert answer.json() == own

    async def account() -> None:
        for public_id in theirs:
            answer = await portal.browser.get(f"/api/accounts/{public_id}")
            assert (answer.status_code, answer.json()["error"]) == (404, "not_found")

    async def api_transfer() -> None:
        for source, target in ((theirs[0], mine[0]), (mine[0], theirs[0])):
            answer = await portal.browser.post(
                "/api/transfers",
                json={"from": source, "to": target, "amount": "1.00"},
                headers=json_headers,
            )
            assert answer.status_code == 404, answer.text

    async def form_transfer() -> None:
        answer = await portal.browser.post(
            "/transfers",
            data={"csrf_token": me.csrf, "from": theirs[0], "to": mine[0], "amount": "1.00"},
            headers={"Origin": portal.url},
        )
        assert answer.status_code == 404

    probes: dict[tuple[str, str], Probe] = {
        **auth_probes(portal, b_ref, me.csrf, "https://evil.example/"),
        ("GET", "/"): home,
        ("GET", "/api/accounts"): accounts,
        ("GET", "/api/accounts/{account_id}"): account,
        ("POST", "/api/transfers"): api_transfer,
        ("POST", "/transfers"): form_transfer,
    }
    await run_probes(probes, CUSTOMER_ROUTES)
    assert await transaction_count(portal) == before
    assert await overview(portal) == own


# -- switching, refresh and token kinds -------------------------------------------------------


async def test_admin_selects_a_then_b_and_replays_the_a_token_at_the_portal(
    admin: PortalWorld,
) -> None:
    """The identity side is tests/identity/http/test_tenant_selection.py::
    test_switching_fi_kills_the_previous_fis_tokens. Here the portal's stored A pair is
    put back into the session after the switch (a replay through the portal): the hand-off
    is refused, refreshing it is refused, and B's tokens are untouched."""
    world = admin.identity
    await sign_in(admin)
    tab_a = await choose(admin, FIRST)
    on_a = await session_of(admin)
    b_name, _ = await other_fi(world)
    await choose(admin, b_name)
    on_b = await session_of(admin)
    assert on_b.tokens.access_token != on_a.tokens.access_token
    mints = len(await world.audit_events("sso.minted"))
    # The portal's guard still verifies A's token (a JWT is stateless) ...
    assert (await admin.portal.verifier.verify(on_a.tokens.access_token)).tenant_ref == (
        on_a.tenant_ref
    )
    # ... but the identity server, which holds the session's current FI, refuses it.
    replayed = await world.mint_sso(on_a.tokens.access_token)
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
    assert (await world.introspect("admin-portal", on_a.tokens.access_token))["active"] is False
    refreshed = await world.refresh("admin-portal", on_a.tokens.refresh_token)
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    # Put A's pair back into the portal session: launching reporting for A is refused.
    await admin.portal.sessions.save(
        replace(
            on_b.with_tokens(
                replace(on_b.tokens, access_token=on_a.tokens.access_token),
                on_a.access_expires_at,
            ),
            tenant_id=on_a.tenant_id,
            tenant_ref=on_a.tenant_ref,
            tenant_name=on_a.tenant_name,
        )
    )
    launch = await admin.browser.post(
        "/reporting/launch",
        data={"csrf_token": tab_a.csrf, "tenant_ref": tab_a.tenant_ref},
        headers={"Origin": admin.url},
    )
    assert launch.status_code == 403, launch.text[:300]
    assert len(await world.audit_events("sso.minted")) == mints
    # B's own token is still good at the identity server.
    assert (await world.introspect("admin-portal", on_b.tokens.access_token))["active"] is True


async def test_refresh_with_tenant_b_or_wider_scope(world: World) -> None:
    """Thorough: tests/identity/http/test_refresh.py::test_a_refresh_cannot_move_to_another_
    tenant and ::test_a_refresh_cannot_widen_the_scope."""
    scoped = await world.admin_in(FIRST)
    _, b_ref = await other_fi(world)
    moved = await world.refresh("admin-portal", scoped["refresh_token"], tenant=b_ref)
    assert (moved.status_code, moved.json()["error"]) == (400, "invalid_target")
    wider = await world.refresh(
        "admin-portal", scoped["refresh_token"], scope="customers:lock admin"
    )
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")
    fine = await world.refresh("admin-portal", scoped["refresh_token"])
    assert fine.status_code == 200, fine.text


async def test_refresh_sso_or_unknown_typ_token_as_bearer(world: World) -> None:
    """To `/tenants` and to every portal's guard."""
    f = await Forge.of(world)
    unscoped = await world.login("admin-portal", "admin")
    scoped = await world.admin_in(FIRST)
    sso = (await world.mint_sso(scoped["access_token"])).json()["access_token"]
    others = {
        "refresh token": unscoped["refresh_token"],
        "SSO token": sso,
        "typ JWT": f.signed(f.with_header(typ="JWT")),
        "typ refresh": f.signed(f.with_header(typ="rt+jwt")),
        "typ sso": f.signed(f.with_header(typ="tg-sso+jwe")),
        "typ id token": f.signed(f.with_header(typ="id_token+jwt")),
        "typ missing": f.signed(f.with_header(typ=DROP)),
        "typ list": f.signed(f.with_header(typ=["at+jwt"])),
    }
    await f.refused(others)
    for name in PORTAL_NAMES:
        for token in others.values():
            with pytest.raises(InvalidToken):
                await verifier_for(world, name).verify(token)


async def test_access_refresh_or_garbage_as_sso_token(reporting: PortalWorld) -> None:
    world = reporting.identity
    scoped = await world.admin_in(FIRST)
    candidates = {
        "access token": scoped["access_token"],
        "refresh token": scoped["refresh_token"],
        "garbage": "not-a-token",
        "jwe-shaped garbage": "a.b.c.d.e",
    }
    expected = {"error": "invalid_grant", "error_description": SSO_REFUSED}
    for name, token in candidates.items():
        answer = await world.redeem_sso(token)
        assert (answer.status_code, answer.json()) == (400, expected), name
        landed = await reporting.browser.post(
            "/sso/landing", data={"sso_token": token}, headers={"Origin": "http://127.0.0.1:8701"}
        )
        assert landed.status_code == 400, name
        assert "set-cookie" not in landed.headers or "Max-Age=0" in landed.headers["set-cookie"]
    # A genuine SSO token still lands.
    genuine = (await world.mint_sso(scoped["access_token"])).json()["access_token"]
    landed = await reporting.browser.post(
        "/sso/landing", data={"sso_token": genuine}, headers={"Origin": "http://127.0.0.1:8701"}
    )
    assert landed.status_code == 200


async def test_iss_prefix_suffix_case_variants(world: World) -> None:
    f = await Forge.of(world)
    iss = f.payload["iss"]
    assert iss == ISSUER
    variants = {
        "prefix": iss[:-1],
        "suffix slash": iss + "/",
        "suffix path": iss + "/evil",
        "suffix host": iss + ".evil.example",
        "upper": iss.upper(),
        "scheme case": "HTTP" + iss[4:],
        "https": "https" + iss[4:],
        "localhost": iss.replace("127.0.0.1", "localhost"),
        "whitespace": iss + " ",
        "list": [iss],
        "missing": DROP,
    }
    await f.refused({name: f.signed(iss=value) for name, value in variants.items()})
