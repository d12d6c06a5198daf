"""The Reporting Dashboard in a real browser: direct employee login, the one-session-per-browser
rule across tabs, and BroadcastChannel messages treated as untrusted (CONTRACT §3, §4)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, expect

from .flows import JWT_LIKE, browser_storage_dump, sign_in
from .system import DemoSystem

Snap = Callable[[Page, str], Path]
KPIS = ("kpi-active-customers", "kpi-transactions", "kpi-volume", "kpi-logins")


@pytest.fixture
def watched(context: BrowserContext) -> tuple[list[Request], list[str]]:
    """Every request URL, and every console error (a CSP violation shows up there)."""
    requests: list[Request] = []
    errors: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    context.on("request", on_request)
    context.on("console", on_console)
    return requests, errors


def employees(demo: DemoSystem) -> list[tuple[str, str]]:
    """(username, FI name) of the demo's employees, in FI order."""
    return [
        (u["username"], u["tenants"][0]["name"])
        for u in demo.document["users"]
        if u["kind"] == "employee"
    ]


def open_dashboard(page: Page, demo: DemoSystem, username: str) -> None:
    sign_in(page, demo.urls["reporting"], username)
    page.wait_for_url(re.compile(r".*/dashboard.*"))
    expect(page.get_by_test_id("kpi-transactions")).not_to_be_empty()


def kpi_texts(page: Page) -> list[str]:
    return [page.get_by_test_id(k).inner_text().strip() for k in KPIS]


def chart_is_drawn(page: Page) -> bool:
    drawn: bool = page.evaluate(
        """() => {
            const canvas = document.querySelector('[data-testid="chart-activity"]');
            return Boolean(window.Chart && canvas && window.Chart.getChart(canvas));
        }"""
    )
    return drawn


def assert_no_tokens(page: Page, requests: list[Request]) -> None:
    assert not JWT_LIKE.search(browser_storage_dump(page))
    assert "eyJ" not in browser_storage_dump(page)
    assert not [r.url for r in requests if "eyJ" in r.url]


def test_an_employee_sees_only_its_fi_with_figures_and_chart(
    demo: DemoSystem,
    context: BrowserContext,
    snap: Snap,
    watched: tuple[list[Request], list[str]],
) -> None:
    requests, errors = watched
    (username, fi_name), (_, other_fi) = employees(demo)[:2]
    page = context.new_page()
    page.goto(f"{demo.urls['reporting']}/auth/login")
    expect(page.get_by_test_id("login-username")).to_be_visible()
    snap(page, "hosted-login")
    open_dashboard(page, demo, username)
    expect(page.get_by_test_id("tenant-banner")).to_have_text(re.compile(re.escape(fi_name)))
    for kpi in KPIS:
        expect(page.get_by_test_id(kpi)).to_have_text(re.compile(r"[0-9]"))
    assert page.get_by_test_id("kpi-volume").inner_text().startswith("$")
    expect(page.get_by_test_id("chart-activity")).to_be_visible()
    assert chart_is_drawn(page)
    expect(page.get_by_test_id("kind-row").first).to_be_visible()
    expect(page.get_by_test_id("session-ended")).to_be_hidden()
    expect(page.get_by_test_id("logout")).to_be_visible()
    assert other_fi not in page.content()
    snap(page, "dashboard-30-days")

    page.get_by_test_id("period-7").click()
    page.wait_for_url(re.compile(r".*range=7"))
    expect(page.get_by_test_id("kpi-transactions")).to_have_text(re.compile(r"[0-9]"))
    expect(page.get_by_test_id("tenant-banner")).to_contain_text(fi_name)
    snap(page, "dashboard-7-days")

    page.get_by_test_id("period-start").fill("2024-03-10")
    page.get_by_test_id("period-end").fill("2024-03-01")
    page.get_by_test_id("period-apply").click()
    expect(page.get_by_test_id("period-error")).to_contain_text("before the start")
    expect(page.get_by_test_id("tenant-banner")).to_contain_text(fi_name)
    snap(page, "dashboard-bad-period")

    with page.expect_download() as download:
        page.goto(f"{demo.urls['reporting']}/dashboard?range=7")
        page.get_by_test_id("export-csv").click()
    assert download.value.suggested_filename.endswith(".csv")
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("day,transactions,volume")

    assert_no_tokens(page, requests)
    assert not [e for e in errors if "Content Security Policy" in e], errors


