"""SECURITY.md matrix, row "Injection and redirects": SQL, template and header injection in
every login, selection and search field; `redirect_uri` variants; open-redirect payloads on
every next-style parameter; cross-site form posts (CSRF) to the SSO start, logout and
lock-customer. Thorough `redirect_uri` table: tests/identity/http/test_login_page.py."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tenantgate.banking import TenantScope, get_customer, list_customers
from tenantgate.identity.web.login_routes import LOGIN_FAILED_TEXT

from ..identity.harness import ISSUER, World
from ..portals.admin.html import Page
from ..portals.admin.steps import choose, sign_in
from ..portals.customer.support import Customer, balances, overview, transaction_count
from ..portals.harness import PortalWorld
from ..portals.reporting.steps import employee_login, employee_of_fi
from .portals import session_of
from .support import FIRST, assert_no_server_error

pytestmark = pytest.mark.anyio

SQL = ("' OR 1=1--", "admin'--", '" OR ""="', "1; DROP TABLE accounts;--", "%' OR '%'='")
TEMPLATE = ("{{7*7}}", "${7*7}", "{% print(7*7) %}", "<script>alert(1)</script>")
HEADER = ("x\r\nSet-Cookie: pwned=1", "x\nLocation: https://evil.example", "x%0d%0aX-Evil: 1")
PAYLOADS = (*SQL, *TEMPLATE, *HEADER)
EVIL = "https://evil.example/"
REDIRECT_PARAMS = (
    "next",
    "return",
    "return_to",
    "returnTo",
    "target",
    "redirect",
    "url",
    "continue",
)
OPEN_REDIRECTS = (
    EVIL,
    "//evil.example",
    "/\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
)


def no_injected_header(answer: httpx.Response) -> None:
    assert_no_server_error(answer)
    assert "pwned" not in answer.headers.get("set-cookie", "")
    assert "x-evil" not in answer.headers
    location = answer.headers.get("location", "")
    assert "evil.example" not in location, location
    for value in answer.headers.values():
        assert "\n" not in value
        assert "\r" not in value


def safe_rendering(answer: httpx.Response) -> None:
    no_injected_header(answer)
    text = answer.text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in text or "<script>alert" not in text


def allowed_location(answer: httpx.Response, own: str) -> None:
    location = answer.headers.get("location")
    if location is None:
        return
    if location.startswith("/"):
        assert not location.startswith("//"), location
        assert not location.startswith("/\\"), location
        return
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" in {own, ISSUER}, location


async def test_sql_template_and_header_injection_in_the_login_fields(world: World) -> None:
    """The hosted page's username and password fields: a refusal like any wrong password,
    the typed username echoed only escaped, no header from CRLF."""
    for payload in PAYLOADS:
        for username, password in ((payload, "a wrong password"), ("admin", payload)):
            page, _ = await world.login_page("admin-portal")
            answer = await world.submit_login(page, username, password)
            assert answer.status_code == 401, (payload, answer.status_code)
            assert LOGIN_FAILED_TEXT in answer.text
            safe_rendering(answer)
            if username == "{{7*7}}":
                assert "{{7*7}}" in answer.text  # shown literally, never evaluated
        world.clock.advance(901)  # the throttle window: every payload gets a full check
    assert len(await world.audit_events("login.succeeded")) == 0
    # The hosted page's own parameters: `state` with CRLF comes back only URL-encoded.
    page, _ = await world.login_page("admin-portal", state="s\r\nSet-Cookie: pwned=1")
    no_injected_header(page)


async def test_sql_template_and_header_injection_in_the_tenant_selection(
    admin: PortalWorld,
) -> None:
    world = admin.identity
    listing = await sign_in(admin)
    csrf = listing.csrf
    unscoped = (await world.login("admin-portal", "admin"))["access_token"]
    for payload in PAYLOADS:
        answer = await admin.browser.post(
            "/tenants/select",
            data={"csrf_token": csrf, "tenant": payload},
            headers={"Origin": admin.url},
        )
        assert answer.status_code in (400, 403), (payload, answer.status_code)
        safe_rendering(answer)
        direct = await world.select_tenant(unscoped, payload)
        assert (direct.status_code, direct.json()["error"]) == (400, "invalid_target"), payload
    assert (await session_of(admin)).tenant_id is None


async def test_sql_template_and_header_injection_in_the_admin_customer_search(
    admin: PortalWorld,
) -> None:
    await sign_in(admin)
    await choose(admin, FIRST)
    total = len(
        (
            await list_customers(
                admin.banking, TenantScope(admin.identity.seed.tenants[FIRST]), limit=200
            )
        ).customers
    )
    for payload in PAYLOADS:
        answer = await admin.browser.get("/", params={"q": payload})
        assert answer.status_code == 200, (payload, answer.status_code)
        safe_rendering(answer)
        rows = Page(answer.text).all("customer-row")
        # `' OR 1=1--` finds nothing (it is a search text, not SQL); never the whole FI.
        assert len(rows) < min(total, 25) or total == 0, payload
        if payload == "{{7*7}}":
            assert 'value="{{7*7}}"' in answer.text
    wildcard = await admin.browser.get("/", params={"q": "%"})
    assert len(Page(wildcard.text).all("customer-row")) == 0


async def test_sql_template_and_header_injection_in_the_reporting_period_params(
    reporting: PortalWorld,
) -> None:
    session = await employee_login(reporting, employee_of_fi(reporting, FIRST))
    for payload in PAYLOADS:
        for params in ({"range": payload}, {"start": "2024-01-01", "end": payload}):
            api = await reporting.browser.get(
                "/api/summary", params=params, headers={"X-Reporting-Session": session}
            )
            assert (api.status_code, api.json()["error"]) == (400, "invalid_period"), params
            no_injected_header(api)
            csv = await reporting.browser.get(
                "/api/export.csv", params={**params, "session": session}
            )
            assert csv.status_code == 400, params
            no_injected_header(csv)
            page = await reporting.browser.get("/dashboard", params=params)
            assert page.status_code == 400, params
            safe_rendering(page)
    page = await reporting.browser.get("/dashboard", params={"start": "{{7*7}}", "end": "x"})
    assert "{{7*7}}" in page.text


async def test_sql_template_and_header_injection_in_the_customer_transfer_fields(
    portal: PortalWorld, me: Customer
) -> None:
    before = await overview(portal)
    mine = list(balances(before))
    count = await transaction_count(portal)
    for payload in PAYLOADS:
        for body in (
            {"from": payload, "to": mine[1], "amount": "1.00"},
            {"from": mine[0], "to": payload, "amount": "1.00"},
            {"from": mine[0], "to": mine[1], "amount": payload},
        ):
            answer = await portal.post_json("/api/transfers", body, me.csrf)
            assert 400 <= answer.status_code < 500, (body, answer.status_code)
            no_injected_header(answer)
            form = await portal.browser.post(
                "/transfers", data={"csrf_token": me.csrf, **body}, headers={"Origin": portal.url}
            )
            assert 400 <= form.status_code < 500, (body, form.status_code)
            safe_rendering(form)
    assert await transaction_count(portal) == count
    assert await overview(portal) == before


async def test_redirect_uri_variants(world: World) -> None:
    """Suffix, path, case, userinfo, scheme: an error page, never a redirect. The full
    table: tests/identity/http/test_login_page.py::
    test_redirect_uri_variants_get_an_error_page_and_no_redirect."""
    registered = world.client("admin-portal")["redirect_uri"]
    parts = urlsplit(registered)
    variants = [
        registered + "x",
        registered + "/evil",
        registered.upper(),
        f"{parts.scheme}://evil@{parts.netloc}{parts.path}",
        f"{parts.scheme}://{parts.netloc}@evil.example{parts.path}",
        "https" + registered[len(parts.scheme) :],
        "javascript" + registered[len(parts.scheme) :],
        EVIL,
    ]
    for variant in variants:
        page, _ = await world.login_page("admin-portal", redirect_uri=variant)
        assert page.status_code == 400, variant
        assert "location" not in page.headers, variant
    ok, _ = await world.login_page("admin-portal")
    assert ok.status_code == 200


async def test_open_redirect_payloads_on_every_next_style_parameter(admin: PortalWorld) -> None:
    """The portals have no next-style parameter; the one redirect that takes a form field
    (`return_to` on lock/unlock) maps it to a fixed local path. Every GET route and that
    form get every next-style name with every payload: a Location is only ever local or
    the identity server."""
    world = admin.identity
    await sign_in(admin)
    home = await choose(admin, FIRST)
    params = dict.fromkeys(REDIRECT_PARAMS, OPEN_REDIRECTS[0])
    for payload in OPEN_REDIRECTS:
        params = dict.fromkeys(REDIRECT_PARAMS, payload)
        for path in ("/", "/tenants", "/auth/login", "/auth/callback", "/api/context"):
            answer = await admin.browser.get(path, params=params)
            assert_no_server_error(answer, path)
            allowed_location(answer, admin.url)
        row = home.page.all("customer-row")[0].attrs["data-customer"]
        for action in ("lock", "unlock"):
            answer = await admin.browser.post(
                f"/customers/{row}/{action}",
                data={"csrf_token": home.csrf, "tenant_ref": home.tenant_ref, **params},
                headers={"Origin": admin.url},
            )
            assert answer.status_code == 303, answer.text[:200]
            allowed_location(answer, admin.url)
            assert answer.headers["location"] in ("/", "/?page=1", f"/customers/{row}")
    # The identity server's redirect targets only the registered URI, whatever is added.
    page, _ = await world.login_page("admin-portal", **params)
    answer = await world.submit_login(page, "admin", world.user("admin").password)
    assert answer.headers["location"].startswith(world.client("admin-portal")["redirect_uri"] + "?")


async def cross_site(pw: PortalWorld, path: str, fields: dict[str, str]) -> httpx.Response:
    """A form on https://evil.example posting to the portal (the browser would not send the
    SameSite=Strict cookie at all; here it does, to prove the server-side checks)."""
    return await pw.browser.post(path, data=fields, headers={"Origin": "https://evil.example"})


async def test_csrf_cross_site_form_post_to_sso_start(admin: PortalWorld) -> None:
    world = admin.identity
    await sign_in(admin)
    home = await choose(admin, FIRST)
    mints = len(await world.audit_events("sso.minted"))
    for fields in (
        {"tenant_ref": home.tenant_ref},
        {"tenant_ref": home.tenant_ref, "csrf_token": home.csrf},  # even with a leaked token
        {"tenant_ref": home.tenant_ref, "csrf_token": "guess"},
    ):
        answer = await cross_site(admin, "/reporting/launch", fields)
        assert answer.status_code == 403, answer.status_code
        assert "sso_token" not in answer.text
    same_site_no_token = await admin.browser.post(
        "/reporting/launch", data={"tenant_ref": home.tenant_ref}, headers={"Origin": admin.url}
    )
    assert same_site_no_token.status_code == 403
    assert len(await world.audit_events("sso.minted")) == mints


async def test_csrf_cross_site_form_post_to_logout(admin: PortalWorld) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    for fields in ({}, {"csrf_token": home.csrf}, {"csrf_token": "guess"}):
        answer = await cross_site(admin, "/auth/logout", fields)
        assert answer.status_code == 403
    assert (await admin.browser.get("/")).status_code == 200  # still signed in
    assert (await session_of(admin)).tenant_id == admin.identity.seed.tenants[FIRST]


async def test_csrf_cross_site_form_post_to_lock_customer(admin: PortalWorld) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    public_id = next(
        r.attrs["data-customer"] for r in home.page.all("customer-row") if "Active" in r.text
    )
    for fields in (
        {"tenant_ref": home.tenant_ref},
        {"tenant_ref": home.tenant_ref, "csrf_token": home.csrf},
    ):
        answer = await cross_site(admin, f"/customers/{public_id}/lock", fields)
        assert answer.status_code == 403
    over_get = await admin.browser.get(f"/customers/{public_id}/lock")
    assert over_get.status_code in (404, 405)
    customer = await get_customer(
        admin.banking, TenantScope(admin.identity.seed.tenants[FIRST]), public_id
    )
    assert customer is not None
    assert not customer.is_locked
