"""CONTRACT §4: the admin → reporting hand-off in a real browser, end to end."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

from playwright.sync_api import BrowserContext, Page, Request, expect

from .flows import JWT_LIKE, browser_storage_dump, select_fi, sign_in
from .system import DemoSystem

Snap = Callable[[Page, str], Path]
KPIS = ("kpi-active-customers", "kpi-transactions", "kpi-volume", "kpi-logins")


def open_reporting(context: BrowserContext, admin: Page) -> Page:
    with context.expect_page() as opened:
        admin.get_by_test_id("reporting-button").click()
    tab = opened.value
    tab.wait_for_url(re.compile(r".*/dashboard.*"))
    return tab


def kpi_texts(page: Page) -> list[str]:
    return [page.get_by_test_id(k).inner_text().strip() for k in KPIS]


def test_two_fis_two_tabs_the_older_tab_ends_and_never_shows_the_newer_fi(
    demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))
    fi_a, fi_b = (t["name"] for t in demo.user("admin")["tenants"][:2])

    admin = context.new_page()
    sign_in(admin, demo.urls["admin"], "admin")
    snap(admin, "admin-fi-list")
    select_fi(admin, fi_a)
    snap(admin, "admin-fi-a")

    tab_a = open_reporting(context, admin)
    expect(tab_a.get_by_test_id("tenant-banner")).to_contain_text(fi_a)
    expect(tab_a.get_by_test_id("kpi-transactions")).not_to_be_empty()
    expect(tab_a.get_by_test_id("chart-activity")).to_be_visible()
    expect(tab_a.get_by_test_id("session-ended")).to_be_hidden()
    snap(tab_a, "reporting-fi-a")
    assert "login-username" not in tab_a.content()  # no second login
    figures_a = kpi_texts(tab_a)

    admin.bring_to_front()
    admin.get_by_test_id("switch-tenant").click()
    select_fi(admin, fi_b)
    tab_b = open_reporting(context, admin)
    switched_at = time.monotonic()
    expect(tab_b.get_by_test_id("tenant-banner")).to_contain_text(fi_b)
    expect(tab_b.get_by_test_id("kpi-transactions")).not_to_be_empty()
    snap(tab_b, "reporting-fi-b")

    expect(tab_a.get_by_test_id("session-ended")).to_be_visible(timeout=2_000)
    assert time.monotonic() - switched_at < 2.5
    snap(tab_a, "reporting-fi-a-ended")
    expect(tab_a.get_by_test_id("tenant-banner")).to_contain_text(fi_a)
    figures_b = kpi_texts(tab_b)
    for text in kpi_texts(tab_a):
        assert text == "" or text in figures_a, "tab A shows figures it did not load for A"
        assert text == "" or text not in figures_b or text in figures_a
    assert all(not text for text in kpi_texts(tab_a)), "the ended tab must clear its figures"

    # The SSO token travelled only in POST bodies: never in a URL, log, storage or Referer.
    landings = [r for r in requests if r.url.endswith("/sso/landing")]
    assert len(landings) == 2
    sso_tokens = []
    for landing in landings:
        assert landing.method == "POST"
        body = parse_qs(landing.post_data or "")
        sso_tokens.append(body["sso_token"][0])
    log = demo.log_text()
    for token in sso_tokens:
        assert token.count(".") == 4
        assert all(token not in r.url for r in requests)
        assert all(token not in (r.headers.get("referer") or "") for r in requests)
        assert token not in log
    for page in (admin, tab_a, tab_b):
        assert not JWT_LIKE.search(browser_storage_dump(page))
    assert not any(JWT_LIKE.search(r.url) for r in requests)


def test_ops_selects_only_its_two_fis_and_only_the_first_opens_reporting(
    demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    ops = demo.user("ops")
    first, second = (t["name"] for t in ops["tenants"])
    admin = context.new_page()
    sign_in(admin, demo.urls["admin"], "ops")
    options = admin.get_by_test_id("tenant-option")
    expect(options).to_have_count(2)
    snap(admin, "ops-fi-list")
    select_fi(admin, first)
    tab = open_reporting(context, admin)
    expect(tab.get_by_test_id("tenant-banner")).to_contain_text(first)
    admin.bring_to_front()
    admin.get_by_test_id("switch-tenant").click()
    select_fi(admin, second)
    button = admin.get_by_test_id("reporting-button")
    refused = button.is_disabled()
    if not refused:
        with context.expect_page() as opened:
            button.click()
        attempt = opened.value
        attempt.wait_for_load_state()
        refused = "/dashboard" not in attempt.url
        snap(attempt, "ops-second-fi-refused")
    snap(admin, "ops-second-fi")
    assert refused
