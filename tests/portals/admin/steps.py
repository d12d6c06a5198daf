"""Steps of the admin-portal tests: sign in, choose an FI, submit forms like a browser."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tenantgate.banking import TenantScope, list_customers

from ..harness import PortalWorld
from .html import Element, Page

REPORTING_URL = "http://127.0.0.1:8702"


@dataclass
class Shown:
    """A page as the browser got it."""

    response: httpx.Response
    page: Page

    @property
    def tenant_ref(self) -> str:
        return self.page.body["data-tenant-ref"]

    @property
    def csrf(self) -> str:
        return self.page.forms[0].fields["csrf_token"] if self.page.forms else ""


async def show(admin: PortalWorld, path: str, status: int = 200) -> Shown:
    response = await admin.browser.get(path)
    assert response.status_code == status, (response.status_code, response.text[:600])
    return Shown(response, Page(response.text))


async def sign_in(admin: PortalWorld, username: str = "admin") -> Shown:
    callback = await admin.login(username)
    assert callback.status_code == 200, callback.text
    return await show(admin, "/")


async def submit(admin: PortalWorld, form_of: Element, **overrides: str | None) -> httpx.Response:
    """Submit the form around an element as a browser would (same-origin POST)."""
    assert form_of.form is not None
    fields = {**form_of.form.fields, **overrides}
    data = {key: value for key, value in fields.items() if value is not None}
    return await admin.browser.post(form_of.form.action, data=data, headers={"Origin": admin.url})


async def choose(admin: PortalWorld, name: str) -> Shown:
    """Pick an FI on the selection page; returns the FI home it lands on."""
    listing = await show(admin, "/tenants")
    option = next(o for o in listing.page.all("tenant-option") if name in o.text)
    answer = await submit(admin, option)
    assert answer.status_code == 303, answer.text
    return await show(admin, answer.headers["location"])


def tenant_names(admin: PortalWorld, username: str) -> list[str]:
    return [str(t["name"]) for t in admin.identity.user(username).tenants]


async def some_customer_of(admin: PortalWorld, name: str) -> str:
    scope = TenantScope(admin.identity.seed.tenants[name])
    listing = await list_customers(admin.banking, scope, limit=1)
    return listing.customers[0].public_id


def row_of(shown: Shown, public_id: str) -> Element:
    return next(r for r in shown.page.all("customer-row") if r.attrs["data-customer"] == public_id)


def lock_button_of(shown: Shown, public_id: str) -> Element:
    return next(
        b
        for b in shown.page.all("lock-customer")
        if b.form is not None and public_id in b.form.action
    )
