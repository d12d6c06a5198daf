"""Behaviours that cross portals: a customer's transfer reaches reporting; tenant-ref
rotation during live sessions needs no new sign-in (CONTRACT §4.4, §4.5)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .flows import select_fi, sign_in
from .system import DemoSystem, start_demo

Snap = Callable[[Page, str], Path]
ROTATION = 10  # seconds: short enough to watch refs rotate, long enough to act in one epoch


def number(text: str) -> int:
    digits = re.sub(r"[^0-9]", "", text)
    assert digits, text
    return int(digits)


def test_a_customer_transfer_appears_in_the_fis_reporting(
    demo: DemoSystem, browser: Browser, context: BrowserContext, snap: Snap
) -> None:
    customer = demo.first_of_kind("customer")
    fi = customer["tenants"][0]["name"]
    employee = next(
        u
        for u in demo.document["users"]
        if u["kind"] == "employee" and u["tenants"][0]["name"] == fi
    )
    reporting = context.new_page()
    sign_in(reporting, demo.urls["reporting"], employee["username"])
    expect(reporting.get_by_test_id("tenant-banner")).to_contain_text(fi)
    tile = reporting.get_by_test_id("kpi-transactions")
    expect(tile).not_to_be_empty()
    before = number(tile.inner_text())
    snap(reporting, "reporting-before")

    other = browser.new_context()  # the customer is someone else, on their own device
    try:
        bank = other.new_page()
        sign_in(bank, demo.urls["customer"], customer["username"])
        source = (
            bank.get_by_test_id("transfer-from").locator("option").nth(0).get_attribute("value")
        )
        target = bank.get_by_test_id("transfer-to").locator("option").nth(1).get_attribute("value")
        assert source
        assert target
        assert source != target
        bank.get_by_test_id("transfer-from").select_option(source)
        bank.get_by_test_id("transfer-to").select_option(target)
        bank.get_by_test_id("transfer-amount").fill("7.00")
        bank.get_by_test_id("transfer-submit").click()
        expect(bank.get_by_test_id("transfer-result")).to_contain_text("Transferred $7.00")
        snap(bank, "customer-transfer")
    finally:
        other.close()

    reporting.reload()
    expect(tile).not_to_be_empty()
    assert number(tile.inner_text()) == before + 2  # both legs of the transfer
    snap(reporting, "reporting-after")


@pytest.fixture(scope="module")
def rotating_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSystem]:
    system = start_demo(
        tmp_path_factory.mktemp("rotating"),
        banks=2,
        customers=20,
        TENANTGATE_TENANT_REF_ROTATION=str(ROTATION),
        TENANTGATE_ACCESS_TOKEN_TTL="60",  # ≤ the BFF's refresh margin: every request refreshes
    )
    try:
        yield system
    finally:
        system.stop()


def wait_for_next_epoch() -> None:
    time.sleep(ROTATION - time.time() % ROTATION + 0.5)


def test_tenant_ref_rotation_keeps_admin_and_reporting_sessions_alive(
    rotating_demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    fi = rotating_demo.user("admin")["tenants"][0]["name"]
    admin = context.new_page()
    sign_in(admin, rotating_demo.urls["admin"], "admin")
    wait_for_next_epoch()
    select_fi(admin, fi)
    first_ref = admin.locator("body").get_attribute("data-tenant-ref")
    assert first_ref
    with context.expect_page() as opened:
        admin.get_by_test_id("reporting-button").click()
    reporting = opened.value
    expect(reporting.get_by_test_id("tenant-banner")).to_contain_text(fi)
    snap(reporting, "reporting-before-rotation")

    wait_for_next_epoch()
    admin.reload()
    expect(admin.get_by_test_id("current-tenant")).to_contain_text(fi)
    assert "login-username" not in admin.content()
    second_ref = admin.locator("body").get_attribute("data-tenant-ref")
    assert second_ref
    assert second_ref != first_ref  # the refreshed token carries the current ref
    # Acting still works under the new ref: lock, then unlock, the first customer.
    row = admin.get_by_test_id("customer-row").first
    row.get_by_test_id("lock-customer").click()
    expect(row).to_contain_text(re.compile("locked", re.IGNORECASE))
    snap(admin, "admin-after-rotation")

    reporting.reload()
    expect(reporting.get_by_test_id("tenant-banner")).to_contain_text(fi)
    expect(reporting.get_by_test_id("kpi-transactions")).not_to_be_empty()
    expect(reporting.get_by_test_id("session-ended")).to_be_hidden()
    assert "login-username" not in reporting.content()
    snap(reporting, "reporting-after-rotation")
