"""Choosing the FI: exactly the admin's FIs, one at a time, named on every page."""

from __future__ import annotations

import pytest

from tenantgate.banking import TenantScope, get_customer

from ..harness import PortalWorld
from .html import Page
from .steps import choose, show, sign_in, some_customer_of, submit, tenant_names

pytestmark = pytest.mark.anyio


async def test_the_first_page_lists_exactly_the_admins_institutions(admin: PortalWorld) -> None:
    home = await sign_in(admin, "admin")
    assert sorted(home.page.texts("tenant-option")) == sorted(admin.identity.seed.tenants)
    assert home.page.all("current-tenant") == []
    assert home.page.all("customer-row") == []


async def test_ops_sees_only_its_two_institutions(admin: PortalWorld) -> None:
    home = await sign_in(admin, "ops")
    options = home.page.texts("tenant-option")
    assert len(options) == 2
    assert sorted(options) == sorted(tenant_names(admin, "ops"))


async def test_a_chosen_institution_is_named_on_every_page(admin: PortalWorld) -> None:
    await sign_in(admin)
    name = "First Harbor Bank"
    home = await choose(admin, name)
    customer = await some_customer_of(admin, name)
    for path in ("/", "/tenants", f"/customers/{customer}", "/?q=zzzz-nobody", "/?page=2"):
        shown = await show(admin, path)
        assert shown.page.one("current-tenant").text == name, path
        assert shown.page.body["data-tenant-ref"] == home.tenant_ref, path
        assert shown.page.one("switch-tenant").attrs["href"] == "/tenants"
        assert len(shown.page.all("logout")) == 1
    # Refusal pages too: the admin must always see which FI a refusal is about.
    missing = await show(admin, "/customers/cus_" + "0" * 32, 404)
    assert missing.page.one("current-tenant").text == name


async def test_switching_moves_the_session_to_the_other_institution(admin: PortalWorld) -> None:
    await sign_in(admin)
    first, second = sorted(admin.identity.seed.tenants)[:2]
    on_first = await choose(admin, first)
    on_second = await choose(admin, second)
    assert on_second.page.one("current-tenant").text == second
    assert on_second.tenant_ref != on_first.tenant_ref
    rows = on_second.page.all("customer-row")
    assert rows
    scope = TenantScope(admin.identity.seed.tenants[second])
    for row in rows:
        assert await get_customer(admin.banking, scope, row.attrs["data-customer"]) is not None
    listing = await show(admin, "/tenants")
    current = [o.text for o in listing.page.all("tenant-option") if "Current" in o.text]
    assert current == [f"{second} Current"]


async def test_the_landing_page_after_a_switch_announces_it(admin: PortalWorld) -> None:
    await sign_in(admin)
    landed = await choose(admin, "First Harbor Bank")
    assert landed.response.url.query == b"switched=1"
    assert landed.page.body["data-announce"] == "tenant-switched"
    again = await show(admin, "/")
    assert "data-announce" not in again.page.body


async def test_an_institution_without_a_grant_cannot_be_chosen(admin: PortalWorld) -> None:
    home = await sign_in(admin, "ops")
    option = home.page.all("tenant-option")[0]
    others = set(admin.identity.seed.tenants) - set(tenant_names(admin, "ops"))
    # A ref of an FI ops has no grant on (taken from the full admin's list).
    full = await admin.identity.login("admin-portal", "admin")
    foreign = await admin.identity.tenant_ref(full["access_token"], sorted(others)[0])
    for ref in (foreign, "t_" + "x" * 24, "junk", "x" * 500):
        refused = await submit(admin, option, tenant=ref)
        assert refused.status_code in (400, 403), (ref, refused.status_code)
        assert "current-tenant" not in refused.text
    assert (await show(admin, "/")).page.all("current-tenant") == []


async def test_selection_needs_the_csrf_token_and_a_post(admin: PortalWorld) -> None:
    home = await sign_in(admin)
    option = home.page.all("tenant-option")[0]
    assert (await submit(admin, option, csrf_token=None)).status_code == 403
    assert (await submit(admin, option, csrf_token="forged")).status_code == 403
    assert (await admin.browser.get("/tenants/select")).status_code == 405
    cross_site = await admin.browser.post(
        "/tenants/select",
        data=option.form.fields if option.form else {},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert (await show(admin, "/")).page.all("current-tenant") == []


async def test_the_context_api_says_which_institution_the_session_acts_on(
    admin: PortalWorld,
) -> None:
    await sign_in(admin)
    none_yet = await admin.browser.get("/api/context")
    assert none_yet.json() == {"tenant": None, "matches": False}
    first = await choose(admin, "First Harbor Bank")
    same = (await admin.browser.get("/api/context", params={"shown": first.tenant_ref})).json()
    assert same == {
        "tenant": {"ref": first.tenant_ref, "name": "First Harbor Bank"},
        "matches": True,
    }
    other = sorted(set(admin.identity.seed.tenants) - {"First Harbor Bank"})[0]
    await choose(admin, other)
    stale_tab = await admin.browser.get("/api/context", params={"shown": first.tenant_ref})
    assert stale_tab.json()["matches"] is False
    assert stale_tab.json()["tenant"]["name"] == other
    junk = await admin.browser.get("/api/context", params={"shown": "x" * 1000})
    assert junk.status_code == 200
    assert junk.json()["matches"] is False


def test_page_reader_sees_nested_text() -> None:
    page = Page('<body data-x="1"><p data-testid="a">x <b>y</b></p></body>')
    assert page.one("a").text == "x y"