FORGED: list[object] = [
    "session-started",
    None,
    [],
    {"type": "session-started"},
    {"type": "session-started", "session": 12345},
    {"type": "session-started", "session": "x"},
    {"type": "session-started", "session": "<img src=x onerror=alert(1)>"},
    {"type": "session-started", "session": "A" * 2000},
    {"type": "session-ended", "session": "AAAAAAAAAAAAAAAA"},
    {"type": "session-started", "session": "AAAAAAAAAAAAAAAA", "extra": 1},
    {"type": "SESSION-STARTED", "session": "AAAAAAAAAAAAAAAA"},
]


def test_forged_or_malformed_channel_messages_change_nothing(
    demo: DemoSystem, context: BrowserContext, snap: Snap
) -> None:
    username, fi_name = employees(demo)[0]
    page = context.new_page()
    open_dashboard(page, demo, username)
    before = kpi_texts(page)
    own = page.evaluate("document.body.dataset.session")
    # Well-formed but forged: the tab's own session, and another id of the right shape
    # that no server confirms. Then every malformed shape.
    messages = [
        {"type": "session-started", "session": own},
        {"type": "session-started", "session": "B" * len(own)},
        *FORGED,
    ]
    page.evaluate(
        """(messages) => {
            const channel = new BroadcastChannel("tenantgate-reporting");
            for (const message of messages) channel.postMessage(message);
            channel.close();
        }""",
        messages,
    )
    page.wait_for_timeout(1500)
    expect(page.get_by_test_id("session-ended")).to_be_hidden()
    assert kpi_texts(page) == before
    assert chart_is_drawn(page)
    expect(page.get_by_test_id("tenant-banner")).to_contain_text(fi_name)
    status = page.evaluate(
        """async (session) => (await fetch("/api/session",
              {headers: {"X-Reporting-Session": session}})).status""",
        own,
    )
    assert status == 200
    snap(page, "after-forged-messages")


def test_a_newer_session_in_another_tab_ends_the_older_tab(
    demo: DemoSystem,
    context: BrowserContext,
    snap: Snap,
    watched: tuple[list[Request], list[str]],
) -> None:
    requests, _ = watched
    (user_a, fi_a), (user_b, fi_b) = employees(demo)[:2]
    tab_a = context.new_page()
    open_dashboard(tab_a, demo, user_a)
    expect(tab_a.get_by_test_id("tenant-banner")).to_contain_text(fi_a)
    session_a = tab_a.evaluate("document.body.dataset.session")
    snap(tab_a, "tab-a-before")

    tab_b = context.new_page()
    open_dashboard(tab_b, demo, user_b)
    started = time.monotonic()
    expect(tab_b.get_by_test_id("tenant-banner")).to_contain_text(fi_b)

    expect(tab_a.get_by_test_id("session-ended")).to_be_visible(timeout=2000)
    assert time.monotonic() - started < 2.5
    for kpi in KPIS:
        expect(tab_a.get_by_test_id(kpi)).to_be_empty()
        expect(tab_a.get_by_test_id(kpi)).to_be_hidden()
    assert not chart_is_drawn(tab_a)
    expect(tab_a.get_by_test_id("kind-row")).to_have_count(0)
    expect(tab_a.get_by_test_id("tenant-banner")).to_contain_text(fi_a)
    assert fi_b not in tab_a.content()
    # The older tab's own calls are refused by the server, whatever its script does.
    status = tab_a.evaluate(
        """async (session) => (await fetch("/api/summary",
              {headers: {"X-Reporting-Session": session}})).status""",
        session_a,
    )
    assert status == 409
    snap(tab_a, "tab-a-ended")
    expect(tab_b.get_by_test_id("session-ended")).to_be_hidden()
    expect(tab_b.get_by_test_id("kpi-transactions")).to_have_text(re.compile(r"[0-9]"))
    snap(tab_b, "tab-b-current")
    assert_no_tokens(tab_b, requests)
