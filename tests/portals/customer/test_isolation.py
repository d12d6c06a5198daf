"""Tenant and customer isolation: another FI's or another customer's account ids are
"not found" on every route that takes one, and nothing is written."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ..harness import PortalWorld
from .support import Customer, balances, overview, someone_elses_accounts, transaction_count

pytestmark = pytest.mark.anyio


async def _foreign_ids(portal: PortalWorld, me: Customer) -> dict[str, str]:
    other_fi = next(tid for tid in portal.identity.seed.tenants.values() if tid != me.tenant_id)
    return {
        "other customer, same FI": (
            await someone_elses_accounts(portal, me.tenant_id, not_subject=me.subject)
        )[0].public_id,
        "other FI": (await someone_elses_accounts(portal, other_fi))[0].public_id,
        "other FI's linked customer": (
            await someone_elses_accounts(portal, other_fi, not_subject="-")
        )[0].public_id,
        "never existed": "acc_" + "0" * 32,
        "junk": "../../acc_1' OR '1'='1",
    }


async def test_foreign_account_ids_are_not_found_when_reading(
    portal: PortalWorld, me: Customer
) -> None:
    mine = {a["id"] for a in (await overview(portal))["accounts"]}
    for label, account_id in (await _foreign_ids(portal, me)).items():
        assert account_id not in mine
        answer = await portal.browser.get(f"/api/accounts/{quote(account_id, safe='')}")
        assert answer.status_code == 404, label
        assert answer.json()["error"] in {"not_found", "invalid_request"}, label
        assert account_id not in answer.text


async def test_foreign_account_ids_are_not_found_when_transferring(
    portal: PortalWorld, me: Customer
) -> None:
    own = (await overview(portal))["accounts"]
    richest = max(own, key=lambda a: a["balance_minor"])
    before, lines = balances(await overview(portal)), await transaction_count(portal)
    for label, foreign in (await _foreign_ids(portal, me)).items():
        for source, target in ((richest["id"], foreign), (foreign, richest["id"])):
            body = {"from": source, "to": target, "amount": "1.00"}
            answer = await portal.post_json("/api/transfers", body, me.csrf)
            assert answer.status_code == 404, (label, source == foreign)
            assert answer.json() == {
                "error": "unknown_account",
                "error_description": "That account was not found.",
            }
            form = await portal.browser.post("/transfers", data={"csrf_token": me.csrf, **body})
            assert form.status_code == 404
            assert "That account was not found." in form.text
    assert balances(await overview(portal)) == before
    assert await transaction_count(portal) == lines


async def test_a_session_of_fi_b_cannot_touch_fi_a_accounts(portal: PortalWorld) -> None:
    from .support import ensure_two_accounts, sign_in

    await ensure_two_accounts(portal, 0)
    first = await sign_in(portal, 0)
    a_accounts = (await overview(portal))["accounts"]
    portal.browser.cookies.clear()
    second = await sign_in(portal, 1)
    assert second.tenant_id != first.tenant_id
    b_accounts = (await overview(portal))["accounts"]
    for account in a_accounts:
        assert (await portal.browser.get(f"/api/accounts/{account['id']}")).status_code == 404
        body = {"from": account["id"], "to": b_accounts[0]["id"], "amount": "0.01"}
        answer = await portal.post_json("/api/transfers", body, second.csrf)
        assert answer.status_code == 404
    # FI A's customer still has every cent.
    portal.browser.cookies.clear()
    await sign_in(portal, 0)
    assert (await overview(portal))["accounts"] == a_accounts
