"""Moving money between the customer's own accounts: success, refusals, nothing half-written."""

from __future__ import annotations

from typing import Any

import pytest

from tenantgate.banking import format_minor

from ..harness import PortalWorld
from .support import Customer, balances, overview, transaction_count

pytestmark = pytest.mark.anyio


async def _two_accounts(portal: PortalWorld) -> tuple[dict[str, Any], dict[str, Any]]:
    body = await overview(portal)
    # The richer account pays, so a small transfer always fits.
    paying, receiving = sorted(body["accounts"], key=lambda a: -a["balance_minor"])[:2]
    return paying, receiving


async def test_transfer_moves_money_and_shows_it(portal: PortalWorld, me: Customer) -> None:
    paying, receiving = await _two_accounts(portal)
    answer = await portal.post_json(
        "/api/transfers", {"from": paying["id"], "to": receiving["id"], "amount": "12.34"}, me.csrf
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["message"] == (f"Transferred $12.34 from {paying['name']} to {receiving['name']}.")
    assert body["transfer"]["amount_minor"] == 1234
    after = balances(body)
    assert after[paying["id"]] == paying["balance_minor"] - 1234
    assert after[receiving["id"]] == receiving["balance_minor"] + 1234
    assert balances(await overview(portal)) == after  # it stuck
    newest = {(t["kind"], t["amount_minor"]) for t in body["transactions"][:2]}
    assert newest == {("transfer_out", -1234), ("transfer_in", 1234)}
    page = await portal.browser.get("/")
    assert f"${format_minor(after[paying['id']])}" in page.text
    assert "Transfer out" in page.text
    assert "-$12.34" in page.text


async def test_plain_form_transfer_works_without_javascript(
    portal: PortalWorld, me: Customer
) -> None:
    paying, receiving = await _two_accounts(portal)
    before = balances(await overview(portal))
    before = balances(await overview(portal))
    form = {"csrf_token": me.csrf, "from": paying["id"], "to": receiving["id"], "amount": "0.50"}
    answer = await portal.browser.post("/transfers", data=form, headers={"Origin": portal.url})
    assert answer.status_code == 200, answer.text
    assert 'class="notice ok"' in answer.text
    assert f"Transferred $0.50 from {paying['name']} to {receiving['name']}." in answer.text
    assert 'value=""' in answer.text  # after a success the amount field starts empty
    after = balances(await overview(portal))
    assert after[paying["id"]] == before[paying["id"]] - 50
    assert after[receiving["id"]] == before[receiving["id"]] + 50
    assert sum(after.values()) == sum(before.values())
    # Chromium posts our forms with "Origin: null" (Referrer-Policy no-referrer): the token decides.
    again = await portal.browser.post("/transfers", data=form, headers={"Origin": "null"})
    assert again.status_code == 200
    assert balances(await overview(portal))[paying["id"]] == before[paying["id"]] - 100


async def test_overdraft_is_refused_and_nothing_is_written(
    portal: PortalWorld, me: Customer
) -> None:
    paying, receiving = await _two_accounts(portal)
    lines = await transaction_count(portal)
    too_much = format_minor(paying["balance_minor"] + 1).replace(",", "")
    answer = await portal.post_json(
        "/api/transfers", {"from": paying["id"], "to": receiving["id"], "amount": too_much}, me.csrf
    )
    assert answer.status_code == 409
    assert answer.json()["error"] == "insufficient_funds"
    assert "Insufficient funds" in answer.json()["error_description"]
    body = {"from": paying["id"], "to": receiving["id"], "amount": too_much}
    form = await portal.browser.post("/transfers", data={"csrf_token": me.csrf, **body})
    assert form.status_code == 409
    assert "Insufficient funds" in form.text
    assert f'value="{too_much}"' in form.text  # what was typed stays in the field
    assert balances(await overview(portal))[paying["id"]] == paying["balance_minor"]
    assert await transaction_count(portal) == lines


MALFORMED = [
    ("-5", "greater than zero"),
    ("0", "greater than zero"),
    ("0.00", "greater than zero"),
    ("1e3", "Enter an amount like"),
    ("12.345", "at most two decimal places"),
    ("abc", "Enter an amount like"),
    ("", "Enter an amount like"),
    ("   ", "Enter an amount like"),
    ("NaN", "Enter an amount like"),
    ("+5", "Enter an amount like"),
    ("١٢", "Enter an amount like"),  # Arabic-Indic digits
    ("99999999999", "exceeds the maximum"),
    ("9" * 40, "Enter an amount like"),
    ("1,00", "Enter an amount like"),
    ("5; DROP TABLE accounts", "Enter an amount like"),
]


async def test_malformed_amounts_are_refused_with_a_clear_message(
    portal: PortalWorld, me: Customer
) -> None:
    paying, receiving = await _two_accounts(portal)
    before = balances(await overview(portal))
    before, lines = balances(await overview(portal)), await transaction_count(portal)
    for amount, message in MALFORMED:
        body = {"from": paying["id"], "to": receiving["id"], "amount": amount}
        answer = await portal.post_json("/api/transfers", body, me.csrf)
        assert answer.status_code == 400, amount
        assert message in answer.json()["error_description"], amount
        form = await portal.browser.post("/transfers", data={"csrf_token": me.csrf, **body})
        assert form.status_code == 400, amount
        assert message in form.text, amount
    assert balances(await overview(portal)) == before
    assert await transaction_count(portal) == lines


async def test_same_account_and_bad_bodies_are_refused(portal: PortalWorld, me: Customer) -> None:
    paying, receiving = await _two_accounts(portal)
    before = balances(await overview(portal))
    same = await portal.post_json(
        "/api/transfers", {"from": paying["id"], "to": paying["id"], "amount": "1.00"}, me.csrf
    )
    assert same.status_code == 400
    assert "two different accounts" in same.json()["error_description"]
    for body in (
        {"from": paying["id"], "to": receiving["id"], "amount": 1000.0},  # a number, not text
        {"from": paying["id"], "to": receiving["id"], "amount": 1e3},
        {"from": paying["id"], "to": receiving["id"]},
        {"from": [paying["id"]], "to": receiving["id"], "amount": "1"},
        {"from": paying["id"], "to": receiving["id"], "amount": None},
    ):
        answer = await portal.post_json("/api/transfers", body, me.csrf)
        assert answer.status_code == 400, body
        assert answer.json()["error"] == "invalid_request"
    headers = {"X-CSRF-Token": me.csrf, "Content-Type": "application/json"}
    for raw in (b"not json", b"[1, 2]", b"[" * 5000 + b"]" * 5000, b'"text"'):
        answer = await portal.browser.post("/api/transfers", content=raw, headers=headers)
        assert 400 <= answer.status_code < 500, raw[:20]
        assert "error_description" in answer.json()
    text = await portal.browser.post(
        "/api/transfers",
        content=b"from=a&to=b&amount=1",
        headers={"X-CSRF-Token": me.csrf, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert text.status_code == 415
    assert balances(await overview(portal)) == before


async def test_transfers_are_post_only(portal: PortalWorld, me: Customer) -> None:
    for path in ("/api/transfers", "/transfers"):
        answer = await portal.browser.get(f"{path}?from=a&to=b&amount=1")
        assert answer.status_code == 405, path
    assert (await portal.browser.put("/api/transfers", json={})).status_code == 405
