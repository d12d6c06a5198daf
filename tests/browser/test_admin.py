"""The Admin & Operations portal in a real browser: choosing an FI, customers, locking,
switching, ops's limited grants, and the context guard across two tabs (DESIGN §3)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

from playwright.sync_api import BrowserContext, Locator, Page, Request, expect

from .flows import JWT_LIKE, browser_storage_dump, select_fi, sign_in
from .system import DemoSystem

Snap = Callable[[Page, str], Path]
NOTICE_WITHIN_MS = 2_000


def active_row(page: Page) -> Locator:
    """An active customer's row, pinned by its id (a filter on "active" would move on)."""
    found = page.get_by_test_id("customer-row").filter(has=page.locator(".pill.active")).first
    public_id = found.get_attribute("data-customer")
    return page.locator(f'[data-testid=customer-row][data-customer="{public_id}"]')


def assert_nothing_token_like(page: Page, requests: list[Request]) -> None:
    assert not JWT_LIKE.search(browser_storage_dump(page))
    for request in requests:
        assert "eyJ" not in request.url, request.url
        assert "sso_token" not in request.url, request.url


def test_admin_picks_an_institution_locks_a_customer_and_switches(
    demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))
    names = [t["name"] for t in demo.user("admin")["tenants"]]
    page = context.new_page()
    sign_in(page, demo.urls["admin"], "admin")
    expect(page.get_by_test_id("tenant-option")).to_have_count(len(names))
    snap(page, "institutions")

    select_fi(page, names[0])
    expect(page.get_by_test_id("current-tenant")).to_have_text(names[0])
    expect(page.get_by_test_id("customer-row").first).to_be_visible()
    snap(page, "fi-home")

    row = active_row(page)
    name = row.get_attribute("data-name") or ""
    row.get_by_test_id("lock-customer").click()
    locked = page.locator(f'[data-testid=customer-row][data-name="{name}"]').first
    expect(locked.get_by_test_id("customer-status")).to_have_text("Locked")
    expect(page.locator("#notice")).to_contain_text(f"{name} is now locked")
    snap(page, "customer-locked")

    page.get_by_test_id("customer-search").fill(name.split()[-1])
    page.get_by_test_id("customer-search").press("Enter")
    expect(page.get_by_test_id("customer-row").first).to_contain_text(name.split()[-1])
    expect(locked.get_by_test_id("customer-status")).to_have_text("Locked")  # server state
    snap(page, "search")

    locked.get_by_role("link").click()
    expect(page.get_by_test_id("current-tenant")).to_have_text(names[0])
    page.get_by_test_id("unlock-customer").click()
    expect(page.get_by_test_id("customer-status")).to_have_text("Active")
    snap(page, "customer-detail")

    page.get_by_test_id("switch-tenant").click()
    expect(page.get_by_test_id("current-tenant")).to_have_text(names[0])
    snap(page, "switch")
    select_fi(page, names[1])
    expect(page.get_by_test_id("current-tenant")).to_have_text(names[1])
    expect(page.get_by_test_id("customer-row").first).to_be_visible()
    snap(page, "second-fi")
    assert_nothing_token_like(page, requests)


def test_ops_sees_two_institutions_and_opens_reporting_only_on_the_first(
    demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))
    first, second = (t["name"] for t in demo.user("ops")["tenants"])
    page = context.new_page()
    sign_in(page, demo.urls["admin"], "ops")
    expect(page.get_by_test_id("tenant-option")).to_have_count(2)
    snap(page, "institutions")

    select_fi(page, first)
    expect(page.get_by_test_id("reporting-button")).to_be_enabled()
    # ops may not lock on its first FI: the buttons say so instead of failing later.
    expect(page.get_by_test_id("lock-customer").first).to_be_disabled()
    snap(page, "first-fi")
    with context.expect_page() as opened:
        page.get_by_test_id("reporting-button").click()
    reporting = opened.value
    reporting.wait_for_load_state()
    reporting.wait_for_url(re.compile(re.escape(demo.urls["reporting"]) + ".*"))
    expect(reporting.get_by_test_id("tenant-banner")).to_contain_text(first)
    expect(reporting.get_by_test_id("kpi-transactions")).not_to_be_empty()
    snap(reporting, "reporting-tab")
    landing = [r for r in requests if r.url.endswith("/sso/landing")]
    assert len(landing) == 1
    assert landing[0].method == "POST"
    token = parse_qs(landing[0].post_data or "")["sso_token"][0]
    assert len(token.split(".")) == 5
    assert token not in demo.log_text()

    page.bring_to_front()
    page.get_by_test_id("switch-tenant").click()
    select_fi(page, second)
    button = page.get_by_test_id("reporting-button")
    expect(button).to_be_disabled()
    expect(page.get_by_test_id("reporting-refused")).to_be_visible()
    snap(page, "second-fi-no-reporting")
    # The server refuses too, whatever the page shows.
    status = page.evaluate(
        """async () => {
            const body = new FormData();
            body.set("csrf_token", document.querySelector('meta[name="csrf-token"]').content);
            body.set("tenant_ref", document.body.dataset.tenantRef);
            const answer = await fetch("/reporting/launch", {method: "POST", body});
            return answer.status;
        }"""
    )
    assert status == 403
    for request in requests:
        assert token not in request.url
    assert_nothing_token_like(page, requests)
    assert_nothing_token_like(reporting, [])


