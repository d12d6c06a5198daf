"""The customer's home page and account JSON: what is shown, to whom, with which rights."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import update

from tenantgate.banking.schema import customers
from tenantgate.bff.sessions import digest

from ..harness import PortalWorld
from .support import Customer, overview, sign_in

pytestmark = pytest.mark.anyio

HOOKS = ("transfer-from", "transfer-to", "transfer-amount", "transfer-submit", "logout")


async def test_anonymous_visit_is_sent_to_sign_in(portal: PortalWorld) -> None:
    answer = await portal.browser.get("/")
    assert answer.status_code == 302
    assert answer.headers["location"] == "/auth/login"
    api = await portal.browser.get("/api/accounts")
    assert api.status_code == 401
    assert api.json()["error"] == "session_ended"


async def test_home_shows_the_fi_accounts_transactions_and_transfer_form(
    portal: PortalWorld, me: Customer
) -> None:
    html = me.home.text
    assert re.search(r'class="fi-badge"[^>]*>.*' + re.escape(me.tenant_name), html)
    for hook in HOOKS:
        assert f'data-testid="{hook}"' in html, hook
    body = await overview(portal)
    assert body["tenant"]["name"] == me.tenant_name
    assert len(body["accounts"]) >= 2
    assert html.count('data-testid="account-row"') == len(body["accounts"])
    assert html.count('data-testid="transaction-row"') == len(body["transactions"]) > 0
    for account in body["accounts"]:
        assert account["balance"] in html
        assert account["masked"] == "••" + account["id"][-4:]
        # Both selects offer every own account.
        assert html.count(f'value="{account["id"]}"') == 2
    first = body["transactions"][0]
    assert first["date"] in html
    assert first["amount"] in html
    # The page loads only its own module; nothing inline (CSP forbids it anyway).
    assert '<script type="module" src="/static/customer.js"></script>' in html
    assert "<script>" not in html
    assert "style=" not in html


async def test_other_fis_see_their_own_names_and_accounts(portal: PortalWorld) -> None:
    first = await sign_in(portal, 0)
    first_ids = {a["id"] for a in (await overview(portal))["accounts"]}
    portal.browser.cookies.clear()
    second = await sign_in(portal, 1)
    assert second.tenant_name != first.tenant_name
    assert second.tenant_name in second.home.text
    assert first.tenant_name not in second.home.text
    second_ids = {a["id"] for a in (await overview(portal))["accounts"]}
    assert second_ids
    assert not first_ids & second_ids


async def test_a_login_without_linked_banking_profile_gets_a_clear_403(
    portal: PortalWorld, me: Customer
) -> None:
    async with portal.banking.begin() as conn:
        await conn.execute(
            update(customers).where(customers.c.subject == me.subject).values(subject=None)
        )
    page = await portal.browser.get("/")
    assert page.status_code == 403
    assert "not linked to a banking profile" in page.text
    assert 'data-testid="logout"' in page.text  # still signed in: the way out is there
    api = await portal.browser.get("/api/accounts")
    assert api.status_code == 403
    assert api.json()["error"] == "no_banking_profile"


async def _drop_permission(portal: PortalWorld, permission: str) -> None:
    cookie = portal.browser.cookies[portal.portal.config.session_cookie]
    session = await portal.portal.sessions.load(digest(cookie))
    assert session is not None
    await portal.portal.sessions.save(
        replace(session, permissions=session.permissions - {permission})
    )


async def test_viewing_needs_accounts_read(portal: PortalWorld, me: Customer) -> None:
    await _drop_permission(portal, "accounts:read")
    page = await portal.browser.get("/")
    assert page.status_code == 403
    assert "does not allow" in page.text
    assert "account-row" not in page.text
    api = await portal.browser.get("/api/accounts")
    assert api.status_code == 403
    assert api.json()["error"] == "insufficient_scope"


async def test_transferring_needs_transfers_create(portal: PortalWorld, me: Customer) -> None:
    before = await overview(portal)
    await _drop_permission(portal, "transfers:create")
    page = await portal.browser.get("/")
    assert page.status_code == 200
    assert 'data-testid="transfer-submit"' not in page.text
    ids = [a["id"] for a in before["accounts"]]
    answer = await portal.post_json(
        "/api/transfers", {"from": ids[0], "to": ids[1], "amount": "1.00"}, me.csrf
    )
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"
    assert (await overview(portal))["accounts"] == before["accounts"]


async def test_one_account_json(portal: PortalWorld, me: Customer) -> None:
    body = await overview(portal)
    account = body["accounts"][0]
    answer = await portal.browser.get(f"/api/accounts/{account['id']}")
    assert answer.status_code == 200
    assert answer.json()["account"] == account
    assert all(t["account_id"] == account["id"] for t in answer.json()["transactions"])
