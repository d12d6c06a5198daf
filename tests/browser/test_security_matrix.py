"""SECURITY.md matrix, row "Browser", in Debian's Chromium against the running demo:
no JWT-looking string anywhere JavaScript can reach, forged or malformed BroadcastChannel
messages on both channels change nothing, cookie attributes as the browser stores them,
and the security headers on every response the browser received.

One walk visits every page of the three portals (admin: FI list, FI home, search, a
customer; the reporting hand-off; the dashboard; the customer home) while listening to
every response. More thorough channel tests: tests/browser/test_admin.py and
test_reporting.py::test_forged_or_malformed_channel_messages_change_nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect
from playwright.sync_api import Error as PlaywrightError

from .flows import JWT_LIKE, browser_storage_dump, select_fi, sign_in
from .system import DemoSystem

# The admin BFF's hand-off page carries the one-time SSO token in its auto-posted form by
# design (CONTRACT §4.2: POST body only); it is checked to be no-store and spent instead.
HANDOFF = "/reporting/launch"


@dataclass
class Walk:
    pages: dict[str, Page]
    responses: list[Response] = field(default_factory=list)
    bodies: dict[str, str] = field(default_factory=dict)
    storage: list[str] = field(default_factory=list)


def origin_of(url: str) -> str:
    found = re.match(r"https?://[^/]+", url)
    return found.group(0) if found else ""


def remember(page: Page, walk: Walk) -> None:
    walk.storage.append(f"{page.url}\n{browser_storage_dump(page)}")


@pytest.fixture
def walk(demo: DemoSystem, context: BrowserContext) -> Walk:
    responses: list[Response] = []
    context.on("response", lambda response: responses.append(response))
    result = Walk({}, responses)
    admin = context.new_page()
    sign_in(admin, demo.urls["admin"], "admin")
    remember(admin, result)
    fi = demo.user("admin")["tenants"][0]["name"]
    select_fi(admin, fi)
    remember(admin, result)
    admin.goto(f"{demo.urls['admin']}/?q=a")
    remember(admin, result)
    first = admin.get_by_test_id("customer-row").first.get_attribute("data-customer")
    admin.goto(f"{demo.urls['admin']}/customers/{first}")
    remember(admin, result)
    admin.goto(f"{demo.urls['admin']}/")
    with context.expect_page() as opened:
        admin.get_by_test_id("reporting-button").click()
    reporting = opened.value
    expect(reporting.get_by_test_id("tenant-banner")).to_contain_text(fi)
    expect(reporting.get_by_test_id("kpi-transactions")).not_to_be_empty()
    remember(reporting, result)
    customer = context.new_page()
    sign_in(customer, demo.urls["customer"], demo.first_of_kind("customer")["username"])
    expect(customer.get_by_test_id("account-row").first).to_be_visible()
    remember(customer, result)
    result.pages = {"admin": admin, "reporting": reporting, "customer": customer}
    for response in responses:
        if 300 <= response.status < 400:
            continue  # redirects have no body to read
        try:
            result.bodies[response.url] = response.text()
        except PlaywrightError:
            # Chromium drops the bodies of pages navigated away from (continue and hand-off
            # pages move on at once); the test below requires enough readable pages anyway.
            continue
    return result


def test_no_jwt_looking_string_in_storage_cookies_or_any_js_visible_response(
    demo: DemoSystem, walk: Walk
) -> None:
    for dump in walk.storage:
        assert not JWT_LIKE.search(dump), dump[:300]
    portals = {demo.urls[n] for n in ("admin", "reporting", "customer")}
    checked = 0
    for url, body in walk.bodies.items():
        if origin_of(url) not in portals:
            continue
        if url.endswith(HANDOFF):
            continue
        assert not JWT_LIKE.search(body), url
        checked += 1
    assert checked >= 8, checked
    # JS-visible API answers, fetched the way page scripts do: no token either.
    for name, path in (("reporting", "/api/session"), ("customer", "/api/accounts")):
        page = walk.pages[name]
        text = page.evaluate(
            """async (path) => {
                const session = document.body.dataset.session || "";
                const r = await fetch(path, {headers: {"X-Reporting-Session": session}});
                return r.status + " " + await r.text();
            }""",
            path,
        )
        assert text.startswith("200 "), text[:200]
        assert not JWT_LIKE.search(text), text[:200]
    handoffs = [r for r in walk.responses if r.url.endswith(HANDOFF)]
    assert handoffs, "the hand-off page was not seen"
    for response in handoffs:
        assert response.headers.get("cache-control") == "no-store"
        assert response.headers.get("referrer-policy") == "no-referrer"


ADMIN_FORGERIES = """() => {
    const channel = new BroadcastChannel("tenantgate-admin");
    for (const message of [null, 42, "tenant-switched", {}, {type: "tenant-switched"},
        {type: "tenant-switched", tenant: "Evil Bank"},
        {type: "tenant-switched", tenant: "<img src=x onerror=alert(1)>"},
        {type: "tenant-switched", tenant: "B".repeat(5000)}]) channel.postMessage(message);
    channel.close();
}"""
REPORTING_FORGERIES = """(own) => {
    const channel = new BroadcastChannel("tenantgate-reporting");
    for (const message of [null, 42, "session-started", {}, {type: "session-started"},
        {type: "session-started", session: own}, {type: "session-started", session: "B".repeat(16)},
        {type: "session-started", session: "<img src=x onerror=alert(1)>"},
        {type: "session-started", session: 7}]) channel.postMessage(message);
    channel.close();
}"""


def test_forged_or_malformed_broadcastchannel_messages_change_nothing(
    demo: DemoSystem, context: BrowserContext, walk: Walk
) -> None:
    admin, reporting = walk.pages["admin"], walk.pages["reporting"]
    tenant_before = admin.get_by_test_id("current-tenant").inner_text()
    kpis_before = reporting.get_by_test_id("kpi-transactions").inner_text()
    banner_before = reporting.get_by_test_id("tenant-banner").inner_text()
    own = reporting.evaluate("document.body.dataset.session")
    dialogs: list[str] = []
    for page in (admin, reporting):
        page.on("dialog", lambda d: dialogs.append(d.message))
    # Forgers on each origin (any same-origin document can post on the channel).
    admin_forger = context.new_page()
    admin_forger.goto(f"{demo.urls['admin']}/healthz")
    admin_forger.evaluate(ADMIN_FORGERIES)
    reporting_forger = context.new_page()
    reporting_forger.goto(f"{demo.urls['reporting']}/healthz")
    reporting_forger.evaluate(REPORTING_FORGERIES, own)
    admin.wait_for_timeout(1500)
    assert admin.get_by_test_id("current-tenant").inner_text() == tenant_before
    expect(admin.locator("body.context-changed")).to_have_count(0)
    expect(reporting.get_by_test_id("session-ended")).to_be_hidden()
    assert reporting.get_by_test_id("kpi-transactions").inner_text() == kpis_before
    assert reporting.get_by_test_id("tenant-banner").inner_text() == banner_before
    assert "Evil Bank" not in admin.content()
    assert dialogs == []


def test_cookie_attributes_as_seen_by_the_browser(
    demo: DemoSystem, context: BrowserContext, walk: Walk
) -> None:
    cookies = context.cookies()
    assert cookies, "no cookies at all"
    assert len(walk.pages) == 3
    # The portals' session cookies (`tg_<portal>`; `__Host-tg_<portal>` over HTTPS).
    sessions = [c for c in cookies if c["name"].removeprefix("__Host-").startswith("tg_")]
    assert len(sessions) >= 3, [c["name"] for c in cookies]
    for cookie in cookies:
        assert cookie["httpOnly"], cookie["name"]
        assert cookie["path"] == "/", cookie["name"]
    for cookie in sessions:
        assert cookie["sameSite"] == "Strict", cookie
        # Plain-HTTP demo mode: no Secure and so no __Host- prefix (SECURITY "Browser apps").
        assert cookie["secure"] is demo.urls["admin"].startswith("https"), cookie
    assert not JWT_LIKE.search(" ".join(c["value"] for c in cookies))


def test_security_headers_on_every_response(demo: DemoSystem, walk: Walk) -> None:
    portals = {demo.urls[n] for n in ("admin", "reporting", "customer")}
    seen = 0
    problems = []
    for response in walk.responses:
        origin = origin_of(response.url)
        headers = response.headers
        html = headers.get("content-type", "").startswith("text/html")
        if origin not in portals and not (origin == demo.urls["identity"] and html):
            continue
        seen += 1
        csp = headers.get("content-security-policy", "")
        directives = [d.strip() for d in csp.split(";")]
        # script-src, else default-src governs scripts; neither may allow inline script.
        script = next((d for d in directives if d.startswith("script-src")), "") or next(
            (d for d in directives if d.startswith("default-src")), ""
        )
        checks = {
            "nosniff": headers.get("x-content-type-options") == "nosniff",
            "referrer-policy": bool(headers.get("referrer-policy")),
            "frame-ancestors": "frame-ancestors 'none'" in csp,
            "no inline script": bool(script) and "unsafe-inline" not in script,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            problems.append(f"{response.status} {response.url}: {failed}")
    assert seen >= 15, seen
    assert not problems, "\n".join(problems)