def test_a_tab_left_on_the_previous_institution_is_told_and_refused(
    demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    fi_a, fi_b = (t["name"] for t in demo.user("admin")["tenants"][:2])
    tab_one = context.new_page()
    sign_in(tab_one, demo.urls["admin"], "admin")
    select_fi(tab_one, fi_a)
    snap(tab_one, "tab-one-on-a")

    tab_two = context.new_page()
    tab_two.goto(f"{demo.urls['admin']}/tenants")
    select_fi(tab_two, fi_b)
    snap(tab_two, "tab-two-on-b")

    notice = tab_one.locator("#notice")
    told = f"You switched to {fi_b} in another tab; this tab showed {fi_a}"
    expect(notice).to_contain_text(told, timeout=NOTICE_WITHIN_MS)
    expect(tab_one.get_by_test_id("current-tenant")).to_have_text(fi_a)
    snap(tab_one, "tab-one-told")

    tab_one.evaluate("document.getElementById('notice').hidden = true")
    row = active_row(tab_one)
    public_id = row.get_attribute("data-customer")
    row.get_by_test_id("lock-customer").click()
    expect(notice).to_contain_text(told)
    expect(notice).to_have_class(re.compile(r"\berror\b"))
    expect(row.get_by_test_id("customer-status")).to_have_text("Active")
    snap(tab_one, "tab-one-lock-refused")

    # Nothing changed on FI A: back on A, the customer is still active.
    tab_one.reload()
    expect(tab_one.get_by_test_id("current-tenant")).to_have_text(fi_b)
    tab_one.get_by_test_id("switch-tenant").click()
    select_fi(tab_one, fi_a)
    tab_one.goto(f"{demo.urls['admin']}/customers/{public_id}")
    expect(tab_one.get_by_test_id("customer-status")).to_have_text("Active")
    snap(tab_one, "customer-unchanged")


MALFORMED = """() => {
    const channel = new BroadcastChannel("tenantgate-admin");
    const long = "B".repeat(201);
    for (const message of [
        null, 42, "tenant-switched", ["tenant-switched", "Evil Bank"], {},
        {type: "tenant-switched"}, {type: "tenant-switched", tenant: 7},
        {type: "tenant-switched", tenant: ""}, {type: "tenant-switched", tenant: long},
        {type: "tenant-switched", tenant: "Evil Bank", token: "eyJx"},
        {type: "other", tenant: "Evil Bank"}, {type: "TENANT-SWITCHED", tenant: "Evil Bank"},
        {type: "tenant-switched", tenant: "<img src=x onerror=alert(1)>"},
    ]) channel.postMessage(message);
    channel.close();
}"""


def test_forged_or_malformed_channel_messages_change_nothing(
    demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    fi_a = demo.user("admin")["tenants"][0]["name"]
    page = context.new_page()
    sign_in(page, demo.urls["admin"], "admin")
    select_fi(page, fi_a)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/context" in r.url else None)
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))

    forger = context.new_page()  # any same-origin page can post on the channel
    forger.goto(f"{demo.urls['admin']}/static/admin.css")
    forger.evaluate(MALFORMED)
    page.wait_for_timeout(800)
    expect(page.locator("#notice")).to_be_hidden()
    expect(page.locator("body.context-changed")).to_have_count(0)
    # Only the well-shaped forgeries made the tab ask; the server said nothing changed.
    assert 1 <= len(asked) <= 2
    assert dialogs == []
    row = active_row(page)
    row.get_by_test_id("lock-customer").click()
    expect(row.get_by_test_id("customer-status")).to_have_text("Locked")
    snap(page, "after-forged-messages")
    row.get_by_test_id("unlock-customer").click()
    expect(row.get_by_test_id("customer-status")).to_have_text("Active")
