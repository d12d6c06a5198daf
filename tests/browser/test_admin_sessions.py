"""Sessions in a real browser: an admin finds an employee's reporting session on the
Sessions page and ends it; the employee's reporting tab then ends too.

The portals verify access tokens locally (JWKS), so an ended session stops at its next
token refresh, at the latest when its access token expires. This demo runs with 65-second
access tokens (the portals refresh when less than 60 s are left), so that moment comes
within seconds instead of 20 minutes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .flows import select_fi, sign_in
from .system import DemoSystem, start_demo

Snap = Callable[[Page, str], Path]
ACCESS_TOKEN_TTL = 65
REFRESH_MARGIN = 60  # PortalConfig.refresh_margin


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSystem]:
    system = start_demo(
        tmp_path_factory.mktemp("sessions-demo"),
        banks=2,
        customers=10,
        TENANTGATE_ACCESS_TOKEN_TTL=str(ACCESS_TOKEN_TTL),
    )
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture
def employee_context(browser: Browser) -> Iterator[BrowserContext]:
    """The employee's own browser: nothing shared with the admin's."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


def reload_until_signed_out(page: Page, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        page.reload()
        if page.get_by_test_id("sign-in").count() or time.monotonic() > deadline:
            return
        page.wait_for_timeout(1_000)


def test_admin_ends_an_employees_reporting_session(
    quick_demo: DemoSystem, context: BrowserContext, employee_context: BrowserContext, snap: Snap
) -> None:
    employee = quick_demo.first_of_kind("employee")
    username, fi = employee["username"], employee["tenants"][0]["name"]
    reporting = employee_context.new_page()
    sign_in(reporting, quick_demo.urls["reporting"], username)
    signed_in_at = time.monotonic()
    expect(reporting.get_by_test_id("tenant-banner")).to_contain_text(fi)
    expect(reporting.get_by_test_id("kpi-transactions")).not_to_be_empty()
    snap(reporting, "employee-dashboard")

    page = context.new_page()
    sign_in(page, quick_demo.urls["admin"], "admin")
    select_fi(page, fi)
    page.get_by_test_id("nav-sessions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sessions at {fi}")
    page.get_by_test_id("session-search").fill(username)
    page.get_by_test_id("session-search-submit").click()
    rows = page.get_by_test_id("session-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Reporting Dashboard")
    expect(rows.first).to_contain_text(fi)
    snap(page, "sessions")

    # Until now the employee's tab lives on, through a token refresh too.
    page.wait_for_timeout(max(0, (ACCESS_TOKEN_TTL - REFRESH_MARGIN + 1) * 1000))
    reporting.reload()
    expect(reporting.get_by_test_id("tenant-banner")).to_contain_text(fi)
    assert time.monotonic() - signed_in_at > ACCESS_TOKEN_TTL - REFRESH_MARGIN

    rows.first.get_by_test_id("revoke-session").click()
    expect(page.get_by_test_id("session-revoked")).to_be_visible()
    expect(page.get_by_test_id("session-row")).to_have_count(0)
    expect(page.get_by_test_id("current-tenant")).to_have_text(fi)
    snap(page, "session-ended")

    reporting.bring_to_front()
    reload_until_signed_out(reporting, within=ACCESS_TOKEN_TTL)
    expect(reporting.get_by_test_id("sign-in")).to_be_visible()
    expect(reporting.get_by_test_id("tenant-banner")).to_have_count(0)
    expect(reporting.get_by_test_id("kpi-transactions")).to_have_count(0)
    snap(reporting, "employee-signed-out")
