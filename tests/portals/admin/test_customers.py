"""The FI home: its customers, search and paging, lock and unlock, and the permissions
and isolation rules around them."""

from __future__ import annotations

import pytest

from tenantgate.banking import TenantScope, get_customer, list_customers

from ..harness import PortalWorld
from .steps import (
    choose,
    lock_button_of,
    row_of,
    show,
    sign_in,
    some_customer_of,
    submit,
    tenant_names,
)

pytestmark = pytest.mark.anyio
FIRST = "First Harbor Bank"


async def test_customers_are_listed_searched_and_paged(admin: PortalWorld) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    scope = TenantScope(admin.identity.seed.tenants[FIRST])
    expected = (await list_customers(admin.banking, scope, limit=25)).customers
    rows = home.page.all("customer-row")
    assert [r.attrs["data-customer"] for r in rows] == [c.public_id for c in expected]
    first = expected[0]
    assert first.full_name in rows[0].text
    assert first.email in rows[0].text
    assert first.public_id in rows[0].text
    assert ("Active" in rows[0].text) != first.is_locked

    target = expected[3]
    for term in (target.full_name.split()[-1], target.email.upper(), target.email[:6]):
        found = await show(admin, f"/?q={term}")
        ids = [r.attrs["data-customer"] for r in found.page.all("customer-row")]
        assert target.public_id in ids, term
        assert found.page.one("customer-search").attrs["value"] == term
    nobody = await show(admin, "/?q=%25%25no-such-person%25")
    assert nobody.page.all("customer-row") == []
    assert "matches" in nobody.response.text

    # 25 customers per FI and 25 a page: page 2 exists only if there are more.
    second = await show(admin, "/?page=2")
    assert 'rel="prev"' in second.response.text
    assert all(
        r.attrs["data-customer"] not in {c.public_id for c in expected}
        for r in second.page.all("customer-row")
    )
    for bad in ("0", "-1", "abc", "99999999", "１"):
        refused = await show(admin, f"/?page={bad}", 400)
        assert refused.page.one("current-tenant").text == FIRST
    await show(admin, "/?q=" + "x" * 101, 400)


async def test_a_customer_is_locked_and_unlocked(admin: PortalWorld) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    scope = TenantScope(admin.identity.seed.tenants[FIRST])
    row = next(r for r in home.page.all("customer-row") if "Active" in r.text)
    public_id = row.attrs["data-customer"]

    # A plain form post (no JavaScript): back to the list, showing the locked state.
    locked = await submit(admin, lock_button_of(home, public_id))
    assert locked.status_code == 303
    assert locked.headers["location"] == "/?page=1"
    customer = await get_customer(admin.banking, scope, public_id)
    assert customer is not None
    assert customer.is_locked
    after = await show(admin, "/")
    assert "Locked" in row_of(after, public_id).text
    assert f"/customers/{public_id}/unlock" in {f.action for f in after.page.forms}

    # The page's script: fetch, the FI named in a header, a JSON answer.
    unlocked = await admin.post_json(
        f"/customers/{public_id}/unlock", {}, after.csrf, **{"X-Tenant-Ref": after.tenant_ref}
    )
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["customer"]["status"] == "active"
    customer = await get_customer(admin.banking, scope, public_id)
    assert customer is not None
    assert not customer.is_locked


async def test_lock_refuses_without_csrf_and_over_get(admin: PortalWorld) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    scope = TenantScope(admin.identity.seed.tenants[FIRST])
    row = next(r for r in home.page.all("customer-row") if "Active" in r.text)
    public_id = row.attrs["data-customer"]
    button = lock_button_of(home, public_id)
    assert (await submit(admin, button, csrf_token=None)).status_code == 403
    assert (await submit(admin, button, csrf_token="guessed")).status_code == 403
    assert button.form is not None
    cross_site = await admin.browser.post(
        button.form.action, data=button.form.fields, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert (await admin.browser.get(f"/customers/{public_id}/lock")).status_code == 405
    assert (await admin.browser.put(f"/customers/{public_id}/lock")).status_code == 405
    customer = await get_customer(admin.banking, scope, public_id)
    assert customer is not None
    assert not customer.is_locked


async def test_locking_needs_the_customers_lock_permission(admin: PortalWorld) -> None:
    # ops holds customers:read but not customers:lock on its first FI.
    await sign_in(admin, "ops")
    name = tenant_names(admin, "ops")[0]
    home = await choose(admin, name)
    assert home.page.all("customer-row")
    buttons = home.page.all("lock-customer")
    assert buttons
    assert all("disabled" in b.attrs and b.form is None for b in buttons)
    public_id = home.page.all("customer-row")[0].attrs["data-customer"]
    refused = await admin.browser.post(
        f"/customers/{public_id}/lock",
        data={"csrf_token": home.csrf, "tenant_ref": home.tenant_ref},
        headers={"Origin": admin.url},
    )
    assert refused.status_code == 403
    assert "does not allow you to lock" in refused.text
    scope = TenantScope(admin.identity.seed.tenants[name])
    customer = await get_customer(admin.banking, scope, public_id)
    assert customer is not None
    assert not customer.is_locked


async def test_customer_ids_of_another_institution_are_not_found_anywhere(
    admin: PortalWorld,
) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    other = sorted(set(admin.identity.seed.tenants) - {FIRST})[0]
    theirs = await some_customer_of(admin, other)
    fields = {"csrf_token": home.csrf, "tenant_ref": home.tenant_ref}
    for public_id in (theirs, "cus_" + "f" * 32, "1", "%2e%2e", "%00", "x" * 300):
        detail = await admin.browser.get(f"/customers/{public_id}")
        assert detail.status_code == 404, public_id
        for action in ("lock", "unlock"):
            path = f"/customers/{public_id}/{action}"
            form = await admin.browser.post(path, data=fields, headers={"Origin": admin.url})
            assert form.status_code == 404, (path, form.status_code)
            api = await admin.post_json(path, {}, home.csrf, **{"X-Tenant-Ref": home.tenant_ref})
            assert api.status_code == 404
            assert api.json()["error"] == "not_found"
    customer = await get_customer(
        admin.banking, TenantScope(admin.identity.seed.tenants[other]), theirs
    )
    assert customer is not None
    assert not customer.is_locked
