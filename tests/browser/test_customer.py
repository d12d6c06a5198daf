"""Customer portal in a real browser: sign in on the hosted page, read accounts and
transactions, move money, see refusals, sign out — and never hold a token."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from tenantgate.banking import (
    TenantScope,
    create_banking_engine,
    list_accounts_of_customer,
    open_account,
)
from tenantgate.banking.schema import customers, institutions

from .system import DemoSystem

Snap = Callable[[Page, str], Path]
TOKEN_WORDS = ("access_token", "refresh_token", "id_token", "eyJ")


async def _ensure_two_accounts(url: str, fi_name: str) -> None:
    engine = create_banking_engine(url)
    try:
        async with engine.connect() as conn:
            tenant_id = (
                await conn.execute(
                    select(institutions.c.tenant_id).where(institutions.c.name == fi_name)
                )
            ).scalar_one()
            linked = (
                await conn.execute(
                    select(customers.c.public_id).where(
                        customers.c.tenant_id == tenant_id, customers.c.subject.is_not(None)
                    )
                )
            ).scalar_one()
        scope = TenantScope(tenant_id)
        if len(await list_accounts_of_customer(engine, scope, linked)) < 2:
            await open_account(engine, scope, linked, kind="savings", initial_deposit_minor=50_000)
    finally:
        await engine.dispose()


def ensure_two_accounts(demo: DemoSystem, fi_name: str) -> None:
    """A demo customer may hold one account; moving money needs two. (Own thread: the sync
    Playwright API owns this thread's event loop.)"""
    url = f"sqlite+aiosqlite:///{demo.data_dir / 'banking.db'}"
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_ensure_two_accounts(url, fi_name))
        except BaseException as exc:  # reported in the test's thread below
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    assert not failure, failure


def balances(context: BrowserContext, base: str) -> dict[str, dict[str, Any]]:
    answer = context.request.get(f"{base}/api/accounts")
    assert answer.ok, answer.text()
    return {a["id"]: a for a in answer.json()["accounts"]}


def sign_in(page: Page, base: str, username: str, password: str, snap: Snap) -> None:
    page.goto(f"{base}/")
    expect(page.get_by_test_id("login-username")).to_be_visible()
    snap(page, "01-hosted-login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base}/")
    expect(page.get_by_test_id("account-row").first).to_be_visible()


def transfer(page: Page, source: str, target: str, amount: str) -> None:
    page.get_by_test_id("transfer-from").select_option(source)
    page.get_by_test_id("transfer-to").select_option(target)
    page.get_by_test_id("transfer-amount").fill(amount)
    page.get_by_test_id("transfer-submit").click()


def test_customer_moves_money_and_never_holds_a_token(
    demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    base = demo.urls["customer"]
    user = demo.first_of_kind("customer")
    fi_name = user["tenants"][0]["name"]
    ensure_two_accounts(demo, fi_name)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()

    sign_in(page, base, user["username"], user["password"], snap)
    expect(page.locator(".fi-badge")).to_contain_text(fi_name)
    expect(page.get_by_test_id("transaction-row").first).to_be_visible()
    accounts = balances(context, base)
    assert page.get_by_test_id("account-row").count() == len(accounts) >= 2
    snap(page, "02-home")

    # A transfer, reflected on the page without a reload.
    paying, receiving = sorted(accounts.values(), key=lambda a: -a["balance_minor"])[:2]
    transfer(page, paying["id"], receiving["id"], "12.34")
    result = page.get_by_test_id("transfer-result")
    expect(result).to_contain_text(
        f"Transferred $12.34 from {paying['name']} to {receiving['name']}"
    )
    after = balances(context, base)
    assert after[paying["id"]]["balance_minor"] == paying["balance_minor"] - 1234
    assert after[receiving["id"]]["balance_minor"] == receiving["balance_minor"] + 1234
    paying_row = page.locator(f'[data-testid="account-row"][data-account-id="{paying["id"]}"]')
    expect(paying_row).to_contain_text(after[paying["id"]]["balance"])
    expect(page.get_by_test_id("transaction-row").first).to_contain_text("$12.34")
    expect(page.get_by_test_id("transfer-amount")).to_have_value("")
    snap(page, "03-transfer-made")

    # An overdraft and a malformed amount: clear messages, nothing moves.
    too_much = f"{(after[paying['id']]['balance_minor'] + 1) / 100:.2f}"
    transfer(page, paying["id"], receiving["id"], too_much)
    expect(result).to_contain_text("Insufficient funds")
    expect(result).to_have_class(re.compile(r"\berror\b"))
    snap(page, "04-overdraft-refused")
    transfer(page, paying["id"], receiving["id"], "abc")
    expect(result).to_contain_text("Enter an amount like")
    snap(page, "05-malformed-refused")
    assert balances(context, base) == after

    # After a reload the page shows the same, stored balances.
    page.reload()
    expect(paying_row).to_contain_text(after[paying["id"]]["balance"])
    snap(page, "06-after-reload")

    # The browser never holds a token: not in storage, not in JS-visible cookies, not in URLs.
    stored = page.evaluate(
        """async () => ({
            local: JSON.stringify(Object.entries(localStorage)),
            session: JSON.stringify(Object.entries(sessionStorage)),
            cookie: document.cookie,
            idb: JSON.stringify(indexedDB.databases ? await indexedDB.databases() : []),
        })"""
    )
    for where, text in stored.items():
        assert "eyJ" not in text, where
    assert "tg_customer" not in stored["cookie"]  # HttpOnly
    assert stored["idb"] == "[]"
    for url in requested:
        assert not any(word in url for word in TOKEN_WORDS), url
        if "code=" in url:
            assert url.startswith(f"{base}/auth/callback?"), url

    # Signing out ends the session: the portal asks for a new sign-in.
    page.get_by_test_id("logout").click()
    expect(page.locator("h1")).to_contain_text("signed out")
    snap(page, "07-signed-out")
    page.goto(f"{base}/")
    expect(page.get_by_test_id("login-username")).to_be_visible()
    snap(page, "08-sign-in-again")


def test_transfer_works_without_javascript(demo: DemoSystem, browser: Browser, snap: Snap) -> None:
    base = demo.urls["customer"]
    user = demo.first_of_kind("customer")
    ensure_two_accounts(demo, user["tenants"][0]["name"])
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, base, user["username"], user["password"], snap)
        accounts = balances(context, base)
        paying, receiving = sorted(accounts.values(), key=lambda a: -a["balance_minor"])[:2]
        transfer(page, paying["id"], receiving["id"], "0.50")
        page.wait_for_url(f"{base}/transfers")
        expect(page.get_by_test_id("transfer-result")).to_contain_text("Transferred $0.50")
        assert balances(context, base)[paying["id"]]["balance_minor"] == (
            paying["balance_minor"] - 50
        )
        snap(page, "02-form-transfer-made")
        transfer(page, paying["id"], receiving["id"], "12.345")
        expect(page.get_by_test_id("transfer-result")).to_contain_text("two decimal places")
        snap(page, "03-form-transfer-refused")
    finally:
        context.close()
