"""Steps the browser tests share: signing in through the hosted page, storage checks."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .system import DEMO_PASSWORD

JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{10,}")


def sign_in(page: Page, portal_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{portal_url}/auth/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(re.compile(re.escape(portal_url) + r"/(?!auth/).*"))


def select_fi(page: Page, name: str) -> None:
    page.get_by_test_id("tenant-option").filter(has_text=name).first.click()
    expect(page.get_by_test_id("current-tenant")).to_contain_text(name)


def browser_storage_dump(page: Page) -> str:
    """Everything JavaScript can see that could hold a token."""
    dump: str = page.evaluate(
        """async () => {
            const parts = [document.cookie, JSON.stringify({...localStorage}),
                           JSON.stringify({...sessionStorage})];
            if (indexedDB.databases) {
                const dbs = await indexedDB.databases();
                parts.push(JSON.stringify(dbs));
            }
            return parts.join("\\n");
        }"""
    )
    return dump
