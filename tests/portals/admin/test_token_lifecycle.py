"""Tokens under the admin session age and rotate without the admin noticing: the
unscoped pair keeps listing and switching FIs, and a rotated tenant ref (DESIGN §2)
keeps naming its FI, so a page rendered before the rotation still works."""

from __future__ import annotations

import asyncio

import pytest

from tenantgate.banking import TenantScope, get_customer

from ..harness import PortalWorld
from .steps import choose, lock_button_of, show, sign_in, submit

pytestmark = pytest.mark.anyio
FIRST = "First Harbor Bank"
ALMOST_EXPIRED = 1190  # access tokens live 1200 s; the BFF refreshes in the last 60


async def test_listing_and_switching_survive_expired_unscoped_tokens(admin: PortalWorld) -> None:
    await sign_in(admin)
    admin.identity.clock.advance(ALMOST_EXPIRED)
    # Before any selection the session's main pair is the unscoped one.
    assert len((await show(admin, "/")).page.all("tenant-option")) == 3
    await choose(admin, FIRST)
    admin.identity.clock.advance(ALMOST_EXPIRED)
    # Two tabs at once: only one may rotate the unscoped refresh token (reuse would
    # revoke the whole family and end the session).
    first, second = await asyncio.gather(
        admin.browser.get("/tenants"), admin.browser.get("/tenants")
    )
    assert first.status_code == second.status_code == 200
    other = sorted(set(admin.identity.seed.tenants) - {FIRST})[0]
    switched = await choose(admin, other)
    assert switched.page.one("current-tenant").text == other
    assert switched.page.all("customer-row")


async def test_a_page_rendered_before_a_ref_rotation_still_acts_on_its_institution(
    admin: PortalWorld,
) -> None:
    await sign_in(admin)
    before = await choose(admin, FIRST)
    rotation = admin.identity.deps.config.tenant_ref_rotation
    for _ in range(2):  # past one rotation, in steps shorter than the idle timeout
        admin.identity.clock.advance(rotation * 0.6)
        after = await show(admin, "/")
    assert after.page.one("current-tenant").text == FIRST
    assert after.tenant_ref != before.tenant_ref  # the refreshed token carried the new ref

    scope = TenantScope(admin.identity.seed.tenants[FIRST])
    rows = [r for r in before.page.all("customer-row") if "Active" in r.text]
    stale_page, current_page = rows[0].attrs["data-customer"], rows[1].attrs["data-customer"]
    assert (await submit(admin, lock_button_of(before, stale_page))).status_code == 303
    assert (await submit(admin, lock_button_of(after, current_page))).status_code == 303
    for public_id in (stale_page, current_page):
        customer = await get_customer(admin.banking, scope, public_id)
        assert customer is not None
        assert customer.is_locked
